"""Readiness: what ``/readyz`` reports of each dependency, and when a process counts as ready.

A process is ready while it can take records and get them certified: its database answers *and
commits* (a write probe: a synchronous standby that is gone makes every commit hang while reads
still work), its content store answers, the chain answers and its anchoring key can pay, the
deployment is not halted (a log behind the chain: nothing is accepted), the leader's worker is not
failing for reasons the chain does not explain, the witness and TSA quorums can still be met, and
this process's trust settings are the fleet's.

Every process reports the same checks, follower or leader, so a failover finds no surprise. What
only the leader knows (how each witness and TSA answers its loops) a follower reads from the
leader's row in the database (``services.fleet``) and says so (``source``), with where the leader
is; with no leader reporting, it says that instead of showing loops that do not run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlmodel import Session

from ipnotary.service.errors import ConfigurationError, DependencyUnavailable
from ipnotary.service.observability import metrics
from ipnotary.service.services.deployment import check_anchoring_account, trust_differences
from ipnotary.service.services.progress import certified_log_size
from ipnotary.service.services.transparency_log import log_size

if TYPE_CHECKING:
    from ipnotary.service.runtime import Runtime
    from ipnotary.service.services.fleet import LeaderView

__all__ = ["check_readiness"]


def check_readiness(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each dependency's state; ``ok`` False names what is down. Error texts are cleaned of
    the configured URLs' credentials (``Settings.redactor``): a node's error quotes its URL."""
    checks = _checks(runtime)
    cleaned: dict[str, dict[str, Any]] = runtime.settings.redactor().value(checks)
    return cleaned


def _checks(runtime: Runtime) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {"database": _database(runtime)}
    database_ok = checks["database"]["ok"]
    try:
        runtime.content_store.check()
        checks["content_store"] = {"ok": True, "backend": runtime.settings.content_backend.value}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        checks["content_store"] = {"ok": False, "error": _short(exc)}
    checks["chain"] = chain = _chain(runtime)
    chain_ok = bool(chain["ok"])
    leader = _leader(runtime) if database_ok else None
    checks["anchoring"] = _anchoring(runtime, chain_ok=chain_ok, leader=leader)
    checks["log"] = _log(runtime)
    for check, kind, quorum in (
        ("witnesses", "witness", runtime.settings.required_cosignatures),
        ("timestamp_authorities", "timestamp_authority", runtime.settings.required_timestamps),
    ):
        attested = _attestation(runtime, kind, quorum, leader=leader)
        if attested is not None:
            checks[check] = attested
    checks["deployment"] = _deployment(runtime)
    return checks


def _database(runtime: Runtime) -> dict[str, Any]:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": _short(exc)}
    probe = runtime.fleet.probe()
    check: dict[str, Any] = {"ok": probe.ok, "write_seconds": round(probe.seconds, 4)}
    if probe.error:
        check["error"] = probe.error
    return check


def _chain(runtime: Runtime) -> dict[str, Any]:
    try:
        runtime.chain.check()
        ident = runtime.chain.identity()
        # Every process, follower or leader: a key that cannot anchor is found before a
        # failover makes this process the one that must (services.deployment).
        account = check_anchoring_account(runtime.chain.anchoring_account())
    except (DependencyUnavailable, ConfigurationError) as exc:
        return {"ok": False, "error": _short(exc)}
    metrics.ANCHORING_ACCOUNT_BALANCE.set(account.detail["balance_wei"])
    if account.detail.get("anchors_affordable") is not None:
        metrics.ANCHORS_AFFORDABLE.set(account.detail["anchors_affordable"])
    chain = {
        "ok": account.ok,
        "chain_id": ident[0] if ident else None,
        "contract": ident[1] if ident else None,
        **account.detail,
    }
    if account.problem:
        chain["error"] = account.problem
    return chain


def _leader(runtime: Runtime) -> LeaderView | None:
    try:
        return runtime.fleet.leader()
    except Exception:  # noqa: BLE001 - the database check says why
        return None


def _anchoring(runtime: Runtime, *, chain_ok: bool, leader: LeaderView | None) -> dict[str, Any]:
    state = runtime.worker.state
    if chain_ok and runtime.worker.is_backing_off():
        # The chain answers again: retry now rather than at the end of the backoff, so the
        # backlog clears and this process reports what the others do.
        runtime.worker.nudge()
    leading = runtime.worker.is_leader
    with state.lock:
        # Failures the chain explains are the chain's check, not the worker's: once the
        # chain answers, the leader is as ready as any follower.
        worker_ok = state.consecutive_failures < 3 or (chain_ok and state.last_error_is_chain)
        check: dict[str, Any] = {
            "ok": worker_ok,
            "leader": leading,
            "role": "leader" if leading else "follower",
            "last_error": state.last_error,
            "consecutive_failures": state.consecutive_failures,
            "anchored_batches": state.anchored_batches,
        }
    if not leading:
        check["leader_at"] = leader.location() if leader is not None else None
        if leader is None:
            check["detail"] = (
                "this process follows, and no process reported leading in the last "
                "15 s: nothing seals or anchors (see the NotaryNoLeader runbook)"
            )
    return check


def _log(runtime: Runtime) -> dict[str, Any]:
    try:
        with Session(runtime.engine) as session:
            # Records between the two sizes are in the log, awaiting anchor, witnesses or TSAs.
            check: dict[str, Any] = {
                "ok": True,
                "origin": runtime.log.origin,
                "size": log_size(session),
                "certified_size": certified_log_size(session),
            }
        halt = runtime.fleet.halt()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": _short(exc)}
    if halt is not None:
        check.update(
            ok=False,
            halted=halt.code,
            chain_size=halt.chain_size,
            error=halt.detail,
            since=halt.since.isoformat(),
        )
    return check


def _attestation(
    runtime: Runtime, kind: str, quorum: int, *, leader: LeaderView | None
) -> dict[str, Any] | None:
    """The witnesses' (or TSAs') health: this process's loops on the leader, the leader's report
    from the database on a follower. None when none is configured."""
    configured = [loop for loop in runtime.attestation if loop.endpoint.state.kind == kind]
    if not configured:
        return None
    if runtime.worker.is_leader:
        members = [loop.endpoint.state.report() for loop in configured]
        source = "this process (the leader)"
    elif leader is not None and leader.attestation is not None:
        members = [m for m in leader.attestation if m.get("kind", kind) == kind]
        names = {loop.endpoint.state.name for loop in configured}
        members = [m for m in members if m.get("name") in names]
        source = f"the leader, as it reported {leader.reported_seconds_ago:.0f} s ago"
    else:
        return {
            "ok": True,
            "quorum": quorum,
            "source": "unknown",
            "detail": "this process follows and no leader reported its witnesses' and TSAs' "
            "health in the last 15 s: nobody is attesting (see the NotaryNoLeader runbook)",
        }
    healthy = sum(1 for m in members if m["ok"])
    # Ready while the quorum can still be met: a member that is down is named, but certificates
    # still come.
    return {
        "ok": healthy >= quorum,
        "quorum": quorum,
        "healthy": healthy,
        "down": [m["name"] for m in members if not m["ok"]],
        "members": members,
        "source": source,
    }


def _deployment(runtime: Runtime) -> dict[str, Any]:
    check: dict[str, Any] = {
        "ok": True,
        "version": runtime.fleet.version,
        "config_fingerprint": runtime.fleet.config_fingerprint,
    }
    try:
        differs = trust_differences(runtime)
    except Exception as exc:  # noqa: BLE001 - the database or chain check says why
        check["note"] = f"could not compare with the fleet's trust settings: {_short(exc)}"
        return check
    if differs:
        check.update(
            ok=False,
            differs=sorted(differs),
            error="this process's trust settings are not the fleet's (changed with `notary "
            "trust set` since it started?): "
            + "; ".join(
                f"{n} is {here} here, {fleet} in the fleet" for n, (here, fleet) in differs.items()
            )
            + ": restart it with the fleet's settings",
        )
    return check


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
