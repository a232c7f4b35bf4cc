"""The small things a new user trips on: digests as tools print them, the API
document saying what a field is, and who an API key speaks for."""

from __future__ import annotations

import json

from tests.unit.notary.conftest import Api


def test_uppercase_hex_digests_are_accepted_and_stored_in_lower_case(api: Api) -> None:
    holder = api.principal("holder", "holder")
    upper = "AB" * 32  # as certutil prints it
    r = api.client.post(
        "/v1/evidence/digests",
        json={"items": [{"sha256": upper, "size": 3, "sm3": "CD" * 32}]},
        headers=holder,
    )
    assert r.status_code in (200, 201), r.text
    record = api.client.get(f"/v1/evidence/{r.json()[0]['id']}", headers=holder).json()
    content = record["record"]["content"]
    assert content["sha256"] == upper.lower() and content["sm3"] == "cd" * 32
    # The same content in either case is one record, not two.
    again = api.client.post(
        "/v1/evidence/digests",
        json={"items": [{"sha256": upper.lower(), "size": 3, "sm3": "cd" * 32}]},
        headers=holder,
    )
    assert again.json()[0]["id"] == r.json()[0]["id"] and again.json()[0]["created"] is False
    # Looking up a work by digest takes either case too.
    lookup = api.client.get("/v1/works/registrations", params={"sha256": upper}, headers=holder)
    assert lookup.status_code == 200, lookup.text
    assert (
        api.client.post(
            "/v1/evidence/digests",
            json={"items": [{"sha256": "AG" * 32, "size": 1}]},
            headers=holder,
        ).status_code
        == 422
    )


def test_verify_documents_content_as_a_fingerprint_object(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    schemas = spec["components"]["schemas"]
    if "$ref" in body:
        body = schemas[body["$ref"].rsplit("/", 1)[-1]]
    content = json.dumps(body["properties"]["content"])
    name = "ContentFingerprint"
    assert name in content, content
    fingerprint = schemas[name]["properties"]
    assert {"sha256", "size", "sm3"} <= set(fingerprint)


def test_principals_me_says_whom_the_key_speaks_for(api: Api) -> None:
    admin = api.principal("admin", "admin")
    created = api.client.post(
        "/v1/principals",
        json={"name": "Acme Studio Ltd", "role": "holder", "subject": "uscc:91110108551385082Q"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == "uscc:91110108551385082Q"
    me = api.client.get(
        "/v1/principals/me", headers={"Authorization": f"Bearer {created.json()['api_key']}"}
    ).json()
    assert me["subject"] == "uscc:91110108551385082Q" and me["name"] == "Acme Studio Ltd"
    assert api.client.get("/v1/principals/me", headers=admin).json()["subject"] is None


def test_the_sdk_and_cli_find_any_record_by_its_id() -> None:
    """``notary certificate`` / ``status`` and ``NotaryClient.get``/``certificate``/``receipt``
    take a work's, a credit entry's or a pledge event's id as they take an evidence id."""
    import httpx

    from ipnotary.sdk.client import NotaryClient
    from ipnotary.sdk.kinds import RecordKind

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"status": "anchored"})

    with NotaryClient("http://notary.test", transport=httpx.MockTransport(answer)) as client:
        for record_id in ("ev_1", "wk_2", "ts_3", "ds_4", "ce_5", "cr_6", "pe_7"):
            client.get(record_id)
        client.get("wk_8", kind=RecordKind.evidence)  # an explicit kind still wins
    assert asked == [
        "/v1/evidence/ev_1",
        "/v1/works/wk_2",
        "/v1/trade-secrets/ts_3",
        "/v1/disclosures/ds_4",
        "/v1/credit/entries/ce_5",
        "/v1/credit/repair-records/cr_6",
        "/v1/pledge-events/pe_7",
        "/v1/evidence/wk_8",
    ]


def test_identities_masked_only_when_something_was_masked(api: Api) -> None:
    owner_org = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91110108551385082Q"}
    person = {"name": "Li Lei", "id_type": "cn_resident_id", "id": "11010519491231002X"}
    registrant = api.principal("registrant", "holder")
    stranger = api.principal("stranger", "platform")
    for i, owner in enumerate((owner_org, person)):
        body = f"work {i} of the masking test".encode()
        work = {
            "title": f"W{i}",
            "work_type": "written",
            "authors": [{"name": "A"}],
            "copyright_owner": owner,
            "completed_on": "2025-01-01",
        }
        created = api.client.post(
            "/v1/works",
            headers=registrant,
            files={"file": ("w.txt", body)},
            data={"work": json.dumps(work)},
        )
        assert created.status_code == 201, created.text
        import hashlib

        seen = api.client.get(
            "/v1/works/registrations",
            params={"sha256": hashlib.sha256(body).hexdigest()},
            headers=stranger,
        ).json()
        entry = seen["registrations"][0]
        shown = entry["work"]["copyright_owner"]["id"]
        if owner is owner_org:  # a credit code is public: shown whole, and nothing masked
            assert shown == owner["id"] and entry["identities_masked"] is False
        else:
            assert shown != owner["id"] and entry["identities_masked"] is True


def test_time_stamp_authorities_are_named_by_url_with_secrets_masked() -> None:
    from unittest.mock import MagicMock

    from ipnotary.service.worker.attestation import TimestampRequester

    def name(url: str) -> str:
        return TimestampRequester(MagicMock(), url=url, client=MagicMock()).state.name

    # Two authorities behind one host stay two (the /readyz entry and the metric label).
    assert name("https://tsa.example/rsa") != name("https://tsa.example/ecdsa")
    assert name("https://tsa.example/rsa") == "https://tsa.example/rsa"
    masked = name("https://user:hunter2@tsa.example/stamp?key=s3cret")
    assert "hunter2" not in masked and "s3cret" not in masked and "tsa.example/stamp" in masked
