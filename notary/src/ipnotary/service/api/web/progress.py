"""A record's way to its certificate as a person follows it: received, sealed into the log,
anchored on the chain, then witnessed and time-stamped (certified), each with its time.

Read from the same rows as the API's ``status`` (``services.records.record_status``): ``batched``
is "sealed", and the API's ``anchored`` (a certificate can be fetched) is "certified" here, once
the checkpoint that includes the record is anchored, cosigned by the witness quorum and stamped by
the TSA quorum. The stage "anchored" between them is the record's own checkpoint's chain
transaction, which the API does not name apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordStatus
from ipnotary.sdk.records import (
    EvidenceRecord,
    RecordBody,
    TradeSecretRecord,
    WorkRecord,
    content_of,
    parse_record,
)
from ipnotary.service.api.web.i18n import N_, Speaker
from ipnotary.service.services import records as svc
from ipnotary.service.services.progress import certified_log_size
from ipnotary.service.storage.models import Batch, BatchStatus, Cosignature, Record, TimestampToken

__all__ = ["STAGES", "RecordProgress", "progress_of", "record_title"]

STAGES = (
    ("received", N_("Received")),
    ("sealed", N_("Sealed into the log")),
    ("anchored", N_("Anchored on the chain")),
    ("certified", N_("Witnessed and time-stamped: certificate ready")),
)


@dataclass(frozen=True)
class RecordProgress:
    status: RecordStatus
    times: dict[str, datetime | None]  # stage -> when it was reached, None: not yet
    cosignatures: int
    timestamps: int

    @property
    def certified(self) -> bool:
        return self.status is RecordStatus.anchored

    def current(self) -> str:
        reached = [name for name, _ in STAGES if self.times.get(name) is not None]
        return reached[-1] if reached else "received"

    def as_json(self, speaker: Speaker) -> dict[str, Any]:
        """What the record page's script reads every second to move the stages on."""
        label = dict(STAGES)[self.current()]
        return {
            "status": self.status.value,
            "certified": self.certified,
            "current": self.current(),
            "summary": speaker.gettext(label),
            "stages": {
                name: {
                    "done": self.times.get(name) is not None,
                    "at": speaker.datetime(self.times.get(name)),
                }
                for name, _ in STAGES
            },
        }


def progress_of(session: Session, record: Record) -> RecordProgress:
    batch = session.get(Batch, record.batch_seq) if record.batch_seq is not None else None
    status = svc.record_status(record, batch, certified_log_size(session))
    times: dict[str, datetime | None] = dict.fromkeys((n for n, _ in STAGES), None)
    times["received"] = record.received_at
    cosignatures = timestamps = 0
    if batch is not None:
        times["sealed"] = batch.sealed_at
        if batch.status is BatchStatus.anchored:
            times["anchored"] = batch.anchored_at or batch.sealed_at
        cosignatures = int(
            session.exec(
                select(func.count())
                .select_from(Cosignature)
                .where(Cosignature.batch_seq == batch.seq)
            ).one()
        )
        timestamps = int(
            session.exec(
                select(func.count())
                .select_from(TimestampToken)
                .where(TimestampToken.batch_seq == batch.seq)
            ).one()
        )
    if status is RecordStatus.anchored:
        if record.log_index is not None:
            certifying = session.exec(
                select(Batch.certified_at)
                .where(col(Batch.log_size) > record.log_index, col(Batch.certified_at).is_not(None))
                .order_by(col(Batch.log_size))
                .limit(1)
            ).first()
            times["certified"] = certifying
        else:  # a version 1 record: certified when its own batch was anchored
            times["certified"] = batch.anchored_at if batch is not None else None
        times["anchored"] = times["anchored"] or times["certified"]
    return RecordProgress(status, times, cosignatures, timestamps)


def typed(record: Record) -> RecordBody | None:
    try:
        return parse_record(svc.body_of(record))
    except FormatError:
        return None  # a kind or schema this release does not know: shown by id alone


def record_title(record: Record) -> str:
    """What a person calls the record: its title or label, '' if it has none."""
    body = typed(record)
    if isinstance(body, EvidenceRecord) and body.metadata is not None:
        return body.metadata.title or ""
    if isinstance(body, WorkRecord):
        return body.work.title
    if isinstance(body, TradeSecretRecord):
        return body.label or ""
    return ""


def record_sha256(record: Record) -> str | None:
    body = typed(record)
    content = content_of(body) if body is not None else None
    return content.sha256 if content is not None else record.content_sha256
