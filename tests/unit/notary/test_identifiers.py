"""Identifier validation: GB 32100-2015 credit codes, GB 11643 resident ids, passports, other;
NFKC normalisation, refusal of invisible and look-alike characters, masking."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from ipnotary.service.domain.identifiers import (
    IdType,
    PartyId,
    is_valid_resident_id,
    is_valid_uscc,
    mask_identifier,
    normalise_identifier,
    parse_subject_key,
)
from ipnotary.service.errors import InvalidInput


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q"])
def test_published_credit_codes_pass(code: str) -> None:
    assert is_valid_uscc(code)
    assert normalise_identifier(IdType.uscc, f"  {code.lower()} ") == code


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000I00Y43", "letters"),  # I is not in the alphabet
        ("9135O100M000100Y43", "letters"),  # O in the division code
        ("91ABCDEFM000100Y43", "letters"),  # division code must be digits
    ],
)
def test_bad_credit_codes_say_what_is_wrong(code: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalise_identifier(IdType.uscc, code)


def test_every_single_character_error_in_a_credit_code_is_caught() -> None:
    code = "91350100M000100Y43"
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for i in range(18):
        for c in alphabet:
            if c != code[i]:
                assert not is_valid_uscc(code[:i] + c + code[i + 1 :]), (i, c)


def test_resident_id_check_digit() -> None:
    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id("110105194912310021")
    assert not is_valid_resident_id("11010519491331002X")  # month 13
    assert normalise_identifier(IdType.cn_resident_id, "11010519491231002x") == "11010519491231002X"


def test_party_normalises_and_refuses() -> None:
    party = PartyId(name="Acme", id_type="uscc", id="91350100m000100y43")
    assert party.id == "91350100M000100Y43" and party.key() == "uscc:91350100M000100Y43"
    with pytest.raises(ValidationError, match="check character"):
        PartyId(name="Acme", id_type="uscc", id="91350100M000100Y44")
    assert PartyId(name="X", id_type="other", id="hk-cr:1234567").id == "hk-cr:1234567"
    with pytest.raises(ValidationError):
        PartyId(name="X", id_type="other", id="no scheme")
    with pytest.raises(ValidationError):
        PartyId(name="X", id_type="passport", id="E1")


@pytest.mark.parametrize(
    ("id_type", "typed", "canonical"),
    [
        (
            IdType.cn_resident_id,
            "１１０１０５１９４９１２３１００２ｘ",
            "11010519491231002X",
        ),  # full width
        (IdType.uscc, "９１３５０１００ｍ０００１００ｙ４３", "91350100M000100Y43"),
        # ideographic spaces
        (IdType.uscc, "\u3000 91350100M000100Y43\u3000", "91350100M000100Y43"),
        (IdType.passport, "ｅ１２３４５６７８", "E12345678"),
        (IdType.passport, "e１２３４５６７８", "E12345678"),
        (IdType.other, "HK-CR:Ab①２３", "hk-cr:Ab123"),  # scheme case-folded, value keeps its case
    ],
)
def test_identifiers_are_nfkc_normalised_before_they_are_compared(
    id_type: IdType, typed: str, canonical: str
) -> None:
    assert normalise_identifier(id_type, typed) == canonical
    assert PartyId(name="X", id_type=id_type, id=typed).key() == f"{id_type.value}:{canonical}"


def test_subject_keys_are_nfkc_normalised() -> None:
    assert (
        parse_subject_key("ＵＳＣＣ：９１３５０１００ｍ０００１００ｙ４３")
        == "uscc:91350100M000100Y43"
    )
    assert parse_subject_key("Passport:e12345678") == "passport:E12345678"


ARABIC_INDIC_RESIDENT_ID = "11010519491231002X".translate(
    {ord(d): 0x0660 + int(d) for d in "0123456789"}
)


@pytest.mark.parametrize(
    ("id_type", "value", "message"),
    [
        (IdType.passport, "E1234\u200b5678", "U+200B ZERO WIDTH SPACE"),
        (IdType.cn_resident_id, "110105\u202e19491231002X", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        (IdType.other, "hk-cr:12\u2067345", "U+2067 RIGHT-TO-LEFT ISOLATE"),
        (IdType.passport, "\u0415123456", "U+0415 CYRILLIC CAPITAL LETTER IE"),  # looks like E
        (IdType.passport, "\u0131d123456", "DOTLESS I"),  # upper() would make it a Latin I
        # \d took these before: "١١٠١٠٥..." was a second spelling of the same number.
        (IdType.cn_resident_id, ARABIC_INDIC_RESIDENT_ID, "ARABIC-INDIC DIGIT"),
    ],
)
def test_invisible_and_look_alike_characters_in_identifiers_are_refused(
    id_type: IdType, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        normalise_identifier(id_type, value)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse_subject_key(f"{id_type.value}:{value}")


def test_identity_numbers_are_masked_recognisably() -> None:
    assert mask_identifier(IdType.cn_resident_id, "11010519491231002X") == "110***********002X"
    assert mask_identifier(IdType.passport, "E12345678") == "E1*****78"
    assert mask_identifier(IdType.passport, "E1234") == "E****"  # too short to show both ends
    assert mask_identifier(IdType.other, "hk-id:A1234567") == "hk-id:A1****67"
    # An organisation's credit code is a public registration.
    assert mask_identifier(IdType.uscc, "91350100M000100Y43") == "91350100M000100Y43"
    # Nothing of the birth date (positions 7-14) survives.
    assert "19491231" not in mask_identifier(IdType.cn_resident_id, "11010519491231002X")
