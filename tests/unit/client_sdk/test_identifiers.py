"""The identifier rules the registers and the verifier share (``ipnotary.sdk.identifiers``).

Every case runs through the SDK's rule and the service's models (``PartyId``, the subject keys of
the credit register): a claimant or subject is compared with what a record holds, so a spelling the
service folds into a code must fold into the same code here, and one it refuses is refused here
with the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from ipnotary.sdk import identifiers as sdk
from ipnotary.sdk.errors import FormatError
from ipnotary.service.domain import identifiers as service
from ipnotary.service.errors import InvalidInput


def _full_width(text: str) -> str:
    """The full-width spelling a Chinese input method types (U+FF01..U+FF5E for ASCII)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


CODE = "91350100M000100Y43"
RESIDENT = "11010519491231002X"

# (type, as typed, canonical): spellings of one subject.
SAME_SUBJECT = [
    ("uscc", CODE, CODE),
    ("uscc", CODE.lower(), CODE),
    ("uscc", _full_width(CODE), CODE),
    ("uscc", _full_width(CODE.lower()), CODE),
    ("uscc", f"\u3000 {CODE} \u3000", CODE),  # ideographic spaces around it
    ("cn_resident_id", RESIDENT.lower(), RESIDENT),
    ("cn_resident_id", _full_width(RESIDENT.lower()), RESIDENT),
    ("passport", _full_width("e12345678"), "E12345678"),
    ("other", "HK-CR:Ab\u2460" + _full_width("23"), "hk-cr:Ab123"),  # scheme folded, value kept
]

# (type, value, part of the reason): codes no register holds.
REFUSED = [
    ("uscc", "91350100M000100Y44", "check character"),
    ("uscc", _full_width("91350100M000100Y44"), "check character"),
    ("uscc", "91350100M000100Y4", "18 characters"),
    ("uscc", "91350100M000I00Y43", "letters"),
    ("cn_resident_id", "110105194912310021", "check digit"),
    ("passport", "E1", "5 to 20"),
    ("passport", "E1234\u200b5678", "U+200B ZERO WIDTH SPACE"),
    ("passport", "\u0415123456", "U+0415 CYRILLIC CAPITAL LETTER IE"),
    (
        "cn_resident_id",
        RESIDENT.translate({ord(d): 0x0660 + int(d) for d in "0123456789"}),
        "ARABIC",
    ),
    ("other", "no scheme", "scheme:value"),
]

Normalise = Callable[[str, str], str]


def _party(id_type: str, value: str) -> str:
    return service.PartyId(name="X", id_type=service.IdType(id_type), id=value).id


def _subject(id_type: str, value: str) -> str:
    return service.parse_subject_key(f"{id_type}:{value}").partition(":")[2]


RULES: dict[str, Normalise] = {
    "sdk": sdk.normalise_identifier,
    "sdk subject key": lambda t, v: sdk.parse_subject_key(f"{t}:{v}").partition(":")[2],
    "service PartyId": _party,
    "service subject key": _subject,
}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("id_type", "typed", "canonical"), SAME_SUBJECT)
def test_every_spelling_of_a_subject_folds_to_one_code(
    rule: str, id_type: str, typed: str, canonical: str
) -> None:
    assert RULES[rule](id_type, typed) == canonical


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("id_type", "value", "why"), REFUSED)
def test_a_code_no_register_holds_is_refused_with_its_reason(
    rule: str, id_type: str, value: str, why: str
) -> None:
    with pytest.raises((FormatError, ValidationError, InvalidInput), match=re.escape(why)):
        RULES[rule](id_type, value)


def test_the_service_uses_the_sdk_rules() -> None:
    """One source: the service's names are the SDK's objects, not copies that could drift."""
    assert service.IdType is sdk.IdType
    assert service.normalise_identifier is sdk.normalise_identifier
    assert service.is_valid_uscc is sdk.is_valid_uscc
    assert service.is_valid_resident_id is sdk.is_valid_resident_id


def test_a_refused_identifier_is_a_format_error_and_a_value_error() -> None:
    """The CLI reports a FormatError as 'could not check' (exit 2); pydantic models take a
    ValueError as a validation error."""
    with pytest.raises(sdk.InvalidIdentifier) as caught:
        sdk.normalise_identifier("uscc", "91350100M000100Y44")
    assert isinstance(caught.value, FormatError) and isinstance(caught.value, ValueError)
    with pytest.raises(sdk.InvalidIdentifier, match="unknown identifier type"):
        sdk.normalise_identifier("tax_number", "123")
