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

Identifiers are normalised before they are compared or stored, so the same subject always
compares equal however it was typed: NFKC first (full-width ``９１３５…``, circled or superscript
digits and other compatibility forms become their plain ASCII letters and digits), then trimmed and
case-folded where the standard is case-insensitive (upper case for the three national forms, lower
case for an ``other`` scheme name; an ``other`` value keeps its case, which its scheme may need).
Invisible formatting characters are refused (``ipnotary.service.domain.text``), since NFKC keeps
them.

Identity numbers of people are personal data: :func:`mask_identifier` is how the API shows them
to anyone but the people and roles that need them (``docs/works.md``).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, StringConstraints, model_validator

from ipnotary.service.domain.text import CheckedTextModel, describe, first_hidden_character
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


class IdType(StrEnum):
    uscc = "uscc"
    cn_resident_id = "cn_resident_id"
    passport = "passport"
    other = "other"


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# ASCII only: Python's \d would take any script's digits, and "１" must not be a second spelling.
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_OTHER_SHAPE = re.compile(r"[a-z][a-z0-9_.-]{1,30}:[^\s:][^\x00-\x1f]{0,68}")


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


def nfkc_identifier(value: str) -> str:
    """NFKC and trimmed, or ValueError naming an invisible character: the first step of every
    identifier's normalisation (registration numbers too)."""
    value = unicodedata.normalize("NFKC", value).strip()
    found = first_hidden_character(value)
    if found is not None:
        raise ValueError(
            f"the identifier contains {describe(found[1])} at position {found[0]}, "
            "an invisible formatting or control character; remove it"
        )
    return value


def normalise_identifier(id_type: IdType, value: str) -> str:
    """The canonical form of an identifier, or ValueError saying what is wrong with it."""
    value = nfkc_identifier(value)
    if id_type is not IdType.other:
        # After NFKC, full-width and other compatibility forms are ASCII; what is left is a
        # look-alike (Cyrillic А, dotless ı) that upper() might quietly turn into a Latin letter.
        stray = next((c for c in value if not c.isascii()), None)
        if stray is not None:
            raise ValueError(
                f"the identifier contains {describe(stray)}, which is not a Latin "
                "letter or digit (full-width forms are accepted and converted)"
            )
    if id_type is IdType.uscc:
        value = value.upper()
        if len(value) != 18:
            raise ValueError(f"a unified social credit code has 18 characters, not {len(value)}")
        if not _USCC_SHAPE.match(value):
            raise ValueError(
                "a unified social credit code uses digits and the letters "
                "A-H, J-N, P-R, T, U, W-Y only, with digits in positions 3-8"
            )
        if not is_valid_uscc(value):
            raise ValueError(
                f"unified social credit code {value} fails its check character "
                "(GB 32100-2015); check for a typing error"
            )
        return value
    if id_type is IdType.cn_resident_id:
        value = value.upper()
        if not is_valid_resident_id(value):
            raise ValueError(
                "not a valid 18-character resident identity number (GB 11643-1999 "
                "shape, birth date or check digit)"
            )
        return value
    if id_type is IdType.passport:
        value = value.upper()
        if not re.fullmatch(r"[A-Z0-9]{5,20}", value):
            raise ValueError("a passport number is 5 to 20 letters and digits")
        return value
    scheme, sep, rest = value.partition(":")
    value = f"{scheme.casefold()}{sep}{rest}"
    if not _OTHER_SHAPE.fullmatch(value):
        raise ValueError("an 'other' identifier is 'scheme:value', e.g. 'hk-cr:1234567'")
    return value


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
    id_type, sep, value = unicodedata.normalize("NFKC", text).strip().partition(":")
    if not sep:
        raise InvalidInput("a subject is written type:id, e.g. uscc:91350100M000100Y43")
    try:
        kind = IdType(id_type.casefold())
    except ValueError:
        raise InvalidInput(
            f"unknown identifier type {id_type!r}; use one of {', '.join(t.value for t in IdType)}"
        ) from None
    try:
        return f"{kind.value}:{normalise_identifier(kind, value)}"
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
