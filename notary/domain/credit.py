"""IP credit records (the regulation's Art. 34): good and dishonest conduct, classes, repair.

What is anchored is a *commitment* to an entry, never the entry: ``SHA-256(tag ‖ salt ‖
JCS(details))`` with a random 32-byte salt. While an entry is active its details and salt are
published with its certificate, so anyone can open the commitment and check it on chain. When the
entry is repaired or its publicity period ends, the details and the salt are erased from our
database; the commitment stays on chain and reveals nothing, and the deciding authority, which kept
its own copy of the opening, can still prove what was decided and when.

Classes (documented in docs/credit.md), from the entries active at the moment asked about:

- ``A`` (trustworthy): no active dishonest entry and at least one active good-conduct entry;
- ``B`` (no adverse record): no active dishonest entry;
- ``C`` (dishonest, warning): exactly one active dishonest entry, of ``general`` severity;
- ``D`` (seriously dishonest): an active ``serious`` dishonest entry, or two or more dishonest ones.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from client_sdk.credit import credit_class, entry_commitment
from notary.domain.identifiers import PartyId
from notary.domain.text import CheckedTextModel, Text

__all__ = [
    "Conduct",
    "CreditEntryDetails",
    "RepairApplication",
    "RepairDecision",
    "Severity",
    "class_of",
    "entry_commitment",
    "new_salt",
]

class Conduct(StrEnum):
    good = "good"
    dishonest = "dishonest"


class Severity(StrEnum):
    general = "general"
    serious = "serious"


class CreditEntryDetails(CheckedTextModel):
    """One decision about a subject's IP conduct. Every field is committed to on chain, and no
    text may hold invisible formatting characters (``notary.domain.text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: PartyId
    conduct: Conduct
    severity: Severity | None = None
    category: Annotated[Text, StringConstraints(max_length=100)]
    description: Annotated[Text, StringConstraints(max_length=2000)]
    legal_basis: Annotated[Text, StringConstraints(max_length=500)]
    deciding_authority: Annotated[Text, StringConstraints(max_length=200)]
    decision_date: date
    decision_document_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    publicity_start: date
    publicity_end: date

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


def class_of(active: list[CreditEntryDetails]) -> str:
    """The class of a subject from its active entries (the rule lives in ``client_sdk.credit``)."""
    return credit_class([e.model_dump(mode="json") for e in active])


class RepairApplication(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    statement: Annotated[Text, StringConstraints(max_length=2000)]
    evidence_sha256: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=20
    )
