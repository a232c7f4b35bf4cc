"""Typed identifiers of people and organisations, as the service's models take them.

The rules (the four types, their shapes and check characters, NFKC normalisation and the refusal
of invisible and look-alike characters) are the SDK's (``ipnotary.sdk.identifiers``): a verifier
compares a claimant or a subject with a record's identifier without the service, so both must
spell the same subject the same way. This module adds what only the service does with them:
:class:`PartyId` (a named party in a record body), :func:`parse_subject_key` with the service's
error, and :func:`mask_identifier`.

Identity numbers of people are personal data: :func:`mask_identifier` is how the API shows them
to anyone but the people and roles that need them (``docs/works.md``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, StringConstraints, model_validator

from ipnotary.sdk import identifiers as rules
from ipnotary.sdk.identifiers import (
    IdType,
    is_valid_resident_id,
    is_valid_uscc,
    nfkc_identifier,
    normalise_identifier,
)
from ipnotary.service.domain.text import CheckedTextModel
from ipnotary.service.errors import InvalidInput

__all__ = [
    "IdType",
    "PartyId",
    "is_valid_resident_id",
    "is_valid_uscc",
    "mask_identifier",
    "nfkc_identifier",
    "normalise_identifier",
    "parse_subject_key",
]


def mask_identifier(id_type: IdType | str, value: str) -> str:
    """An identity number as shown to someone who may not read it: enough to recognise, not to use.

    A resident identity number keeps its first three and last four characters, hiding the
    district, the birth date and most of the sequence (``110***********002X``); a passport number
    its first two and last two; an ``other`` identifier its scheme and the ends of its value. A
    unified social credit code is an organisation's public registration and is shown whole.
    """
    kind = IdType(id_type)
    if kind is IdType.uscc:
        return value
    if kind is IdType.cn_resident_id:
        return _mask(value, 3, 4)
    if kind is IdType.passport:
        return _mask(value, 2, 2)
    scheme, sep, rest = value.partition(":")
    return f"{scheme}{sep}{_mask(rest, 2, 2)}"


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end + 2:  # too short to show ends without giving it away
        keep_start, keep_end = min(keep_start, 1), 0
    return (
        value[:keep_start]
        + "*" * (len(value) - keep_start - keep_end)
        + value[len(value) - keep_end :]
    )


class PartyId(CheckedTextModel):
    """A named party with a typed, validated identifier (NFKC-normalised, see above)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    id_type: IdType
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _valid(self) -> PartyId:
        normalised = normalise_identifier(self.id_type, self.id)
        if normalised != self.id:
            object.__setattr__(self, "id", normalised)
        return self

    def key(self) -> str:
        """``type:id``: equal for the same subject, whatever the display name."""
        return f"{self.id_type.value}:{self.id}"


def parse_subject_key(text: str) -> str:
    """Validate ``type:id`` (e.g. ``uscc:91350100M000100Y43``) and return its canonical form."""
    try:
        return rules.parse_subject_key(text)
    except rules.InvalidIdentifier as exc:
        raise InvalidInput(str(exc)) from exc
