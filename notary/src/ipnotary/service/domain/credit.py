"""IP credit records (the regulation's Art. 34): good and dishonest conduct, classes, repair.

What is anchored is a *commitment* to an entry, never the entry: ``SHA-256(tag ‖ salt ‖
JCS(details))`` with a random 32-byte salt. While an entry is active its details and salt are
published with its certificate, so anyone can open the commitment and check it on chain. When the
entry is repaired or its publicity period ends, the details and the salt are erased from our
database; the commitment stays on chain and reveals nothing, and the deciding authority, which kept
its own copy of the opening, can still prove what was decided and when.

A ``credit_entry`` record (schema 2, :func:`build_credit_entry_record`) also carries the entry's
non-personal fields in the clear (conduct, severity, publicity period) and a separately salted
commitment to its subject, so that after erasure an answer for an earlier time can still prove
which subject the entry was about and what it contributed to the class (``ipnotary.sdk.credit``).

Classes (documented in docs/credit.md), from the entries that count at the moment asked about
(``ipnotary.sdk.credit.counts_at``):

- ``A`` (trustworthy): no dishonest entry and at least one good-conduct entry;
- ``B`` (no adverse record): no dishonest entry;
- ``C`` (dishonest, warning): exactly one dishonest entry, of ``general`` severity;
- ``D`` (seriously dishonest): a ``serious`` dishonest entry, or two or more dishonest ones.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.credit import credit_class, entry_commitment, subject_commitment
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import CreditEntryRecord, CreditRepairRecord, EntryReference
from ipnotary.service.domain.identifiers import PartyId
from ipnotary.service.domain.scalars import Hex64, JsonDate
from ipnotary.service.domain.text import CheckedTextModel, Text

__all__ = [
    "Conduct",
    "CreditEntryDetails",
    "RepairApplication",
    "RepairDecision",
    "Severity",
    "build_credit_entry_record",
    "build_credit_repair_record",
    "class_of",
    "entry_commitment",
    "new_salt",
    "subject_commitment",
]

Sha256Hex = Hex64


class Conduct(StrEnum):
    good = "good"
    dishonest = "dishonest"


class Severity(StrEnum):
    general = "general"
    serious = "serious"


class CreditEntryDetails(CheckedTextModel):
    """One decision about a subject's IP conduct. Every field is committed to on chain, and no
    text may hold invisible formatting characters (``ipnotary.service.domain.text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: PartyId
    conduct: Conduct
    severity: Severity | None = None
    category: Annotated[Text, StringConstraints(max_length=100)]
    description: Annotated[Text, StringConstraints(max_length=2000)]
    legal_basis: Annotated[Text, StringConstraints(max_length=500)]
    deciding_authority: Annotated[Text, StringConstraints(max_length=200)]
    decision_date: JsonDate
    decision_document_sha256: Sha256Hex
    publicity_start: JsonDate
    publicity_end: JsonDate

    @model_validator(mode="after")
    def _rules(self) -> CreditEntryDetails:
        if self.conduct is Conduct.dishonest and self.severity is None:
            raise ValueError("a dishonest-conduct entry needs a severity (general or serious)")
        if self.conduct is Conduct.good and self.severity is not None:
            raise ValueError("severity applies to dishonest conduct only")
        if self.publicity_start < self.decision_date:
            raise ValueError("the publicity period cannot start before the decision")
        if self.publicity_end <= self.publicity_start:
            raise ValueError("the publicity period must end after it starts")
        if (self.publicity_end - self.publicity_start).days > 5 * 366:
            raise ValueError("a publicity period longer than five years is not allowed")
        if self.decision_date > datetime.now(UTC).date():
            raise ValueError("decision_date is in the future")
        return self

    def is_public_on(self, day: date) -> bool:
        return self.publicity_start <= day < self.publicity_end


def new_salt() -> str:
    return secrets.token_hex(32)


class RepairDecision(StrEnum):
    approved = "approved"
    rejected = "rejected"


def class_of(counted: list[dict[str, Any]]) -> str:
    """The class of a subject from the ``conduct`` and ``severity`` of the entries that count
    (the rule lives in ``ipnotary.sdk.credit``)."""
    return credit_class(counted)


def build_credit_entry_record(
    record_id: str,
    received_at: datetime,
    *,
    authority: dict[str, str],
    details: CreditEntryDetails,
    commitment: str,
    subject_commitment: str,
) -> dict[str, Any]:
    """A ``credit_entry`` record, schema 2: the commitments and the non-personal fields.

    Schema 1 (before the register answered for past times) held only ``entry_commitment``.
    """
    return CreditEntryRecord(
        id=record_id,
        kind=RecordKind.credit_entry,
        schema_version=2,
        authority=authority,
        entry_commitment=commitment,
        subject_commitment=subject_commitment,
        conduct=details.conduct.value,
        # stated even when null: a good-conduct entry says it has no severity
        severity=None if details.severity is None else details.severity.value,
        publicity_start=details.publicity_start.isoformat(),
        publicity_end=details.publicity_end.isoformat(),
        received_at=format_timestamp(received_at),
    ).to_json()


def build_credit_repair_record(
    record_id: str,
    received_at: datetime,
    *,
    authority: dict[str, str],
    entry_id: str,
    commitment: str,
) -> dict[str, Any]:
    """A ``credit_repair`` record: the authority closed this entry (named by id and commitment)."""
    return CreditRepairRecord(
        id=record_id,
        kind=RecordKind.credit_repair,
        schema_version=1,
        authority=authority,
        entry=EntryReference(id=entry_id, commitment=commitment),
        decision="repaired",
        received_at=format_timestamp(received_at),
    ).to_json()


class RepairApplication(CheckedTextModel):
    """A subject's application: why the entry should be repaired, and digests of the evidence it
    sends the authority out of band (the authority compares the documents it receives)."""

    model_config = ConfigDict(extra="forbid")

    statement: Annotated[Text, StringConstraints(max_length=2000)]
    evidence_sha256: list[Sha256Hex] = Field(default_factory=list, max_length=20)
