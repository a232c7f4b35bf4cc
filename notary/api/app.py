"""The FastAPI application factory. ``create_app(settings)`` builds the runtime on startup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from notary.api.errors import install_error_handlers
from notary.api.routes import (
    claims,
    credit,
    evidence,
    log,
    pledges,
    principals,
    system,
    trade_secrets,
    verify,
    works,
)
from notary.config import Settings
from notary.runtime import Runtime

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """An app for ``settings`` (read from the environment if omitted), or around a given runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        owned = runtime is None
        if runtime is not None:
            rt = runtime
        else:
            rt = await run_in_threadpool(Runtime.build, settings or Settings())
        app.state.runtime = rt
        anyio.to_thread.current_default_thread_limiter().total_tokens = rt.settings.api_threads
        if owned:
            rt.start()
        try:
            yield
        finally:
            if owned:
                await run_in_threadpool(rt.close)

    app = FastAPI(
        title="IP Notary",
        version="1",
        summary="Blockchain-anchored evidence, works, trade secrets, credit and pledge records",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(log.router)
    app.include_router(principals.router)
    app.include_router(evidence.router)
    app.include_router(verify.router)
    app.include_router(works.router)
    app.include_router(claims.router)
    app.include_router(trade_secrets.router)
    app.include_router(trade_secrets.disclosures)
    app.include_router(credit.router)
    app.include_router(credit.entries)
    app.include_router(credit.repair_records)
    app.include_router(pledges.router)
    app.include_router(pledges.events)
    return app
