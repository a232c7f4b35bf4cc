"""Keys minted by keys never outlive the key that minted them and are revoked with it; an admin
disables and enables principals (audited, also on the host); the directory shows a person's
identity number only to whoever needs it.

Before: any key minted keys for its principal with no expiry (a key that expires in an hour
minted one that never does), and when an admin revoked the original, the minted keys kept
working; ``Principal.disabled`` had no API and no command; ``GET /v1/principals`` showed every
principal's subject, resident identity numbers included, to any key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from ipnotary.service.cli import app as cli
from ipnotary.service.services.principals import create_principal
from tests.unit.notary.conftest import Api

PERSON = "cn_resident_id:11010519491231002X"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def status_of(api: Api, key: str) -> int:
    return api.client.get("/v1/principals/me", headers=bearer(key)).status_code


def new_principal(api: Api, role: str, *, expires_in: timedelta | None = None, **kw: Any) -> Any:
    with Session(api.runtime.engine) as session:
        return create_principal(
            session,
            name=kw.pop("name", role),
            role=role,
            key_expires_at=None if expires_in is None else datetime.now(UTC) + expires_in,
            **kw,
        )


def mint(api: Api, key: str, **body: Any) -> Any:
    return api.client.post("/v1/principals/me/keys", json=body, headers=bearer(key))


def test_a_minted_key_never_outlives_the_key_that_minted_it(api: Api) -> None:
    hour = new_principal(api, "holder", expires_in=timedelta(hours=1))
    parent_expiry = datetime.fromisoformat(
        api.client.get("/v1/principals/me/keys", headers=bearer(hour.api_key)).json()[0][
            "expires_at"
        ]
    )
    child = mint(api, hour.api_key)
    assert child.status_code == 201, child.text
    assert child.json()["parent_id"] == hour.key_id
    assert datetime.fromisoformat(child.json()["expires_at"]) == parent_expiry  # was: never
    later = mint(api, hour.api_key, expires_at=(datetime.now(UTC) + timedelta(days=9)).isoformat())
    assert later.status_code == 422 and later.json()["code"] == "key_outlives_parent", later.text
    sooner = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    earlier = mint(api, hour.api_key, expires_at=sooner.isoformat())
    assert earlier.status_code == 201 and datetime.fromisoformat(earlier.json()["expires_at"]) == (
        sooner
    )
    # the grandchild is bound by the child, which is bound by the parent
    grandchild = mint(api, child.json()["api_key"])
    assert datetime.fromisoformat(grandchild.json()["expires_at"]) == parent_expiry


def test_revoking_a_key_revokes_every_key_minted_from_it(api: Api) -> None:
    admin = api.principal("lineage-admin", "admin")
    root = new_principal(api, "platform")
    child = mint(api, root.api_key).json()
    grandchild = mint(api, child["api_key"]).json()
    sibling = api.client.post(f"/v1/principals/{root.principal.id}/keys", json={}, headers=admin)
    assert sibling.json()["parent_id"] is None  # an admin's provisioning has no parent
    for key in (root.api_key, child["api_key"], grandchild["api_key"]):
        assert status_of(api, key) == 200  # cached in this process now

    r = api.client.post(f"/v1/api-keys/{root.key_id}/revoke", json={}, headers=admin)
    assert r.status_code == 200, r.text
    assert status_of(api, child["api_key"]) == 401  # was 200: it outlived the stolen key
    assert status_of(api, grandchild["api_key"]) == 401
    assert status_of(api, sibling.json()["api_key"]) == 200
    trail = api.client.get(
        "/v1/audit",
        params={"action": "api_key.revoke", "target_id": grandchild["id"]},
        headers=admin,
    ).json()["events"]
    assert [e["detail"]["with_parent"] for e in trail] == [root.key_id]


def test_rotation_keeps_keys_inside_the_tree(api: Api) -> None:
    admin = api.principal("lineage-admin", "admin")
    holder = new_principal(api, "holder")
    child = mint(
        api, holder.api_key, expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    child_key, child_id = child.json()["api_key"], child.json()["id"]

    # a key cannot rotate the key it was minted from into one it would outlive
    refused = api.client.post(
        f"/v1/api-keys/{holder.key_id}/rotate", json={}, headers=bearer(child_key)
    )
    assert refused.status_code == 409 and refused.json()["code"] == "key_is_ancestor", refused.text

    # another key (provisioned, no expiry) rotated by the short-lived child: bound by the child
    other = api.client.post(f"/v1/principals/{holder.principal.id}/keys", json={}, headers=admin)
    rotated = api.client.post(
        f"/v1/api-keys/{other.json()['id']}/rotate", json={}, headers=bearer(child_key)
    ).json()
    assert rotated["parent_id"] == child_id
    assert rotated["expires_at"] == child.json()["expires_at"]

    # rotating a key revokes the keys it minted; its replacement takes its place
    replaced = api.client.post(
        f"/v1/api-keys/{holder.key_id}/rotate", json={}, headers=bearer(holder.api_key)
    ).json()
    assert replaced["parent_id"] is None and status_of(api, replaced["api_key"]) == 200
    assert status_of(api, child_key) == 401 and status_of(api, rotated["api_key"]) == 401


def test_an_admin_disables_and_enables_a_principal(api: Api) -> None:
    admin = api.principal("lineage-admin", "admin")
    target = new_principal(api, "notary")
    assert status_of(api, target.api_key) == 200
    path = f"/v1/principals/{target.principal.id}"

    other = api.client.post(f"{path}/disable", json={}, headers=api.principal("lh", "holder"))
    assert other.status_code == 403
    off = api.client.post(f"{path}/disable", json={"reason": "left the firm"}, headers=admin)
    assert off.status_code == 200 and off.json()["disabled"] is True, off.text
    assert status_of(api, target.api_key) == 401
    on = api.client.post(f"{path}/enable", json={}, headers=admin)
    assert on.status_code == 200 and on.json()["disabled"] is False
    assert status_of(api, target.api_key) == 200

    events = api.client.get("/v1/audit", params={"target_id": target.principal.id}, headers=admin)
    acts = [(e["action"], (e["detail"] or {}).get("reason")) for e in events.json()["events"]]
    assert acts[-2:] == [("principal.disable", "left the firm"), ("principal.enable", None)]
    admin_id = api.ids["lineage-admin"]
    itself = api.client.post(f"/v1/principals/{admin_id}/disable", json={}, headers=admin)
    assert itself.status_code == 409 and itself.json()["code"] == "cannot_disable_self"
    assert (
        api.client.post("/v1/principals/prn_nobody/disable", json={}, headers=admin).status_code
        == 404
    )


def test_the_operator_disables_and_enables_on_the_host(api: Api) -> None:
    target = new_principal(api, "arbitrator")
    env = {"NOTARY_DATA_DIR": str(api.runtime.settings.data_dir)}
    result = CliRunner().invoke(
        cli, ["principal", "disable", target.principal.id, "--reason", "audit"], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["disabled"] is True
    api.runtime.principals.invalidate(target.principal.id)  # the running service: within 5 s
    assert status_of(api, target.api_key) == 401
    result = CliRunner().invoke(cli, ["principal", "enable", target.principal.id], env=env)
    assert result.exit_code == 0 and json.loads(result.stdout)["disabled"] is False
    assert status_of(api, target.api_key) == 200


def test_the_directory_shows_identity_numbers_to_whoever_needs_them(api: Api) -> None:
    person = new_principal(api, "holder", name="Zhang San", identifier=PERSON)
    firm = new_principal(api, "holder", name="Acme", identifier="uscc:91350100M000100Y43")

    def listed(headers: dict[str, str], who: str) -> dict[str, Any]:
        rows = api.client.get("/v1/principals", params={"role": "holder"}, headers=headers).json()
        found: dict[str, Any] = next(p for p in rows if p["id"] == who)
        return found

    stranger = api.principal("lineage-stranger", "platform")
    seen = listed(stranger, person.principal.id)
    assert seen["subject"] == "cn_resident_id:110***********002X" and seen["subject_masked"]
    assert "19491231" not in json.dumps(seen)  # was shown whole to any key
    assert listed(stranger, firm.principal.id)["subject"] == "uscc:91350100M000100Y43"
    for role in ("notary", "arbitrator", "admin"):
        assert listed(api.principal(f"lineage-{role}", role), person.principal.id)["subject"] == (
            PERSON
        )
    own = api.client.get("/v1/principals/me", headers=bearer(person.api_key)).json()
    assert own["subject"] == PERSON and not own["subject_masked"]
