"""Registering works, and answering "who registered this exact content first, and when".

The lookup is open to every API key, so what it shows of each registration depends on who asks:
identity numbers of copyright owners are masked except for the registrant, the owner themselves
(a principal whose identifier is the owner's) and the roles that need them (notaries and
arbitrators). The anchored records, and so the certificates, are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import WorkRecord
from ipnotary.service.domain.records import ContentFingerprint, dedup_key
from ipnotary.service.domain.works import (
    PriorRegistration,
    WorkDetails,
    build_work_record,
    mask_work_identities,
    owner_subject_key,
)
from ipnotary.service.services.records import (
    READER_ROLES,
    StoredRecord,
    accept_record,
    typed_body,
)
from ipnotary.service.storage.models import Batch, BatchStatus, Principal, Record

__all__ = [
    "Registration",
    "identities_visible_to",
    "register_work",
    "registrations_of",
    "work_as_seen_by",
]


@dataclass(frozen=True)
class Registration:
    record: Record
    batch: Batch | None
    prior: bool

    @property
    def anchored(self) -> bool:
        return self.batch is not None and self.batch.status == BatchStatus.anchored


def register_work(
    session: Session, *, holder: Principal, details: WorkDetails, content: ContentFingerprint
) -> tuple[StoredRecord, list[PriorRegistration]]:
    """Store a work registration; earlier registrations of the content by others are flagged."""
    earlier = session.exec(
        select(Record)
        .where(
            Record.kind == RecordKind.work,
            Record.content_sha256 == content.sha256,
            Record.owner_id != holder.id,
        )
        .order_by(col(Record.seq))
        .limit(20)
    ).all()
    prior = [
        PriorRegistration(
            id=r.id, received_at=body.received_at, copyright_owner=body.work.copyright_owner.name
        )
        for r, body in ((r, typed_body(r, WorkRecord)) for r in earlier)
    ]

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_work_record(
            record_id=record_id,
            holder_id=holder.id,
            holder_name=holder.name,
            details=details,
            content=content,
            prior=prior,
            received_at=received_at,
        )

    stored = accept_record(
        session,
        kind=RecordKind.work,
        owner=holder,
        build_body=build,
        dedup=dedup_key(RecordKind.work, holder.id, content.sha256),
        content_sha256=content.sha256,
        content_cid=content.cid,
    )
    if not stored.created:  # the holder's own earlier registration: report what it recorded
        prior = typed_body(stored.record, WorkRecord).prior_registrations or []
    return stored, prior


def registrations_of(session: Session, *, sha256: str, limit: int = 100) -> list[Registration]:
    """Every registration of this exact content, in anchor order; the first is the prior one.

    Batches are sealed in acceptance order and leaves follow it within a batch, so acceptance
    order is anchor order; anchored registrations are still sorted by their on-chain position,
    which is what a verifier would check.
    """
    rows = session.exec(
        select(Record, Batch)
        .join(Batch, col(Record.batch_seq) == col(Batch.seq), isouter=True)
        .where(Record.kind == RecordKind.work, Record.content_sha256 == sha256)
        .order_by(col(Record.seq))
        .limit(limit)
    ).all()

    def position(item: tuple[Record, Batch | None]) -> tuple[int, int, int, int]:
        record, batch = item
        if batch is not None and batch.status == BatchStatus.anchored:
            return (0, batch.block_number or 0, batch.chain_batch_id or 0, record.leaf_index or 0)
        return (1, 0, 0, record.seq or 0)

    ordered = sorted(rows, key=position)
    return [Registration(r, b, prior=i == 0) for i, (r, b) in enumerate(ordered)]


def identities_visible_to(viewer: Principal, record: Record) -> bool:
    """May ``viewer`` read the identity numbers in this work record?"""
    if record.owner_id == viewer.id or viewer.role in READER_ROLES:
        return True
    return viewer.identifier is not None and viewer.identifier == owner_subject_key(
        typed_body(record, WorkRecord).work
    )


def work_as_seen_by(viewer: Principal, record: Record) -> tuple[dict[str, Any], bool]:
    """The record's ``work`` as ``viewer`` may see it, and whether identity numbers were masked."""
    work = typed_body(record, WorkRecord).work.to_json()
    if identities_visible_to(viewer, record):
        return work, False
    masked = mask_work_identities(work)
    return masked, masked != work  # an organisation's credit code is public: nothing to mask
