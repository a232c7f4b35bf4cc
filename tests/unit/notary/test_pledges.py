"""IP pledges: one active pledge per asset, each registrar on its own pledges, the pledgee's signed
consent to releases and enforcements, idempotent registration, and verifiable status as of a
time."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.chain import errors as chain_errors
from ipnotary.sdk.claims import Claimant, Complaint, Outcome, check_infringement_claim
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.pledges import (
    asset_id,
    consent_digest,
    party_hash,
    pledge_act,
    sign_pledge_act,
    verify_pledge_event,
    verify_pledge_status,
)
from ipnotary.sdk.signing import public_key_to_b64
from tests.unit.notary.conftest import Api

BANK = {"name": "Bank of Hangzhou", "id_type": "uscc", "id": "91350100M000100Y43"}
OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91110108551385082Q"}
STRANGER = {"name": "Nobody", "id_type": "cn_resident_id", "id": "11010519491231002X"}
BANK_KEY = Ed25519PrivateKey.generate()
OWNER_KEY = Ed25519PrivateKey.generate()
STRANGER_KEY = Ed25519PrivateKey.generate()
KEYS = {BANK["id"]: BANK_KEY, OWNER["id"]: OWNER_KEY, STRANGER["id"]: STRANGER_KEY}


def terms(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pledgor": OWNER,
        "pledgee": BANK,
        "secured_amount": "5000000.00",
        "currency": "CNY",
        "term_start": "2026-01-01",
        "term_end": "2028-12-31",
        "contract_sha256": "aa" * 32,
        "valuation_report_sha256": "bb" * 32,
    }
    base.update(changes)
    base.setdefault("pledgee_key", public_key_to_b64(KEYS[base["pledgee"]["id"]].public_key()))
    return base


PATENT = {"type": "patent", "registration_number": "ZL201710601862.3"}
REGISTRAR = ("pledge_registrar", "pledge_registrar", "IP Pledge Registry")


def post(
    api: Api,
    path: str,
    body: dict[str, Any],
    role: str = "pledge_registrar",
    label: str | None = None,
    idempotency_key: str | None = None,
) -> httpx.Response:
    headers = api.principal(label or role, role, "IP Pledge Registry")
    if path == "/v1/pledges":
        headers = {**headers, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    return api.client.post(path, json=body, headers=headers)


def consent(
    api: Api,
    pledge_id: int,
    action: str,
    *,
    signer: dict[str, str] = BANK,
    key: Ed25519PrivateKey | None = None,
    signed_at: datetime | None = None,
    act: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The pledgee's signed consent, as its own software would make it from the public register
    (``act`` overrides fields of the act)."""
    view = api.client.get(f"/v1/pledges/{pledge_id}").json()
    fields = {
        "chain_id": view["chain_id"],
        "contract": view["contract"],
        "pledge_id": pledge_id,
        "action": action,
        "party": signer,
        "signed_at": signed_at,
        **(act or {}),
    }
    return {"consent": sign_pledge_act(key or KEYS[signer["id"]], pledge_act(**fields))}


def status(api: Api, asset: dict[str, Any], as_of: int | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"asset_type": asset["type"], "number": asset["registration_number"]}
    if as_of is not None:
        params["as_of"] = datetime.fromtimestamp(as_of, UTC).isoformat()
        # The register answers for a time once its second is over, and says 425 before
        # (test_status_for_a_time_not_yet_over_answers_at_once): a block just mined may be
        # stamped with this second, or a later one when several are mined in a second.
        time.sleep(max(0.0, as_of + 1 - time.time()))
    r = api.client.get("/v1/pledges/status", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_register_refuse_double_release_and_status_over_time(make_api: Callable[..., Api]) -> None:
    api = make_api()
    first = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()})
    assert first.status_code == 201, first.text
    pledge_id = first.json()["pledge"]["pledge_id"]
    registered_at = first.json()["event"]["receipt"]["record"]["pledge"]["block_timestamp"]

    double = post(
        api,
        "/v1/pledges",
        {
            "asset": {**PATENT, "registration_number": "201710601862.3"},
            "terms": terms(pledgee=STRANGER),
        },
    )
    assert double.status_code == 409 and double.json()["code"] == "asset_already_pledged"
    assert str(pledge_id) in double.json()["detail"]

    bad_party = post(
        api, f"/v1/pledges/{pledge_id}/release", consent(api, pledge_id, "release", signer=STRANGER)
    )
    assert bad_party.status_code == 403 and bad_party.json()["code"] == "not_a_party"
    by_pledgor = post(
        api,
        f"/v1/pledges/{pledge_id}/enforcement",
        consent(api, pledge_id, "enforce", signer=OWNER),
    )
    assert by_pledgor.status_code == 403 and by_pledgor.json()["code"] == "not_pledgee"

    amended = post(
        api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms(secured_amount="6000000")}
    )
    assert amended.status_code == 201 and amended.json()["pledge"]["amendments"] == 1
    other_parties = post(
        api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms(pledgee=STRANGER)}
    )
    assert other_parties.status_code == 422
    other_key = post(
        api,
        f"/v1/pledges/{pledge_id}/amendments",
        {"terms": terms(pledgee_key=public_key_to_b64(STRANGER_KEY.public_key()))},
    )
    assert other_key.status_code == 422 and other_key.json()["code"] == "pledgee_key_fixed"

    released = post(api, f"/v1/pledges/{pledge_id}/release", consent(api, pledge_id, "release"))
    assert released.status_code == 201 and released.json()["pledge"]["status"] == "released"
    released_at = released.json()["event"]["receipt"]["record"]["pledge"]["block_timestamp"]
    again = post(api, f"/v1/pledges/{pledge_id}/amendments", {"terms": terms()})
    assert again.status_code == 409 and again.json()["code"] == "pledge_not_active"

    reader = api.chain.pledges()
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


def test_a_registrar_changes_only_the_pledges_it_registered(make_api: Callable[..., Api]) -> None:
    api = make_api()
    mine = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}, label="office-a")
    assert mine.status_code == 201, mine.text
    pledge = mine.json()["pledge"]
    pledge_id, account_a = pledge["pledge_id"], pledge["registrar_account"]
    assert pledge["registrar_id"] == api.ids["office-a"]

    other = {"asset": {"type": "trademark", "registration_number": "12345678"}, "terms": terms()}
    theirs = post(api, "/v1/pledges", other, label="office-b").json()["pledge"]
    account_b = theirs["registrar_account"]
    admin_account = api.chain.pledges().account
    assert len({account_a, account_b, admin_account}) == 3  # each registrar its own chain account

    for path, body in (
        (f"/v1/pledges/{pledge_id}/amendments", {"terms": terms(secured_amount="1.00")}),
        (f"/v1/pledges/{pledge_id}/release", consent(api, pledge_id, "release")),
        (f"/v1/pledges/{pledge_id}/enforcement", consent(api, pledge_id, "enforce")),
    ):
        refused = post(api, path, body, label="office-b")
        assert refused.status_code == 403 and refused.json()["code"] == "not_your_pledge", (
            refused.text
        )

    # The contract refuses it too, whoever sends: office B's account, or the service's own.
    chain = api.chain.pledges()
    pledgee = party_hash(f"{BANK['id_type']}:{BANK['id']}")
    for sender in (chain.for_registrar(api.ids["office-b"]), chain):
        with pytest.raises(chain_errors.NotRegistrar) as info:
            sender.release(pledge_id, pledgee, b"\x01" * 32)
        assert (info.value.registrar, info.value.caller) == (account_a, sender.account)
    assert chain.get_pledge(pledge_id).registrar == account_a and chain.get_pledge(pledge_id).active

    assert (
        post(
            api,
            f"/v1/pledges/{pledge_id}/release",
            consent(api, pledge_id, "release"),
            label="office-a",
        ).status_code
        == 201
    )

    # Each registrar's chain account was granted once, by the service, and the grant is audited.
    admin = api.principal("admin", "admin")
    grants = api.client.get(
        "/v1/audit", params={"action": "pledge_registrar.account_grant"}, headers=admin
    ).json()["events"]
    assert {(g["target_id"], g["detail"]["address"]) for g in grants} == {
        (api.ids["office-a"], account_a),
        (api.ids["office-b"], account_b),
    }
    assert all(g["actor_id"] is None and g["actor"] == "the service" for g in grants)


def test_release_and_enforcement_need_the_pledgees_signed_consent(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    pledge_id = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}).json()["pledge"][
        "pledge_id"
    ]
    path = f"/v1/pledges/{pledge_id}/release"

    assert post(api, path, {"party": BANK}).status_code == 422  # the old form: a name, no signature
    forged = consent(api, pledge_id, "release", key=STRANGER_KEY)  # as the bank, another key
    assert post(api, path, forged).json()["code"] == "consent_invalid"
    tampered = consent(api, pledge_id, "release")
    tampered["consent"]["act"]["nonce"] = "0" * 32
    assert post(api, path, tampered).json()["code"] == "consent_invalid"
    for wrong in (
        {"pledge_id": pledge_id + 1},
        {"action": "enforce"},
        {"contract": "0x" + "12" * 20},
        {"chain_id": 1},
    ):
        answer = post(api, path, consent(api, pledge_id, "release", act=wrong))
        assert answer.status_code == 403 and answer.json()["code"] == "consent_invalid", wrong
    stale = consent(api, pledge_id, "release", signed_at=datetime.now(UTC) - timedelta(days=8))
    assert "ago" in post(api, path, stale).json()["detail"]
    future = consent(api, pledge_id, "release", signed_at=datetime.now(UTC) + timedelta(hours=1))
    assert "future" in post(api, path, future).json()["detail"]
    assert api.chain.pledges().get_pledge(pledge_id).active

    given = consent(api, pledge_id, "release")
    released = post(api, path, given)
    assert released.status_code == 201, released.text
    record = released.json()["event"]["receipt"]["record"]
    assert record["consent"] == given["consent"]
    assert record["consent_digest"] == consent_digest(given["consent"]).hex()
    # The hash of the consent is on chain, in the release transaction's event.
    chain = api.chain.pledges()
    on_chain = [
        r for r in chain.pledge_receipts(pledge_id) if r.tx_hash == record["pledge"]["tx_hash"]
    ]
    assert on_chain[0].consent_digest == consent_digest(given["consent"])
    # A retry with the same consent answers with the same release.
    retried = post(api, path, given)
    assert (
        retried.status_code == 200
        and retried.json()["event"]["id"] == released.json()["event"]["id"]
    )

    # A verifier checks the consent against the key the terms name, and the chain.
    checked = verify_pledge_event(record, reader=chain)
    assert checked.chain_checked and checked.consent is not None
    assert checked.consent["party"] == {"id_type": BANK["id_type"], "id": BANK["id"]}
    for change in (
        lambda r: r["consent"]["act"].update(nonce="1" * 32),
        lambda r: r["terms"].update(pledgee_key=public_key_to_b64(STRANGER_KEY.public_key())),
        lambda r: r.update(consent_digest="00" * 32),
    ):
        altered = copy.deepcopy(record)
        change(altered)
        with pytest.raises(VerificationError):
            verify_pledge_event(altered, reader=chain)
    # A consent signed anew by the bank, but not the one whose hash the chain holds.
    swapped = copy.deepcopy(record)
    swapped["consent"] = consent(api, pledge_id, "release")["consent"]
    swapped["consent_digest"] = consent_digest(swapped["consent"]).hex()
    with pytest.raises(VerificationError) as info:
        verify_pledge_event(swapped, reader=chain)
    assert info.value.step == "consent"
    verify_pledge_event(swapped)  # without the chain, only the signature can be checked

    # Enforcement: the pledgee's signed demand.
    asset = {"type": "trademark", "registration_number": "7654321"}
    second = post(api, "/v1/pledges", {"asset": asset, "terms": terms()}).json()["pledge"][
        "pledge_id"
    ]
    enforced = post(api, f"/v1/pledges/{second}/enforcement", consent(api, second, "enforce"))
    assert enforced.status_code == 201 and enforced.json()["pledge"]["status"] == "enforced"
    verify_pledge_event(enforced.json()["event"]["receipt"]["record"], reader=chain)


def test_a_retried_registration_after_a_release_returns_the_first_answer(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    body = {"asset": PATENT, "terms": terms()}
    headers = api.principal("pledge_registrar", "pledge_registrar")
    missing = api.client.post("/v1/pledges", json=body, headers=headers)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"

    first = post(api, "/v1/pledges", body, idempotency_key="pledge-0001")
    assert first.status_code == 201
    pledge_id = first.json()["pledge"]["pledge_id"]
    assert (
        post(
            api, f"/v1/pledges/{pledge_id}/release", consent(api, pledge_id, "release")
        ).status_code
        == 201
    )

    # The answer to the first request was lost; the client retries after the release.
    retry = post(api, "/v1/pledges", body, idempotency_key="pledge-0001")
    assert retry.status_code == 200, retry.text
    assert retry.json()["pledge"]["pledge_id"] == pledge_id
    assert retry.json()["pledge"]["status"] == "released"
    assert retry.json()["event"]["id"] == first.json()["event"]["id"]
    chain = api.chain.pledges()
    assert chain.pledge_count() == 1  # no second pledge on chain
    assert chain.active_pledge_of(asset_id("patent:201710601862.3")) == 0

    reused = post(
        api,
        "/v1/pledges",
        {"asset": PATENT, "terms": terms(secured_amount="1.00")},
        idempotency_key="pledge-0001",
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # Another registrar's key space is its own.
    elsewhere = post(api, "/v1/pledges", body, label="office-b", idempotency_key="pledge-0001")
    assert elsewhere.status_code == 201 and elsewhere.json()["pledge"]["pledge_id"] == pledge_id + 1
    # A new key is a new pledge.
    assert (
        post(
            api,
            f"/v1/pledges/{pledge_id + 1}/release",
            consent(api, pledge_id + 1, "release"),
            label="office-b",
        ).status_code
        == 201
    )
    assert (
        post(api, "/v1/pledges", body, idempotency_key="pledge-0002").json()["pledge"]["pledge_id"]
        == pledge_id + 2
    )


def test_status_for_a_time_not_yet_over_answers_at_once(make_api: Callable[..., Api]) -> None:
    api = make_api()
    params = {"asset_type": "patent", "number": PATENT["registration_number"]}
    soon = datetime.now(UTC) + timedelta(seconds=3)
    started = time.monotonic()
    early = api.client.get("/v1/pledges/status", params={**params, "as_of": soon.isoformat()})
    assert time.monotonic() - started < 1.0  # no sleeping in the request thread
    assert early.status_code == 425 and early.json()["code"] == "too_early"
    retry_after = int(early.headers["Retry-After"])
    assert 1 <= retry_after <= 4 and early.json()["retry_after"] == retry_after
    assert early.headers["content-type"].startswith("application/problem+json")
    far = api.client.get(
        "/v1/pledges/status", params={**params, "as_of": (soon + timedelta(hours=1)).isoformat()}
    )
    assert far.status_code == 422
    now = api.client.get("/v1/pledges/status", params=params)
    assert now.status_code == 200 and now.json()["pledged"] is False
    verify_pledge_status(now.json(), reader=api.chain.pledges())

    time.sleep(max(0.0, soon.timestamp() + 1.05 - time.time()))
    later = api.client.get("/v1/pledges/status", params={**params, "as_of": soon.isoformat()})
    assert later.status_code == 200, later.text


def test_tampered_status_answers_fail(make_api: Callable[..., Api]) -> None:
    api = make_api()
    assert post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}).status_code == 201
    doc = status(api, PATENT)
    assert doc["pledged"]
    reader = api.chain.pledges()
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
        (
            {"type": "other", "registration_number": "plant-variety:CNA20191234.5"},
            "no longer accepted",
        ),
        ({"type": "trademark", "registration_number": "第00123号"}, "4 to 9 digits"),
    ],
)
def test_invalid_asset_numbers(api: Api, asset: dict[str, str], message: str) -> None:
    r = post(api, "/v1/pledges", {"asset": asset, "terms": terms()})
    assert r.status_code == 422 and message in r.text


def test_refusals_of_role_and_terms(make_api: Callable[..., Api]) -> None:
    api = make_api()
    holder = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}, role="holder")
    assert holder.status_code == 403
    same = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(pledgee=OWNER)})
    assert same.status_code == 422 and "different parties" in same.text
    zero = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(secured_amount="0")})
    assert zero.status_code == 422
    keyless = {k: v for k, v in terms().items() if k != "pledgee_key"}
    no_key = post(api, "/v1/pledges", {"asset": PATENT, "terms": keyless})
    assert no_key.status_code == 422 and no_key.json()["code"] == "pledgee_key_required"
    bad_key = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms(pledgee_key="A" * 42)})
    assert bad_key.status_code == 422
    assert post(api, "/v1/pledges/999/release", consent_stub()).status_code == 404


def consent_stub() -> dict[str, Any]:
    act = pledge_act(
        chain_id=1337, contract="0x" + "00" * 20, pledge_id=999, action="release", party=BANK
    )
    return {"consent": sign_pledge_act(BANK_KEY, act)}


def test_claim_check_reports_a_pledged_work(make_api: Callable[..., Api]) -> None:
    import json

    api = make_api()
    h = api.principal("owner", "holder", "Acme")
    work = {
        "title": "Song",
        "work_type": "musical",
        "authors": [{"name": "A"}],
        "copyright_owner": OWNER,
        "completed_on": "2025-01-01",
    }
    r = api.client.post(
        "/v1/works",
        headers=h,
        files={"file": ("s.wav", b"song bytes")},
        data={"work": json.dumps(work)},
    )
    wid = r.json()["id"]
    api.wait_anchored(f"/v1/works/{wid}", h)
    cert = api.client.get(f"/v1/works/{wid}/certificate", headers=h).json()
    asset = {"type": "copyright", "registration_number": wid}
    assert post(api, "/v1/pledges", {"asset": asset, "terms": terms()}).status_code == 201
    pledge_doc = verify_pledge_status(status(api, asset), reader=api.chain.pledges())
    verdict = check_infringement_claim(
        Complaint(
            [cert],
            Claimant(OWNER["name"], "uscc", OWNER["id"]),
            listing_date=datetime.now(UTC),
            listing_content=b"song bytes",
        ),
        policy=api.runtime.trust_policy(),
        chain=api.runtime.chain.view(),
        pledges=pledge_doc,
    )
    finding = next(f for f in verdict.findings if f.check == "pledge_status")
    assert finding.outcome is Outcome.passed and BANK["name"] in finding.detail


def test_the_sdk_waits_out_a_too_early_answer_in_its_own_thread() -> None:
    import httpx

    from ipnotary.sdk.client import NotaryClient
    from ipnotary.sdk.errors import APIError

    asked: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(time.monotonic())
        if len(asked) == 1:
            return httpx.Response(
                425,
                headers={"Retry-After": "1"},
                json={
                    "type": "urn:ipnotary:problem:too_early",
                    "title": "Too early",
                    "status": 425,
                    "detail": "not over yet",
                    "code": "too_early",
                    "retry_after": 1,
                },
            )
        return httpx.Response(200, json={"pledged": False})

    with NotaryClient("http://notary.test", transport=httpx.MockTransport(answer)) as client:
        assert client.pledge_status(
            "patent", "ZL201710601862.3", as_of="2026-01-01T00:00:00Z", verify=False
        ) == {"pledged": False}
        assert len(asked) == 2 and asked[1] - asked[0] >= 1.0
        asked.clear()
        with pytest.raises(APIError, match="too_early"):  # will not wait beyond max_wait
            client.pledge_status("patent", "ZL201710601862.3", verify=False, max_wait=0.5)


SPELLINGS = [
    "201710601862.3",
    "CN201710601862.3",
    "zl 2017 1060 1862.3",
    "2017106018623",
    "201710601862",
    "ZL201710601862·3",
    "ＺＬ２０１７１０６０１８６２．３",
]


def test_one_asset_has_one_identity_whatever_its_spelling(make_api: Callable[..., Api]) -> None:
    """A bank relies on "not pledged": no other spelling of the same patent or trademark can be
    pledged beside the first, and the status for any spelling names the one pledge."""
    api = make_api()
    first = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()})
    assert first.status_code == 201, first.text
    pledge_id = first.json()["pledge"]["pledge_id"]
    assert first.json()["pledge"]["asset"]["registration_number"] == "201710601862.3"
    for spelling in SPELLINGS:
        asset = {"type": "patent", "registration_number": spelling}
        again = post(api, "/v1/pledges", {"asset": asset, "terms": terms(pledgee=STRANGER)})
        assert again.status_code == 409, (spelling, again.text)
        assert again.json()["code"] == "asset_already_pledged"
        answer = status(api, asset)
        assert answer["pledged"] and answer["pledge"]["pledge_id"] == pledge_id, spelling
    # The same number under the free-text type that used to take anything is refused, not stored.
    other = post(
        api,
        "/v1/pledges",
        {
            "asset": {"type": "other", "registration_number": "patent:ZL201710601862.3"},
            "terms": terms(),
        },
    )
    assert other.status_code == 422 and "no longer accepted" in other.text
    # A wrong check character is a typo, not another patent.
    typo = post(
        api,
        "/v1/pledges",
        {"asset": {**PATENT, "registration_number": "2017106018624"}, "terms": terms()},
    )
    assert typo.status_code == 422 and "check character" in typo.text

    mark = {"type": "trademark", "registration_number": "12345678"}
    assert post(api, "/v1/pledges", {"asset": mark, "terms": terms()}).status_code == 201
    for spelling in ("第12345678号", "012345678", "１２３４５６７８"):
        asset = {"type": "trademark", "registration_number": spelling}
        again = post(api, "/v1/pledges", {"asset": asset, "terms": terms(pledgee=STRANGER)})
        assert again.status_code == 409, (spelling, again.text)
        assert status(api, asset)["pledged"], spelling


def register_work(api: Api, owner: dict[str, str]) -> str:
    import json

    h = api.principal("owner", "holder", "Acme")
    work = {
        "title": "Song",
        "work_type": "musical",
        "authors": [{"name": "A"}],
        "copyright_owner": owner,
        "completed_on": "2025-01-01",
    }
    r = api.client.post(
        "/v1/works",
        headers=h,
        files={"file": ("s.wav", uuid.uuid4().bytes)},
        data={"work": json.dumps(work)},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_pledged_work_must_be_registered_here_and_owned_by_the_pledgor(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    unknown = {"type": "copyright", "registration_number": "wk_" + "0" * 32}
    r = post(api, "/v1/pledges", {"asset": unknown, "terms": terms()})
    assert r.status_code == 422 and r.json()["code"] == "work_not_registered"

    theirs = {"type": "copyright", "registration_number": register_work(api, STRANGER)}
    r = post(api, "/v1/pledges", {"asset": theirs, "terms": terms()})
    assert r.status_code == 422 and r.json()["code"] == "pledgor_not_owner"
    assert status(api, theirs)["pledged"] is False

    ours = {"type": "copyright", "registration_number": register_work(api, OWNER)}
    r = post(api, "/v1/pledges", {"asset": ours, "terms": terms()})
    assert r.status_code == 201, r.text
    event = r.json()["event"]["receipt"]["record"]
    assert event["ownership"] == {
        "checked": True,
        "work": ours["registration_number"],
        "copyright_owner": f"uscc:{OWNER['id']}",
    }
    # Registered elsewhere: accepted, and the anchored event says visibly that nobody checked.
    elsewhere = {"type": "copyright", "registration_number": "国作登字—2021—f—00012345"}
    r = post(api, "/v1/pledges", {"asset": elsewhere, "terms": terms()})
    assert r.status_code == 201, r.text
    assert r.json()["pledge"]["asset"]["registration_number"] == "国作登字-2021-F-00012345"
    ownership = r.json()["event"]["receipt"]["record"]["ownership"]
    assert ownership["checked"] is False and "did not check" in ownership["reason"]


def test_an_ended_term_is_refused_and_a_closed_pledge_answers_409_to_every_act(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    ended = post(
        api,
        "/v1/pledges",
        {"asset": PATENT, "terms": terms(term_start="2020-01-01", term_end=yesterday)},
    )
    assert ended.status_code == 422 and ended.json()["code"] == "term_ended"
    assert status(api, PATENT)["pledged"] is False  # it blocks nothing

    r = post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()})
    pledge_id = r.json()["pledge"]["pledge_id"]
    into_past = post(
        api,
        f"/v1/pledges/{pledge_id}/amendments",
        {"terms": terms(term_start="2020-01-01", term_end=yesterday)},
    )
    assert into_past.status_code == 422 and into_past.json()["code"] == "term_ended"
    release = consent(api, pledge_id, "release")
    first = post(api, f"/v1/pledges/{pledge_id}/release", release)
    assert first.status_code == 201
    # A retry of that very act (its answer was lost) answers with its event, as registration does.
    retried = post(api, f"/v1/pledges/{pledge_id}/release", release)
    assert (
        retried.status_code == 200 and retried.json()["event"]["id"] == first.json()["event"]["id"]
    )
    # Every new act on the closed pledge is the same 409, whatever it is.
    for path, body in (
        (f"/v1/pledges/{pledge_id}/release", consent(api, pledge_id, "release")),
        (f"/v1/pledges/{pledge_id}/enforcement", consent(api, pledge_id, "enforce")),
        (f"/v1/pledges/{pledge_id}/amendments", {"terms": terms()}),
    ):
        again = post(api, path, body)
        assert again.status_code == 409 and again.json()["code"] == "pledge_not_active", again.text
        assert "released" in again.json()["detail"]


def test_status_before_the_chain_existed_is_not_pledged_and_provable(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    assert post(api, "/v1/pledges", {"asset": PATENT, "terms": terms()}).status_code == 201
    reader = api.chain.pledges()
    genesis = reader.block(0)
    early = genesis.timestamp - 86_400 * 200  # the docs' kind of example date, long before
    doc = status(api, PATENT, early)
    assert doc["pledged"] is False and doc["chain"]["block_number"] == 0
    verified = verify_pledge_status(doc, reader=reader, policy=api.runtime.trust_policy())
    assert verified.chain_checked and not verified.pledged
    # Block 0 stands only for times before it: a later block for such a time is refused.
    if int(reader.head()) >= 1:
        later = {k: v for k, v in doc.items() if k != "signature"}
        block = reader.block(1)
        later["chain"] = {
            **later["chain"],
            "block_number": 1,
            "block_hash": str(block.hash),
            "block_timestamp": int(block.timestamp),
        }
        with pytest.raises(VerificationError) as info:
            verify_pledge_status(api.runtime.issuer.sign(later), reader=reader)
        assert info.value.step == "block"
