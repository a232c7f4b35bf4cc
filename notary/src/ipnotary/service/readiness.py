"""Readiness: what ``/readyz`` reports of each dependency, and when a process counts as ready.

A process is ready while it can take records and get them certified: its database answers, its
content store answers, the chain answers and its anchoring key can pay, the leader's worker is not
failing for reasons the chain does not explain, and the witness and TSA quorums can still be met.
Every process reports the same checks, follower or leader, so a failover finds no surprise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from ipnotary.service.errors import ConfigurationError, DependencyUnavailable
from ipnotary.service.services.deployment import check_anchoring_account
from ipnotary.service.services.progress import certified_log_size
from ipnotary.service.services.transparency_log import log_size

if TYPE_CHECKING:
    from ipnotary.service.runtime import Runtime

__all__ = ["check_readiness"]


def check_readiness(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each dependency's state; ``ok`` False names what is down. Error texts are cleaned of
    the configured URLs' credentials (``Settings.redactor``): a node's error quotes its URL."""
    checks = _checks(runtime)
    cleaned: dict[str, dict[str, Any]] = runtime.settings.redactor().value(checks)
    return cleaned


def _checks(runtime: Runtime) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["database"] = {"ok": False, "error": _short(exc)}
    try:
        runtime.content_store.check()
        checks["content_store"] = {"ok": True, "backend": runtime.settings.content_backend.value}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["content_store"] = {"ok": False, "error": _short(exc)}
    chain_ok = False
    try:
        runtime.chain.check()
        ident = runtime.chain.identity()
        # Every process, follower or leader: a key that cannot anchor is found before a
        # failover makes this process the one that must (services.deployment).
        account = check_anchoring_account(runtime.chain.anchoring_account())
        chain_ok = account.ok
        checks["chain"] = {
            "ok": account.ok,
            "chain_id": ident[0] if ident else None,
            "contract": ident[1] if ident else None,
            **account.detail,
        }
        if account.problem:
            checks["chain"]["error"] = account.problem
    except (DependencyUnavailable, ConfigurationError) as exc:
        checks["chain"] = {"ok": False, "error": _short(exc)}
    state = runtime.worker.state
    if chain_ok and runtime.worker.is_backing_off():
        # The chain answers again: retry now rather than at the end of the backoff, so the
        # backlog clears and this process reports what the others do.
        runtime.worker.nudge()
    with state.lock:
        # Failures the chain explains are the chain's check, not the worker's: once the
        # chain answers, the leader is as ready as any follower.
        worker_ok = state.consecutive_failures < 3 or (chain_ok and state.last_error_is_chain)
        checks["anchoring"] = {
            "ok": worker_ok,
            "leader": runtime.worker.is_leader,
            "last_error": state.last_error,
            "consecutive_failures": state.consecutive_failures,
            "anchored_batches": state.anchored_batches,
        }
    try:
        with Session(runtime.engine) as session:
            # Records between the two sizes are in the log, awaiting anchor, witnesses or TSAs.
            checks["log"] = {
                "ok": True,
                "origin": runtime.log.origin,
                "size": log_size(session),
                "certified_size": certified_log_size(session),
            }
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["log"] = {"ok": False, "error": _short(exc)}
    for check, kind, quorum in (
        ("witnesses", "witness", runtime.settings.required_cosignatures),
        ("timestamp_authorities", "timestamp_authority", runtime.settings.required_timestamps),
    ):
        members = [
            loop.endpoint.state.report()
            for loop in runtime.attestation
            if loop.endpoint.state.kind == kind
        ]
        if members:
            healthy = sum(1 for m in members if m["ok"])
            # Ready while the quorum can still be met: a member that is down is named, but
            # certificates still come.
            checks[check] = {
                "ok": healthy >= quorum,
                "quorum": quorum,
                "healthy": healthy,
                "down": [m["name"] for m in members if not m["ok"]],
                "members": members,
            }
    return checks


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
