"""Typed identifiers of people and organisations, each validated by its own standard.

- ``uscc``: the 18-character unified social credit code of an organisation (GB 32100-2015): a
  31-symbol alphabet without I, O, Z, S, V; positions 3-8 are the administrative division code;
  the 18th character is a check character (weighted sum modulo 31).
- ``cn_resident_id``: the 18-character citizen identity number (GB 11643-1999), whose last
  character is the ISO 7064 MOD 11-2 check digit (``X`` for 10).
- ``passport``: 5 to 20 letters and digits (ICAO 9303 document numbers are at most 9; other
  states' forms vary, so only the shape is checked).
- ``other``: ``scheme:value`` for anything else (a court's case party number, a foreign company
  register), at most 100 characters.

Identifiers are normalised (trimmed, upper-cased where the standard is case-insensitive) so the
same subject always compares equal.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from notary.errors import InvalidInput

__all__ = [
    "IdType",
    "PartyId",
    "is_valid_resident_id",
    "is_valid_uscc",
    "normalise_identifier",
    "parse_subject_key",
]


class IdType(StrEnum):
    uscc = "uscc"
    cn_resident_id = "cn_resident_id"
    passport = "passport"
    other = "other"


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def is_valid_uscc(code: str) -> bool:
    """GB 32100-2015: shape, alphabet and check character."""
    if not _USCC_SHAPE.match(code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    check = (31 - total % 31) % 31
    return _USCC_ALPHABET[check] == code[17]


def is_valid_resident_id(number: str) -> bool:
    """GB 11643-1999: shape, a plausible birth date, and the ISO 7064 MOD 11-2 check digit."""
    if not _RID_SHAPE.match(number):
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11] == number[17]


def normalise_identifier(id_type: IdType, value: str) -> str:
    """The canonical form of an identifier, or ValueError saying what is wrong with it."""
    value = value.strip()
    if id_type is IdType.uscc:
        value = value.upper()
        if len(value) != 18:
            raise ValueError(f"a unified social credit code has 18 characters, not {len(value)}")
        if not _USCC_SHAPE.match(value):
            raise ValueError("a unified social credit code uses digits and the letters "
                             "A-H, J-N, P-R, T, U, W-Y only, with digits in positions 3-8")
        if not is_valid_uscc(value):
            raise ValueError(f"unified social credit code {value} fails its check character "
                             "(GB 32100-2015); check for a typing error")
        return value
    if id_type is IdType.cn_resident_id:
        value = value.upper()
        if not is_valid_resident_id(value):
            raise ValueError("not a valid 18-character resident identity number (GB 11643-1999 "
                             "shape, birth date or check digit)")
        return value
    if id_type is IdType.passport:
        value = value.upper()
        if not re.fullmatch(r"[A-Z0-9]{5,20}", value):
            raise ValueError("a passport number is 5 to 20 letters and digits")
        return value
    if not re.fullmatch(r"[a-z][a-z0-9_.-]{1,30}:[^\s:][^\x00-\x1f]{0,68}", value):
        raise ValueError("an 'other' identifier is 'scheme:value', e.g. 'hk-cr:1234567'")
    return value


class PartyId(BaseModel):
    """A named party with a typed, validated identifier."""

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
    id_type, sep, value = text.strip().partition(":")
    if not sep:
        raise InvalidInput("a subject is written type:id, e.g. uscc:91350100M000100Y43")
    try:
        kind = IdType(id_type)
    except ValueError:
        raise InvalidInput(
            f"unknown identifier type {id_type!r}; use one of {', '.join(t.value for t in IdType)}"
        ) from None
    try:
        return f"{kind.value}:{normalise_identifier(kind, value)}"
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
