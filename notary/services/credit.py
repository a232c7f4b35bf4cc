"""The IP credit register: entries, repair applications and decisions, erasure, status queries.

Each entry is anchored as a ``credit_entry`` record holding only its commitment
(``domain.credit``); details and salt live in the ``credit_entry`` table until the entry is repaired
or expires, then they are erased. An approved repair is itself anchored (``credit_repair``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from client_sdk.certificate import format_timestamp
from client_sdk.credit import CREDIT_STATUS_MEDIA_TYPE
from notary.domain.credit import (
    CreditEntryDetails,
    RepairApplication,
    RepairDecision,
    class_of,
    entry_commitment,
    new_salt,
)
from notary.domain.records import new_id
from notary.errors import Conflict, NotFound, NotReady, PermissionDenied
from notary.services.issuer import Issuer
from notary.services.records import StoredRecord, accept_record, certificate_for
from notary.storage.db import purge_erased_rows
from notary.storage.models import CreditEntry, CreditRepair, Principal, Record

__all__ = [
    "Opening",
    "apply_for_repair",
    "decide_repair",
    "record_entry",
    "subject_status",
    "sweep_expired",
]


@dataclass(frozen=True)
class Opening:
    """What the authority keeps to prove the entry later, even after we erase it."""

    details: dict[str, Any]
    salt: str
    commitment: str


def record_entry(
    session: Session, *, authority: Principal, details: CreditEntryDetails
) -> tuple[StoredRecord, Opening]:
    detail_doc = details.model_dump(mode="json")
    salt = new_salt()
    commitment = entry_commitment(detail_doc, salt)

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return {
            "id": record_id,
            "kind": "credit_entry",
            "schema": 1,
            "authority": {"id": authority.id, "name": authority.name},
            "entry_commitment": commitment,
            "received_at": format_timestamp(received_at),
        }

    def row(record_id: str) -> list[Any]:
        return [CreditEntry(
            id=record_id, authority_id=authority.id, commitment=commitment,
            conduct=details.conduct.value, status="active", subject_key=details.subject.key(),
            details=json.dumps(detail_doc, sort_keys=True), salt=salt,
            publicity_end=details.publicity_end, created_at=datetime.now(UTC),
        )]

    stored = accept_record(session, kind="credit_entry", owner=authority, build_body=build, extra_rows=row)
    return stored, Opening(detail_doc, salt, commitment)


def _erase(entry: CreditEntry, *, status: str, closing_record_id: str | None) -> None:
    """Drop everything that identifies the subject; the anchored commitment remains."""
    entry.status = status
    entry.details = None
    entry.salt = None
    entry.subject_key = None
    entry.closed_at = datetime.now(UTC)
    entry.closing_record_id = closing_record_id


def sweep_expired(session: Session, *, now: datetime | None = None) -> int:
    """Close and erase entries whose publicity period has ended."""
    today = (now or datetime.now(UTC)).date()
    expired = session.exec(
        select(CreditEntry).where(CreditEntry.status == "active", col(CreditEntry.publicity_end) <= today)
    ).all()
    for entry in expired:
        _erase(entry, status="expired", closing_record_id=None)
        session.add(entry)
    if expired:
        session.commit()
        _purge(session)
    return len(expired)


def _purge(session: Session) -> None:
    bind = session.get_bind()
    purge_erased_rows(bind if isinstance(bind, Engine) else bind.engine, "credit_entry", "credit_repair")


def apply_for_repair(
    session: Session, *, applicant: Principal, entry_id: str, application: RepairApplication
) -> CreditRepair:
    entry = session.get(CreditEntry, entry_id)
    if entry is None or entry.status != "active":
        raise NotFound(f"no active credit entry {entry_id!r}")
    if applicant.identifier is None or applicant.identifier != entry.subject_key:
        raise PermissionDenied("only the subject of an entry may apply for its repair; your principal "
                               "is not registered as that subject")
    if entry.conduct != "dishonest":
        raise Conflict("only dishonest-conduct entries can be repaired")
    pending = session.exec(
        select(CreditRepair).where(CreditRepair.entry_id == entry_id, CreditRepair.decision == "pending")
    ).first()
    if pending is not None:
        raise Conflict(f"repair application {pending.id} for this entry awaits a decision")
    repair = CreditRepair(entry_id=entry_id, applicant_id=applicant.id,
                          statement=application.statement, submitted_at=datetime.now(UTC),
                          decision="pending")
    session.add(repair)
    session.commit()
    session.refresh(repair)
    return repair


def decide_repair(
    session: Session, *, authority: Principal, repair_id: int, decision: RepairDecision, reason: str
) -> tuple[CreditRepair, StoredRecord | None]:
    repair = session.get(CreditRepair, repair_id)
    if repair is None:
        raise NotFound(f"no repair application {repair_id}")
    entry = session.get(CreditEntry, repair.entry_id)
    assert entry is not None
    if entry.authority_id != authority.id:
        raise PermissionDenied("only the authority that recorded the entry decides its repair")
    if repair.decision != "pending":
        raise Conflict(f"repair application {repair_id} was already {repair.decision}")
    repair.decision = decision.value
    repair.decided_at = datetime.now(UTC)
    repair.reason = reason
    if decision is RepairDecision.rejected:
        session.add(repair)
        session.commit()
        return repair, None
    commitment = entry.commitment

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return {
            "id": record_id,
            "kind": "credit_repair",
            "schema": 1,
            "authority": {"id": authority.id, "name": authority.name},
            "entry": {"id": entry.id, "commitment": commitment},
            "decision": "repaired",
            "received_at": format_timestamp(received_at),
        }

    record_id = new_id("credit_repair")

    def rows(rid: str) -> list[Any]:
        _erase(entry, status="repaired", closing_record_id=rid)
        # The applicant's statement may hold personal data too; the decision itself stays.
        repair.statement = None
        return [entry, repair]

    stored = accept_record(session, kind="credit_repair", owner=authority, build_body=build,
                           record_id=record_id, extra_rows=rows)
    _purge(session)
    return repair, stored


def subject_status(session: Session, issuer: Issuer, *, subject_key: str, as_of: datetime) -> dict[str, Any]:
    """The signed public answer: entries public at ``as_of`` with openings and certificates.

    Entries past their publicity period are left out here and erased by the leader's periodic
    sweep (``Runtime._housekeep``), so a public read never writes.
    """
    day = as_of.astimezone(UTC).date()
    active = session.exec(
        select(CreditEntry).where(CreditEntry.subject_key == subject_key, CreditEntry.status == "active")
        .order_by(col(CreditEntry.created_at))
    ).all()
    shown: list[dict[str, Any]] = []
    details_list: list[CreditEntryDetails] = []
    for entry in active:
        assert entry.details is not None and entry.salt is not None
        details = CreditEntryDetails.model_validate_json(entry.details)
        if not details.is_public_on(day):
            continue
        record = session.exec(select(Record).where(Record.id == entry.id)).one()
        try:
            cert: Any = certificate_for(session, issuer, record).model_dump(mode="json")
        except NotReady:
            cert = None
        shown.append({"entry_id": entry.id, "details": json.loads(entry.details), "salt": entry.salt,
                      "commitment": entry.commitment, "certificate": cert})
        details_list.append(details)
    unsigned = {
        "media_type": CREDIT_STATUS_MEDIA_TYPE,
        "subject": subject_key,
        "as_of": format_timestamp(as_of),
        "class": class_of(details_list),
        "entries": shown,
        "issued_at": format_timestamp(datetime.now(UTC)),
        "issuer": {"key_id": issuer.key_id, "public_key": issuer.public_key_b64, "name": issuer.name},
    }
    return issuer.sign(unsigned)
