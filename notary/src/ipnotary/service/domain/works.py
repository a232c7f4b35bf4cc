"""Copyright registration of works (the regulation's Art. 24).

A work record states what was registered (title, type, authors, owner, dates) and the content's
fingerprint, and lists any earlier registrations of the same content by someone else that the
service knew of when it accepted this one: a second registrant is accepted but flagged, in the
response and in the anchored record (so the flag is in the certificate too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import Party, PriorRegistration, WorkFields, WorkRecord
from ipnotary.service.domain.identifiers import (
    IdType,
    PartyId,
    mask_identifier,
    normalise_identifier,
)
from ipnotary.service.domain.records import ContentFingerprint
from ipnotary.service.domain.scalars import JsonDate
from ipnotary.service.domain.text import CheckedTextModel, Text

__all__ = [
    "PriorRegistration",
    "WorkDetails",
    "WorkType",
    "build_work_record",
    "mask_work_identities",
    "owner_subject_key",
]


class WorkType(StrEnum):
    """Categories of works in the Copyright Law of the PRC, Art. 3."""

    written = "written"
    oral = "oral"
    musical = "musical"
    dramatic = "dramatic"
    quyi = "quyi"
    choreographic = "choreographic"
    acrobatic = "acrobatic"
    fine_art = "fine_art"
    architectural = "architectural"
    photographic = "photographic"
    audiovisual = "audiovisual"
    graphic_and_model = "graphic_and_model"
    computer_software = "computer_software"
    other = "other"


class Author(CheckedTextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[Text, StringConstraints(max_length=200)]
    # Pseudonymous or anonymous authorship is allowed (Copyright Law Art. 12); an id is optional.
    pen_name: Annotated[Text, StringConstraints(max_length=200)] | None = None


class Publication(CheckedTextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: JsonDate
    place: Annotated[Text, StringConstraints(max_length=200)]


class WorkDetails(CheckedTextModel):
    """What a holder declares about a work. Limits are documented in docs/works.md; no text may
    hold invisible formatting characters (``ipnotary.service.domain.text``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[Text, StringConstraints(max_length=300)]
    work_type: WorkType
    work_type_detail: Annotated[Text, StringConstraints(max_length=100)] | None = None
    authors: Annotated[list[Author], Field(min_length=1, max_length=50)]
    copyright_owner: PartyId
    completed_on: JsonDate
    first_publication: Publication | None = None

    @model_validator(mode="after")
    def _dates(self) -> WorkDetails:
        today = datetime.now(UTC).date()
        if self.completed_on > today:
            raise ValueError("completed_on is in the future")
        if self.first_publication is not None:
            if self.first_publication.date < self.completed_on:
                raise ValueError("first publication cannot precede completion")
            if self.first_publication.date > today:
                raise ValueError("first publication date is in the future")
        if self.work_type is WorkType.other and not self.work_type_detail:
            raise ValueError("work_type 'other' needs work_type_detail saying what the work is")
        return self

    def as_record_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "title": self.title,
            "work_type": self.work_type.value,
            "authors": [a.model_dump(exclude_none=True) for a in self.authors],
            "copyright_owner": self.copyright_owner.model_dump(mode="json"),
            "completed_on": self.completed_on.isoformat(),
        }
        if self.work_type_detail:
            out["work_type_detail"] = self.work_type_detail
        if self.first_publication:
            out["first_publication"] = self.first_publication.model_dump(mode="json")
        return out


def build_work_record(
    *,
    record_id: str,
    holder_id: str,
    holder_name: str,
    details: WorkDetails,
    content: ContentFingerprint,
    prior: list[PriorRegistration],
    received_at: datetime,
) -> dict[str, Any]:
    return WorkRecord(
        id=record_id,
        kind=RecordKind.work,
        schema_version=1,
        holder=Party(id=holder_id, name=holder_name),
        work=WorkFields.model_validate(details.as_record_field()),
        content=content.as_record_content(),
        **({"prior_registrations": prior} if prior else {}),
        received_at=format_timestamp(received_at),
    ).to_json()


def owner_subject_key(work: WorkFields) -> str | None:
    """``type:id`` of a recorded work's copyright owner, normalised as identifiers are today (a
    record made before NFKC normalisation may spell it otherwise), or None if it does not parse."""
    owner = work.copyright_owner
    try:
        kind = IdType(owner.id_type)
        return f"{kind.value}:{normalise_identifier(kind, owner.id)}"
    except ValueError:
        return None


def mask_work_identities(work: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a recorded ``work`` whose copyright owner's identity number is masked
    (``identifiers.mask_identifier``): what others are shown. The anchored record is unchanged."""
    out = dict(work)
    owner = work.get("copyright_owner")
    if isinstance(owner, Mapping) and isinstance(owner.get("id"), str):
        try:
            masked = mask_identifier(str(owner.get("id_type")), owner["id"])
        except ValueError:  # an id type this version does not know: show none of it
            masked = "*" * len(owner["id"])
        out["copyright_owner"] = {**owner, "id": masked}
    return out
