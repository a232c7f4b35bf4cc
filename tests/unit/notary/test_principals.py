"""API keys: revoked, rotated and expired keys stop working (at once here, within the cache's
lifetime in other processes), only an admin manages another principal's keys, and every
administrative act is in an audit log that only admins read; the operator's CLI does the same."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from ipnotary.service.adapters.principal_cache import PrincipalCache
from ipnotary.service.cli import app as cli
from ipnotary.service.errors import AuthenticationRequired
from tests.unit.notary.conftest import Api


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def me(api: Any, key: str) -> int:
    return int(api.client.get("/v1/principals/me", headers=bearer(key)).status_code)


def test_a_principal_revokes_its_own_key_and_it_answers_401_at_once(api: Api) -> None:
    headers = api.principal("revoker", "holder")
    key = api.keys["revoker"]
    assert me(api, key) == 200  # now in this process's key cache
    keys = api.client.get("/v1/principals/me/keys", headers=headers).json()
    assert len(keys) == 1 and keys[0]["revoked_at"] is None and "key_hash" not in keys[0]
    # another key from the admin: one the principal minted with this key would go with it
    second = api.client.post(
        f"/v1/principals/{api.ids['revoker']}/keys",
        json={},
        headers=api.principal("admin", "admin"),
    )
    assert second.status_code == 201 and second.json()["api_key"].startswith("nk_")

    revoked = api.client.post(
        f"/v1/api-keys/{keys[0]['id']}/revoke", json={"reason": "laptop lost"}, headers=headers
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    answer = api.client.get("/v1/principals/me", headers=headers)
    assert answer.status_code == 401 and answer.json()["code"] == "authentication_required"
    assert me(api, second.json()["api_key"]) == 200  # the principal's other key still works
    # Revoking again changes nothing (the first time stays).
    again = api.client.post(
        f"/v1/api-keys/{keys[0]['id']}/revoke", json={}, headers=bearer(second.json()["api_key"])
    )
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_only_an_admin_manages_another_principals_keys(api: Api) -> None:
    victim = api.principal("victim", "holder")
    intruder = api.principal("intruder", "pledge_registrar")
    admin = api.principal("admin", "admin")
    victim_id = api.ids["victim"]
    key_id = api.client.get("/v1/principals/me/keys", headers=victim).json()[0]["id"]

    for method, path, body in (
        ("GET", f"/v1/principals/{victim_id}/keys", None),
        ("POST", f"/v1/principals/{victim_id}/keys", {}),
        ("POST", f"/v1/api-keys/{key_id}/revoke", {}),
        ("POST", f"/v1/api-keys/{key_id}/rotate", {}),
    ):
        refused = api.client.request(method, path, json=body, headers=intruder)
        assert refused.status_code == 403 and refused.json()["code"] == "not_your_key", path
    assert me(api, api.keys["victim"]) == 200
    assert (
        api.client.post("/v1/api-keys/key_nonexistent/revoke", json={}, headers=admin).status_code
        == 404
    )

    assert api.client.get(f"/v1/principals/{victim_id}/keys", headers=admin).status_code == 200
    assert (
        api.client.post(f"/v1/api-keys/{key_id}/revoke", json={}, headers=admin).status_code == 200
    )
    assert me(api, api.keys["victim"]) == 401


def test_rotation_gives_a_new_key_and_revokes_the_old_one(api: Api) -> None:
    headers = api.principal("rotator", "notary")
    old_key = api.keys["rotator"]
    key_id = api.client.get("/v1/principals/me/keys", headers=headers).json()[0]["id"]
    expires = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    rotated = api.client.post(
        f"/v1/api-keys/{key_id}/rotate", json={"expires_at": expires.isoformat()}, headers=headers
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["replaces"] == key_id and new["api_key"] != old_key
    assert datetime.fromisoformat(new["expires_at"]) == expires
    assert me(api, old_key) == 401 and me(api, new["api_key"]) == 200
    listed = {
        k["id"]: k
        for k in api.client.get("/v1/principals/me/keys", headers=bearer(new["api_key"])).json()
    }
    assert listed[key_id]["replaced_by"] == new["id"] and listed[key_id]["revoked_at"]
    stale = api.client.post(
        f"/v1/api-keys/{key_id}/rotate", json={}, headers=bearer(new["api_key"])
    )
    assert stale.status_code == 409 and stale.json()["code"] == "key_not_active"
    past = api.client.post(
        f"/v1/api-keys/{new['id']}/rotate",
        json={"expires_at": "2020-01-01T00:00:00Z"},
        headers=bearer(new["api_key"]),
    )
    assert past.status_code == 422
    naive = api.client.post(
        f"/v1/api-keys/{new['id']}/rotate",
        json={"expires_at": "2030-01-01T00:00:00"},
        headers=bearer(new["api_key"]),
    )
    assert naive.status_code == 422  # an expiry needs a time zone


def test_an_expiring_key_stops_at_its_expiry_even_when_cached(api: Api) -> None:
    admin = api.principal("admin", "admin")
    expires = datetime.now(UTC) + timedelta(seconds=2)
    created = api.client.post(
        "/v1/principals",
        headers=admin,
        json={
            "name": "Temporary Auditor",
            "role": "arbitrator",
            "key_expires_at": expires.isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    assert me(api, key) == 200  # cached now, for less than the cache's 5 s: until the expiry
    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.1)
    answer = api.client.get("/v1/principals/me", headers=bearer(key))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_another_process_refuses_a_revoked_key_within_its_cache_ttl(api: Api) -> None:
    headers = api.principal("elsewhere", "holder")
    key = api.keys["elsewhere"]
    other_process = PrincipalCache(api.runtime.engine, ttl=0.5)  # its own cache, as another worker
    assert other_process.authenticate(key).id == api.ids["elsewhere"]
    key_id = api.client.get("/v1/principals/me/keys", headers=headers).json()[0]["id"]
    assert (
        api.client.post(f"/v1/api-keys/{key_id}/revoke", json={}, headers=headers).status_code
        == 200
    )
    revoked_at = time.monotonic()
    # Until its cached entry runs out, the other process has not heard of the revocation...
    while True:
        try:
            other_process.authenticate(key)
        except AuthenticationRequired:
            break
        assert time.monotonic() - revoked_at < 0.5 + 0.2, "served a revoked key beyond the ttl"
        time.sleep(0.05)
    # ...and from then on it refuses the key (the bound is the ttl: 5 s by default).
    with pytest.raises(AuthenticationRequired):
        other_process.authenticate(key)


def test_the_audit_log_records_every_act_and_only_admins_read_it(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    admin = api.principal("admin", "admin", "Root")
    created = api.client.post(
        "/v1/principals", headers=admin, json={"name": "Acme Studio", "role": "holder"}
    ).json()
    # issued by the admin and rotated by itself: no key of it descends from the one revoked below
    issued = api.client.post(f"/v1/principals/{created['id']}/keys", json={}, headers=admin).json()
    rotated = api.client.post(
        f"/v1/api-keys/{issued['id']}/rotate", json={}, headers=bearer(issued["api_key"])
    ).json()
    api.client.post(
        f"/v1/api-keys/{created['key_id']}/revoke", json={"reason": "done"}, headers=admin
    )

    refused = api.client.get("/v1/audit", headers=bearer(rotated["api_key"]))
    assert refused.status_code == 403
    assert api.client.get("/v1/audit").status_code == 401

    events = api.client.get("/v1/audit", headers=admin).json()["events"]
    acts = [(e["action"], e["target_id"], e["actor_id"]) for e in events]
    admin_id, acme_id = api.ids["admin"], created["id"]
    assert acts == [
        ("principal.create", admin_id, None),  # the test's admin, made on the host: the operator
        ("api_key.create", acts[1][1], None),
        ("principal.create", acme_id, admin_id),
        ("api_key.create", created["key_id"], admin_id),
        ("api_key.create", issued["id"], admin_id),
        ("api_key.create", rotated["id"], acme_id),
        ("api_key.rotate", issued["id"], acme_id),
        ("api_key.revoke", created["key_id"], admin_id),
    ]
    assert events[0]["actor"].startswith("operator ")
    assert events[-1]["detail"] == {"principal_id": acme_id, "reason": "done"}
    assert events[-2]["detail"]["replaced_by"] == rotated["id"]
    assert all(datetime.fromisoformat(e["at"]) <= datetime.now(UTC) for e in events)
    assert created["api_key"] not in json.dumps(events) and "nk_" not in json.dumps(events)

    page = api.client.get("/v1/audit", params={"limit": 3}, headers=admin).json()
    assert len(page["events"]) == 3
    rest = api.client.get(
        "/v1/audit", params={"limit": 500, "cursor": page["next_cursor"]}, headers=admin
    ).json()
    assert [e["seq"] for e in page["events"] + rest["events"]] == [e["seq"] for e in events]
    assert rest["next_cursor"] is None
    only = api.client.get("/v1/audit", params={"action": "api_key.revoke"}, headers=admin).json()
    assert [e["target_id"] for e in only["events"]] == [created["key_id"]]


def test_operator_commands_manage_keys_and_read_the_audit_log(api: Api) -> None:
    runner = CliRunner()
    env = {"NOTARY_DATA_DIR": str(api.runtime.settings.data_dir)}

    def run(*args: str) -> Any:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    expires = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    made = run(
        "principal",
        "create",
        "--name",
        "Platform Ops",
        "--role",
        "platform",
        "--key-expires-at",
        expires,
    )
    issued = run("principal", "issue-key", made["id"])
    listed = run("principal", "keys", made["id"])
    assert {k["id"] for k in listed} == {made["key_id"], issued["id"]}
    assert next(k for k in listed if k["id"] == made["key_id"])["expires_at"].startswith(
        expires[:19]
    )

    rotated = run("principal", "rotate-key", made["key_id"])
    assert rotated["replaces"] == made["key_id"] and me(api, rotated["api_key"]) == 200
    # The service never cached the old key, so it refuses it at once (a cached one: within 5 s).
    assert me(api, made["api_key"]) == 401
    run("principal", "revoke-key", issued["id"], "--reason", "rotation drill")
    assert me(api, issued["api_key"]) == 401

    trail = run("principal", "audit", "--target", issued["id"])
    assert [e["action"] for e in trail] == ["api_key.create", "api_key.revoke"]
    assert trail[1]["actor_id"] is None and "notary CLI" in trail[1]["actor"]
    assert trail[1]["detail"]["reason"] == "rotation drill"

    unknown = runner.invoke(cli, ["principal", "revoke-key", "key_nonexistent"], env=env)
    assert unknown.exit_code == 1 and "no API key" in unknown.output
