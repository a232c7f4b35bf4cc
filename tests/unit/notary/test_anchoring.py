"""The anchoring worker: batches close on size or time, each root is anchored once, failures retry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from client_sdk.merkle import root_from_inclusion_proof
from notary.domain.records import ContentFingerprint, EvidenceMetadata, build_evidence_record
from notary.services.anchoring import AnchoringWorker
from notary.services.principals import create_principal
from notary.services.records import accept_record
from notary.storage.db import create_db_engine, migrate
from notary.storage.models import Batch, Record


@dataclass(frozen=True)
class FakeReceipt:
    chain_id: int
    contract: str
    batch_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int
    gas_used: int


class FakeRegistry:
    """Behaves like the contract: a root is recorded once; ``fail`` simulates an outage."""

    def __init__(self) -> None:
        self.roots: dict[bytes, FakeReceipt] = {}
        self.transactions = 0
        self.fail = False

    def anchor_root(self, root: bytes, leaf_count: int) -> FakeReceipt:
        if self.fail:
            raise ConnectionError("node down")
        if root in self.roots:
            return self.roots[root]
        self.transactions += 1
        n = len(self.roots) + 1
        receipt = FakeReceipt(1337, "0x" + "ab" * 20, n, "0x" + f"{n:064x}", n, "0x" + f"{n:064x}",
                              1_700_000_000 + n, 50_000)
        self.roots[root] = receipt
        return receipt


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(eng)
    yield eng
    eng.dispose()


def submit(engine, n: int, *, holder=None) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Store n evidence records; returns (seq, id) of each."""
    out = []
    with Session(engine) as session:
        if holder is None:
            holder = create_principal(session, name="Holder", role="holder").principal
        for i in range(n):
            digest = f"{i:064x}"
            content = ContentFingerprint(size=i, sha256=digest)

            def build(rid: str, at: datetime, c=content) -> dict:  # type: ignore[type-arg]
                return build_evidence_record(record_id=rid, holder_id=holder.id, holder_name=holder.name,
                                             content=c, metadata=EvidenceMetadata(), received_at=at)

            rec = accept_record(session, kind="evidence", owner=holder, build_body=build,
                                dedup=f"evidence:{holder.id}:{digest}").record
            out.append((rec.seq, rec.id))
    return out


def test_batch_closes_on_size_and_every_record_gets_a_valid_proof(engine) -> None:  # type: ignore[no-untyped-def]
    registry = FakeRegistry()
    worker = AnchoringWorker(engine, registry, max_items=10, interval_seconds=3600)
    submit(engine, 25)
    worker.run_once()
    with Session(engine) as session:
        batches = session.exec(select(Batch).order_by(Batch.seq)).all()
        assert [b.size for b in batches] == [10, 10]  # the last 5 wait for size or time
        assert all(b.status == "anchored" for b in batches)
        for rec in session.exec(select(Record).where(Record.batch_seq.is_not(None))):  # type: ignore[union-attr]
            batch = session.get(Batch, rec.batch_seq)
            path = [bytes.fromhex(h) for h in json.loads(rec.audit_path)]
            root = root_from_inclusion_proof(bytes.fromhex(rec.leaf_hash), rec.leaf_index, batch.size, path)
            assert root.hex() == batch.root
    assert registry.transactions == 2


def test_batch_closes_on_time(engine) -> None:  # type: ignore[no-untyped-def]
    registry = FakeRegistry()
    worker = AnchoringWorker(engine, registry, max_items=1000, interval_seconds=60)
    records = submit(engine, 3)
    assert worker.run_once() == 0  # young and few: nothing closes
    with Session(engine) as session:
        for seq, _ in records:
            row = session.get(Record, seq)
            row.received_at = datetime.now(UTC) - timedelta(seconds=61)
            session.add(row)
        session.commit()
    assert worker.run_once() == 1
    assert registry.transactions == 1


def test_outage_keeps_the_batch_sealed_and_retry_anchors_it_once(engine) -> None:  # type: ignore[no-untyped-def]
    registry = FakeRegistry()
    worker = AnchoringWorker(engine, registry, max_items=5, interval_seconds=3600)
    submit(engine, 5)
    registry.fail = True
    with pytest.raises(ConnectionError):
        worker.run_once()
    with Session(engine) as session:
        (batch,) = session.exec(select(Batch)).all()
        assert batch.status == "sealed" and batch.attempts == 1 and "node down" in batch.last_error
    registry.fail = False
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    assert registry.transactions == 1


def test_crash_after_the_transaction_does_not_anchor_twice(engine) -> None:  # type: ignore[no-untyped-def]
    """The chain has the root but the database never heard back: the retry adopts the anchor."""
    registry = FakeRegistry()
    worker = AnchoringWorker(engine, registry, max_items=4, interval_seconds=3600)
    submit(engine, 4)
    batch = worker.seal_batch()
    registry.anchor_root(bytes.fromhex(batch.root), batch.size)  # sent, then "kill -9"
    assert worker.anchor_sealed() == 1
    assert registry.transactions == 1
    with Session(engine) as session:
        assert session.exec(select(Batch)).one().chain_batch_id == 1


def test_same_content_same_holder_is_one_record(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        holder = create_principal(session, name="H", role="holder").principal
    first = submit(engine, 1, holder=holder)
    again = submit(engine, 1, holder=holder)
    assert first == again


def test_many_digests_race_with_a_concurrent_submission_resolves_to_one_record(engine) -> None:  # type: ignore[no-untyped-def]
    """Another request stores item 2 between our duplicate check and our commit: the commit's
    unique-key violation is retried once and item 2 becomes that request's record."""
    from notary.services.records import accept_many

    with Session(engine, expire_on_commit=False) as session:
        holder = create_principal(session, name="H", role="holder").principal

    def body(sha: str):  # type: ignore[no-untyped-def]
        def build(rid: str, at: datetime) -> dict:  # type: ignore[type-arg]
            if sha == "01" * 32 and not raced:
                raced.append(submit_one("02" * 32))  # the concurrent request lands now
            return build_evidence_record(record_id=rid, holder_id=holder.id, holder_name=holder.name,
                                         content=ContentFingerprint(size=1, sha256=sha),
                                         metadata=EvidenceMetadata(), received_at=at)
        return build

    def submit_one(sha: str) -> str:
        with Session(engine) as other:
            rec = accept_record(other, kind="evidence", owner=holder, build_body=body(sha),
                                dedup=f"evidence:{holder.id}:{sha}")
            return rec.record.id

    raced: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        stored = accept_many(session, kind="evidence", owner=holder, items=[
            (f"evidence:{holder.id}:{sha}", body(sha), sha) for sha in ("01" * 32, "02" * 32)
        ])
    assert [s.created for s in stored] == [True, False]
    assert stored[1].record.id == raced[0]
    with Session(engine) as session:
        assert len(session.exec(select(Record)).all()) == 2
