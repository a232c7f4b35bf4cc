"""Works registration: details are validated, re-registration by someone else is flagged, and the
lookup lists registrations in anchor order with the first marked prior."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ipnotary.sdk import verify_certificate
from ipnotary.sdk.fingerprint import fingerprint_bytes
from tests.unit.notary.conftest import Api

OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"}


def work(**changes: Any) -> dict[str, Any]:
    base = {
        "title": "Moonlight over the river",
        "work_type": "fine_art",
        "authors": [{"name": "Li Hua"}],
        "copyright_owner": OWNER,
        "completed_on": "2025-03-01",
        "first_publication": {"date": "2025-04-01", "place": "Hangzhou"},
    }
    base.update(changes)
    return base


def test_register_with_file_and_get_a_certificate(api: Api) -> None:
    h = api.principal("acme", "holder", "Acme Studio")
    data = b"a painting, as a PNG would be" * 100
    r = api.client.post(
        "/v1/works", headers=h, files={"file": ("p.png", data)}, data={"work": json.dumps(work())}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["prior_registrations"] == []
    rec = body["receipt"]["record"]
    assert rec["kind"] == "work" and rec["work"]["copyright_owner"]["id"] == OWNER["id"]
    assert rec["content"]["sha256"] == fingerprint_bytes(data).sha256
    view = api.wait_anchored(f"/v1/works/{body['id']}", h)
    assert view["status"] == "anchored"
    cert = api.client.get(f"/v1/works/{body['id']}/certificate", headers=h).json()
    verify_certificate(cert, api.runtime.trust_policy(), content=data)
    assert api.client.get(f"/v1/works/{body['id']}/content", headers=h).content == data


def test_second_registrant_is_accepted_but_flagged_and_lookup_orders_by_anchor(api: Api) -> None:
    first = api.principal("first", "holder", "First Owner")
    second = api.principal("second", "holder", "Second Owner")
    digest = {"sha256": "ab" * 32, "size": 1234}
    r1 = api.client.post("/v1/works", headers=first, json={"work": work(), "content": digest})
    assert r1.status_code == 201 and r1.json()["prior_registrations"] == []
    api.wait_anchored(f"/v1/works/{r1.json()['id']}", first)
    other_owner = {"name": "Second Owner", "id_type": "cn_resident_id", "id": "11010519491231002X"}
    r2 = api.client.post(
        "/v1/works",
        headers=second,
        json={"work": work(copyright_owner=other_owner), "content": digest},
    )
    assert r2.status_code == 201
    flagged = r2.json()["prior_registrations"]
    assert [p["id"] for p in flagged] == [r1.json()["id"]]
    assert flagged[0]["copyright_owner"] == "Acme Studio Ltd"
    # The flag is in the anchored record, so in the certificate too.
    assert r2.json()["receipt"]["record"]["prior_registrations"][0]["id"] == r1.json()["id"]
    # Same holder again: the same record, still flagged.
    again = api.client.post(
        "/v1/works",
        headers=second,
        json={"work": work(copyright_owner=other_owner), "content": digest},
    )
    assert again.status_code == 200 and again.json()["id"] == r2.json()["id"]
    assert again.json()["prior_registrations"] == flagged
    api.wait_anchored(f"/v1/works/{r2.json()['id']}", second)

    platform = api.principal("platform", "platform")
    lookup = api.client.get(
        "/v1/works/registrations", params={"sha256": "ab" * 32}, headers=platform
    )
    regs = lookup.json()["registrations"]
    assert [r["id"] for r in regs] == [r1.json()["id"], r2.json()["id"]]
    assert [r["prior"] for r in regs] == [True, False]
    assert regs[0]["anchored_at"] <= regs[1]["anchored_at"]
    assert regs[0]["block_number"] <= regs[1]["block_number"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"work_type": "poem"}, "work_type"),
        ({"completed_on": "2999-01-01"}, "future"),
        ({"first_publication": {"date": "2020-01-01", "place": "X"}}, "precede"),
        ({"authors": []}, "authors"),
        ({"copyright_owner": {**OWNER, "id": "91350100M000100Y44"}}, "check character"),
        ({"work_type": "other"}, "work_type_detail"),
        ({"title": ""}, "title"),
    ],
)
def test_invalid_work_details_are_refused(api: Api, change: dict[str, Any], message: str) -> None:
    h = api.principal("acme", "holder")
    r = api.client.post(
        "/v1/works",
        headers=h,
        json={"work": work(**change), "content": {"sha256": "cd" * 32, "size": 1}},
    )
    assert r.status_code == 422 and message in r.json()["detail"], r.text


def test_only_holders_register_and_lookup_needs_a_key(api: Api) -> None:
    r = api.client.post(
        "/v1/works",
        headers=api.principal("n", "notary"),
        json={"work": work(), "content": {"sha256": "ef" * 32, "size": 1}},
    )
    assert r.status_code == 403
    assert (
        api.client.get("/v1/works/registrations", params={"sha256": "ab" * 32}).status_code == 401
    )
    bad = api.client.get(
        "/v1/works/registrations", params={"sha256": "xyz"}, headers=api.principal("n", "notary")
    )
    assert bad.status_code == 422
    form = api.client.post(
        "/v1/works", headers=api.principal("acme", "holder"), files={"file": ("a", b"x")}
    )
    assert form.status_code == 422 and "'work'" in form.json()["detail"]


def test_registrations_lookup_masks_identity_numbers_for_others(api: Api) -> None:
    """A resident identity number is shown whole to the registrant, the owner, notaries and
    arbitrators; everyone else sees a recognisable mask. The anchored record keeps it whole."""
    from sqlmodel import Session

    from ipnotary.service.services.principals import create_principal

    person = {"name": "Wang Fang", "id_type": "cn_resident_id", "id": "11010519491231002X"}
    registrant = api.principal("mask-registrant", "holder")
    digest = {"sha256": "7e" * 32, "size": 10}
    r = api.client.post(
        "/v1/works",
        headers=registrant,
        json={"work": work(copyright_owner=person), "content": digest},
    )
    assert r.status_code == 201, r.text
    assert r.json()["receipt"]["record"]["work"]["copyright_owner"]["id"] == person["id"]
    with Session(api.runtime.engine) as session:
        owner_key = create_principal(
            session, name="Wang Fang", role="holder", identifier="cn_resident_id:11010519491231002x"
        ).api_key
    owner = {"Authorization": f"Bearer {owner_key}"}

    def seen_by(headers: dict[str, str]) -> tuple[str, bool]:
        regs = api.client.get(
            "/v1/works/registrations", params={"sha256": "7e" * 32}, headers=headers
        ).json()["registrations"]
        return regs[0]["work"]["copyright_owner"]["id"], regs[0]["identities_masked"]

    for who in (
        registrant,
        owner,
        api.principal("mask-notary", "notary"),
        api.principal("mask-arb", "arbitrator"),
    ):
        assert seen_by(who) == (person["id"], False)
    for who in (
        api.principal("mask-platform", "platform"),
        api.principal("mask-other", "holder"),
        api.principal("mask-admin", "admin"),
    ):
        assert seen_by(who) == ("110***********002X", True)
    # Organisations' credit codes are public registrations: never masked.
    r = api.client.post(
        "/v1/works",
        headers=registrant,
        json={"work": work(), "content": {"sha256": "7f" * 32, "size": 10}},
    )
    regs = api.client.get(
        "/v1/works/registrations",
        params={"sha256": "7f" * 32},
        headers=api.principal("mask-platform", "platform"),
    ).json()
    assert regs["registrations"][0]["work"]["copyright_owner"]["id"] == OWNER["id"]


def test_an_owner_typed_in_full_width_digits_is_one_identity(api: Api) -> None:
    h = api.principal("fullwidth", "holder")
    owner = {
        "name": "Li Hua",
        "id_type": "cn_resident_id",
        "id": "１１０１０５１９４９１２３１００２ｘ",
    }
    r = api.client.post(
        "/v1/works",
        headers=h,
        json={"work": work(copyright_owner=owner), "content": {"sha256": "6a" * 32, "size": 3}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["receipt"]["record"]["work"]["copyright_owner"]["id"] == "11010519491231002X"


@pytest.mark.parametrize(
    ("change", "where", "code_point"),
    [
        ({"title": "Moonlight\u202eover"}, "work.title", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ({"authors": [{"name": "Li\u200bHua"}]}, "work.authors.0.name", "U+200B ZERO WIDTH SPACE"),
        (
            {"authors": [{"name": "Li", "pen_name": "X\u2066Y"}]},
            "work.authors.0.pen_name",
            "U+2066 LEFT-TO-RIGHT ISOLATE",
        ),
        (
            {"first_publication": {"date": "2025-04-01", "place": "Hang\u2028zhou"}},
            "work.first_publication.place",
            "U+2028 LINE SEPARATOR",
        ),
        (
            {"copyright_owner": {**OWNER, "name": "Acme\u00adStudio"}},
            "work.copyright_owner.name",
            "U+00AD SOFT HYPHEN",
        ),
        (
            {"work_type": "other", "work_type_detail": "a\ufeffb"},
            "work.work_type_detail",
            "U+FEFF ZERO WIDTH NO-BREAK SPACE",
        ),
    ],
)
def test_invisible_characters_in_work_fields_are_refused(
    api: Api, change: dict[str, Any], where: str, code_point: str
) -> None:
    r = api.client.post(
        "/v1/works",
        headers=api.principal("acme", "holder"),
        json={"work": work(**change), "content": {"sha256": "ce" * 32, "size": 1}},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(f"body.{where}: ") and code_point in r.json()["detail"]
