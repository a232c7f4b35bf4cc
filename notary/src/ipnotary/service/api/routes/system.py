"""Liveness, readiness, and the public trust document verifiers pin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from ipnotary.sdk._version import __version__
from ipnotary.service.api.deps import RuntimeDep, api_key_of
from ipnotary.service.domain.records import Role
from ipnotary.service.readiness import check_readiness
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.trust import NO_INDEPENDENT_PARTY

router = APIRouter(tags=["system"])

# What anyone may read of a check: its state, never an error text (which may quote a host, a
# path or a dependency's answer). An admin's key sees everything, cleaned of URL credentials.
_PUBLIC_FIELDS = frozenset(
    {
        "ok",
        "backend",
        "chain_id",
        "contract",
        "leader",
        "consecutive_failures",
        "anchored_batches",
        "origin",
        "size",
        "certified_size",
        "quorum",
        "healthy",
        "down",
        "members",
        "name",
        "attested_size",
        "last_ok_at",
        # Which process leads and what it reports (its host and address: admins only).
        "role",
        "leader_at",
        "process",
        "since",
        "reported_seconds_ago",
        "source",
        "detail",
        "kind",
        # The deployment: build, configuration, and why it takes nothing.
        "version",
        "config_fingerprint",
        "differs",
        "halted",
        "chain_size",
        "write_seconds",
    }
)


def _public_view(value: Any) -> Any:
    # Any: a readiness check is JSON of any shape; only the named fields are kept, at any depth.
    if isinstance(value, dict):
        return {k: _public_view(v) for k, v in value.items() if k in _PUBLIC_FIELDS}
    if isinstance(value, list):
        return [_public_view(v) for v in value]
    return value


def _is_admin(runtime: Runtime, api_key: str | None) -> bool:
    if not api_key:
        return False
    try:
        return runtime.principals.authenticate(api_key).role == Role.admin.value
    except Exception:  # noqa: BLE001 - unknown key, or the database is what is down
        return False  # readiness answers every caller; they see the public view


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    summary="Database, content store, chain and anchoring worker; 503 names what is down",
    description="Anyone sees the status, what is down and each check's state; the error texts "
    "only with an admin's API key.",
    responses={503: {"description": "degraded: at least one dependency is down"}},
)
async def readyz(request: Request, runtime: RuntimeDep) -> JSONResponse:
    checks = await run_in_threadpool(check_readiness, runtime)
    try:
        pending: int | None = await run_in_threadpool(runtime.worker.pending_count)
    except SQLAlchemyError:
        pending = None  # the database check says why
    down = sorted(name for name, c in checks.items() if not c["ok"])
    if not await run_in_threadpool(_is_admin, runtime, api_key_of(request.headers)):
        checks = {name: _public_view(check) for name, check in checks.items()}
    body: dict[str, Any] = {
        "status": "ready" if not down else "degraded",
        "down": down,
        "checks": checks,
        "pending_records": pending,
        "version": runtime.fleet.version,
        "config_fingerprint": runtime.fleet.config_fingerprint,
        "process": runtime.fleet.id,
    }
    return JSONResponse(body, status_code=200 if not down else 503)


@router.get(
    "/v1/trust",
    summary="The trust policy this deployment suggests to verifiers (check it out of band)",
    description="A verifier that takes this policy from us trusts us: check the log key, the "
    "witness keys and the TSA roots with their holders before relying on it "
    "(docs/trust.md). Without witnesses or TSAs its `notice` says: " + NO_INDEPENDENT_PARTY,
)
def trust(runtime: RuntimeDep) -> Response:
    policy = runtime.trust_policy()
    return Response(policy.to_json_bytes(), media_type="application/json")
