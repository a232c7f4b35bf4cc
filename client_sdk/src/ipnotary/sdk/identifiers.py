"""Typed identifiers of people and organisations, normalised and checked as the registers do.

The service stores every identifier in the canonical form :func:`normalise_identifier` gives, and
the verifier's checks (the claim check, the credit status) compare a claimant or a subject with
what a record holds: both sides must spell the same subject the same way, so the rules live here,
in the SDK, and the service imports them (``ipnotary.service.domain.identifiers``).

- ``uscc``: the 18-character unified social credit code of an organisation (GB 32100-2015): a
  31-symbol alphabet without I, O, Z, S, V; positions 3-8 are the administrative division code;
  the 18th character is a check character (weighted sum modulo 31).
- ``cn_resident_id``: the 18-character citizen identity number (GB 11643-1999), whose last
  character is the ISO 7064 MOD 11-2 check digit (``X`` for 10).
- ``passport``: 5 to 20 letters and digits (ICAO 9303 document numbers are at most 9; other
  states' forms vary, so only the shape is checked).
- ``other``: ``scheme:value`` for anything else (a court's case party number, a foreign company
  register), at most 100 characters.

Normalisation: NFKC first (full-width digits and letters, circled or superscript digits and other
compatibility forms become their plain ASCII letters and digits), then trimmed and case-folded
where the standard is case-insensitive (upper case for the three national forms, lower case for an
``other`` scheme name; an ``other`` value keeps its case, which its scheme may need). Invisible
formatting characters are refused, since NFKC keeps them, and so are letters and digits of other
scripts that merely look Latin. Every refusal is an :class:`InvalidIdentifier` (a ``FormatError``
and a ``ValueError``) saying what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from ipnotary.sdk.errors import FormatError

__all__ = [
    "IdType",
    "InvalidIdentifier",
    "describe",
    "first_hidden_character",
    "is_valid_resident_id",
    "is_valid_uscc",
    "nfkc_identifier",
    "normalise_identifier",
    "parse_subject_key",
    "subject_key",
]


class IdType(StrEnum):
    uscc = "uscc"
    cn_resident_id = "cn_resident_id"
    passport = "passport"
    other = "other"


class InvalidIdentifier(FormatError):
    """An identifier that its standard refuses (shape, alphabet, check character), or one that
    holds invisible or look-alike characters."""


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# ASCII only: Python's \d would take any script's digits, and an Arabic-Indic one must not be a
# second spelling of the same code.
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_OTHER_SHAPE = re.compile(r"[a-z][a-z0-9_.-]{1,30}:[^\s:][^\x00-\x1f]{0,68}")

_REFUSED_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Cs"})
_ALLOWED_CONTROLS = frozenset("\t\n")


def first_hidden_character(text: str) -> tuple[int, str] | None:
    """The position and character of the first character that changes how text displays without
    showing itself (categories Cf, Zl, Zp, Cs, and controls other than tab and line feed)."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or (category == "Cc" and char not in _ALLOWED_CONTROLS):
            return position, char
    return None


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how an error names a character nobody can see."""
    name = unicodedata.name(char, "") or {
        "Cc": "(a control character)",
        "Cs": "(a lone surrogate)",
    }.get(unicodedata.category(char), "")
    return f"U+{ord(char):04X} {name}".rstrip()


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
    """NFKC and trimmed, or InvalidIdentifier naming an invisible character: the first step of
    every identifier's normalisation (registration numbers too)."""
    value = unicodedata.normalize("NFKC", value).strip()
    found = first_hidden_character(value)
    if found is not None:
        raise InvalidIdentifier(
            f"the identifier contains {describe(found[1])} at position {found[0]}, "
            "an invisible formatting or control character; remove it"
        )
    return value


def _id_type(id_type: IdType | str) -> IdType:
    try:
        return IdType(id_type)
    except ValueError:
        raise InvalidIdentifier(
            f"unknown identifier type {id_type!r}; use one of {', '.join(t.value for t in IdType)}"
        ) from None


def normalise_identifier(id_type: IdType | str, value: str) -> str:
    """The canonical form of an identifier, or InvalidIdentifier saying what is wrong with it."""
    kind = _id_type(id_type)
    value = nfkc_identifier(value)
    if kind is not IdType.other:
        # After NFKC, full-width and other compatibility forms are ASCII; what is left is a
        # look-alike (Cyrillic A, dotless i) that upper() might quietly turn into a Latin letter.
        stray = next((c for c in value if not c.isascii()), None)
        if stray is not None:
            raise InvalidIdentifier(
                f"the identifier contains {describe(stray)}, which is not a Latin "
                "letter or digit (full-width forms are accepted and converted)"
            )
    if kind is IdType.uscc:
        value = value.upper()
        if len(value) != 18:
            raise InvalidIdentifier(
                f"a unified social credit code has 18 characters, not {len(value)}"
            )
        if not _USCC_SHAPE.match(value):
            raise InvalidIdentifier(
                "a unified social credit code uses digits and the letters "
                "A-H, J-N, P-R, T, U, W-Y only, with digits in positions 3-8"
            )
        if not is_valid_uscc(value):
            raise InvalidIdentifier(
                f"unified social credit code {value} fails its check character "
                "(GB 32100-2015); check for a typing error"
            )
        return value
    if kind is IdType.cn_resident_id:
        value = value.upper()
        if not is_valid_resident_id(value):
            raise InvalidIdentifier(
                "not a valid 18-character resident identity number (GB 11643-1999 "
                "shape, birth date or check digit)"
            )
        return value
    if kind is IdType.passport:
        value = value.upper()
        if not re.fullmatch(r"[A-Z0-9]{5,20}", value):
            raise InvalidIdentifier("a passport number is 5 to 20 letters and digits")
        return value
    scheme, sep, rest = value.partition(":")
    value = f"{scheme.casefold()}{sep}{rest}"
    if not _OTHER_SHAPE.fullmatch(value):
        raise InvalidIdentifier("an 'other' identifier is 'scheme:value', e.g. 'hk-cr:1234567'")
    return value


def subject_key(id_type: IdType | str, value: str) -> str:
    """``type:id`` in canonical form: equal for the same subject however it was typed."""
    kind = _id_type(id_type)
    return f"{kind.value}:{normalise_identifier(kind, value)}"


def parse_subject_key(text: str) -> str:
    """Validate ``type:id`` (e.g. ``uscc:91350100M000100Y43``) and return its canonical form."""
    id_type, sep, value = unicodedata.normalize("NFKC", text).strip().partition(":")
    if not sep:
        raise InvalidIdentifier("a subject is written type:id, e.g. uscc:91350100M000100Y43")
    return subject_key(id_type.casefold(), value)
