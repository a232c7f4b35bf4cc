"""The anchoring worker: appends pending records to the log and anchors each new checkpoint.

Exactly-once anchoring, even across ``kill -9``, rests on two durable steps:

1. *Seal* (one database transaction): take up to ``max_items`` pending records, append their leaf
   hashes to the one log (``services.transparency_log``), sign the new checkpoint, store the batch
   as ``sealed`` and each record's log index. A crash before the commit leaves the records
   pending; after it, the batch and its checkpoint exist.
2. *Anchor*: send the checkpoint (root, tree size) to the registry, oldest first, and mark the
   batch ``anchored``. A crash between the transaction and the database update is harmless: the
   contract refuses a root twice (and any size that does not grow), and the chain client answers
   an already-anchored root with the existing anchor instead of a new transaction.

A checkpoint is *certified* (``certify_ready``) once it is anchored, cosigned by the witness
quorum and stamped by the required time-stamp authorities (``worker.attestation`` collects
those): certificates are built only on certified checkpoints.

Only one worker seals at a time: the caller holds a leader lock (``worker.leadership``).

Never on a database behind the chain: before it seals anything in a leadership term (and every
:data:`RECHECK_SECONDS` after), the leader compares the registry's latest checkpoint with its own
log (:meth:`AnchoringWorker.verify_log_against_chain`). A log shorter than the chain's, or one whose
root at the chain's size differs (a restore that lost anchored records, another deployment's
backup), would seal its pending records into log positions the chain already holds: instead the
worker seals and anchors nothing, records the deployment's halt (``services.fleet``) so that no
process accepts records either, and clears it once the log and the chain agree again.

Each step logs one line with its ``event`` (``batch_sealed``, ``batch_anchored``,
``checkpoint_certified``, ``anchoring_retry``, ``anchoring_recovered``) and counts in
``ipnotary.service.observability.metrics``; :func:`anchoring_backlog` is what ``/metrics`` reports
of the records still waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from ipnotary.chain.types import AnchoredBatch, AnchorReceipt
from ipnotary.service.errors import LogBehindChain
from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import event
from ipnotary.service.services.fleet import clear_halt, read_halt, record_halt
from ipnotary.service.services.transparency_log import TransparencyLog, log_size, tree_root
from ipnotary.service.storage.models import Batch, BatchStatus, Cosignature, Record, TimestampToken

__all__ = [
    "RECHECK_SECONDS",
    "Anchorer",
    "AnchoringWorker",
    "CertificationRule",
    "ChainHead",
    "WorkerState",
    "certify_ready",
]

log = logging.getLogger(__name__)

RECHECK_SECONDS = 10.0
"""Once the leader found its log to be the chain's in this term, how often it checks again: its own
anchors keep them agreeing, so this only catches a registry someone else anchors in."""


class Anchorer(Protocol):
    """What the worker needs from the chain layer (``chain.EvidenceRegistryClient`` fits)."""

    def anchor_root(self, root: bytes, tree_size: int) -> AnchorReceipt: ...


@runtime_checkable
class ChainHead(Protocol):
    """An anchorer that can also say what the registry last anchored (the service's
    ``ChainGateway``): the worker then checks the chain's latest checkpoint against its own log
    before anchoring."""

    def latest_checkpoint(self) -> AnchoredBatch | None: ...


@dataclass(frozen=True)
class CertificationRule:
    """What a checkpoint waits for before certificates are built on it: cosignatures from
    ``cosignatures`` of the named witnesses and tokens from ``timestamps`` of the named TSAs."""

    witnesses: frozenset[str] = frozenset()
    cosignatures: int = 0
    authorities: frozenset[str] = frozenset()
    timestamps: int = 0


def certify_ready(session: Session, rule: CertificationRule, *, now: datetime | None = None) -> int:
    """Mark every anchored checkpoint that meets ``rule`` as certified; returns how many."""
    query = select(Batch.seq, Batch.log_size).where(
        Batch.status == BatchStatus.anchored,
        col(Batch.certified_at).is_(None),
        col(Batch.log_size).is_not(None),
    )
    if rule.cosignatures:
        cosigned = (
            select(func.count())
            .select_from(Cosignature)
            .where(Cosignature.batch_seq == Batch.seq, col(Cosignature.witness).in_(rule.witnesses))
            .scalar_subquery()
        )
        query = query.where(cosigned >= rule.cosignatures)
    if rule.timestamps:
        stamped = (
            select(func.count())
            .select_from(TimestampToken)
            .where(
                TimestampToken.batch_seq == Batch.seq,
                col(TimestampToken.authority).in_(rule.authorities),
            )
            .scalar_subquery()
        )
        query = query.where(stamped >= rule.timestamps)
    ready = [(seq, size) for seq, size in session.exec(query)]
    if ready:
        session.execute(
            update(Batch)
            .where(col(Batch.seq).in_([seq for seq, _ in ready]))
            .values(certified_at=now or datetime.now(UTC))
        )
        session.commit()
        metrics.BATCHES_CERTIFIED.inc(len(ready))
        for seq, size in ready:
            log.info(
                "certified the checkpoint of batch %s (log size %s): its records have certificates",
                seq,
                size,
                extra=event("checkpoint_certified", batch_seq=seq, log_size=size),
            )
    return len(ready)


@dataclass
class WorkerState:
    """Shared with the readiness probe."""

    last_error: str | None = None
    last_error_at: datetime | None = None
    last_anchor_at: datetime | None = None
    consecutive_failures: int = 0
    anchored_batches: int = 0
    last_error_is_chain: bool = False  # the last failure was the chain's (node down, RPC error)
    lock: threading.Lock = field(default_factory=threading.Lock)


class AnchoringWorker:
    def __init__(
        self,
        engine: Engine,
        anchorer: Anchorer,
        log: TransparencyLog,
        *,
        max_items: int,
        interval_seconds: float,
        certification: CertificationRule = CertificationRule(),
        max_backoff_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._anchorer = anchorer
        self._log = log
        self.certification = certification
        self.max_items = max_items
        self.interval = timedelta(seconds=interval_seconds)
        self._poll = min(0.25, interval_seconds / 4)
        # Capped low: after an outage the backlog waits at most this long once the chain is back
        # (and readiness nudges the worker as soon as its chain check passes).
        self._max_backoff = max_backoff_seconds
        self.state = WorkerState()
        self.is_leader = False
        self._wake = threading.Event()
        self._backing_off = False
        # When this leadership term last found the log to be the chain's (monotonic seconds).
        self._verified_at: float | None = None

    def nudge(self) -> None:
        """End a backoff (or poll) wait now: the chain answers again, or the process stops."""
        self._wake.set()

    def is_backing_off(self) -> bool:
        return self._backing_off

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        if not stop.is_set():
            self._wake.wait(seconds)
        self._wake.clear()

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
                        select(func.count())
                        .select_from(Record)
                        .where(col(Record.batch_seq).is_(None))
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
            appended = self._log.append(session, [bytes.fromhex(h) for _, h in rows])
            batch = Batch(
                root=appended.root.hex(),
                size=len(rows),
                status=BatchStatus.sealed,
                sealed_at=datetime.now(UTC),
                log_start=appended.start,
                log_size=appended.size,
                checkpoint=appended.checkpoint,
            )
            session.add(batch)
            session.flush()  # a racing sealer from the same log size fails here (log_start)
            session.execute(
                update(Record),
                [
                    {"seq": seq, "batch_seq": batch.seq, "log_index": appended.start + i}
                    for i, (seq, _) in enumerate(rows)
                ],
            )
            session.commit()
            session.refresh(batch)
            metrics.BATCHES_SEALED.inc()
            metrics.RECORDS_SEALED.inc(batch.size)
            log.info(
                "sealed batch %s: %d records, log size %d, root %s",
                batch.seq,
                batch.size,
                appended.size,
                batch.root,
                extra=event(
                    "batch_sealed",
                    batch_seq=batch.seq,
                    records=batch.size,
                    log_size=appended.size,
                    root=batch.root,
                ),
            )
            return batch

    def anchor_sealed(self) -> int:
        """Anchor every sealed batch, oldest first; returns how many were anchored."""
        done = 0
        with Session(self._engine) as session:
            sealed = session.exec(
                select(Batch).where(Batch.status == BatchStatus.sealed).order_by(col(Batch.seq))
            ).all()
            if sealed:
                self._check_chain_head(session)
            for batch in sealed:
                if batch.log_size is None:
                    raise RuntimeError(f"batch {batch.seq} has no checkpoint to anchor")
                try:
                    receipt = self._anchorer.anchor_root(bytes.fromhex(batch.root), batch.log_size)
                except Exception as exc:
                    batch.attempts += 1
                    batch.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    session.add(batch)
                    session.commit()
                    raise
                batch.status = BatchStatus.anchored
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
                metrics.BATCHES_ANCHORED.inc()
                log.info(
                    "anchored batch %s (log size %s) as chain batch %s in block %s (tx %s)",
                    batch.seq,
                    batch.log_size,
                    receipt.batch_id,
                    receipt.block_number,
                    receipt.tx_hash,
                    extra=event(
                        "batch_anchored",
                        batch_seq=batch.seq,
                        log_size=batch.log_size,
                        chain_batch_id=receipt.batch_id,
                        block_number=receipt.block_number,
                        tx_hash=receipt.tx_hash,
                    ),
                )
        return done

    def _check_chain_head(self, session: Session) -> None:
        """Refuse to anchor unless the registry's latest checkpoint is one of this log's: after a
        restore that lost anchored entries, re-sealing would otherwise anchor a shorter log, and
        once it grew past the chain's size, a fork of the anchored one."""
        if not isinstance(self._anchorer, ChainHead):
            return
        self._compare_with_head(session, self._anchorer.latest_checkpoint())

    def _compare_with_head(self, session: Session, head: AnchoredBatch | None) -> None:
        """:class:`LogBehindChain` (recorded as the deployment's halt) unless ``head`` is one of
        this log's checkpoints."""
        if head is None:
            return
        size, root = int(head.tree_size), bytes(head.root)
        ours = log_size(session)
        if size > ours:
            self._halt(
                "log_behind_chain",
                f"the registry's latest checkpoint has {size} entries but this database's log "
                f"only {ours}: entries anchored on chain are missing here (restored from an older "
                "backup?). Sealing, anchoring and accepting records stopped; restore a later "
                "state and run `notary reconcile`",
                chain_size=size,
                log_size=ours,
            )
        ours_root = tree_root(session, size)
        if ours_root != root:
            self._halt(
                "log_forked",
                f"the registry's checkpoint at {size} entries has root {root.hex()}, this log's "
                f"root at that size is {ours_root.hex()}: the log forked. Sealing, anchoring and "
                "accepting records stopped; run `notary reconcile`",
                chain_size=size,
                log_size=ours,
            )

    def _halt(self, code: str, detail: str, *, chain_size: int, log_size: int) -> None:
        self._verified_at = None
        record_halt(
            self._engine, code=code, detail=detail, chain_size=chain_size, log_size=log_size
        )
        raise LogBehindChain(detail, code=code)

    def verify_log_against_chain(self, *, force: bool = False) -> None:
        """Before sealing: the registry's latest checkpoint must be one of this log's
        (:class:`LogBehindChain` otherwise, and the deployment halts). Checked once per leadership
        term and every :data:`RECHECK_SECONDS` after; a chain that does not answer stops sealing
        only until the first check of the term succeeded (records wait, receipted)."""
        if not isinstance(self._anchorer, ChainHead):
            return
        now = time.monotonic()
        if (
            not force
            and self._verified_at is not None
            and now - self._verified_at < RECHECK_SECONDS
        ):
            return
        with Session(self._engine) as session:
            # The first check of a term runs even with nothing to seal: a process started on a
            # restored database halts the deployment before the first record arrives.
            work = force or self._verified_at is None or self._has_work(session)
            if not work:
                return
            try:
                head = self._anchorer.latest_checkpoint()
            except Exception as exc:
                idle = not force and not self._has_work(session)
                if _is_chain_failure(exc) and (self._verified_at is not None or idle):
                    # Agreed in this term (only our own anchors moved the chain since), or
                    # nothing to seal yet: the chain's absence stops nothing here.
                    return
                raise
            self._compare_with_head(session, head)
            halted = read_halt(session) is not None
        self._verified_at = now
        if halted:
            clear_halt(self._engine)

    def _has_work(self, session: Session) -> bool:
        """Something to seal or anchor, or a halt to lift: otherwise an idle leader need not ask
        the chain."""
        if read_halt(session) is not None:
            return True
        pending = session.exec(
            select(Record.seq).where(col(Record.batch_seq).is_(None)).limit(1)
        ).first()
        if pending is not None:
            return True
        sealed = session.exec(
            select(Batch.seq).where(Batch.status == BatchStatus.sealed).limit(1)
        ).first()
        return sealed is not None

    def _batches_due(self) -> int:
        """Batches the records waiting now fill (at least one, for a partial batch that is due)."""
        with Session(self._engine) as session:
            pending = session.exec(
                select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
            ).one()
        return max(1, -(-int(pending) // self.max_items))

    def run_once(self, *, force: bool = False) -> int:
        """Check the log against the chain, seal what is due, anchor every sealed batch,
        certify what is ready."""
        self.verify_log_against_chain()
        # Seal at most the batches that were due when the round began, then anchor: under
        # traffic that keeps a batch due at every check, sealing "until nothing is due" never
        # reached the anchoring below (46,550 records sealed in 1,862 batches, none anchored).
        for _ in range(self._batches_due()):
            if self.seal_batch(force=force) is None:
                break
            force = False  # only the first batch is forced; the rest follow the normal rule
        anchored = self.anchor_sealed()
        self.certify()
        return anchored

    def certify(self) -> int:
        with Session(self._engine) as session:
            return certify_ready(session, self.certification)

    # The loop ----------------------------------------------------------------------------

    def run_forever(
        self, stop: threading.Event, *, is_leader: Callable[[], bool] = lambda: True
    ) -> None:
        backoff = 0.0
        failed_rounds = 0  # since the last round that succeeded: for the "recovered" line
        try:
            while not stop.is_set():
                self.is_leader = is_leader()
                metrics.LEADER.set(1 if self.is_leader else 0)
                if not self.is_leader:
                    self._verified_at = None  # a new term checks the log against the chain first
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
                        self.state.last_error_is_chain = _is_chain_failure(exc)
                    failed_rounds += 1
                    metrics.ANCHORING_FAILURES.labels(type(exc).__name__).inc()
                    log.warning(
                        "anchoring failed (retrying in %.1fs): %s",
                        backoff,
                        exc,
                        extra=event(
                            "anchoring_retry",
                            backoff_seconds=backoff,
                            consecutive_failures=failed_rounds,
                            error_type=type(exc).__name__,
                        ),
                    )
                    self._backing_off = True
                    self._pause(stop, backoff)
                    self._backing_off = False
                    continue
                self._after_round(anchored, failed_rounds)
                failed_rounds = 0
                backoff = 0.0
                stop.wait(self._poll)
        finally:
            metrics.LEADER.set(0)

    def _after_round(self, anchored: int, failed_rounds: int) -> None:
        if failed_rounds:
            log.info(
                "anchoring works again after %d failed round(s)",
                failed_rounds,
                extra=event("anchoring_recovered", failed_rounds=failed_rounds),
            )
        with self.state.lock:
            if anchored:
                self.state.last_anchor_at = datetime.now(UTC)
                self.state.anchored_batches += anchored
            if failed_rounds or anchored:  # a round that worked ends the failure streak
                self.state.last_error = None
                self.state.consecutive_failures = 0
                self.state.last_error_is_chain = False

    def pending_count(self) -> int:
        """Records not anchored yet: waiting for a batch, or in a sealed batch awaiting the chain
        (during a chain outage records are still sealed, so counting only the first hides the
        backlog). Two indexed queries, cheap enough for every readiness probe."""
        with Session(self._engine) as session:
            unbatched = session.exec(
                select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
            ).one()
            sealed = session.exec(
                select(func.coalesce(func.sum(Batch.size), 0)).where(
                    Batch.status != BatchStatus.anchored
                )
            ).one()
            return int(unbatched) + int(sealed)


def _is_chain_failure(exc: BaseException) -> bool:
    from ipnotary.chain.errors import ChainError
    from ipnotary.service.errors import DependencyUnavailable

    return isinstance(exc, (ChainError, DependencyUnavailable))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
