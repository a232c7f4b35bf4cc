"""E-commerce complaints on the real service (fake chain): notice, measures, forwarding, the
seller's declaration and the 15-day window walked with the injectable clock, the timeline that
verifies offline and fails when a step is altered or left out, the public register, refusals."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.complaints import ComplaintsClient, verify_complaint_timeline
from ipnotary.sdk.errors import APIError, VerificationError
from ipnotary.service.api.clock import current_time
from tests.unit.notary.conftest import Api

USCC_HOLDER = "91350100M000100Y43"
USCC_SELLER = "91110108551385082Q"
REASONS = {
    "restriction": "listing hidden in every region until the complaint is resolved",
    "facts": "the listing's images are the holder's registered logo",
    "ground": "E-Commerce Law Art. 42; platform rules 4.2",
    "automated": False,
    "redress": "declare non-infringement (Art. 43), or the platform's internal appeal",
}


@dataclass
class Clock:
    now: datetime

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    api: Api
    clock: Clock
    clients: dict[str, NotaryClient]
    ids: dict[str, str]

    def c(self, who: str) -> ComplaintsClient:
        return ComplaintsClient(self.clients[who])


@pytest.fixture(scope="module")
def world(api: Api) -> Iterator[World]:
    # Steps are taken in the past, so that no step's received_at is after its proven time.
    clock = Clock(datetime.now(UTC) - timedelta(days=40))
    api.client.app.dependency_overrides[current_time] = lambda: clock.now  # type: ignore[attr-defined]
    roles = {
        "holder": ("holder", "Acme Studio Ltd"),
        "platform": ("platform", "Example Mall"),
        "seller": ("seller", "Shop One"),
        "other_seller": ("seller", "Shop Two"),
        "outsider": ("notary", "Any Notary Office"),
        "other_holder": ("holder", "Someone Else"),
    }
    clients, ids = {}, {}
    for who, (role, name) in roles.items():
        api.principal(f"cp-{who}", role, name)
        ids[who] = api.ids[f"cp-{who}"]
        clients[who] = NotaryClient(
            "http://testserver",
            api.keys[f"cp-{who}"],
            transport=api.client._transport,
            policy=api.runtime.trust_policy(),
        )
    yield World(api, clock, clients, ids)
    api.client.app.dependency_overrides.pop(current_time, None)  # type: ignore[attr-defined]
    for client in clients.values():
        client.close()


def _evidence(world: World, who: str, text: str) -> str:
    data = text.encode()
    sub = world.clients[who].submit_digest(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), metadata={"title": text}
    )
    return sub.id


def _notice(world: World, evidence: str, listings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "platform_id": world.ids["platform"],
        "holder": {"name": "Acme Studio Ltd", "id_type": "uscc", "id": USCC_HOLDER},
        "right": {"type": "trademark", "title": "ACME logo", "registration_number": "第12345678号"},
        "listings": listings,
        "evidence": [evidence],
        "good_faith": "We believe in good faith that the listings infringe our trademark.",
    }


def _file(world: World) -> str:
    evidence = _evidence(world, "holder", f"capture of the listings {world.clock.now}")
    listings = [
        {"url": "https://mall.example/item/1", "seller_id": world.ids["seller"]},
        {"url": "https://mall.example/item/2", "seller_id": world.ids["other_seller"]},
        {"url": "https://mall.example/item/3"},
    ]
    filed = world.c("holder").file(_notice(world, evidence, listings))
    complaint_id: str = filed["complaint_id"]
    return complaint_id


def _code(exc: pytest.ExceptionInfo[APIError]) -> tuple[int, str | None]:
    return exc.value.status, exc.value.code


def test_a_complaint_with_counter_notice_and_the_window(world: World) -> None:
    holder, platform = world.clients["holder"].complaints, world.c("platform")
    seller = world.c("seller")
    cid = _file(world)
    view = holder.complaint(cid)
    assert [x["state"] for x in view["listings"]] == ["notified"] * 3
    assert view["listings"][0]["next_step"] == "decide"

    world.clock.advance(hours=2)
    platform.measure(cid, [0, 1], measure="block", reasons=REASONS)
    platform.reject(cid, [2], reasons={**REASONS, "restriction": None})
    world.clock.advance(hours=1)
    platform.forward(cid, [0, 1])
    # The seller sees its own listing, and the notice forwarded to it.
    mine = seller.complaint(cid)
    assert [x["index"] for x in mine["listings"]] == [0]
    assert "filed" in [s["step"] for s in mine["steps"]]

    world.clock.advance(days=1)
    seller.declare(
        cid,
        [0],
        seller={"name": "Shop One", "id_type": "uscc", "id": USCC_SELLER},
        statement="We designed this logo ourselves in 2019.",
    )
    assert holder.complaint(cid)["listings"][0]["state"] == "declared"
    world.clock.advance(hours=3)
    platform.forward(cid, [0], document="declaration")
    window = holder.complaint(cid)["listings"][0]
    assert window["state"] == "window" and window["next_step"] == "lift"

    # Lifting before the 15 days are out is refused.
    world.clock.advance(days=14)
    with pytest.raises(APIError) as early:
        platform.lift(cid, [0], note="no complaint or lawsuit notified")
    assert _code(early) == (409, "window_open")
    world.clock.advance(days=1, hours=1)
    # ... and the holder's notice of a lawsuit after it is refused too.
    with pytest.raises(APIError) as late:
        holder.notify(
            cid,
            [0],
            type="lawsuit",
            addressee="Hangzhou Internet Court",
            reference="(2026)浙0192民初1号",
            filed_on="2026-01-01",
        )
    assert _code(late) == (409, "window_closed")
    platform.lift(cid, [0], note="no complaint or lawsuit was notified within 15 days")

    # The other seller's listing: the holder sues in time, the measures stay.
    world.clock.advance(hours=1)
    world.c("other_seller").declare(
        cid,
        [1],
        seller={"name": "Shop Two", "id_type": "uscc", "id": USCC_SELLER},
        statement="Licensed from the holder's distributor.",
    )
    platform.forward(cid, [1], document="declaration")
    world.clock.advance(days=10)
    holder.notify(
        cid,
        [1],
        type="lawsuit",
        addressee="Hangzhou Internet Court",
        reference="(2026)浙0192民初2号",
        filed_on=(world.clock.now.date()).isoformat(),
    )
    states = [x["state"] for x in holder.complaint(cid)["listings"]]
    assert states == ["lifted", "disputed", "rejected"]

    platform.publish(cid)
    register = ComplaintsClient(world.clients["outsider"]).register()
    published = next(c for c in register if c["id"] == cid)
    assert [x["state"] for x in published["listings"]] == states
    assert published["declarations"][0]["statement"].startswith("We designed")

    # The timeline verifies offline, and fails when one step is altered or left out.
    for step in holder.complaint(cid)["steps"]:
        world.api.wait_anchored(
            f"/v1/complaint-events/{step['record_id']}",
            {"Authorization": f"Bearer {world.api.keys['cp-holder']}"},
        )
    doc = holder.timeline(cid)
    policy = world.api.runtime.trust_policy()
    result = verify_complaint_timeline(doc, policy)
    assert result.states == {0: "lifted", 1: "disputed", 2: "rejected"}
    assert len(result.steps) == doc["log_size"]

    altered = copy.deepcopy(doc)
    altered["events"][3]["certificate"]["record"]["listings"] = [2]
    with pytest.raises(VerificationError):
        verify_complaint_timeline(altered, policy)
    missing = copy.deepcopy(doc)
    del missing["events"][4]
    with pytest.raises(VerificationError) as gap:
        verify_complaint_timeline(missing, policy)
    assert gap.value.step in ("timeline_signature", "complaint_log")
    # Even signed by the issuer, a timeline with a step left out breaks the chain of steps.
    resigned = copy.deepcopy(doc)
    del resigned["events"][4], resigned["signature"]
    resigned = world.api.runtime.issuer.sign(resigned)
    with pytest.raises(VerificationError) as forked:
        verify_complaint_timeline(resigned, policy)
    assert forked.value.step == "complaint_log"

    # A seller's copy holds what it may read and declares the rest withheld.
    theirs = world.c("seller").timeline(cid)
    assert theirs["withheld"] and verify_complaint_timeline(theirs, policy).copy_for == "seller"


def test_refusals(world: World) -> None:
    cid = _file(world)
    platform = world.c("platform")
    # A holder cannot take measures.
    with pytest.raises(APIError) as holder_measures:
        world.c("holder").measure(cid, [0], measure="delete", reasons=REASONS)
    assert _code(holder_measures) == (403, "platform_only")
    # An outsider sees nothing: the same 404 as for a complaint nobody filed.
    for who in ("outsider", "other_holder", "seller"):
        with pytest.raises(APIError) as hidden:
            world.c(who).complaint(cid)
        with pytest.raises(APIError) as unknown:
            world.c(who).complaint("cpl_" + "0" * 32)
        assert _code(hidden) == _code(unknown) == (404, "no_complaint")
    first_step = world.c("holder").complaint(cid)["steps"][0]["record_id"]
    with pytest.raises(APIError) as record:
        world.clients["outsider"].get(first_step)
    assert record.value.status == 404

    platform.measure(cid, [0, 1], measure="stop_transactions", reasons=REASONS)
    platform.forward(cid, [0, 1])
    # A seller cannot answer about another seller's listing.
    with pytest.raises(APIError) as other:
        world.c("seller").declare(
            cid,
            [1],
            seller={"name": "Shop One", "id_type": "uscc", "id": USCC_SELLER},
            statement="Not ours, but we object.",
        )
    assert _code(other) == (403, "not_your_listing")
    # Lifting before the declaration was forwarded and the window passed is refused.
    with pytest.raises(APIError) as lift:
        platform.lift(cid, [0], note="too soon")
    assert _code(lift) == (409, "declaration_not_forwarded")
    # A decision the rules do not allow in this state.
    with pytest.raises(APIError) as twice:
        platform.measure(cid, [0], measure="delete", reasons=REASONS)
    assert _code(twice) == (409, "wrong_state")


def test_overdue_steps_are_listed_and_rules_are_per_platform(world: World) -> None:
    platform = world.c("platform")
    assert platform.rules()["window_days"] == 15
    cid = _file(world)
    assert cid not in [c["id"] for c in platform.complaints(overdue=True)]
    world.clock.advance(hours=73)  # past the 72 hours the platform has to decide
    overdue = {c["id"]: c for c in platform.complaints(overdue=True)}
    assert overdue[cid]["overdue"][0]["next_step"] == "decide"
    assert cid in [c["id"] for c in world.c("holder").complaints(overdue=True)]
    platform.measure(cid, [0, 1, 2], measure="delete", reasons=REASONS)
    assert cid not in [c["id"] for c in platform.complaints(overdue=True)]

    platform.set_rules(decision_hours=24, forward_hours=12, window_days=20, lift_hours=12)
    later = _file(world)
    assert world.c("holder").complaint(later)["rules"]["window_days"] == 20
    assert world.c("holder").complaint(cid)["rules"]["window_days"] == 15
    platform.set_rules()  # back to the defaults for the other tests


def test_the_public_register_masks_identity_numbers(world: World) -> None:
    evidence = _evidence(world, "holder", f"a person's photograph {world.clock.now}")
    notice = _notice(world, evidence, [{"url": "https://mall.example/item/9"}])
    notice["holder"] = {"name": "Li Ming", "id_type": "cn_resident_id", "id": "11010519491231002X"}
    cid = world.c("holder").file(notice)["complaint_id"]
    assert cid not in [c["id"] for c in world.c("outsider").register()]
    world.c("platform").publish(cid)
    entry = next(c for c in world.c("outsider").register() if c["id"] == cid)
    assert entry["holder"]["id"] == "110***********002X"
    assert entry["listings"] == [
        {"index": 0, "url": "https://mall.example/item/9", "state": "notified", "measure": None}
    ]
    with pytest.raises(APIError) as twice:
        world.c("platform").publish(cid)
    assert _code(twice) == (409, "already_published")


def test_bad_notices_and_steps_are_refused_with_problems(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.api.keys['cp-holder']}"}
    evidence = _evidence(world, "holder", f"capture {world.clock.now}")
    good = _notice(world, evidence, [{"url": "https://mall.example/item/1"}])
    bad = [
        {**good, "platform_id": world.ids["holder"]},  # not a platform
        {**good, "evidence": ["ev_" + "0" * 32]},  # no such record
        {**good, "listings": [{"url": "ftp://mall.example/x"}]},
        {**good, "listings": [{"url": "https://mall.example/1"}] * 2},
        {**good, "listings": [{"url": f"https://mall.example/{n}"} for n in range(501)]},
        {**good, "listings": [{"url": "https://m.example/1", "seller_id": world.ids["holder"]}]},
        {**good, "right": {"type": "patent", "title": "A patent"}},
        {**good, "good_faith": "bad \u202e text"},
    ]
    for body in bad:
        r = world.api.client.post("/v1/complaints", json=body, headers=headers)
        assert r.status_code in (404, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    cid = world.c("holder").file(good)["complaint_id"]
    platform = {"Authorization": f"Bearer {world.api.keys['cp-platform']}"}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("measures", {"listings": [5], "measure": "block", "reasons": REASONS}),
        ("measures", {"listings": [0, 0], "measure": "block", "reasons": REASONS}),
        ("measures", {"listings": [0], "measure": "ban", "reasons": REASONS}),
        ("forwardings", {"document": "declaration", "listings": [0]}),
        ("liftings", {"listings": [], "note": "x"}),
    ]
    for path, step in steps:
        r = world.api.client.post(f"/v1/complaints/{cid}/{path}", json=step, headers=platform)
        assert r.status_code in (404, 409, 422), (path, r.text)
    assert world.api.client.get("/v1/complaints/register?platform_id=x").status_code == 200
