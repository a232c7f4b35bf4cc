"""The platform's claim check: each rule passes or fails with the values it compared."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ipnotary.sdk.claims import Claimant, Complaint, Outcome, check_infringement_claim
from ipnotary.sdk.errors import FormatError
from tests.unit.notary.conftest import Api

OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"}
CONTENT = b"the registered song, as audio bytes" * 50


def _work(owner: dict[str, str]) -> dict[str, Any]:
    return {
        "title": "Song",
        "work_type": "musical",
        "authors": [{"name": "A"}],
        "copyright_owner": owner,
        "completed_on": "2025-01-01",
    }


@pytest.fixture(scope="module")
def registered(api: Api) -> dict[str, Any]:
    h = api.principal("claimant", "holder", "Acme Studio")
    r = api.client.post(
        "/v1/works",
        headers=h,
        files={"file": ("song.wav", CONTENT)},
        data={"work": json.dumps(_work(OWNER))},
    )
    rid = r.json()["id"]
    api.wait_anchored(f"/v1/works/{rid}", h)
    cert = api.client.get(f"/v1/works/{rid}/certificate", headers=h).json()
    return {"cert": cert, "id": rid}


def check(
    api: Api,
    certs: list[Any],
    *,
    claimant: Claimant | None = None,
    listing_date: Any = None,
    content: bytes | None = CONTENT,
    chain: bool = True,
) -> Any:
    complaint = Complaint(
        certificates=certs,
        claimant=claimant or Claimant("Acme Studio Ltd", "uscc", "91350100m000100y43"),
        listing_date=listing_date or datetime.now(UTC),
        listing_content=content,
    )
    return check_infringement_claim(
        complaint,
        policy=api.runtime.trust_policy(),
        chain=api.runtime.chain.view() if chain else None,
    )


def outcome(verdict, name: str) -> Outcome:  # type: ignore[no-untyped-def]
    return next(f.outcome for f in verdict.findings if f.check == name)


def detail(verdict, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(f.detail for f in verdict.findings if f.check == name)


def test_a_sound_claim_is_supported(api: Api, registered: dict[str, Any]) -> None:
    verdict = check(api, [registered["cert"]])
    assert verdict.verdict == "supported", verdict.summary()
    assert {f.check for f in verdict.findings} == {
        "authentic",
        "owner",
        "precedes_listing",
        "content_identical",
        "first_registrant",
    }


def test_registered_after_the_listing_says_so_with_both_dates(
    api: Api, registered: dict[str, Any]
) -> None:
    listing = datetime.now(UTC) - timedelta(days=30)
    verdict = check(api, [registered["cert"]], listing_date=listing.date())
    assert verdict.verdict == "not_supported"
    assert outcome(verdict, "precedes_listing") is Outcome.failed
    text = detail(verdict, "precedes_listing")
    anchored = datetime.fromtimestamp(registered["cert"]["anchor"]["block_timestamp"], UTC)
    assert anchored.isoformat() in text and listing.date().isoformat() in text


def test_claimant_who_is_not_the_owner(api: Api, registered: dict[str, Any]) -> None:
    verdict = check(
        api,
        [registered["cert"]],
        claimant=Claimant("Someone", "cn_resident_id", "11010519491231002X"),
    )
    assert outcome(verdict, "owner") is Outcome.failed
    assert "uscc:91350100M000100Y43" in detail(verdict, "owner")


def test_a_listing_that_is_not_byte_identical_needs_a_person_not_a_rejection(
    api: Api, registered: dict[str, Any]
) -> None:
    """Infringing copies are re-encoded or cropped: a different digest is no contradiction."""
    verdict = check(api, [registered["cert"]], content=CONTENT + b"!")
    assert outcome(verdict, "content_identical") is Outcome.unknown
    assert verdict.verdict == "inconclusive" and "expert comparison" in detail(
        verdict, "content_identical"
    )
    assert check(api, [registered["cert"]], content=None).verdict == "inconclusive"


def test_an_unrelated_dishonest_credit_entry_needs_a_person(
    api: Api, registered: dict[str, Any]
) -> None:
    class OneEntry:
        def dishonest_entries(self, subject_key: str, as_of: datetime) -> list[dict[str, Any]]:
            return [{"category": "late filing of a trademark renewal"}]

    complaint = Complaint(
        certificates=[registered["cert"]],
        claimant=Claimant("Acme Studio Ltd", "uscc", "91350100m000100y43"),
        listing_date=datetime.now(UTC),
        listing_content=CONTENT,
    )
    verdict = check_infringement_claim(
        complaint,
        policy=api.runtime.trust_policy(),
        chain=api.runtime.chain.view(),
        credit=OneEntry(),
    )
    assert outcome(verdict, "credit_status") is Outcome.unknown
    assert verdict.verdict == "inconclusive"  # ownership and dates still check out
    assert {outcome(verdict, c) for c in ("owner", "precedes_listing", "content_identical")} == {
        Outcome.passed
    }


def test_a_listing_date_in_the_future_is_refused(api: Api, registered: dict[str, Any]) -> None:
    with pytest.raises(FormatError, match="in the future"):
        check(api, [registered["cert"]], listing_date=datetime.now(UTC) + timedelta(days=2))


def test_tampered_certificate_is_not_authentic(api: Api, registered: dict[str, Any]) -> None:
    forged = json.loads(json.dumps(registered["cert"]))
    forged["record"]["work"]["copyright_owner"]["name"] = "Mallory"
    verdict = check(api, [forged])
    assert verdict.verdict == "not_supported"
    assert outcome(verdict, "authentic") is Outcome.failed and "leaf_hash" in detail(
        verdict, "authentic"
    )


def test_without_a_chain_authenticity_is_only_offline(api: Api, registered: dict[str, Any]) -> None:
    verdict = check(api, [registered["cert"]], chain=False)
    assert verdict.verdict == "inconclusive"
    assert "the chain was not checked" in detail(verdict, "authentic")
    assert "attested by the operator alone" in detail(verdict, "authentic")


def test_a_later_registrant_is_not_first(api: Api, registered: dict[str, Any]) -> None:
    h = api.principal("copycat", "holder", "Copycat")
    other = {"name": "Copycat Co", "id_type": "uscc", "id": "91110108551385082Q"}
    r = api.client.post(
        "/v1/works",
        headers=h,
        files={"file": ("song.wav", CONTENT)},
        data={"work": json.dumps(_work(other))},
    )
    rid = r.json()["id"]
    api.wait_anchored(f"/v1/works/{rid}", h)
    cert = api.client.get(f"/v1/works/{rid}/certificate", headers=h).json()
    verdict = check(api, [cert], claimant=Claimant("Copycat Co", "uscc", "91110108551385082Q"))
    assert outcome(verdict, "owner") is Outcome.passed
    assert outcome(verdict, "first_registrant") is Outcome.failed
    assert registered["id"] in detail(verdict, "first_registrant")


def test_server_side_check_gives_the_same_verdict(api: Api, registered: dict[str, Any]) -> None:
    import hashlib

    body = {
        "certificates": [registered["cert"]],
        "claimant": {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"},
        "listing_date": "2001-01-01",
        "listing_sha256": hashlib.sha256(CONTENT).hexdigest(),
    }
    r = api.client.post(
        "/v1/claims/check", json=body, headers=api.principal("platform", "platform")
    )
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "not_supported"
    assert "2001-01-01" in next(
        f["detail"] for f in r.json()["findings"] if f["check"] == "precedes_listing"
    )


def test_cli_claim_check_exit_status(api: Api, registered: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ipnotary.service.cli import app

    cert = tmp_path / "c.json"
    cert.write_text(json.dumps(registered["cert"]))
    policy = tmp_path / "policy.json"
    policy.write_bytes(api.runtime.trust_policy().to_json_bytes())
    listing = tmp_path / "listing.wav"
    listing.write_bytes(CONTENT)
    args = [
        "claim-check",
        "--cert",
        str(cert),
        "--claimant-name",
        "Acme",
        "--claimant-id-type",
        "uscc",
        "--claimant-id",
        "91350100M000100Y43",
        "--listing-file",
        str(listing),
        "--json",
        "--policy",
        str(policy),
    ]
    later = CliRunner().invoke(app, [*args, "--listing-date", datetime.now(UTC).isoformat()])
    assert later.exit_code == 3, later.output  # no chain given: authentic only offline
    future = CliRunner().invoke(app, [*args, "--listing-date", "2999-01-01"])
    assert future.exit_code == 2 and "in the future" in future.output
    earlier = CliRunner().invoke(app, [*args, "--listing-date", "2001-01-01"])
    assert earlier.exit_code == 1 and "not_supported" in earlier.output
    # Without --json, piped into 80 columns: one line a finding, the listing's digest whole.
    plain = [a for a in args if a != "--json"]
    text = CliRunner().invoke(app, [*plain, "--listing-date", "2001-01-01"], terminal_width=80)
    assert text.exit_code == 1 and hashlib.sha256(CONTENT).hexdigest() in text.output, text.output
