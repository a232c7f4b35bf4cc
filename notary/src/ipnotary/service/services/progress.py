"""How far the pipeline has got: what the API shows of a record's progress, what readiness and the
metrics report of the backlog. Read-only queries on the log's batches; the worker moves them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, func, select

from ipnotary.service.storage.models import Batch, BatchStatus, Record

__all__ = ["AnchoringBacklog", "anchoring_backlog", "certified_log_size"]


def certified_log_size(session: Session) -> int:
    """Records with a log index below this have a certificate (sizes only grow, so the newest
    certified checkpoint includes every earlier record)."""
    return int(
        session.exec(
            select(func.max(Batch.log_size)).where(col(Batch.certified_at).is_not(None))
        ).one()
        or 0
    )


@dataclass(frozen=True)
class AnchoringBacklog:
    """Records not anchored yet, and when the oldest of them and the oldest checkpoint without
    a certificate arrived (None when there is none)."""

    records: int
    oldest_received_at: datetime | None
    oldest_uncertified_sealed_at: datetime | None


def anchoring_backlog(session: Session) -> AnchoringBacklog:
    """Indexed look-ups only (the oldest unbatched record, the oldest unanchored batch's first
    record, the oldest uncertified batch): cheap enough for every scrape."""
    unbatched = session.exec(
        select(func.count()).select_from(Record).where(col(Record.batch_seq).is_(None))
    ).one()
    in_sealed = session.exec(
        select(func.coalesce(func.sum(Batch.size), 0)).where(Batch.status != BatchStatus.anchored)
    ).one()
    oldest: list[datetime] = []
    first_unbatched = session.exec(
        select(Record.received_at)
        .where(col(Record.batch_seq).is_(None))
        .order_by(col(Record.seq))
        .limit(1)
    ).first()
    if first_unbatched is not None:
        oldest.append(_aware(first_unbatched))
    first_unanchored_batch = session.exec(
        select(func.min(Batch.seq)).where(Batch.status != BatchStatus.anchored)
    ).one()
    if first_unanchored_batch is not None:
        received = session.exec(
            select(Record.received_at)
            .where(Record.batch_seq == first_unanchored_batch)
            .order_by(col(Record.seq))
            .limit(1)
        ).first()
        if received is not None:
            oldest.append(_aware(received))
    sealed_at = session.exec(
        select(Batch.sealed_at)
        .where(col(Batch.certified_at).is_(None))
        .order_by(col(Batch.seq))
        .limit(1)
    ).first()
    return AnchoringBacklog(
        records=int(unbatched) + int(in_sealed),
        oldest_received_at=min(oldest) if oldest else None,
        oldest_uncertified_sealed_at=_aware(sealed_at) if sealed_at is not None else None,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
