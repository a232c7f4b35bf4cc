"""Digits of other scripts: a number, an identifier or a time written in them is refused, not read
as a second spelling of the same thing (``ipnotary.sdk.numerals``).

Python's ``\\d``, ``str.isdigit()`` and pydantic's patterns take any script's digits and NFKC keeps
them, so before: a patent number in Arabic-Indic digits was a second asset (a second active
pledge on one patent), and a certificate whose ``issued_at`` was written in them passed ``format``
and then raised in the middle of the verification (500 from ``/v1/verify`` and
``/v1/claims/check``, exit 2 from ``notary verify``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.verify import verify_certificate
from ipnotary.service.domain.pledges import AssetType, normalise_registration_number
from tests.unit.notary.conftest import Api
from tests.unit.notary.test_pledges import PATENT, post, terms

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def test_a_patent_in_arabic_indic_digits_is_not_a_second_asset(api: Api) -> None:
    first = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}, label="digits")
    assert first.status_code == 201, first.text
    again = {**PATENT, "registration_number": PATENT["registration_number"].translate(ARABIC_INDIC)}
    second = post(api, "/v1/pledges", {"asset": again, "terms": terms()}, label="digits")
    assert second.status_code == 422, second.text  # was 201: a second active pledge
    assert "U+0662 ARABIC-INDIC DIGIT TWO" in second.text
    status = api.client.get(
        "/v1/pledges/status",
        params={"asset_type": "patent", "number": again["registration_number"]},
    )
    assert status.status_code == 422, status.text


@pytest.mark.parametrize(
    ("asset_type", "number"),
    [
        (AssetType.patent, "ZL201710601862.3"),
        (AssetType.patent, "201710601862"),
        (AssetType.trademark, "第12345678号"),
        (AssetType.copyright, "国作登字-2021-F-00012345"),
        (AssetType.copyright, "2021SR0123456"),
    ],
)
@pytest.mark.parametrize("script", [ARABIC_INDIC, DEVANAGARI], ids=["arabic-indic", "devanagari"])
def test_every_registration_number_takes_ascii_digits_only(
    asset_type: AssetType, number: str, script: dict[int, str]
) -> None:
    assert normalise_registration_number(asset_type, number)  # the ASCII spelling is fine
    # and so is the full-width one, which NFKC folds to ASCII
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert normalise_registration_number(asset_type, wide) == normalise_registration_number(
        asset_type, number
    )
    with pytest.raises(ValueError, match="the digits 0-9"):
        normalise_registration_number(asset_type, number.translate(script))


def test_an_amount_in_other_digits_is_refused(api: Api) -> None:
    asset = {"type": "trademark", "registration_number": "87654321"}
    body = {"asset": asset, "terms": terms(secured_amount="5000000.00".translate(ARABIC_INDIC))}
    r = post(api, "/v1/pledges", body, label="digits")
    assert r.status_code == 422, r.text


@pytest.fixture(scope="module")
def arabic_issued_at(api: Api) -> dict[str, Any]:
    """The service's own certificate with ``issued_at`` in Arabic-Indic digits, signed again by
    the service's issuer: the signature holds, so only the time field is wrong."""
    h = api.principal("digits-holder", "holder")
    r = api.client.post("/v1/evidence", headers=h, json={"sha256": "ab" * 32, "size": 5})
    assert r.status_code in (200, 201), r.text
    rid = r.json()["id"]
    api.wait_anchored(f"/v1/evidence/{rid}", h)
    cert = api.client.get(f"/v1/evidence/{rid}/certificate", headers=h).json()
    unsigned = {k: v for k, v in cert.items() if k != "signature"}
    unsigned["issued_at"] = unsigned["issued_at"].translate(ARABIC_INDIC)
    signed: dict[str, Any] = api.runtime.issuer.sign(unsigned)
    return signed


def test_a_certificate_time_in_other_digits_fails_at_format(
    api: Api, arabic_issued_at: dict[str, Any]
) -> None:
    with pytest.raises(VerificationError) as info:
        verify_certificate(arabic_issued_at, api.runtime.trust_policy())
    assert info.value.step == "format", info.value  # was a ValueError after 'signature'
    r = api.client.post("/v1/verify", json={"certificate": arabic_issued_at, "check_chain": False})
    assert r.status_code == 200, r.text  # was 500
    assert r.json()["valid"] is False and r.json()["failed_step"] == "format"


def test_the_claim_check_refuses_it_without_a_server_error(
    api: Api, arabic_issued_at: dict[str, Any]
) -> None:
    body = {
        "certificates": [arabic_issued_at],
        "claimant": {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"},
        "listing_date": "2026-01-01",
    }
    r = api.client.post(
        "/v1/claims/check", json=body, headers=api.principal("digits-platform", "platform")
    )
    assert r.status_code < 500, r.text  # was 500
    if r.status_code == 200:
        assert r.json()["verdict"] != "supported"


def test_notary_verify_says_invalid_at_format(
    api: Api, arabic_issued_at: dict[str, Any], tmp_path: Path
) -> None:
    from ipnotary.service.cli import app

    cert = tmp_path / "cert.json"
    cert.write_text(json.dumps(arabic_issued_at, ensure_ascii=False), encoding="utf-8")
    policy = tmp_path / "policy.json"
    policy.write_bytes(api.runtime.trust_policy().to_json_bytes())
    result = CliRunner().invoke(app, ["verify", str(cert), "--policy", str(policy)])
    assert result.exit_code == 1, result.output  # was 2: the verifier crashed
    assert "INVALID" in result.output and "format" in result.output
