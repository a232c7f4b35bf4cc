"""The anchoring worker: closes batches of pending records and anchors each batch's Merkle root.

Exactly-once anchoring, even across ``kill -9``, rests on two durable steps:

1. *Seal* (one database transaction): take up to ``max_items`` pending records, build the RFC 9162
   tree over their leaf hashes, store the batch as ``sealed`` and each record's position and audit
   path. A crash before the commit leaves the records pending; after it, the batch exists.
2. *Anchor*: send the root to the registry and mark the batch ``anchored``. A crash between the
   transaction and the database update is harmless: the contract refuses a root twice, and the
   chain client answers an already-anchored root with the existing anchor instead of a new
   transaction.

Only one worker seals at a time: the caller holds a leader lock (``services.leadership``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from client_sdk.merkle import MerkleTree
from notary.storage.models import Batch, Record

__all__ = ["AnchorResult", "Anchorer", "AnchoringWorker", "WorkerState"]

log = logging.getLogger(__name__)


class AnchorResult(Protocol):
    chain_id: int
    contract: str
    batch_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int
    gas_used: int


class Anchorer(Protocol):
    """What the worker needs from the chain layer (``chain.EvidenceRegistryClient`` fits)."""

    def anchor_root(self, root: bytes, leaf_count: int) -> AnchorResult: ...


@dataclass
class WorkerState:
    """Shared with the readiness probe."""

    last_error: str | None = None
    last_error_at: datetime | None = None
    last_anchor_at: datetime | None = None
    consecutive_failures: int = 0
    anchored_batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class AnchoringWorker:
    def __init__(
        self,
        engine: Engine,
        anchorer: Anchorer,
        *,
        max_items: int,
        interval_seconds: float,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self._engine = engine
        self._anchorer = anchorer
        self.max_items = max_items
        self.interval = timedelta(seconds=interval_seconds)
        self._poll = min(0.25, interval_seconds / 4)
        self._max_backoff = max_backoff_seconds
        self.state = WorkerState()
        self.is_leader = False

    # One round ---------------------------------------------------------------------------

    def seal_batch(self, *, force: bool = False) -> Batch | None:
        """Seal one batch if enough records wait or the oldest has waited ``interval``."""
        with Session(self._engine) as session:
            oldest = session.exec(
                select(Record.received_at)
                .where(col(Record.batch_seq).is_(None))
                .order_by(col(Record.seq))
                .limit(1)
            ).first()
            if oldest is None:
                return None
            if not force:
                waited = datetime.now(UTC) - _aware(oldest)
                if waited < self.interval:
                    pending = session.exec(
                        select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
                    ).one()
                    if pending < self.max_items:
                        return None
            # FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one writer anyway) fences off a
            # second sealer: if the leader lock ever moves while the old holder is mid-round,
            # each skips the rows the other is sealing, so no record lands in two batches.
            rows = session.exec(
                select(Record.seq, Record.leaf_hash)
                .where(col(Record.batch_seq).is_(None))
                .order_by(col(Record.seq))
                .limit(self.max_items)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return None
            tree = MerkleTree.from_leaf_hashes([bytes.fromhex(h) for _, h in rows])
            batch = Batch(
                root=tree.root.hex(), size=tree.size, status="sealed", sealed_at=datetime.now(UTC)
            )
            session.add(batch)
            session.flush()
            session.execute(
                update(Record),
                [
                    {
                        "seq": seq,
                        "batch_seq": batch.seq,
                        "leaf_index": i,
                        "audit_path": json.dumps([h.hex() for h in tree.audit_path(i)]),
                    }
                    for i, (seq, _) in enumerate(rows)
                ],
            )
            session.commit()
            session.refresh(batch)
            log.info("sealed batch %s: %d records, root %s", batch.seq, batch.size, batch.root)
            return batch

    def anchor_sealed(self) -> int:
        """Anchor every sealed batch, oldest first; returns how many were anchored."""
        done = 0
        with Session(self._engine) as session:
            sealed = session.exec(
                select(Batch).where(Batch.status == "sealed").order_by(col(Batch.seq))
            ).all()
            for batch in sealed:
                try:
                    receipt = self._anchorer.anchor_root(bytes.fromhex(batch.root), batch.size)
                except Exception as exc:
                    batch.attempts += 1
                    batch.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    session.add(batch)
                    session.commit()
                    raise
                batch.status = "anchored"
                batch.anchored_at = datetime.now(UTC)
                batch.chain_id = receipt.chain_id
                batch.contract = receipt.contract
                batch.chain_batch_id = receipt.batch_id
                batch.tx_hash = receipt.tx_hash
                batch.block_number = receipt.block_number
                batch.block_hash = receipt.block_hash
                batch.block_timestamp = receipt.block_timestamp
                batch.gas_used = receipt.gas_used
                batch.last_error = None
                session.add(batch)
                session.commit()
                done += 1
                log.info(
                    "anchored batch %s as chain batch %s in block %s (tx %s)",
                    batch.seq, receipt.batch_id, receipt.block_number, receipt.tx_hash,
                )
        return done

    def run_once(self, *, force: bool = False) -> int:
        """Seal what is due, then anchor every sealed batch."""
        while self.seal_batch(force=force) is not None:
            force = False  # only the first batch is forced; the rest follow the normal rule
        return self.anchor_sealed()

    # The loop ----------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, *, is_leader: Callable[[], bool] = lambda: True) -> None:
        backoff = 0.0
        while not stop.is_set():
            self.is_leader = is_leader()
            if not self.is_leader:
                stop.wait(1.0)
                continue
            try:
                anchored = self.run_once()
            except Exception as exc:  # noqa: BLE001 - the loop must survive any outage
                backoff = min(self._max_backoff, max(0.5, backoff * 2))
                with self.state.lock:
                    self.state.last_error = f"{type(exc).__name__}: {exc}"
                    self.state.last_error_at = datetime.now(UTC)
                    self.state.consecutive_failures += 1
                log.warning("anchoring failed (retrying in %.1fs): %s", backoff, exc)
                stop.wait(backoff)
                continue
            backoff = 0.0
            if anchored:
                with self.state.lock:
                    self.state.last_anchor_at = datetime.now(UTC)
                    self.state.anchored_batches += anchored
                    self.state.last_error = None
                    self.state.consecutive_failures = 0
            stop.wait(self._poll)

    def pending_count(self) -> int:
        """Records not anchored yet: waiting for a batch, or in a sealed batch awaiting the chain
        (during a chain outage records are still sealed, so counting only the first hides the
        backlog). Two indexed queries, cheap enough for every readiness probe."""
        with Session(self._engine) as session:
            unbatched = session.exec(
                select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
            ).one()
            sealed = session.exec(
                select(func.coalesce(func.sum(Batch.size), 0)).where(Batch.status != "anchored")
            ).one()
            return int(unbatched) + int(sealed)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

