"""The repository layer, the anchoring worker and the in-process API on PostgreSQL.

Two parts:

* The backend-independent suites of ``tests/unit/notary`` (written once, run on SQLite there) run
  here again on a real PostgreSQL server: this module imports their tests and provides the
  fixtures they use (``engine``, ``api``, ``make_api``) on a fresh PostgreSQL database. Each suite
  gets its own database; test ids say which, e.g. ``[postgres-test_works]``.
* What only PostgreSQL has: concurrent first starts migrating one database, the advisory-lock
  leader (one holder, hand-over, a dead session noticed, a session that rests idle with TCP
  keepalives), and two sealers at once never putting a record in two batches.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, func, select

from client_sdk.merkle import root_from_inclusion_proof
from notary.services.anchoring import AnchoringWorker
from notary.services.leadership import PostgresLeaderLock, leader_lock_for
from notary.storage.db import create_db_engine, migrate
from notary.storage.models import Batch, Record
from tests.conftest import REPO
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

ANCHOR_LOCK_ID = 0x4E4F5441  # notary.services.leadership._ANCHOR_LOCK_ID, as pg_locks shows it

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
        "import sys; from notary.storage.db import create_db_engine, migrate; "
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


def test_two_sealers_at_once_never_put_a_record_in_two_batches(engine: Engine) -> None:
    """Fencing for the moment two processes both believe they lead (a lock session dropped while
    its holder was mid-round): a record is sealed into one batch only, whoever seals it."""
    submit(engine, 2_000)
    workers = [
        AnchoringWorker(engine, FakeRegistry(), max_items=50, interval_seconds=3600)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def seal_all(worker: AnchoringWorker) -> None:
        try:
            barrier.wait()
            while worker.seal_batch(force=True) is not None:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seal_all, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with Session(engine) as session:
        batches = {b.seq: b for b in session.exec(select(Batch))}
        records = list(session.exec(select(Record)))
        assert session.exec(select(func.count()).select_from(Record)).one() == 2_000
    assert all(r.batch_seq is not None for r in records)
    assert sum(b.size for b in batches.values()) == 2_000, "a record was sealed twice"
    members: dict[int | None, int] = {}
    for r in records:
        assert r.batch_seq is not None and r.leaf_index is not None and r.audit_path is not None
        members[r.batch_seq] = members.get(r.batch_seq, 0) + 1
        batch = batches[r.batch_seq]
        path = [bytes.fromhex(h) for h in json.loads(r.audit_path)]
        root = root_from_inclusion_proof(bytes.fromhex(r.leaf_hash), r.leaf_index, batch.size, path)
        assert root.hex() == batch.root
    assert members == {seq: b.size for seq, b in batches.items()}


def test_the_backlog_counts_sealed_batches_until_they_are_anchored(engine: Engine) -> None:
    """/readyz's pending_records: during a chain outage records are sealed but not anchored."""
    worker = AnchoringWorker(engine, FakeRegistry(), max_items=10, interval_seconds=3600)  # type: ignore[arg-type]
    submit(engine, 25)
    assert worker.pending_count() == 25
    assert worker.seal_batch() is not None and worker.seal_batch() is not None
    assert worker.pending_count() == 25  # 20 sealed, 5 waiting for a batch
    assert worker.anchor_sealed() == 2
    assert worker.pending_count() == 5
