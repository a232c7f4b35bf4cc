"""Electing the one anchoring worker among several service processes, through the database.

No home-made consensus: PostgreSQL's session-level advisory lock is held on a dedicated connection
for as long as the leader lives; when its process dies, the server drops the connection and the
lock, and another process's next attempt wins. With SQLite (one machine) an ``flock`` on a file in
the data directory does the same job, and the kernel releases it when the process dies.

Changes of leadership are logged as events: ``leader_acquired``, ``leader_lost`` (the lock's
connection died under it), ``leader_released`` (on shutdown); ``notary_leader`` follows them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ipnotary.service.observability.logs import event

__all__ = ["FileLeaderLock", "LeaderLock", "PostgresLeaderLock", "leader_lock_for"]

log = logging.getLogger(__name__)

# An arbitrary constant: the advisory lock id that means "I am the anchoring worker".
_ANCHOR_LOCK_ID = 0x4E4F5441  # "NOTA"

# When the leader's machine dies or drops off the network, no FIN reaches the server, which then
# keeps the session, and the lock, until TCP gives up: two hours with Linux defaults. Keepalive
# probes on the server's side of this one session (and a bound on unacknowledged data) drop it
# after about 20 s instead, so a follower can take over. Session settings; PostgreSQL >= 12.
_ACQUIRE = text(
    "SELECT set_config('tcp_keepalives_idle', '5', false),"
    " set_config('tcp_keepalives_interval', '5', false),"
    " set_config('tcp_keepalives_count', '3', false),"
    " set_config('tcp_user_timeout', '20000', false),"
    " pg_try_advisory_lock(:id)"
)


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if free; True while this process holds it."""

    def release(self) -> None: ...


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        log.info(
            "this process is now the anchoring leader (lock file %s)",
            self._path,
            extra=event("leader_acquired", lock="file"),
        )
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            log.info("released the anchoring leader lock", extra=event("leader_released"))


class PostgresLeaderLock:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            try:
                # The lock lives exactly as long as this connection: check it is still alive.
                # Commit, so that the session rests "idle", not "idle in transaction" (which
                # idle_in_transaction_session_timeout would end, and monitoring flags).
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except SQLAlchemyError as exc:
                log.warning(
                    "no longer the anchoring leader: lost the database connection that "
                    "held the lock (%s)",
                    type(exc).__name__,
                    extra=event("leader_lost", lock="postgresql"),
                )
                self._drop()
        conn: Connection | None = None
        try:
            conn = self._engine.connect()
            got = conn.execute(_ACQUIRE, {"id": _ANCHOR_LOCK_ID}).one()[-1]
            conn.commit()
        except SQLAlchemyError as exc:
            log.warning(
                "could not ask for the anchoring lock: %s",
                exc,
                extra=event("leader_lock_unavailable"),
            )
            if conn is not None:
                conn.invalidate()
            return False
        if got:
            self._conn = conn
            log.info(
                "this process is now the anchoring leader (PostgreSQL advisory lock %#x)",
                _ANCHOR_LOCK_ID,
                extra=event("leader_acquired", lock="postgresql"),
            )
            return True
        conn.close()
        return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.invalidate()
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ANCHOR_LOCK_ID})
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None
            log.info("released the anchoring leader lock", extra=event("leader_released"))


def leader_lock_for(engine: Engine, data_dir: Path) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    return FileLeaderLock(data_dir / "anchoring.lock")
