"""Liveness, readiness, and the public trust document verifiers pin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from notary.api.deps import RuntimeDep
from notary.services.trust import NO_INDEPENDENT_PARTY

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
    summary="The trust policy this deployment suggests to verifiers (check it out of band)",
    description="A verifier that takes this policy from us trusts us: check the log key, the "
                "witness keys and the TSA roots with their holders before relying on it "
                "(docs/trust.md). Without witnesses or TSAs its `notice` says: "
                + NO_INDEPENDENT_PARTY,
)
def trust(runtime: RuntimeDep) -> Response:
    policy = runtime.trust_policy()
    return Response(policy.to_json_bytes(), media_type="application/json")
