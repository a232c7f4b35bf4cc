"""The repository layer, the anchoring worker and the in-process API on PostgreSQL.

Two parts:

* The backend-independent suites of ``tests/unit/notary`` (written once, run on SQLite there) run
  here again on a real PostgreSQL server: this module imports their tests and provides the
  fixtures they use (``engine``, ``api``, ``make_api``) on a fresh PostgreSQL database. Each suite
  gets its own database; test ids say which, e.g. ``[postgres-test_works]``.
* What only PostgreSQL has: concurrent first starts migrating one database, the advisory-lock
  leader (one holder, hand-over, a dead session noticed, a session that rests idle with TCP
  keepalives), and two sealers at once never putting a record in two batches nor both appending
  to the log from the same size (``FOR UPDATE SKIP LOCKED`` lets them take different records; the
  unique log positions refuse the one that sealed from a stale size).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.merkle import root_from_inclusion_proof
from ipnotary.service.services.transparency_log import (
    AppendResult,
    TransparencyLog,
    inclusion_proof,
)
from ipnotary.service.storage.db import create_db_engine, migrate
from ipnotary.service.storage.models import Batch, Record
from ipnotary.service.worker.anchoring import AnchoringWorker
from ipnotary.service.worker.leadership import PostgresLeaderLock, leader_lock_for
from tests.conftest import REPO
from tests.integration.conftest import OneLog, check_one_log, record_measurement
from tests.integration.postgres import PostgresServer
from tests.unit.notary import (
    test_anchoring,
    test_claims,
    test_credit,
    test_trade_secret_api,
    test_works,
)
from tests.unit.notary.conftest import Api, _api
from tests.unit.notary.test_anchoring import FakeRegistry, submit

pytestmark = pytest.mark.postgres

ANCHOR_LOCK_ID = 0x4E4F5441  # worker.leadership._ANCHOR_LOCK_ID, as pg_locks shows it

# The suites run again here; their module-level fixtures come along (e.g. test_claims' registered).
SUITES = [test_anchoring, test_works, test_claims, test_trade_secret_api, test_credit]
_FIXTURES_WE_PROVIDE = {"engine", "api", "make_api"}


def _adopt(suites: list[Any]) -> None:
    adopted: dict[str, str] = {}
    for suite in suites:
        for name, obj in vars(suite).items():
            is_test = name.startswith("test_") and callable(obj)
            is_fixture = hasattr(obj, "_fixture_function_marker") or hasattr(
                obj, "_pytestfixturefunction"
            )
            if not (is_test or is_fixture) or name in _FIXTURES_WE_PROVIDE:
                continue
            if name in adopted:
                raise RuntimeError(f"{name} is in both {adopted[name]} and {suite.__name__}")
            adopted[name] = suite.__name__
            globals()[name] = obj


_adopt(SUITES)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Name the backend and suite in adopted tests' ids (``[postgres-test_works]``), and give each
    suite its own PostgreSQL-backed ``api``, as each had its own per module on SQLite."""
    module = metafunc.function.__module__
    if module == __name__:
        return
    suite = module.rsplit(".", 1)[-1]
    for name in ("api", "make_api", "engine"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(
                name,
                [suite],
                indirect=True,
                scope="module" if name == "api" else "function",
                ids=[f"postgres-{suite}"],
            )
            return


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    eng = create_db_engine(postgres_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def api(
    request: pytest.FixtureRequest,
    postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    url = postgres_server.create_database(prefix=request.param)
    yield from _api(tmp_path_factory.mktemp(request.param), database_url=url)
    postgres_server.drop_database(url)


@pytest.fixture
def make_api(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[Callable[..., Api]]:
    made: list[tuple[Iterator[Api], str]] = []

    def make(**overrides: Any) -> Api:
        url = postgres_server.create_database()
        gen = _api(tmp_path / f"svc{len(made)}", database_url=url, **overrides)
        made.append((gen, url))
        return next(gen)

    yield make
    for gen, url in made:
        next(gen, None)
        postgres_server.drop_database(url)


# -- what only PostgreSQL has ------------------------------------------------------------------


def test_processes_starting_together_migrate_a_fresh_database_once(postgres_url: str) -> None:
    code = (
        "import sys; from ipnotary.service.storage.db import create_db_engine, migrate; "
        "e = create_db_engine(sys.argv[1]); migrate(e); e.dispose()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(err.decode(errors="replace")[-800:])
    assert failures == []
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def _holders(url: str) -> list[tuple[str, int, str]]:
    """(application_name, pid, state) of the sessions holding the anchoring lock."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.application_name, a.pid, a.state FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (ANCHOR_LOCK_ID,),
        ).fetchall()
    return [(str(n), int(p), str(s)) for n, p, s in rows]


@pytest.fixture
def two_locks(postgres_url: str) -> Iterator[tuple[PostgresLeaderLock, PostgresLeaderLock]]:
    engines = [create_db_engine(f"{postgres_url}?application_name={n}") for n in ("one", "two")]
    locks = [leader_lock_for(e, Path("unused")) for e in engines]
    assert isinstance(locks[0], PostgresLeaderLock) and isinstance(locks[1], PostgresLeaderLock)
    yield locks[0], locks[1]
    for lock, eng in zip(locks, engines, strict=True):
        lock.release()
        eng.dispose()


def test_one_holder_at_a_time_and_release_hands_over(two_locks, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    one, two = two_locks
    assert one.try_acquire() and one.try_acquire()
    assert not two.try_acquire()
    assert [h[0] for h in _holders(postgres_url)] == ["one"]
    one.release()
    assert two.try_acquire()
    assert not one.try_acquire()
    assert [h[0] for h in _holders(postgres_url)] == ["two"]


def test_a_dead_lock_session_is_noticed_and_the_lock_moves(two_locks, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    one, two = two_locks
    assert one.try_acquire()
    ((_, pid, _),) = _holders(postgres_url)
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while not two.try_acquire():  # the server frees the lock once the session is gone
        assert time.monotonic() < deadline, "the lock outlived its session"
    assert not one.try_acquire()  # the old holder notices and does not believe it still leads
    assert [h[0] for h in _holders(postgres_url)] == ["two"]


def test_the_lock_session_rests_idle_with_keepalives(two_locks, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    one, _ = two_locks
    assert one.try_acquire() and one.try_acquire()  # acquire, then a liveness check
    # "idle in transaction" would be ended by idle_in_transaction_session_timeout (lost lock).
    assert [(h[0], h[2]) for h in _holders(postgres_url)] == [("one", "idle")]
    conn = one._conn  # the lock's own session is the thing under test
    assert conn is not None
    shown = {
        name: conn.execute(text(f"SHOW {name}")).scalar()
        for name in (
            "tcp_keepalives_idle",
            "tcp_keepalives_interval",
            "tcp_keepalives_count",
            "tcp_user_timeout",
        )
    }
    conn.commit()
    # A leader whose machine vanished is dropped after ~20 s, not after TCP's two hours.
    assert shown == {
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "5",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "20000",
    }


def _check_log(engine: Engine, tlog: TransparencyLog, total: int) -> OneLog:
    """One log of ``total`` records signed by ``tlog``'s key, and inclusion proofs served from
    its tiles that lead each record to its batch's checkpoint."""
    log = check_one_log(engine, origin=tlog.origin, keys=[tlog.signer.verifier()])
    assert len(log.records) == total
    by_seq = {b.seq: b for b in log.batches}
    with Session(engine) as session:
        for r in list(log.records.values())[:: max(1, total // 40)]:
            batch = by_seq[r.batch_seq]
            assert r.log_index is not None and batch.log_size is not None
            path = inclusion_proof(session, r.log_index, batch.log_size)
            root = root_from_inclusion_proof(
                bytes.fromhex(r.leaf_hash), r.log_index, batch.log_size, path
            )
            assert root.hex() == batch.root
    return log


def test_two_sealers_at_once_never_put_a_record_in_two_batches(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """Fencing for the moment two processes both believe they lead (a lock session dropped while
    its holder was mid-round): a record is sealed into one batch only, whoever seals it, and the
    log never forks: appends take turns (an advisory lock for the transaction), each from the
    size the other left."""
    submit(engine, 2_000)
    workers = [
        AnchoringWorker(engine, FakeRegistry(), tlog, max_items=50, interval_seconds=3600)
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    refused: list[BaseException] = []

    def seal_all(worker: AnchoringWorker) -> None:
        try:
            barrier.wait()
            for _ in range(1_000):  # the worker's loop retries a refused round, so does this
                try:
                    if worker.seal_batch(force=True) is None:
                        return
                except (IntegrityError, ValueError) as exc:  # asserted below: never
                    refused.append(exc)
            raise AssertionError("sealing did not finish in 1,000 rounds")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seal_all, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert refused == [], "an append from a stale log size reached the database"
    log = _check_log(engine, tlog, 2_000)
    assert sum(b.size for b in log.batches) == 2_000, "a record was sealed twice"
    assert all(b.size <= 50 for b in log.batches)
    record_measurement(f"two sealers at once: {len(log.batches)} batches sealed, none refused")


class _PausingLog(TransparencyLog):
    """Stops a sealer after it appended to the log (in its open transaction), until resumed."""

    def __init__(self, log: TransparencyLog) -> None:
        super().__init__(log.origin, log.signer)
        self.appended = threading.Event()
        self.resume = threading.Event()

    def append(self, session: Session, leaf_hashes: Sequence[bytes]) -> AppendResult:
        result = super().append(session, leaf_hashes)
        self.appended.set()
        assert self.resume.wait(60), "never resumed"
        return result


def test_a_second_sealer_waits_for_the_first_and_appends_after_it(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """The race made certain: one sealer has appended 10 records at log size 0 and not committed.
    A second takes the next 10 (SKIP LOCKED) and must not append from size 0 too: it waits for
    the first to commit, then appends from size 10."""
    submit(engine, 20)
    paused = _PausingLog(tlog)
    registry = FakeRegistry()
    slow = AnchoringWorker(engine, registry, paused, max_items=10, interval_seconds=3600)
    fast = AnchoringWorker(engine, registry, tlog, max_items=10, interval_seconds=3600)
    outcome: dict[str, object] = {}

    def seal(name: str, worker: AnchoringWorker) -> None:
        try:
            outcome[name] = worker.seal_batch(force=True)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcome[f"{name} error"] = exc

    first = threading.Thread(target=seal, args=("slow", slow))
    first.start()
    second = threading.Thread(target=seal, args=("fast", fast))
    try:
        assert paused.appended.wait(60)
        second.start()
        second.join(timeout=2)
        assert second.is_alive(), "the second sealer appended while the first held the log"
    finally:
        paused.resume.set()
        first.join(timeout=60)
        if second.ident is not None:
            second.join(timeout=60)
    slow_batch, fast_batch = outcome.get("slow"), outcome.get("fast")
    assert isinstance(slow_batch, Batch) and isinstance(fast_batch, Batch), outcome
    assert (slow_batch.log_start, slow_batch.log_size) == (0, 10)
    assert (fast_batch.log_start, fast_batch.log_size) == (10, 20)
    with Session(engine) as session:
        seqs = session.exec(select(Record.seq, Record.batch_seq).order_by(col(Record.seq))).all()
    # Each sealed the records it had locked: the older ten first, the newer ten after.
    assert [batch for _, batch in seqs] == [slow_batch.seq] * 10 + [fast_batch.seq] * 10
    assert fast.seal_batch(force=True) is None
    _check_log(engine, tlog, 20)


def test_the_backlog_counts_sealed_batches_until_they_are_anchored(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """/readyz's pending_records: during a chain outage records are sealed but not anchored."""
    worker = AnchoringWorker(engine, FakeRegistry(), tlog, max_items=10, interval_seconds=3600)
    submit(engine, 25)
    assert worker.pending_count() == 25
    assert worker.seal_batch() is not None and worker.seal_batch() is not None
    assert worker.pending_count() == 25  # 20 sealed, 5 waiting for a batch
    assert worker.anchor_sealed() == 2
    assert worker.pending_count() == 5
