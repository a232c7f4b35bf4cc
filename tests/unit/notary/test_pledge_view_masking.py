"""The public pledge register shows a person's identity number only to whoever needs it: the
registrar of the pledge, the parties, notaries, arbitrators and admins; everyone else (no key,
or another role) gets it masked, organisations' credit codes whole. Before, anyone with the
pledge's number (1, 2, 3 ...) read the resident identity number of every pledgor in full.

The status answer (``/v1/pledges/status``) keeps the parties whole: it is the register's signed
statement, and its verifier re-hashes them against the chain (docs/security.md says why)."""

from __future__ import annotations

from ipnotary.sdk.pledges import verify_pledge_status
from tests.unit.notary.conftest import Api
from tests.unit.notary.test_pledges import BANK, STRANGER, post, terms

PERSON_ID = STRANGER["id"]


def test_the_public_view_masks_a_persons_identity_number(api: Api) -> None:
    asset = {"type": "trademark", "registration_number": "55667788"}
    r = post(api, "/v1/pledges", {"asset": asset, "terms": terms(pledgor=STRANGER)}, label="mask")
    assert r.status_code == 201, r.text
    assert r.json()["pledge"]["terms"]["pledgor"]["id"] == PERSON_ID  # the registrar's answer
    pledge_id = r.json()["pledge"]["pledge_id"]

    public = api.client.get(f"/v1/pledges/{pledge_id}").json()
    assert public["identities_masked"] is True
    assert public["terms"]["pledgor"]["id"] == "110***********002X"  # was shown whole
    assert public["terms"]["pledgee"]["id"] == BANK["id"]  # a credit code is public
    holder = api.client.get(
        f"/v1/pledges/{pledge_id}", headers=api.principal("mask-holder", "holder")
    ).json()
    assert holder["terms"]["pledgor"]["id"] != PERSON_ID

    for headers in (
        api.principal("mask", "pledge_registrar"),
        api.principal("mask-notary", "notary"),
        api.principal("mask-arbitrator", "arbitrator"),
    ):
        seen = api.client.get(f"/v1/pledges/{pledge_id}", headers=headers).json()
        assert seen["terms"]["pledgor"]["id"] == PERSON_ID and not seen["identities_masked"]

    status = api.client.get(
        "/v1/pledges/status", params={"asset_type": "trademark", "number": "55667788"}
    )
    assert status.json()["pledge"]["terms"]["pledgor"]["id"] == PERSON_ID
    assert verify_pledge_status(status.json()).pledged
