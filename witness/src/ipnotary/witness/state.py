"""The witness's durable state: which logs it follows, their keys, and the last tree it cosigned.

One SQLite file in the witness directory, in WAL mode with ``synchronous=FULL`` (a commit is on disk
before the witness answers) and its own connection per operation (any thread, any process).

The one operation that matters is :meth:`WitnessState.advance`. c2sp.org/tlog-witness requires the
old-size check and the new state to be atomic, or two racing requests can roll a log back (A checks
size N, B checks and stores N+K, A stores N). ``advance`` runs the check *inside* a ``BEGIN
IMMEDIATE`` transaction, which holds SQLite's write lock from before the read until the commit, so a
second request (thread or process) waits and then sees the new size. The ``UPDATE`` is also a
compare-and-set on the old size, and a trigger refuses any update that shrinks a log: a bug in the
code above cannot roll a log back either.

Checkpoints a log signed but that contradict what the witness cosigned (a fork, a proof that does
not verify) are kept in ``refused_checkpoint``: they are evidence of the log's misbehaviour.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ipnotary.sdk.merkle import EMPTY_TREE_ROOT, HASH_SIZE
from ipnotary.witness.errors import (
    ForkDetected,
    InconsistentProof,
    UnknownLog,
    WitnessBusy,
    WitnessError,
    WitnessSetupError,
)

__all__ = ["MAX_REFUSALS_KEPT", "STATE_FILE", "LogState", "WitnessState"]

STATE_FILE = "witness.db"
SCHEMA_VERSION = "1"
# Refused checkpoints kept per log; only the log's own key can produce them, but a runaway log
# should not fill the witness's disk.
MAX_REFUSALS_KEPT = 1000

_SCHEMA = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE log (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = {HASH_SIZE}),
    updated_at INTEGER
) STRICT;
CREATE TABLE log_key (
    origin TEXT NOT NULL REFERENCES log(origin),
    vkey TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (origin, vkey)
) STRICT;
CREATE TABLE refused_checkpoint (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL REFERENCES log(origin),
    received_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request BLOB NOT NULL
) STRICT;
CREATE TRIGGER log_never_shrinks BEFORE UPDATE OF size ON log
WHEN NEW.size < OLD.size
BEGIN
    SELECT RAISE(ABORT, 'a witness never rolls a log back');
END;
"""


@dataclass(frozen=True)
class LogState:
    """What the witness holds for one log."""

    origin: str
    size: int
    root: bytes
    keys: tuple[str, ...]
    updated_at: int | None
    refusals: int


# check(stored_size, stored_root) runs inside the transaction and raises to refuse.
TransitionCheck = Callable[[int, bytes], None]


class WitnessState:
    """The SQLite state file. Create it with :meth:`create`, open it with :meth:`open`."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.name = self._read_name()

    @classmethod
    def create(cls, path: Path, name: str) -> WitnessState:
        """A new state file for a witness called ``name``; refuses to reuse an existing one."""
        if path.exists():
            raise WitnessSetupError(f"{path} already exists; a witness keeps its state")
        # Built under a temporary name and renamed into place: a half-made file never looks usable.
        scratch = path.with_name(path.name + ".new")
        scratch.unlink(missing_ok=True)
        db = sqlite3.connect(scratch, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # stored in the file; every later open uses it
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("INSERT INTO meta (key, value) VALUES ('name', ?)", (name,))
        finally:
            db.close()  # the last connection checkpoints and removes the -wal file
        os.replace(scratch, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself must survive a power cut
        finally:
            os.close(directory)
        return cls(path)

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = 10.0) -> WitnessState:
        if not path.is_file():
            raise WitnessSetupError(f"no witness state at {path}; run `notary witness init`")
        return cls(path, busy_timeout=busy_timeout)

    # -- connections --------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so that a write transaction
        # starts IMMEDIATE (taking the write lock) rather than sqlite3's deferred default.
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise WitnessSetupError(f"cannot open {self.path}: {exc}") from exc
        try:
            try:
                db.execute("PRAGMA synchronous=FULL")  # per connection: fsync on every commit
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise WitnessSetupError(f"{self.path} is not usable: {exc}") from exc
            yield db
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WitnessBusy(f"the witness state stayed locked: {exc}") from exc
            raise
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _read_name(self) -> str:
        with self._connect() as db:
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()
            except sqlite3.DatabaseError as exc:
                raise WitnessSetupError(f"{self.path} is not a witness state file: {exc}") from exc
        if row is None:
            raise WitnessSetupError(f"{self.path} has no witness name")
        return str(row[0])

    # -- configuration ------------------------------------------------------------------------

    def add_log(self, origin: str, vkey: str, *, now: int | None = None) -> bool:
        """Follow ``origin`` (from size 0) and trust ``vkey`` for it. A second key for a known
        log is added beside the first (key rotation). Returns whether anything changed."""
        now = int(time.time()) if now is None else now
        with self._transaction() as db:
            created = db.execute(
                "INSERT OR IGNORE INTO log (origin, size, root) VALUES (?, 0, ?)",
                (origin, EMPTY_TREE_ROOT),
            ).rowcount
            added = db.execute(
                "INSERT OR IGNORE INTO log_key (origin, vkey, added_at) VALUES (?, ?, ?)",
                (origin, vkey, now),
            ).rowcount
        return bool(created or added)

    def log_keys(self, origin: str) -> tuple[str, ...]:
        """The vkeys trusted for ``origin``; :class:`UnknownLog` if the witness does not follow
        it."""
        with self._connect() as db:
            known = db.execute("SELECT 1 FROM log WHERE origin = ?", (origin,)).fetchone()
            keys = db.execute(
                "SELECT vkey FROM log_key WHERE origin = ? ORDER BY added_at, vkey", (origin,)
            ).fetchall()
        if known is None:
            raise UnknownLog(f"this witness does not follow the log {origin!r}")
        return tuple(str(k[0]) for k in keys)

    def logs(self) -> list[LogState]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT origin, size, root, updated_at FROM log ORDER BY origin"
            ).fetchall()
            keys: dict[str, list[str]] = {}
            for origin, vkey in db.execute(
                "SELECT origin, vkey FROM log_key ORDER BY added_at, vkey"
            ):
                keys.setdefault(origin, []).append(vkey)
            refusals = dict(
                db.execute(
                    "SELECT origin, count(*) FROM refused_checkpoint GROUP BY origin"
                ).fetchall()
            )
        return [
            LogState(
                origin,
                int(size),
                bytes(root),
                tuple(keys.get(origin, ())),
                updated_at,
                int(refusals.get(origin, 0)),
            )
            for origin, size, root, updated_at in rows
        ]

    def log(self, origin: str) -> LogState:
        for state in self.logs():
            if state.origin == origin:
                return state
        raise UnknownLog(f"this witness does not follow the log {origin!r}")

    def refused_requests(self, origin: str) -> list[tuple[int, int, str, bytes]]:
        """``(received_at, status, reason, request body)`` of the refused, log-signed requests."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT received_at, status, reason, request FROM refused_checkpoint "
                "WHERE origin = ? ORDER BY id",
                (origin,),
            ).fetchall()
        return [(int(t), int(s), str(r), bytes(b)) for t, s, r, b in rows]

    # -- the atomic step ----------------------------------------------------------------------

    def advance(
        self,
        origin: str,
        new_size: int,
        new_root: bytes,
        check: TransitionCheck,
        *,
        request: bytes,
        now: int,
    ) -> None:
        """Store ``(new_size, new_root)`` for ``origin`` if ``check(stored_size, stored_root)``
        passes, atomically: nothing else can change the log between the check and the commit,
        and the commit is durable when this returns.

        A fork or a proof that does not verify is recorded with ``request`` as evidence before the
        error propagates.
        """
        evidence: WitnessError | None = None
        with self._transaction() as db:
            row = db.execute("SELECT size, root FROM log WHERE origin = ?", (origin,)).fetchone()
            if row is None:
                raise UnknownLog(f"this witness does not follow the log {origin!r}")
            stored_size, stored_root = int(row[0]), bytes(row[1])
            try:
                check(stored_size, stored_root)
            except (ForkDetected, InconsistentProof) as exc:
                evidence = exc
                self._record_refusal(db, origin, exc, request, now)
            else:
                changed = db.execute(
                    "UPDATE log SET size = ?, root = ?, updated_at = ? "
                    "WHERE origin = ? AND size = ?",
                    (new_size, new_root, now, origin, stored_size),
                ).rowcount
                if changed != 1:  # cannot happen under the write lock; refuse rather than guess
                    raise WitnessBusy("the log changed during the transaction")
        if evidence is not None:
            raise evidence  # after COMMIT, so that the evidence is kept

    @staticmethod
    def _record_refusal(
        db: sqlite3.Connection, origin: str, exc: WitnessError, request: bytes, now: int
    ) -> None:
        (count,) = db.execute(
            "SELECT count(*) FROM refused_checkpoint WHERE origin = ?", (origin,)
        ).fetchone()
        if count < MAX_REFUSALS_KEPT:
            db.execute(
                "INSERT INTO refused_checkpoint (origin, received_at, status, reason, request) "
                "VALUES (?, ?, ?, ?, ?)",
                (origin, now, exc.status, str(exc), request),
            )
