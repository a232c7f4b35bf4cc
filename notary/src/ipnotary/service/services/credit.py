"""The IP credit register: entries, repair applications and decisions, erasure, status queries.

Each entry is anchored as a ``credit_entry`` record (schema 2, ``domain.credit``) holding its
commitment, a commitment to its subject and its non-personal fields; details and salt live in the
``credit_entry`` table until the entry is repaired or its publicity ends, then they are erased. An
approved repair is itself anchored (``credit_repair``).

Start at :func:`subject_status`: the answer for a time T counts an entry only if it was recorded by
T (its record's certificate proves it, as :func:`ipnotary.sdk.credit.counts_at` says), public on
T's date and not repaired by T; what it needs for that outlives the erasure (subject, subject
salt, conduct, severity, period).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.credit import CREDIT_STATUS_MEDIA_TYPE
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import verify_certificate
from ipnotary.service.domain.credit import (
    CreditEntryDetails,
    RepairApplication,
    RepairDecision,
    build_credit_entry_record,
    build_credit_repair_record,
    class_of,
    entry_commitment,
    new_salt,
    subject_commitment,
)
from ipnotary.service.domain.records import new_id
from ipnotary.service.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotReady,
    PermissionDenied,
    TooEarly,
)
from ipnotary.service.services import pledges, status_lists
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.records import StoredRecord, accept_record, certificate_for
from ipnotary.service.storage.db import purge_erased_rows
from ipnotary.service.storage.models import CreditEntry, CreditRepair, Principal, Record

__all__ = [
    "MAX_STATUS_ENTRIES",
    "Opening",
    "apply_for_repair",
    "decide_repair",
    "list_repairs",
    "record_entry",
    "refuse_unfinished",
    "repair_for",
    "subject_status",
    "sweep_expired",
]

MAX_STATUS_ENTRIES = 200
"""Entries one status answer examines for a subject (each costs a certificate check)."""


@dataclass(frozen=True)
class Opening:
    """What the authority keeps to prove the entry later, even after we erase it."""

    details: dict[str, Any]
    salt: str
    commitment: str
    subject_salt: str


def record_entry(
    session: Session,
    *,
    authority: Principal,
    details: CreditEntryDetails,
    now: datetime | None = None,
) -> tuple[StoredRecord, Opening]:
    """Record an entry. One whose publicity period has already ended is refused: it counts at no
    time T, since it was not recorded by any T on which it was public (docs/credit.md)."""
    today = (now or datetime.now(UTC)).date()
    if details.publicity_end <= today:
        raise InvalidInput(
            f"the publicity period ended on {details.publicity_end.isoformat()}: an entry recorded "
            "now would count at no time (an entry counts at T only if recorded by T and public on "
            "T's date); record entries while they are public"
        )
    detail_doc = details.model_dump(mode="json")
    salt, subject_salt = new_salt(), new_salt()
    commitment = entry_commitment(detail_doc, salt)
    subject_key = details.subject.key()
    authority_field = {"id": authority.id, "name": authority.name}

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_credit_entry_record(
            record_id,
            received_at,
            authority=authority_field,
            details=details,
            commitment=commitment,
            subject_commitment=subject_commitment(subject_key, subject_salt),
        )

    def row(record_id: str) -> list[Any]:
        return [
            CreditEntry(
                id=record_id,
                authority_id=authority.id,
                commitment=commitment,
                conduct=details.conduct.value,
                status="active",
                subject_key=subject_key,
                details=json.dumps(detail_doc, sort_keys=True),
                salt=salt,
                severity=None if details.severity is None else details.severity.value,
                publicity_start=details.publicity_start,
                publicity_end=details.publicity_end,
                subject_salt=subject_salt,
                created_at=datetime.now(UTC),
            )
        ]

    stored = accept_record(
        session, kind=RecordKind.credit_entry, owner=authority, build_body=build, extra_rows=row
    )
    return stored, Opening(detail_doc, salt, commitment, subject_salt)


def _erase(
    session: Session, entry: CreditEntry, *, status: str, closing_record_id: str | None
) -> None:
    """Drop the details, their salt and the applicants' statements. Kept, so that answers for
    times the entry counted stay provable: the subject and its salt, conduct, severity, period."""
    entry.status = status
    entry.details = None
    entry.salt = None
    entry.closed_at = datetime.now(UTC)
    entry.closing_record_id = closing_record_id
    session.add(entry)
    for repair in session.exec(select(CreditRepair).where(CreditRepair.entry_id == entry.id)).all():
        repair.statement = None
        session.add(repair)


def sweep_expired(session: Session, *, now: datetime | None = None) -> int:
    """Close and erase entries whose publicity period has ended."""
    today = (now or datetime.now(UTC)).date()
    expired = session.exec(
        select(CreditEntry).where(
            CreditEntry.status == "active", col(CreditEntry.publicity_end) <= today
        )
    ).all()
    for entry in expired:
        _erase(session, entry, status="expired", closing_record_id=None)
    if expired:
        session.commit()
        _purge(session)
    return len(expired)


def _purge(session: Session) -> None:
    bind = session.get_bind()
    purge_erased_rows(
        bind if isinstance(bind, Engine) else bind.engine, "credit_entry", "credit_repair"
    )


def apply_for_repair(
    session: Session, *, applicant: Principal, entry_id: str, application: RepairApplication
) -> CreditRepair:
    entry = session.get(CreditEntry, entry_id)
    if entry is None or entry.status != "active":
        raise NotFound(f"no active credit entry {entry_id!r}")
    if applicant.identifier is None or applicant.identifier != entry.subject_key:
        raise PermissionDenied(
            "only the subject of an entry may apply for its repair; your principal "
            "is not registered as that subject"
        )
    if entry.conduct != "dishonest":
        raise Conflict("only dishonest-conduct entries can be repaired")
    pending = session.exec(
        select(CreditRepair).where(
            CreditRepair.entry_id == entry_id, CreditRepair.decision == "pending"
        )
    ).first()
    if pending is not None:
        raise Conflict(f"repair application {pending.id} for this entry awaits a decision")
    repair = CreditRepair(
        entry_id=entry_id,
        applicant_id=applicant.id,
        statement=application.statement,
        submitted_at=datetime.now(UTC),
        decision="pending",
        evidence_sha256=json.dumps(application.evidence_sha256),
    )
    session.add(repair)
    session.commit()
    session.refresh(repair)
    return repair


def list_repairs(
    session: Session, *, authority: Principal, decision: str, limit: int = 500
) -> list[CreditRepair]:
    """The applications on entries ``authority`` recorded, with the given decision, oldest first."""
    return list(
        session.exec(
            select(CreditRepair)
            .join(CreditEntry, col(CreditEntry.id) == col(CreditRepair.entry_id))
            .where(CreditEntry.authority_id == authority.id, CreditRepair.decision == decision)
            .order_by(col(CreditRepair.id))
            .limit(limit)
        ).all()
    )


def repair_for(session: Session, *, reader: Principal, repair_id: int) -> CreditRepair:
    """One application, for its applicant or the authority that decides it (anyone else: 404,
    so that an id reveals nothing about whose application it is)."""
    repair = session.get(CreditRepair, repair_id)
    entry = session.get(CreditEntry, repair.entry_id) if repair is not None else None
    if (
        repair is None
        or entry is None
        or reader.id not in (repair.applicant_id, entry.authority_id)
    ):
        raise NotFound(f"no repair application {repair_id} of yours or on your entries")
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
    entry_id, commitment = entry.id, entry.commitment
    authority_field = {"id": authority.id, "name": authority.name}

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_credit_repair_record(
            record_id,
            received_at,
            authority=authority_field,
            entry_id=entry_id,
            commitment=commitment,
        )

    def rows(rid: str) -> list[Any]:
        _erase(session, entry, status="repaired", closing_record_id=rid)
        # The entry's credentials are revoked in the transaction that records the repair.
        status_lists.revoke(session, record_id=entry_id, at=datetime.now(UTC), cause_record_id=rid)
        return [entry, repair]

    stored = accept_record(
        session,
        kind=RecordKind.credit_repair,
        owner=authority,
        build_body=build,
        record_id=new_id(RecordKind.credit_repair),
        extra_rows=rows,
    )
    _purge(session)
    return repair, stored


def refuse_unfinished(as_of: datetime | None) -> None:
    """As pledge status does: a time whose second is not over is :class:`TooEarly` (425 with
    ``Retry-After``, at once) up to a minute ahead, and invalid further ahead. Entries may still be
    recorded by such a time, so no answer for it can be signed yet."""
    try:
        pledges.refuse_unfinished(as_of)
    except TooEarly:
        raise
    except InvalidInput as exc:
        raise InvalidInput(
            "as_of is in the future: entries may still be recorded by then, so the "
            "register cannot answer for it yet"
        ) from exc


@dataclass(frozen=True)
class _Proof:
    """A record's certificate (JSON) and the time it proves the record existed by."""

    certificate: dict[str, Any]
    proven_time: datetime


def _proof(session: Session, issuer: Issuer, record_id: str) -> _Proof | None:
    """``None`` while the record has no certificate. The time is the verifier's, under our
    published policy with our chain's block time where that policy trusts the chain (what a
    verifier with a node computes)."""
    record = session.exec(select(Record).where(Record.id == record_id)).one()
    try:
        cert = certificate_for(session, issuer, record)
    except NotReady:
        return None
    policy: TrustPolicy | None = issuer.policy
    result = verify_certificate(cert, policy)
    proven = result.proven_time
    if policy is not None and policy.chain(result.chain_id) is not None:
        proven = min(proven, result.anchored_at)
    return _Proof(cert.model_dump(mode="json"), proven)


def _shown(entry: CreditEntry, proof: _Proof) -> dict[str, Any]:
    item: dict[str, Any] = {
        "entry_id": entry.id,
        "commitment": entry.commitment,
        "certificate": proof.certificate,
    }
    if entry.details is not None:
        item["details"] = json.loads(entry.details)
        item["salt"] = entry.salt
    else:
        item["erased"] = entry.status
        if entry.subject_salt is None:  # a schema 1 record: these fields are only in our table
            assert entry.publicity_start is not None  # revision 0007 filled it while not erased
            item["kept"] = {
                "conduct": entry.conduct,
                "severity": entry.severity,
                "publicity_start": entry.publicity_start.isoformat(),
                "publicity_end": entry.publicity_end.isoformat(),
            }
    if entry.subject_salt is not None:
        item["subject_salt"] = entry.subject_salt
    return item


def subject_status(
    session: Session, issuer: Issuer, *, subject_key: str, as_of: datetime
) -> dict[str, Any]:
    """The signed public answer for ``as_of`` (a time that has passed: see
    :func:`refuse_unfinished`).

    ``entries``: those that count at ``as_of``, with openings (or, once erased, the salt of their
    subject commitment) and certificates, and their repair if one was recorded after ``as_of``.
    Those repaired by then are left out: a repair takes the entry out of public listing.
    ``pending``: those received by then whose certificate is not issued yet (not counted; the
    answer for ``as_of`` may include them once it is). Entries past their publicity period are
    erased by the leader's periodic sweep (``worker.housekeeping``), so a public read never
    writes.
    """
    day = as_of.astimezone(UTC).date()
    candidates = session.exec(
        select(CreditEntry)
        .where(
            CreditEntry.subject_key == subject_key,
            col(CreditEntry.publicity_start) <= day,
            col(CreditEntry.publicity_end) > day,
        )
        .order_by(col(CreditEntry.created_at))
        .limit(MAX_STATUS_ENTRIES)
    ).all()
    counting: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    contributions: list[dict[str, Any]] = []
    for entry in candidates:
        proof = _proof(session, issuer, entry.id)
        if proof is None:
            record = session.exec(select(Record).where(Record.id == entry.id)).one()
            if record.received_at.replace(tzinfo=record.received_at.tzinfo or UTC) <= as_of:
                pending.append(
                    {
                        "entry_id": entry.id,
                        "commitment": entry.commitment,
                        "received_at": format_timestamp(record.received_at),
                    }
                )
            continue
        if proof.proven_time > as_of:
            continue  # not recorded by then
        item = _shown(entry, proof)
        if entry.closing_record_id is not None:
            repair = _proof(session, issuer, entry.closing_record_id)
            item["repair"] = {
                "record_id": entry.closing_record_id,
                "certificate": None if repair is None else repair.certificate,
            }
            if repair is not None and repair.proven_time <= as_of:
                continue  # repaired by then
        counting.append(item)
        contributions.append({"conduct": entry.conduct, "severity": entry.severity})
    unsigned = {
        "media_type": CREDIT_STATUS_MEDIA_TYPE,
        "subject": subject_key,
        "as_of": format_timestamp(as_of),
        "class": class_of(contributions),
        "entries": counting,
        "pending": pending,
        "issued_at": format_timestamp(datetime.now(UTC)),
        "issuer": {
            "key_id": issuer.key_id,
            "public_key": issuer.public_key_b64,
            "name": issuer.name,
        },
    }
    return issuer.sign(unsigned)
