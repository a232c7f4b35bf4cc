"""The anchoring worker: batches close on size or time and append to the one log, each checkpoint
is anchored once (and only ever growing), failures retry, certification waits for attestations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.chain.types import (
    Address,
    AnchorReceipt,
    BatchId,
    BlockHash,
    BlockNumber,
    ChainId,
    TxHash,
)
from ipnotary.sdk.merkle import root_from_inclusion_proof, verify_consistency
from ipnotary.sdk.note import Checkpoint, NoteSigner, parse_note
from ipnotary.service.domain.records import (
    ContentFingerprint,
    EvidenceMetadata,
    build_evidence_record,
)
from ipnotary.service.errors import ConfigurationError
from ipnotary.service.services.principals import create_principal
from ipnotary.service.services.records import accept_record
from ipnotary.service.services.transparency_log import (
    TransparencyLog,
    consistency_proof,
    inclusion_proof,
    log_size,
)
from ipnotary.service.storage.db import create_db_engine, migrate
from ipnotary.service.storage.models import Batch, BatchStatus, Cosignature, Record
from ipnotary.service.worker.anchoring import AnchoringWorker, CertificationRule

ORIGIN = "test.example/log"


class FakeRegistry:
    """Behaves like the contract: a root is recorded once, tree sizes only grow; ``fail``
    simulates an outage."""

    def __init__(self) -> None:
        self.roots: dict[bytes, AnchorReceipt] = {}
        self.sizes: list[int] = []
        self.transactions = 0
        self.fail = False

    def anchor_root(self, root: bytes, tree_size: int) -> AnchorReceipt:
        if self.fail:
            raise ConnectionError("node down")
        if root in self.roots:
            return self.roots[root]
        if self.sizes and tree_size <= self.sizes[-1]:
            raise ValueError(f"tree size {tree_size} does not grow past {self.sizes[-1]}")
        self.sizes.append(tree_size)
        self.transactions += 1
        n = len(self.roots) + 1
        receipt = AnchorReceipt(
            chain_id=ChainId(1337),
            contract=Address("0x" + "ab" * 20),
            batch_id=BatchId(n),
            root=root,
            tree_size=tree_size,
            tx_hash=TxHash("0x" + f"{n:064x}"),
            block_number=BlockNumber(n),
            block_hash=BlockHash("0x" + f"{n:064x}"),
            block_timestamp=1_700_000_000 + n,
            gas_used=50_000,
        )
        self.roots[root] = receipt
        return receipt


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def tlog(log_key: Ed25519PrivateKey) -> TransparencyLog:
    return TransparencyLog(ORIGIN, NoteSigner(ORIGIN, log_key))


def worker_for(
    engine: Engine, tlog: TransparencyLog, registry: FakeRegistry, **kwargs: Any
) -> AnchoringWorker:
    kwargs.setdefault("interval_seconds", 3600)
    return AnchoringWorker(engine, registry, tlog, **kwargs)


def submit(engine: Engine, n: int, *, holder=None) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Store n evidence records; returns (seq, id) of each."""
    out = []
    with Session(engine) as session:
        if holder is None:
            holder = create_principal(session, name="Holder", role="holder").principal
        for i in range(n):
            digest = f"{i:064x}"
            content = ContentFingerprint(size=i, sha256=digest)

            def build(rid: str, at: datetime, c: ContentFingerprint = content) -> dict[str, Any]:
                return build_evidence_record(
                    record_id=rid,
                    holder_id=holder.id,
                    holder_name=holder.name,
                    content=c,
                    metadata=EvidenceMetadata(),
                    received_at=at,
                )

            rec = accept_record(
                session,
                kind="evidence",
                owner=holder,
                build_body=build,
                dedup=f"evidence:{holder.id}:{digest}",
            ).record
            assert rec.seq is not None
            out.append((rec.seq, rec.id))
    return out


def test_batches_append_to_one_log_with_signed_growing_checkpoints(
    engine: Engine, tlog: TransparencyLog
) -> None:
    registry = FakeRegistry()
    worker = worker_for(engine, tlog, registry, max_items=10)
    submit(engine, 25)
    worker.run_once()
    with Session(engine) as session:
        batches = session.exec(select(Batch).order_by(col(Batch.seq))).all()
        assert [b.size for b in batches] == [10, 10]  # the last 5 wait for size or time
        assert [(b.log_start, b.log_size) for b in batches] == [(0, 10), (10, 20)]
        assert all(b.status == "anchored" for b in batches)
        assert registry.sizes == [10, 20]  # each anchor commits the checkpoint's tree size
        checkpoints = []
        for b in batches:
            assert b.checkpoint is not None
            note = parse_note(b.checkpoint)
            checkpoint = Checkpoint.parse(note.text)
            assert (checkpoint.origin, checkpoint.size, checkpoint.root.hex()) == (
                ORIGIN,
                b.log_size,
                b.root,
            )
            assert tlog.signer.verifier().verify(note.text, note.signatures[0])
            checkpoints.append(checkpoint)
        # the second checkpoint provably extends the first
        verify_consistency(
            10, 20, checkpoints[0].root, checkpoints[1].root, consistency_proof(session, 10, 20)
        )
        records = session.exec(
            select(Record)
            .where(Record.batch_seq.is_not(None))  # type: ignore[union-attr]
            .order_by(col(Record.seq))
        ).all()
        assert [r.log_index for r in records] == list(range(20))  # sealing order, no gaps
        for rec in records:
            assert rec.log_index is not None
            for size, root in ((10, checkpoints[0].root), (20, checkpoints[1].root)):
                if rec.log_index >= size:
                    continue
                path = inclusion_proof(session, rec.log_index, size)
                assert (
                    root_from_inclusion_proof(
                        bytes.fromhex(rec.leaf_hash), rec.log_index, size, path
                    )
                    == root
                )
    assert registry.transactions == 2


def test_the_database_refuses_a_second_batch_at_the_same_log_position(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """The backstop against a forked log: whatever a sealer computed, the database takes only one
    batch per log position (appends also take turns: tests/integration/test_postgres_repository.py
    pauses one sealer mid-append and watches the other wait)."""
    submit(engine, 2)
    worker_for(engine, tlog, FakeRegistry(), max_items=1).seal_batch(force=True)
    with Session(engine) as session:
        stale = Batch(
            root="ab" * 32,
            size=1,
            status=BatchStatus.sealed,
            sealed_at=datetime.now(UTC),
            log_start=0,
            log_size=2,
            checkpoint="x",
        )
        session.add(stale)
        with pytest.raises(IntegrityError):
            session.commit()
    with Session(engine) as session:
        assert log_size(session) == 1


def test_a_log_refuses_to_continue_under_another_origin_or_key(
    engine: Engine, tlog: TransparencyLog
) -> None:
    submit(engine, 2)
    worker_for(engine, tlog, FakeRegistry(), max_items=2).run_once()
    with Session(engine) as session:
        tlog.check_origin(session)  # the same log: fine
        other_origin = TransparencyLog(
            "other.example/log", NoteSigner("other.example/log", Ed25519PrivateKey.generate())
        )
        with pytest.raises(ConfigurationError, match="origin never changes"):
            other_origin.check_origin(session)
        other_key = TransparencyLog(ORIGIN, NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
        with pytest.raises(ConfigurationError, match="another key"):
            other_key.check_origin(session)


def test_certification_waits_for_the_witness_quorum(engine: Engine, tlog: TransparencyLog) -> None:
    rule = CertificationRule(witnesses=frozenset({"w1", "w2", "w3"}), cosignatures=2)
    worker = worker_for(engine, tlog, FakeRegistry(), max_items=3, certification=rule)
    submit(engine, 3)
    worker.run_once()
    with Session(engine) as session:
        batch = session.exec(select(Batch)).one()
        assert batch.status == "anchored" and batch.certified_at is None
        seq = batch.seq
        assert seq is not None
        for name in ("w1", "stranger"):  # a witness the rule does not name does not count
            session.add(
                Cosignature(
                    batch_seq=seq,
                    witness=name,
                    timestamp=1,
                    signature_line="x",
                    received_at=datetime.now(UTC),
                )
            )
        session.commit()
    assert worker.certify() == 0
    with Session(engine) as session:
        session.add(
            Cosignature(
                batch_seq=seq,
                witness="w3",
                timestamp=1,
                signature_line="x",
                received_at=datetime.now(UTC),
            )
        )
        session.commit()
    assert worker.certify() == 1
    with Session(engine) as session:
        assert session.exec(select(Batch)).one().certified_at is not None


def test_batch_closes_on_time(engine: Engine, tlog: TransparencyLog) -> None:
    registry = FakeRegistry()
    worker = worker_for(engine, tlog, registry, max_items=1000, interval_seconds=60)
    records = submit(engine, 3)
    assert worker.run_once() == 0  # young and few: nothing closes
    with Session(engine) as session:
        for seq, _ in records:
            row = session.get(Record, seq)
            assert row is not None
            row.received_at = datetime.now(UTC) - timedelta(seconds=61)
            session.add(row)
        session.commit()
    assert worker.run_once() == 1
    assert registry.transactions == 1


def test_outage_keeps_the_batch_sealed_and_retry_anchors_it_once(
    engine: Engine, tlog: TransparencyLog
) -> None:
    registry = FakeRegistry()
    worker = worker_for(engine, tlog, registry, max_items=5)
    submit(engine, 5)
    registry.fail = True
    with pytest.raises(ConnectionError):
        worker.run_once()
    with Session(engine) as session:
        (batch,) = session.exec(select(Batch)).all()
        assert (
            batch.status == "sealed"
            and batch.attempts == 1
            and "node down" in (batch.last_error or "")
        )
    registry.fail = False
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert registry.transactions == 1


def test_crash_after_the_transaction_does_not_anchor_twice(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """The chain has the root but the database never heard back: the retry adopts the anchor."""
    registry = FakeRegistry()
    worker = worker_for(engine, tlog, registry, max_items=4)
    submit(engine, 4)
    batch = worker.seal_batch()
    assert batch is not None and batch.log_size is not None
    registry.anchor_root(bytes.fromhex(batch.root), batch.log_size)  # sent, then "kill -9"
    assert worker.anchor_sealed() == 1
    assert registry.transactions == 1
    with Session(engine) as session:
        assert session.exec(select(Batch)).one().chain_batch_id == 1


def test_same_content_same_holder_is_one_record(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        holder = create_principal(session, name="H", role="holder").principal
    first = submit(engine, 1, holder=holder)
    again = submit(engine, 1, holder=holder)
    assert first == again


def test_many_digests_race_with_a_concurrent_submission_resolves_to_one_record(
    engine: Engine,
) -> None:
    """Another request stores item 2 between our duplicate check and our commit: the commit's
    unique-key violation is retried once and item 2 becomes that request's record."""
    from ipnotary.service.services.records import accept_many

    with Session(engine, expire_on_commit=False) as session:
        holder = create_principal(session, name="H", role="holder").principal

    def body(sha: str):  # type: ignore[no-untyped-def]
        def build(rid: str, at: datetime) -> dict[str, Any]:
            if sha == "01" * 32 and not raced:
                raced.append(submit_one("02" * 32))  # the concurrent request lands now
            return build_evidence_record(
                record_id=rid,
                holder_id=holder.id,
                holder_name=holder.name,
                content=ContentFingerprint(size=1, sha256=sha),
                metadata=EvidenceMetadata(),
                received_at=at,
            )

        return build

    def submit_one(sha: str) -> str:
        with Session(engine) as other:
            rec = accept_record(
                other,
                kind="evidence",
                owner=holder,
                build_body=body(sha),
                dedup=f"evidence:{holder.id}:{sha}",
            )
            return rec.record.id

    raced: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        stored = accept_many(
            session,
            kind="evidence",
            owner=holder,
            items=[
                (f"evidence:{holder.id}:{sha}", body(sha), sha) for sha in ("01" * 32, "02" * 32)
            ],
        )
    assert [s.created for s in stored] == [True, False]
    assert stored[1].record.id == raced[0]
    with Session(engine) as session:
        assert len(session.exec(select(Record)).all()) == 2


@dataclass(frozen=True)
class FakeCheckpoint:
    root: bytes
    tree_size: int


class RegistryWithHead(FakeRegistry):
    """Also says what it anchored last, as ``runtime.ChainGateway`` does."""

    def latest_checkpoint(self) -> FakeCheckpoint | None:
        if not self.sizes:
            return None
        root = next(r for r, receipt in self.roots.items() if receipt.batch_id == len(self.sizes))
        return FakeCheckpoint(root, self.sizes[-1])


def test_a_database_behind_or_beside_the_chain_never_anchors(
    engine: Engine, tlog: TransparencyLog, tmp_path: Path
) -> None:
    """Restored from an older backup, a database must not anchor its shorter log (nor, once it
    grew past the chain's size, a fork of the anchored one): anchoring stops and says why."""
    from ipnotary.service.errors import LogBehindChain

    registry = RegistryWithHead()
    submit(engine, 20)
    worker_for(engine, tlog, registry, max_items=10).run_once()
    assert registry.sizes == [10, 20]

    def fresh_database(name: str):  # type: ignore[no-untyped-def]
        eng = create_db_engine(f"sqlite:///{tmp_path / name}")
        migrate(eng)
        return eng

    behind = fresh_database("behind.sqlite")  # lost the anchored entries 0..19
    submit(behind, 10)
    with pytest.raises(LogBehindChain, match="only 0") as info:
        worker_for(behind, tlog, registry, max_items=10).run_once()
    assert info.value.code == "log_behind_chain" and registry.sizes == [10, 20]
    with Session(behind) as session:  # sealed nothing into positions the chain already holds
        assert log_size(session) == 0

    forked = fresh_database("forked.sqlite")  # another history, longer than the chain's
    with Session(forked) as session:
        other = create_principal(session, name="Other", role="holder").principal
    submit(forked, 30, holder=other)
    forking = worker_for(forked, tlog, registry, max_items=30)
    assert forking.seal_batch(force=True) is not None  # as a worker without the check did
    with pytest.raises(LogBehindChain, match="forked") as info:
        forking.run_once()
    assert info.value.code == "log_forked" and registry.sizes == [10, 20]

    # The database that holds the anchored log goes on anchoring.
    submit(engine, 10)
    worker_for(engine, tlog, registry, max_items=10).run_once()
    assert registry.sizes == [10, 20, 30]
    behind.dispose()
    forked.dispose()


def test_traffic_that_keeps_a_batch_due_does_not_starve_anchoring(
    engine: Engine, tlog: TransparencyLog
) -> None:
    """Records arriving as fast as batches are sealed: a round seals what was due when it began
    and then anchors (it used to seal until nothing was due, which under load was never)."""
    registry = FakeRegistry()
    worker = worker_for(engine, tlog, registry, max_items=5)
    submit(engine, 10)  # two batches due
    sealed = 0
    seal = worker.seal_batch

    def seal_while_traffic_arrives(*, force: bool = False) -> Batch | None:
        nonlocal sealed
        batch = seal(force=force)
        if batch is not None:
            sealed += 1
            assert sealed < 50, "the round keeps sealing and never anchors"
            submit(engine, 5)  # another batch's worth arrived meanwhile
        return batch

    worker.seal_batch = seal_while_traffic_arrives  # type: ignore[method-assign]
    assert worker.run_once() == 2  # the two batches due at the start, anchored in this round
    assert sealed == 2 and registry.sizes == [5, 10]
    assert worker.run_once() == 2  # the next round takes what arrived meanwhile
    assert registry.sizes == [5, 10, 15, 20]
