"""Identifier validation: GB 32100-2015 credit codes, GB 11643 resident ids, passports, other."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notary.domain.identifiers import (
    IdType,
    PartyId,
    is_valid_resident_id,
    is_valid_uscc,
    normalise_identifier,
)


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
                assert not is_valid_uscc(code[:i] + c + code[i + 1:]), (i, c)


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
