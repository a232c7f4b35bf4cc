"""The processes of one deployment as each sees the others, through the database they share.

Start with :class:`Fleet`, one per process (``Runtime.fleet``). Every few seconds it writes this
process's row (``storage.fleet.ServiceProcess``): where it serves, its build version and config
fingerprint, whether it leads, and, on the leader, each witness's and TSA's state as its
attestation loops see it. That one commit is also the readiness *write probe* (:meth:`Fleet.probe`):
a database that answers reads but cannot commit (a synchronous standby that is gone, a full disk, a
read-only restored copy) makes the process not ready, with how long the commit has been waiting.

From those rows a follower reports what only the leader knows (:meth:`Fleet.leader`): where the
leader is and the fleet's attestation health, instead of the state of loops that do not run here.

The halt (:func:`record_halt`, :func:`clear_halt`, :meth:`Fleet.halt`) is the deployment's, not a
process's: set when the database's log is behind the chain's latest checkpoint or differs from it,
it stops every process from accepting records and the leader from sealing them
(``worker.anchoring``, ``api/write_gate.py``) until the log and the chain agree again.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import event
from ipnotary.service.storage.fleet import AnchoringHalt, ServiceProcess

if TYPE_CHECKING:
    from ipnotary.service.runtime import Runtime

__all__ = [
    "HEARTBEAT_SECONDS",
    "PROCESS_GONE_SECONDS",
    "Fleet",
    "Halt",
    "LeaderView",
    "ProbeResult",
    "clear_halt",
    "live_processes",
    "read_halt",
    "record_halt",
]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
"""How often each process writes its row (and so probes that the database commits)."""
PROCESS_GONE_SECONDS = 15.0
"""A row not refreshed for this long belongs to a process that is gone (killed, cut off)."""
WRITE_PROBE_TIMEOUT_SECONDS = 2.0
"""A commit slower than this makes the process not ready: receipts would wait as long."""
_HALT_CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class ProbeResult:
    """One write probe: did a commit complete within the timeout, and how long it took (or has
    been waiting)."""

    ok: bool
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class LeaderView:
    """The leader as its own row says, seen from any process."""

    process_id: str
    host: str
    pid: int
    url: str
    version: str
    config_fingerprint: str
    since: datetime | None
    reported_seconds_ago: float
    attestation: list[dict[str, Any]] | None

    def location(self) -> dict[str, Any]:
        return {
            "process": self.process_id,
            "host": self.host,
            "pid": self.pid,
            "url": self.url,
            "version": self.version,
            "since": self.since.isoformat() if self.since else None,
            "reported_seconds_ago": round(self.reported_seconds_ago, 1),
        }


@dataclass(frozen=True)
class Halt:
    """Why no process seals or accepts records (``anchoring_halt``)."""

    code: str
    detail: str
    chain_size: int
    log_size: int
    since: datetime


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Fleet:
    """This process's place in the fleet: its row, the write probe, and what it reads of the
    others'."""

    def __init__(
        self,
        engine: Engine,
        *,
        url: str,
        version: str,
        config_fingerprint: str = "",
        is_leader: Callable[[], bool] = lambda: False,
        attestation: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self._engine = engine
        self.id = secrets.token_hex(16)
        self.host = socket.gethostname()[:200]
        self.pid = os.getpid()
        self.url = url
        self.version = version
        self.config_fingerprint = config_fingerprint
        self.started_at = datetime.now(UTC)
        self._is_leader = is_leader
        self._attestation = attestation
        self._leader_since: datetime | None = None
        self._probe_lock = threading.Lock()
        self._inflight: threading.Thread | None = None
        self._inflight_since = 0.0
        self._last: ProbeResult | None = None
        self._halt: tuple[float, Halt | None] = (0.0, None)
        self._heartbeat_failing = False

    def attach(self, runtime: Runtime) -> None:
        """Report ``runtime``'s state: its leadership, its witnesses' and TSAs' health, and the
        fingerprint of its configuration (``services.deployment.config_fingerprint``)."""
        from ipnotary.service.services.deployment import config_fingerprint

        self.config_fingerprint = config_fingerprint(runtime)
        self._is_leader = lambda: runtime.worker.is_leader
        self._attestation = lambda: [
            {**loop.endpoint.state.report(), "kind": loop.endpoint.state.kind}
            for loop in runtime.attestation
        ]

    # Writing this process's row: the heartbeat and the write probe are one commit ------------

    def _write_row(self) -> None:
        leading = self._is_leader()
        now = datetime.now(UTC)
        if leading and self._leader_since is None:
            self._leader_since = now
        elif not leading:
            self._leader_since = None
        attestation = json.dumps(self._attestation(), default=str) if leading else None
        started = time.perf_counter()
        with Session(self._engine) as session:
            row = session.get(ServiceProcess, self.id)
            if row is None:
                row = ServiceProcess(
                    id=self.id,
                    host=self.host,
                    pid=self.pid,
                    url=self.url[:300],
                    version=self.version[:40],
                    config_fingerprint=self.config_fingerprint,
                    started_at=self.started_at,
                    heartbeat_at=now,
                )
            row.heartbeat_at = now
            row.leader = leading
            row.leader_since = self._leader_since
            row.attestation = attestation
            session.add(row)
            session.commit()
        metrics.DATABASE_COMMIT_DURATION.observe(time.perf_counter() - started)

    def _run_write(self) -> None:
        started = time.monotonic()
        try:
            self._write_row()
            result = ProbeResult(True, time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - reported by the probe, never raised
            result = ProbeResult(False, time.monotonic() - started, _short(exc))
        with self._probe_lock:
            self._last = result
            self._inflight = None

    def probe(self, timeout: float = WRITE_PROBE_TIMEOUT_SECONDS) -> ProbeResult:
        """Commit this process's row, waiting at most ``timeout``. A commit still waiting from an
        earlier probe is waited for, never doubled: a hanging commit (a synchronous standby that is
        gone) holds one connection, not one per probe."""
        with self._probe_lock:
            thread = self._inflight
            if thread is None:
                thread = threading.Thread(target=self._run_write, name="write-probe", daemon=True)
                self._inflight, self._inflight_since = thread, time.monotonic()
                thread.start()
            since = self._inflight_since
        thread.join(timeout)
        with self._probe_lock:
            if self._inflight is thread:  # still waiting
                waited = time.monotonic() - since
                return ProbeResult(
                    False,
                    waited,
                    f"a commit has been waiting {waited:.1f} s (synchronous_standby_names naming "
                    "a standby that is not connected? a full disk?): receipts would wait as long",
                )
            assert self._last is not None
            return self._last

    def commit_waiting_seconds(self) -> float:
        """How long this process's current heartbeat commit has been waiting (0 when none is):
        a commit that does not return is a database that takes no receipts."""
        with self._probe_lock:
            if self._inflight is None:
                return 0.0
            return time.monotonic() - self._inflight_since

    def run(self, stop: threading.Event) -> None:
        """Write this process's row every :data:`HEARTBEAT_SECONDS` until ``stop``; then remove
        it (a process that shuts down cleanly is gone at once, not after a timeout)."""
        while not stop.is_set():
            result = self.probe(timeout=HEARTBEAT_SECONDS * 5)
            if not result.ok and not self._heartbeat_failing:
                log.warning(
                    "cannot record this process in the database: %s",
                    result.error,
                    extra=event("fleet_heartbeat_failed"),
                )
            self._heartbeat_failing = not result.ok
            stop.wait(HEARTBEAT_SECONDS)
        self.leave()

    def leave(self) -> None:
        try:
            with Session(self._engine) as session:
                session.execute(delete(ServiceProcess).where(col(ServiceProcess.id) == self.id))
                session.commit()
        except SQLAlchemyError:
            pass  # its row ages out

    # Reading the others' ---------------------------------------------------------------------

    def leader(self) -> LeaderView | None:
        """The process that leads, by the freshest row that says so (None when none reported
        within :data:`PROCESS_GONE_SECONDS`)."""
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            row = session.exec(
                select(ServiceProcess)
                .where(
                    col(ServiceProcess.leader).is_(True),
                    col(ServiceProcess.heartbeat_at)
                    >= now - timedelta(seconds=PROCESS_GONE_SECONDS),
                )
                .order_by(col(ServiceProcess.heartbeat_at).desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return LeaderView(
            process_id=row.id,
            host=row.host,
            pid=row.pid,
            url=row.url,
            version=row.version,
            config_fingerprint=row.config_fingerprint,
            since=_aware(row.leader_since) if row.leader_since else None,
            reported_seconds_ago=max(0.0, (now - _aware(row.heartbeat_at)).total_seconds()),
            attestation=json.loads(row.attestation) if row.attestation else None,
        )

    def halt(self) -> Halt | None:
        """The deployment's halt, read at most once a second per process."""
        now = time.monotonic()
        at, cached = self._halt
        if now - at < _HALT_CACHE_SECONDS:
            return cached
        with Session(self._engine) as session:
            found = read_halt(session)
        self._halt = (now, found)
        return found

    def forget_halt(self) -> None:
        """Read the halt again on the next :meth:`halt` (this process just changed it)."""
        self._halt = (0.0, None)


def live_processes(session: Session) -> list[ServiceProcess]:
    """Every process that reported within :data:`PROCESS_GONE_SECONDS`, oldest first."""
    since = datetime.now(UTC) - timedelta(seconds=PROCESS_GONE_SECONDS)
    return list(
        session.exec(
            select(ServiceProcess)
            .where(col(ServiceProcess.heartbeat_at) >= since)
            .order_by(col(ServiceProcess.started_at))
        )
    )


def read_halt(session: Session) -> Halt | None:
    row = session.get(AnchoringHalt, 1)
    if row is None:
        return None
    return Halt(row.code, row.detail, row.chain_size, row.log_size, _aware(row.since))


def record_halt(engine: Engine, *, code: str, detail: str, chain_size: int, log_size: int) -> bool:
    """Set the deployment's halt; True when it was not set before (logged then, once, as
    ``log_halted``)."""
    with Session(engine) as session:
        row = session.get(AnchoringHalt, 1)
        new = row is None
        if row is None:
            row = AnchoringHalt(
                code=code,
                detail=detail,
                chain_size=chain_size,
                log_size=log_size,
                since=datetime.now(UTC),
            )
        else:
            row.code, row.detail, row.chain_size, row.log_size = code, detail, chain_size, log_size
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # another process set it first
            session.rollback()
            return False
    if new:
        log.error(
            "sealing and accepting records stopped: %s",
            detail,
            extra=event("log_halted", code=code, chain_size=chain_size, log_size=log_size),
        )
    return new


def clear_halt(engine: Engine) -> bool:
    """Lift the halt once the log and the chain agree; True when there was one (logged as
    ``log_halt_cleared``)."""
    with Session(engine) as session:
        row = session.get(AnchoringHalt, 1)
        if row is None:
            return False
        code = row.code
        session.delete(row)
        session.commit()
    log.info(
        "the log and the chain agree again: sealing and accepting records resume",
        extra=event("log_halt_cleared", code=code),
    )
    return True


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
