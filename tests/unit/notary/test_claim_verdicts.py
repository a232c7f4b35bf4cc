"""Claim-check verdicts a platform can act on: the claimant is compared with the registered owner
by name and by identifier as the registers spell it, a code no register holds is 'could not
check', and a verdict whose time rests on the operator alone says so in the verdict itself.

The same complaint goes through the SDK, ``notary claim-check`` and ``POST /v1/claims/check``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ipnotary.sdk.claims import (
    OPERATOR_TIME_CAVEAT,
    Claimant,
    ClaimVerdict,
    Complaint,
    Outcome,
    check_infringement_claim,
)
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.identifiers import InvalidIdentifier
from tests.unit.notary.conftest import Api

CODE = "91350100M000100Y43"
OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": CODE}
CONTENT = b"a registered illustration" * 40


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.fixture(scope="module")
def cert(api: Api) -> dict[str, Any]:
    h = api.principal("owner", "holder", "Acme Studio")
    work = {
        "title": "Moonlight",
        "work_type": "fine_art",
        "authors": [{"name": "Li Hua"}],
        "copyright_owner": OWNER,
        "completed_on": "2025-03-01",
    }
    r = api.client.post(
        "/v1/works",
        headers=h,
        files={"file": ("moon.jpg", CONTENT)},
        data={"work": json.dumps(work)},
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    api.wait_anchored(f"/v1/works/{rid}", h)
    got = api.client.get(f"/v1/works/{rid}/certificate", headers=h)
    assert got.status_code == 200, got.text
    certificate: dict[str, Any] = got.json()
    return certificate


def _check(api: Api, cert: dict[str, Any], claimant: Claimant) -> ClaimVerdict:
    return check_infringement_claim(
        Complaint(
            certificates=[cert],
            claimant=claimant,
            listing_date=datetime.now(UTC),
            listing_content=CONTENT,
        ),
        policy=api.runtime.trust_policy(),
        chain=api.runtime.chain.view(),
    )


def _owner(verdict: ClaimVerdict) -> tuple[Outcome, str]:
    found = next(f for f in verdict.findings if f.check == "owner")
    return found.outcome, found.detail


def test_another_name_with_the_owners_code_is_not_the_owner_as_a_fact(
    api: Api, cert: dict[str, Any]
) -> None:
    """A credit code is public: a complaint naming someone else with it needs a person."""
    verdict = _check(api, cert, Claimant("Mallory Trading Co", "uscc", CODE))
    outcome, detail = _owner(verdict)
    assert outcome is Outcome.unknown, detail
    assert verdict.verdict == "inconclusive"
    assert "Mallory Trading Co" in detail and "Acme Studio Ltd" in detail
    assert "is the registered copyright owner" not in detail


@pytest.mark.parametrize(
    "spelling",
    [CODE.lower(), _full_width(CODE), _full_width(CODE.lower()), f"\u3000{CODE} "],
    ids=["lower-case", "full-width", "full-width lower-case", "ideographic space"],
)
def test_the_owners_code_however_typed_is_the_owner(
    api: Api, cert: dict[str, Any], spelling: str
) -> None:
    verdict = _check(api, cert, Claimant(" acme studio  LTD ", "uscc", spelling))
    outcome, detail = _owner(verdict)
    assert outcome is Outcome.passed, detail
    assert verdict.verdict == "supported", verdict.summary()


def test_a_wrong_check_character_is_an_invalid_code_not_another_owner() -> None:
    with pytest.raises(InvalidIdentifier, match=r"invalid code.*check character") as caught:
        Claimant("Acme Studio Ltd", "uscc", CODE[:-1] + "4")
    assert isinstance(caught.value, FormatError)


def test_an_operator_attested_time_is_part_of_the_verdict(api: Api, cert: dict[str, Any]) -> None:
    verdict = _check(api, cert, Claimant("Acme Studio Ltd", "uscc", CODE))
    assert verdict.verdict == "supported"
    assert verdict.caveats == (OPERATOR_TIME_CAVEAT,)
    assert "operator alone" in verdict.headline() and verdict.headline().startswith("SUPPORTED")
    assert "operator alone" in verdict.summary()


def _cli(api: Api, cert: dict[str, Any], tmp_path: Path, claimant_id: str, *extra: str) -> Any:
    from ipnotary.service.cli import app

    cert_file = tmp_path / "work.cert.json"
    cert_file.write_text(json.dumps(cert))
    policy = tmp_path / "policy.json"
    policy.write_bytes(api.runtime.trust_policy().to_json_bytes())
    listing = tmp_path / "listing.jpg"
    listing.write_bytes(CONTENT)
    return CliRunner().invoke(
        app,
        [
            "claim-check",
            "--cert",
            str(cert_file),
            "--claimant-name",
            "Acme Studio Ltd",
            "--claimant-id-type",
            "uscc",
            "--claimant-id",
            claimant_id,
            "--listing-file",
            str(listing),
            "--listing-date",
            datetime.now(UTC).isoformat(),
            "--policy",
            str(policy),
            *extra,
        ],
        terminal_width=200,
    )


def test_cli_a_wrong_check_character_could_not_be_checked(
    api: Api, cert: dict[str, Any], tmp_path: Path
) -> None:
    result = _cli(api, cert, tmp_path, CODE[:-1] + "4")
    assert result.exit_code == 2, result.output
    assert "invalid code" in result.output and "not the registered owner" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_full_width_code_and_the_operator_caveat(
    api: Api, cert: dict[str, Any], tmp_path: Path
) -> None:
    # No chain given: the time rests on the operator, authentic is unknown, inconclusive.
    text = _cli(api, cert, tmp_path, _full_width(CODE))
    assert text.exit_code == 3, text.output
    first = text.output.splitlines()[0]
    assert first.startswith("INCONCLUSIVE (") and "operator alone" in first
    as_json = _cli(api, cert, tmp_path, _full_width(CODE), "--json")
    data = json.loads(as_json.output)
    assert data["caveats"] == [OPERATOR_TIME_CAVEAT]
    assert next(f for f in data["findings"] if f["check"] == "owner")["outcome"] == "pass"


def test_api_normalises_refuses_and_states_the_caveat(api: Api, cert: dict[str, Any]) -> None:
    headers = api.principal("platform", "platform")
    body: dict[str, Any] = {
        "certificates": [cert],
        "listing_date": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "claimant": {"name": "Acme Studio Ltd", "id_type": "uscc", "id": _full_width(CODE)},
    }
    ok = api.client.post("/v1/claims/check", json=body, headers=headers)
    assert ok.status_code == 200, ok.text
    owner = next(f for f in ok.json()["findings"] if f["check"] == "owner")
    assert owner["outcome"] == "pass", owner
    assert ok.json()["caveats"] == [OPERATOR_TIME_CAVEAT]
    other = {**body, "claimant": {**body["claimant"], "name": "Mallory Trading Co"}}
    assert api.client.post("/v1/claims/check", json=other, headers=headers).json()["verdict"] == (
        "inconclusive"
    )
    bad = {**body, "claimant": {**body["claimant"], "id": CODE[:-1] + "4"}}
    refused = api.client.post("/v1/claims/check", json=bad, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "check character" in refused.text and "claimant" in refused.text
