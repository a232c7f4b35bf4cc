"""Arbitration cases (the regulation's Art. 10): what may be asked of a case, and its acts' bodies.

Pure rules: the request models (what opening a case, inviting a party or submitting takes, with
the text and identifier rules of every record) and :func:`build_case_event_record`, the one body
builder of the ``case_event`` kind (``ipnotary.sdk.records.CaseEventRecord``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    CaseActor,
    CaseEventRecord,
    CaseParty,
    CaseReference,
    CaseShare,
    CaseSubmission,
    Party,
)
from ipnotary.service.domain.identifiers import IdType, normalise_identifier
from ipnotary.service.domain.text import CheckedTextModel, Text

__all__ = [
    "CaseOpening",
    "CasePartyIn",
    "ClosingIn",
    "DisclosureIn",
    "ExhibitIn",
    "InvitationIn",
    "StatementIn",
    "build_case_event_record",
    "new_case_id",
]

PrincipalRef = Annotated[str, StringConstraints(pattern=r"^prn_[0-9a-f]{32}$")]
RecordRef = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[0-9a-f]{32}$")]
Title = Annotated[Text, StringConstraints(max_length=300)]
MAX_PARTIES = 20
MAX_TRIBUNAL = 9  # the larger tribunals of commercial arbitration rules; three is usual


def new_case_id() -> str:
    """A random case id; unguessable, so that an outsider cannot probe for a case."""
    return f"arb_{secrets.token_hex(16)}"


class CasePartyIn(CheckedTextModel):
    """A party as the opening names it: its label in the case (claimant, respondent ...), its
    name and typed identifier (checked as every identifier is), and, if known, its principal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Annotated[Text, StringConstraints(max_length=50)]
    name: Annotated[Text, StringConstraints(max_length=200)]
    id_type: IdType
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    principal_id: PrincipalRef | None = None

    @model_validator(mode="after")
    def _identifier(self) -> CasePartyIn:
        object.__setattr__(self, "id", normalise_identifier(self.id_type, self.id))
        return self

    def as_record(self) -> CaseParty:
        fields: dict[str, Any] = {
            "label": self.label,
            "name": self.name,
            "id_type": self.id_type.value,
            "id": self.id,
        }
        if self.principal_id is not None:
            fields["principal_id"] = self.principal_id
        return CaseParty(**fields)


class CaseOpening(CheckedTextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    commission: Annotated[Text, StringConstraints(max_length=200)]
    case_number: Annotated[Text, StringConstraints(max_length=100)]
    parties: Annotated[list[CasePartyIn], Field(min_length=2, max_length=MAX_PARTIES)]
    tribunal: Annotated[list[PrincipalRef], Field(min_length=1, max_length=MAX_TRIBUNAL)]

    @model_validator(mode="after")
    def _distinct(self) -> CaseOpening:
        labels = [p.label for p in self.parties]
        if len(set(labels)) != len(labels):
            raise ValueError("each party needs a label of its own")
        if len(set(self.tribunal)) != len(self.tribunal):
            raise ValueError("a member of the tribunal is listed twice")
        bound = [p.principal_id for p in self.parties if p.principal_id]
        if len(set(bound)) != len(bound) or set(bound) & set(self.tribunal):
            raise ValueError("a principal acts for one party only, and never sits in the tribunal")
        return self


class InvitationIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    label: Annotated[Text, StringConstraints(max_length=50)]
    principal_id: PrincipalRef


class ExhibitIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    record_id: RecordRef
    title: Title


class StatementIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    title: Title


class DisclosureIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    disclosure_id: RecordRef
    title: Title


class ClosingIn(CheckedTextModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[Text, StringConstraints(max_length=2000)]


Act = Literal["opened", "invited", "submitted", "shared", "closed"]


def build_case_event_record(
    record_id: str,
    received_at: datetime,
    *,
    case: CaseReference,
    seq: int,
    previous: str | None,
    actor: CaseActor,
    act: Act,
    parties: list[CaseParty] | None = None,
    tribunal: list[Party] | None = None,
    party: CaseParty | None = None,
    submission: CaseSubmission | None = None,
    shared: CaseShare | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    # Only the fields this act has are set, so the body serialises without nulls (exclude_unset).
    optional: dict[str, Any] = {
        "parties": parties,
        "tribunal": tribunal,
        "party": party,
        "submission": submission,
        "shared": shared,
        "note": note,
    }
    return CaseEventRecord(
        id=record_id,
        kind=RecordKind.case_event,
        schema_version=1,
        case=case,
        seq=seq,
        previous=previous,
        actor=actor,
        act=act,
        **{k: v for k, v in optional.items() if v is not None},
        received_at=format_timestamp(received_at),
    ).to_json()
