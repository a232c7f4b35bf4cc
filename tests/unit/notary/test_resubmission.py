"""Details sent again for a record that already exists are not recorded, and the answer says which
(``created: false`` with a ``details_not_changed`` warning naming them); the SDK's ``Submission``
carries the warning. Before, they were dropped in silence: a holder who sent a corrected title
believed the record held it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ipnotary.sdk import NotaryClient
from tests.unit.notary.conftest import Api
from tests.unit.notary.test_claims import _work


def _digest(api: Api, sha: str, metadata: dict[str, Any]) -> Any:
    h = api.principal("again-holder", "holder")
    return api.client.post(
        "/v1/evidence", headers=h, json={"sha256": sha, "size": 3, "metadata": metadata}
    )


def test_a_new_title_for_existing_content_is_named_not_dropped(api: Api) -> None:
    sha = "a1" * 32
    first = _digest(api, sha, {"title": "Logo, draft", "tags": ["logo"]})
    assert first.status_code == 201 and first.json()["warnings"] == []
    retry = _digest(api, sha, {"title": "Logo, draft", "tags": ["logo"]})
    assert retry.status_code == 200 and retry.json()["warnings"] == []  # a retry: nothing new
    again = _digest(api, sha, {"title": "Logo, final", "tags": ["logo", "final"]})
    assert again.status_code == 200 and again.json()["created"] is False
    (warning,) = again.json()["warnings"]  # was: none, the new title silently dropped
    assert warning["code"] == "details_not_changed"
    assert warning["fields"] == ["metadata.title", "metadata.tags"]
    assert "metadata.title" in warning["detail"]
    record = api.client.get(
        f"/v1/evidence/{first.json()['id']}", headers=api.principal("again-holder", "holder")
    ).json()["record"]
    assert record["metadata"]["title"] == "Logo, draft"  # the record is as first recorded
    # leaving a detail out is not asking for a change
    assert _digest(api, sha, {}).json()["warnings"] == []


def test_an_upload_and_a_batch_say_the_same(api: Api) -> None:
    h = api.principal("again-holder", "holder")
    content = b"uploaded twice with two titles"
    first = api.client.post(
        "/v1/evidence", headers=h, files={"file": ("a", content)}, data={"title": "one"}
    )
    again = api.client.post(
        "/v1/evidence", headers=h, files={"file": ("a", content)}, data={"title": "two"}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["warnings"][0]["fields"] == ["metadata.title"]
    batch = api.client.post(
        "/v1/evidence/digests",
        headers=h,
        json={
            "items": [
                {"sha256": "b2" * 32, "size": 1, "metadata": {"title": "x"}},
                {"sha256": "b2" * 32, "size": 1, "metadata": {"title": "y"}},
            ]
        },
    ).json()
    assert batch[0]["warnings"] == [] and batch[1]["warnings"][0]["fields"] == ["metadata.title"]


def test_a_work_registered_again_with_another_title(api: Api) -> None:
    h = api.principal("again-holder", "holder")
    owner = {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"}
    body = {"work": _work(owner), "content": {"sha256": "c3" * 32, "size": 7}}
    assert api.client.post("/v1/works", headers=h, json=body).status_code == 201
    assert api.client.post("/v1/works", headers=h, json=body).json()["warnings"] == []
    renamed = {**body, "work": {**body["work"], "title": "Song, remastered"}}
    again = api.client.post("/v1/works", headers=h, json=renamed)
    assert again.status_code == 200 and again.json()["warnings"][0]["fields"] == ["work.title"]


def test_the_sdk_submission_carries_the_warning(api: Api, tmp_path: Path) -> None:
    api.principal("again-sdk", "holder")
    client = NotaryClient(
        "http://testserver", api.keys["again-sdk"], transport=api.client._transport
    )
    path = tmp_path / "design.psd"
    path.write_bytes(b"the design, once")
    first = client.submit_file(path, metadata={"title": "v1"})
    again = client.submit_file(path, metadata={"title": "v2"})
    assert first.created and first.warnings == ()
    assert not again.created and again.id == first.id
    assert [w["code"] for w in again.warnings] == ["details_not_changed"]
    assert json.dumps(again.warnings[0]["fields"]) == '["metadata.title"]'
