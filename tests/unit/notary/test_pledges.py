"""IP pledges: one active pledge per asset, party rules, and verifiable status as of a time."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from client_sdk.claims import Claimant, Complaint, Outcome, check_infringement_claim
from client_sdk.errors import VerificationError
from client_sdk.pledges import verify_pledge_status

BANK = {"name": "Bank of Hangzhou", "id_type": "uscc", "id": "91350100M000100Y43"}
OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91110108551385082Q"}
STRANGER = {"name": "Nobody", "id_type": "cn_resident_id", "id": "11010519491231002X"}


def terms(**changes: Any) -> dict[str, Any]:
    base = {"pledgor": OWNER, "pledgee": BANK, "secured_amount": "5000000.00", "currency": "CNY",
            "term_start": "2026-01-01", "term_end": "2028-12-31",
            "contract_sha256": "aa" * 32, "valuation_report_sha256": "bb" * 32}
    base.update(changes)
    return base


PATENT = {"type": "patent", "registration_number": "ZL201710601862.3"}


def post(api, path: str, body: dict[str, Any], role: str = "pledge_registrar"):  # type: ignore[no-untyped-def]
    return api.client.post(path, json=body, headers=api.principal(role, role, "IP Pledge Registry"))


def status(api, asset: dict[str, Any], as_of: int | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    params: dict[str, Any] = {"asset_type": asset["type"], "number": asset["registration_number"]}
    if as_of is not None:
        params["as_of"] = datetime.fromtimestamp(as_of, UTC).isoformat()
    r = api.client.get("/v1/pledges/status", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_register_refuse_double_release_and_status_over_time(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    first = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()})
    assert first.status_code == 201, first.text
    pledge_id = first.json()["pledge"]["pledge_id"]
    registered_at = first.json()["event"]["receipt"]["record"]["pledge"]["block_timestamp"]

    double = post(api, "/v1/pledges", {"asset": {**PATENT, "registration_number": "201710601862.3"},
                                       "terms": terms(pledgee=STRANGER)})
    assert double.status_code == 409 and double.json()["code"] == "asset_already_pledged"
    assert str(pledge_id) in double.json()["detail"]

    bad_party = post(api, f"/v1/pledges/{pledge_id}/release", {"party": STRANGER})
    assert bad_party.status_code == 403 and bad_party.json()["code"] == "not_a_party"
    by_pledgor = post(api, f"/v1/pledges/{pledge_id}/enforcement", {"party": OWNER})
    assert by_pledgor.status_code == 403 and by_pledgor.json()["code"] == "not_pledgee"

    amended = post(api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms(secured_amount="6000000")})
    assert amended.status_code == 201 and amended.json()["pledge"]["amendments"] == 1
    other_parties = post(api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms(pledgee=STRANGER)})
    assert other_parties.status_code == 422

    released = post(api, f"/v1/pledges/{pledge_id}/release", {"party": BANK})
    assert released.status_code == 201 and released.json()["pledge"]["status"] == "released"
    released_at = released.json()["event"]["receipt"]["record"]["pledge"]["block_timestamp"]
    again = post(api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms()})
    assert again.status_code == 409 and again.json()["code"] == "pledge_not_active"

    reader = api.runtime.chain.pledges()
    policy = api.runtime.trust_policy()
    during = status(api, PATENT, registered_at)
    assert during["pledged"] and during["pledge"]["terms"]["pledgee"]["name"] == BANK["name"]
    verified = verify_pledge_status(during, reader=reader, policy=policy)
    assert verified.chain_checked and verified.pledge_id == pledge_id
    before = status(api, PATENT, registered_at - 1)
    assert before["pledged"] is False
    verify_pledge_status(before, reader=reader)
    after = status(api, PATENT, released_at)
    assert after["pledged"] is False
    verify_pledge_status(after, reader=reader)

    # Free again: a new pledge is accepted.
    second = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(pledgee=STRANGER)})
    assert second.status_code == 201 and second.json()["pledge"]["pledge_id"] != pledge_id


def test_tampered_status_answers_fail(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    assert post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}).status_code == 201
    doc = status(api, PATENT)
    reader = api.runtime.chain.pledges()
    forged = copy.deepcopy(doc)
    forged["pledge"]["terms"]["pledgee"] = STRANGER
    with pytest.raises(VerificationError) as info:
        verify_pledge_status(forged, reader=reader)
    assert info.value.step == "signature"
    # Even re-signed by the register itself, the chain disagrees with a false "not pledged".
    lie = {k: v for k, v in doc.items() if k != "signature"}
    lie.update(pledged=False, pledge=None)
    with pytest.raises(VerificationError) as info:
        verify_pledge_status(api.runtime.issuer.sign(lie), reader=reader)
    assert info.value.step == "pledge"


@pytest.mark.parametrize(
    ("asset", "message"),
    [
        ({"type": "patent", "registration_number": "ZL201710601862.4"}, "check character"),
        ({"type": "patent", "registration_number": "12345"}, "12 digits"),
        ({"type": "trademark", "registration_number": "12a"}, "4 to 9 digits"),
        ({"type": "copyright", "registration_number": "my song"}, "国作登字"),
        ({"type": "other", "registration_number": "nothing"}, "scheme:value"),
    ],
)
def test_invalid_asset_numbers(api, asset: dict[str, str], message: str) -> None:  # type: ignore[no-untyped-def]
    r = post(api, "/v1/pledges", {"asset": asset, "terms": terms()})
    assert r.status_code == 422 and message in r.text


def test_refusals_of_role_and_terms(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    holder = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}, role="holder")
    assert holder.status_code == 403
    same = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(pledgee=OWNER)})
    assert same.status_code == 422 and "different parties" in same.text
    zero = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(secured_amount="0")})
    assert zero.status_code == 422
    assert post(api, "/v1/pledges/999/release", {"party": BANK}).status_code == 404


def test_claim_check_reports_a_pledged_work(make_api) -> None:  # type: ignore[no-untyped-def]
    import json

    api = make_api()
    h = api.principal("owner", "holder", "Acme")
    work = {"title": "Song", "work_type": "musical", "authors": [{"name": "A"}],
            "copyright_owner": OWNER, "completed_on": "2025-01-01"}
    r = api.client.post("/v1/works", headers=h, files={"file": ("s.wav", b"song bytes")},
                        data={"work": json.dumps(work)})
    wid = r.json()["id"]
    api.wait_anchored(f"/v1/works/{wid}", h)
    cert = api.client.get(f"/v1/works/{wid}/certificate", headers=h).json()
    asset = {"type": "copyright", "registration_number": wid}
    assert post(api, "/v1/pledges", {"asset": asset, "terms": terms()}).status_code == 201
    pledge_doc = verify_pledge_status(status(api, asset), reader=api.runtime.chain.pledges())
    verdict = check_infringement_claim(
        Complaint([cert], Claimant(OWNER["name"], "uscc", OWNER["id"]), listing_date=datetime.now(UTC),
                  listing_content=b"song bytes"),
        policy=api.runtime.trust_policy(), chain=api.runtime.chain.view(), pledges=pledge_doc,
    )
    finding = next(f for f in verdict.findings if f.check == "pledge_status")
    assert finding.outcome is Outcome.passed and BANK["name"] in finding.detail
