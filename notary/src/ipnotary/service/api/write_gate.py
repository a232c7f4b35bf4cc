"""While the deployment is halted, no process accepts a record (``services.fleet``).

A database behind the chain (restored from a backup that lost anchored records) must not hand out
receipts: the leader will not seal them (``worker.anchoring``), a correct restore would then lose
them, and the holder would hold a promise nobody can keep. :class:`WriteGate` answers every request
that could add a record, on every process, with 503 and the halt's reason (``log_behind_chain`` or
``log_forked``) until the log and the chain agree again. Reads keep working, as do the requests
that add no record (verification, claim checks, principals and keys).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ipnotary.service.api.errors import problem

__all__ = ["WriteGate", "adds_records"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes under /v1/ that add no record to the log: they stay open while the log is halted.
_NO_RECORD_PREFIXES = (
    "/v1/verify",  # verifies a certificate it is given
    "/v1/claims/check",  # checks a complaint against certificates
    "/v1/principals",  # principals and their keys (the operator may need them to recover)
    "/v1/api-keys",
    "/v1/audit",
)
# How long a client should wait before trying again: a halt ends with an operator's restore.
_RETRY_AFTER_SECONDS = 60


def adds_records(method: str, path: str) -> bool:
    """Whether a request could add a record to the log (and so waits out a halt)."""
    if method in _READS or not path.startswith("/v1/"):
        return False
    return not path.startswith(_NO_RECORD_PREFIXES)


class WriteGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not adds_records(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        runtime = getattr(scope["app"].state, "runtime", None)
        halt = None
        if runtime is not None:
            try:
                halt = await run_in_threadpool(runtime.fleet.halt)
            except Exception:  # noqa: BLE001 - the route meets the database's failure itself
                halt = None
        if halt is None:
            await self.app(scope, receive, send)
            return
        response = problem(
            503,
            halt.code,
            "Not accepting records",
            f"{halt.detail} (since {halt.since:%Y-%m-%dT%H:%M:%SZ})",
            headers={"Retry-After": str(_RETRY_AFTER_SECONDS)},
        )
        await response(scope, receive, send)
