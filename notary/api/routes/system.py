"""Liveness, readiness, and the public trust document verifiers pin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from notary.api.deps import RuntimeDep
from notary.services.issuer import public_trust_document

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database, content store, chain and anchoring worker; 503 names what is down",
    responses={503: {"description": "degraded: at least one dependency is down"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await run_in_threadpool(runtime.readiness)
    pending = await run_in_threadpool(runtime.worker.pending_count)
    down = sorted(name for name, c in checks.items() if not c["ok"])
    body: dict[str, Any] = {
        "status": "ready" if not down else "degraded",
        "down": down,
        "checks": checks,
        "pending_records": pending,
    }
    return JSONResponse(body, status_code=200 if not down else 503)


@router.get(
    "/v1/trust",
    summary="The issuer key and registry address that verifiers should pin",
)
def trust(runtime: RuntimeDep) -> dict[str, Any]:
    client = runtime.chain.client()  # 503 chain_unavailable if the node cannot be reached
    return public_trust_document(runtime.issuer, int(client.chain_id), str(client.registry_address))
