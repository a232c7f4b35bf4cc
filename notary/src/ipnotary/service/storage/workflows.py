"""Tables of the roles' workflows: record sharing, notarial acts, arbitration cases and
e-commerce complaints (``services.notarial``, ``services.arbitration``, ``services.complaints``).

Every act of these workflows is an anchored record (``record`` rows of the kinds
``attestation``, ``notarial_refusal``, ``attestation_revocation``, ``case_event`` and
``complaint_event``); the tables here only index them: who may read which record, which
certificate numbers an office has used, who sits in which case, which step of a complaint each
listing has reached and by when the next is due. Each row is written in the transaction that
stores the record it indexes (``services.records.accept_record``'s ``extra_rows``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "ArbitrationCase",
    "Attestation",
    "AttestationSubject",
    "CaseLogEntry",
    "CaseMember",
    "CaseSubmission",
    "Complaint",
    "ComplaintListing",
    "ComplaintLogEntry",
    "ComplaintRules",
    "NotarialKey",
    "RecordAccess",
]


class RecordAccess(SQLModel, table=True):
    """A principal other than its owner who may read a record, and why.

    ``purpose``: ``shared`` (the owner shared it with a notary or an arbitrator: an application to
    notarise, or a case), ``attestation`` (a notarial act on the principal's own records),
    ``case`` (a member of the case the act belongs to) or ``complaint`` (a party to the
    complaint)."""

    __tablename__ = "record_access"
    __table_args__ = (
        UniqueConstraint("record_id", "principal_id", "purpose", name="uq_record_access"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(foreign_key="record.id", max_length=40, index=True)
    principal_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    purpose: str = Field(max_length=16)
    granted_by: str | None = Field(default=None, max_length=40)
    granted_at: datetime


class NotarialKey(SQLModel, table=True):
    """A notary's Ed25519 public key, registered with a document the key itself signed (proof of
    possession). The private key never reaches the service."""

    __tablename__ = "notarial_key"

    key_id: str = Field(primary_key=True, max_length=64)
    principal_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    office: str = Field(max_length=200)
    public_key: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))
    registered_at: datetime


class Attestation(SQLModel, table=True):
    """An attestation record's index: its office's certificate number (unique per office) and
    whether a revocation followed."""

    __tablename__ = "attestation"
    __table_args__ = (
        UniqueConstraint("office", "certificate_number", name="uq_attestation_number"),
    )

    record_id: str = Field(primary_key=True, foreign_key="record.id", max_length=40)
    notary_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    office: str = Field(max_length=200)
    certificate_number: str = Field(max_length=100)
    created_at: datetime
    revocation_record_id: str | None = Field(default=None, max_length=40)
    revoked_at: datetime | None = None


class AttestationSubject(SQLModel, table=True):
    """A record an attestation covers: how a record's bundle finds the attestations on it."""

    __tablename__ = "attestation_subject"
    __table_args__ = (
        UniqueConstraint("attestation_id", "record_id", name="uq_attestation_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    attestation_id: str = Field(foreign_key="record.id", max_length=40, index=True)
    record_id: str = Field(foreign_key="record.id", max_length=40, index=True)


class ArbitrationCase(SQLModel, table=True):
    """A case, by its commission's number (unique per commission)."""

    __tablename__ = "arbitration_case"
    __table_args__ = (UniqueConstraint("commission", "case_number", name="uq_case_number"),)

    id: str = Field(primary_key=True, max_length=40)
    commission: str = Field(max_length=200)
    case_number: str = Field(max_length=100)
    opened_by: str = Field(foreign_key="principal.id", max_length=40)
    created_at: datetime
    closed_at: datetime | None = None


class CaseMember(SQLModel, table=True):
    """Who sits in a case: its ``administrator`` (who opened it), an ``arbitrator`` of the
    tribunal, or a ``party`` (``party_index`` into the opening's parties)."""

    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "principal_id", name="uq_case_member"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="arbitration_case.id", max_length=40, index=True)
    principal_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    capacity: str = Field(max_length=16)
    party_index: int | None = None
    joined_at: datetime


class CaseSubmission(SQLModel, table=True):
    """A submission to a case and what it points at: the exhibit's record, the statement's bytes
    in the content store, or the disclosure. ``shared`` once the tribunal showed it to every
    party."""

    __tablename__ = "case_submission"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_case_submission_number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="arbitration_case.id", max_length=40, index=True)
    number: int
    event_record_id: str = Field(foreign_key="record.id", max_length=40)
    submitter_id: str = Field(foreign_key="principal.id", max_length=40)
    type: str = Field(max_length=16)
    title: str = Field(max_length=300)
    exhibit_record_id: str | None = Field(default=None, max_length=40)
    disclosure_id: str | None = Field(default=None, max_length=40)
    content_cid: str | None = Field(default=None, max_length=100)
    filename: str | None = Field(default=None, max_length=200)
    submitted_at: datetime
    shared: bool = False


class CaseLogEntry(SQLModel, table=True):
    """The case's own log: its acts in order. The primary key makes two acts racing for the
    same place fail, so the case's ``seq``/``previous`` chain never forks."""

    __tablename__ = "case_log"

    case_id: str = Field(primary_key=True, foreign_key="arbitration_case.id", max_length=40)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record_id: str = Field(foreign_key="record.id", max_length=40, unique=True)
    leaf_hash: str = Field(max_length=64)


class ComplaintRules(SQLModel, table=True):
    """A platform's time limits; a notice records those in force when it arrives."""

    __tablename__ = "complaint_rules"

    platform_id: str = Field(primary_key=True, foreign_key="principal.id", max_length=40)
    decision_hours: int
    forward_hours: int
    window_days: int
    lift_hours: int
    updated_at: datetime


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"

    id: str = Field(primary_key=True, max_length=40)
    platform_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    holder_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    created_at: datetime
    published_at: datetime | None = None


class ComplaintListing(SQLModel, table=True):
    """One listing of a notice and where it stands: the state the complaint's steps put it in,
    the step due next and by when (what the overdue list reads)."""

    __tablename__ = "complaint_listing"

    complaint_id: str = Field(primary_key=True, foreign_key="complaint.id", max_length=40)
    idx: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    seller_id: str | None = Field(default=None, foreign_key="principal.id", max_length=40)
    state: str = Field(max_length=24, index=True)
    next_step: str | None = Field(default=None, max_length=32)
    next_party: str | None = Field(default=None, max_length=16)
    due_at: datetime | None = Field(default=None, index=True)
    window_ends_at: datetime | None = None


class ComplaintLogEntry(SQLModel, table=True):
    """The complaint's steps in order (as :class:`CaseLogEntry` for a case)."""

    __tablename__ = "complaint_log"

    complaint_id: str = Field(primary_key=True, foreign_key="complaint.id", max_length=40)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record_id: str = Field(foreign_key="record.id", max_length=40, unique=True)
    leaf_hash: str = Field(max_length=64)
