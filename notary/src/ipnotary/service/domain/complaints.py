"""E-commerce complaints (the regulation's Art. 13; E-Commerce Law Arts. 42-45): what each step
may be asked with, and the steps' bodies.

Pure rules: the request models (a notice, measures and rejections with a statement of reasons,
forwardings, a seller's declaration, the holder's notice of a complaint or lawsuit, lifting, a
platform's time limits), with the text and identifier rules of every record, and
:func:`build_complaint_event_record`, the one body builder of the ``complaint_event`` kind
(``ipnotary.sdk.records.ComplaintEventRecord``). Which step may follow which is the SDK's
(``ipnotary.sdk.complaints.apply_step``): the verifier replays the same rules.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    ComplaintAction,
    ComplaintActor,
    ComplaintDeclaration,
    ComplaintDue,
    ComplaintEventRecord,
    ComplaintForwarding,
    ComplaintNotice,
    ComplaintReference,
    ComplaintRulesInForce,
    IdentifiedParty,
    Party,
    StatementOfReasons,
)
from ipnotary.service.domain.identifiers import IdType, normalise_identifier
from ipnotary.service.domain.text import CheckedTextModel, Text

__all__ = [
    "DEFAULT_RULES",
    "MAX_LISTINGS",
    "ActionIn",
    "DeclarationIn",
    "ForwardingIn",
    "LiftingIn",
    "MeasureIn",
    "NoticeIn",
    "RejectionIn",
    "RulesIn",
    "Step",
    "build_complaint_event_record",
    "new_complaint_id",
]

PrincipalRef = Annotated[str, StringConstraints(pattern=r"^prn_[0-9a-f]{32}$")]
RecordRef = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[0-9a-f]{32}$")]
# Large platforms take a few hundred listings per notice; beyond that, file another notice.
MAX_LISTINGS = 500
MAX_EVIDENCE = 50
MAX_URL = 2000
ListingIndex = Annotated[int, Field(ge=0, le=MAX_LISTINGS - 1)]
LongText = Annotated[Text, StringConstraints(max_length=4000)]
# The E-Commerce Law's window is 15 days (Art. 43); the platform's own limits for deciding,
# forwarding and lifting are "timely", which a platform states in hours.
DEFAULT_RULES = {"decision_hours": 72, "forward_hours": 24, "window_days": 15, "lift_hours": 24}


def new_complaint_id() -> str:
    """A random complaint id; unguessable, so that an outsider cannot probe for a complaint."""
    return f"cpl_{secrets.token_hex(16)}"


class IdentityIn(CheckedTextModel):
    """A person or organisation by its typed identifier, checked as every identifier is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[Text, StringConstraints(max_length=200)]
    id_type: IdType
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _identifier(self) -> IdentityIn:
        object.__setattr__(self, "id", normalise_identifier(self.id_type, self.id))
        return self

    def as_record(self) -> IdentifiedParty:
        return IdentifiedParty(name=self.name, id_type=self.id_type.value, id=self.id)


class RightIn(CheckedTextModel):
    """The right relied on: a work registered here (``work_record_id``, copyright), or a
    copyright, patent or trademark by its registration number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["copyright", "patent", "trademark"]
    title: Annotated[Text, StringConstraints(max_length=300)]
    registration_number: Annotated[Text, StringConstraints(max_length=100)] | None = None
    work_record_id: RecordRef | None = None

    @model_validator(mode="after")
    def _named(self) -> RightIn:
        if self.work_record_id is None and self.registration_number is None:
            raise ValueError("name the right: a registered work's record or a registration number")
        if self.work_record_id is not None and self.type != "copyright":
            raise ValueError("a work registered here is a copyright")
        return self


class ListingIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)]
    seller_id: PrincipalRef | None = None

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in value)
        ):
            raise ValueError("a listing is an http(s) address")
        return value


class NoticeIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform_id: PrincipalRef
    holder: IdentityIn
    right: RightIn
    listings: Annotated[list[ListingIn], Field(min_length=1, max_length=MAX_LISTINGS)]
    evidence: Annotated[list[RecordRef], Field(min_length=1, max_length=MAX_EVIDENCE)]
    good_faith: LongText

    @model_validator(mode="after")
    def _distinct(self) -> NoticeIn:
        urls = [listing.url for listing in self.listings]
        if len(set(urls)) != len(urls):
            raise ValueError("a listing appears twice in the notice")
        if len(set(self.evidence)) != len(self.evidence):
            raise ValueError("an evidence record is listed twice")
        return self


class ReasonsIn(CheckedTextModel):
    """A statement of reasons (EU DSA Art. 17): what was restricted (scope, duration), the facts,
    the ground, whether automated means were used, and the redress available."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    restriction: LongText | None = None
    facts: LongText
    ground: LongText
    automated: bool
    redress: LongText

    def as_record(self) -> StatementOfReasons:
        fields: dict[str, Any] = {
            "facts": self.facts,
            "ground": self.ground,
            "automated": self.automated,
            "redress": self.redress,
        }
        if self.restriction is not None:
            fields["restriction"] = self.restriction
        return StatementOfReasons(**fields)


def _distinct_indices(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("a listing is named twice")
    return sorted(value)


Indices = Annotated[
    list[ListingIndex],
    Field(min_length=1, max_length=MAX_LISTINGS),
    AfterValidator(_distinct_indices),
]


class MeasureIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    listings: Indices
    measure: Literal["delete", "block", "disconnect", "stop_transactions"]
    reasons: ReasonsIn

    @model_validator(mode="after")
    def _says_what(self) -> MeasureIn:
        if self.reasons.restriction is None:
            raise ValueError("a statement of reasons for a measure says what was restricted")
        return self


class RejectionIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    listings: Indices
    reasons: ReasonsIn


class ForwardingIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    document: Literal["notice", "declaration"]
    listings: Indices
    seller_id: PrincipalRef | None = None  # the seller of listings the notice named none for


class DeclarationIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    listings: Indices
    seller: IdentityIn
    statement: LongText
    evidence: Annotated[list[RecordRef], Field(max_length=MAX_EVIDENCE)] = Field(
        default_factory=list
    )


class ActionIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    listings: Indices
    type: Literal["authority_complaint", "lawsuit"]
    addressee: Annotated[Text, StringConstraints(max_length=200)]  # the authority or the court
    reference: Annotated[Text, StringConstraints(max_length=100)]
    filed_on: date
    evidence: Annotated[list[RecordRef], Field(max_length=MAX_EVIDENCE)] = Field(
        default_factory=list
    )


class LiftingIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    listings: Indices
    note: LongText


class RulesIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    decision_hours: Annotated[int, Field(ge=1, le=720)] = DEFAULT_RULES["decision_hours"]
    forward_hours: Annotated[int, Field(ge=1, le=720)] = DEFAULT_RULES["forward_hours"]
    window_days: Annotated[int, Field(ge=1, le=90)] = DEFAULT_RULES["window_days"]
    lift_hours: Annotated[int, Field(ge=1, le=720)] = DEFAULT_RULES["lift_hours"]


Step = Literal[
    "filed",
    "measures_taken",
    "rejected",
    "notice_forwarded",
    "declared",
    "declaration_forwarded",
    "action_notified",
    "measures_lifted",
    "published",
]


def build_complaint_event_record(
    record_id: str,
    received_at: datetime,
    *,
    complaint: ComplaintReference,
    seq: int,
    previous: str | None,
    actor: ComplaintActor,
    step: Step,
    listings: list[int],
    notice: ComplaintNotice | None = None,
    rules: ComplaintRulesInForce | None = None,
    measure: str | None = None,
    reasons: StatementOfReasons | None = None,
    forwarded: ComplaintForwarding | None = None,
    sellers: dict[str, Party] | None = None,
    declaration: ComplaintDeclaration | None = None,
    window_ends_at: datetime | None = None,
    action: ComplaintAction | None = None,
    note: str | None = None,
    due: ComplaintDue | None = None,
) -> dict[str, Any]:
    # Only the fields this step has are set, so the body serialises without nulls (exclude_unset).
    optional: dict[str, Any] = {
        "notice": notice,
        "rules": rules,
        "measure": measure,
        "reasons": reasons,
        "forwarded": forwarded,
        "sellers": sellers,
        "declaration": declaration,
        "window_ends_at": None if window_ends_at is None else format_timestamp(window_ends_at),
        "action": action,
        "note": note,
        "due": due,
    }
    return ComplaintEventRecord(
        id=record_id,
        kind=RecordKind.complaint_event,
        schema_version=1,
        complaint=complaint,
        seq=seq,
        previous=previous,
        actor=actor,
        step=step,
        listings=listings,
        **{k: v for k, v in optional.items() if v is not None},
        received_at=format_timestamp(received_at),
    ).to_json()
