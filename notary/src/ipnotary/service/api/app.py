"""The FastAPI application factory. ``create_app(settings)`` builds the runtime on startup.

Around the routes: the request id, access line and request metrics (``api/request_telemetry.py``),
the per-client rate limit of the public endpoints (``api/rate_limit.py``), then the
request-body limit (``api/bodies.py``); every log line of the process and every problem
detail passes the redactor of the configured URLs (``ipnotary.sdk.redaction``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from ipnotary.sdk.redaction import install_log_redaction
from ipnotary.service.api.bodies import RequestBodyLimit, documented_body_schemas
from ipnotary.service.api.deps import refuse_repeated_query_parameters
from ipnotary.service.api.errors import document_problems, install_error_handlers
from ipnotary.service.api.rate_limit import RateLimit, is_public
from ipnotary.service.api.request_telemetry import RequestTelemetry
from ipnotary.service.api.routes import (
    arbitration,
    captures,
    claims,
    complaints,
    credentials,
    credit,
    docs_page,
    evidence,
    log,
    metrics,
    notarial,
    persons,
    pledges,
    principals,
    shared,
    system,
    trade_secrets,
    verify,
    verify_page,
    works,
)
from ipnotary.service.api.web import router as web_app
from ipnotary.service.api.write_gate import WriteGate
from ipnotary.service.config import Settings
from ipnotary.service.runtime import Runtime

__all__ = ["create_app"]


def _principal_id(scope: Scope, api_key: str) -> str | None:
    """The principal of a valid API key (the rate limit's client), None for any other."""
    runtime: Runtime = scope["app"].state.runtime
    try:
        return runtime.principals.authenticate(api_key).id
    except Exception:  # noqa: BLE001 - unknown key or database down: count by address
        return None


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """An app for ``settings`` (read from the environment if omitted), or around a given runtime."""
    config = runtime.settings if runtime is not None else settings or Settings()
    redactor = config.redactor()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Before the runtime is built: building it can already log a node's or database's URL.
        stop_redacting = install_log_redaction(redactor)
        owned = runtime is None
        try:
            if runtime is not None:
                rt = runtime
            else:
                rt = await run_in_threadpool(Runtime.build, config)
            app.state.runtime = rt
            anyio.to_thread.current_default_thread_limiter().total_tokens = rt.settings.api_threads
            if owned:
                rt.start()
            try:
                yield
            finally:
                if owned:
                    await run_in_threadpool(rt.close)
        finally:
            stop_redacting()

    app = FastAPI(
        title="IP Notary",
        version="1",
        summary="Blockchain-anchored evidence, works, trade secrets, credit and pledge records",
        lifespan=lifespan,
        dependencies=[Depends(refuse_repeated_query_parameters)],
        # /docs is routes/docs_page.py, with its assets served from here, not a CDN; no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.redactor = redactor
    install_error_handlers(app)
    # Innermost: while the deployment is halted (a log behind the chain), nothing is accepted.
    app.add_middleware(WriteGate)
    app.add_middleware(RequestBodyLimit, max_bytes=config.max_request_bytes)
    app.add_middleware(
        RateLimit,
        per_minute=config.rate_limit_per_minute,
        burst=config.rate_limit_burst,
        identify=_principal_id,
    )
    # Outermost: a 413 or 429 answered above also gets its request id, access line and count.
    app.add_middleware(RequestTelemetry)
    app.include_router(system.router)
    app.include_router(metrics.router)
    app.include_router(log.router)
    app.include_router(principals.router)
    app.include_router(evidence.router)
    app.include_router(captures.router)
    app.include_router(verify.router)
    app.include_router(verify_page.router)
    app.include_router(docs_page.router)
    app.include_router(works.router)
    app.include_router(claims.router)
    app.include_router(trade_secrets.router)
    app.include_router(trade_secrets.disclosures)
    app.include_router(credit.router)
    app.include_router(credit.entries)
    app.include_router(credit.repair_records)
    app.include_router(pledges.router)
    app.include_router(pledges.events)
    app.include_router(shared.router)
    app.include_router(notarial.shares)
    app.include_router(notarial.notarial)
    app.include_router(notarial.attestations)
    app.include_router(notarial.refusals)
    app.include_router(notarial.revocations)
    app.include_router(arbitration.cases)
    app.include_router(arbitration.events)
    app.include_router(complaints.complaints)
    app.include_router(complaints.events)
    app.include_router(credentials.router)
    app.include_router(credentials.vc_api)
    app.include_router(persons.router)
    # The people's web app (/app): pages for each role, signed in with a password, not a key.
    app.include_router(web_app)
    _document_limits(app, rate_limited=config.rate_limit_per_minute > 0)
    document_problems(app)
    return app


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _document_limits(app: FastAPI, *, rate_limited: bool) -> None:
    """The OpenAPI document names the answers every route may give from outside the route:
    413 for a body over the limit, 429 on the public endpoints (when the limit is on)."""
    base = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = base()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, body_schema in documented_body_schemas().items():
            components.setdefault(name, body_schema)
        components["Problem"] = {
            "type": "object",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "code": {"type": "string"},
            },
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if method in {"post", "put", "patch"}:
                    responses.setdefault(
                        "413", {"description": "request body over its limit", "content": _PROBLEM}
                    )
                if rate_limited and is_public(path):
                    responses.setdefault(
                        "429",
                        {
                            "description": "rate limited: retry after `Retry-After` seconds",
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                            "content": _PROBLEM,
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
