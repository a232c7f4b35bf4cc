"""Answers are what the OpenAPI document says they are: the log's notes and tiles in the media
types they are served as (they were documented as JSON), and a 405 names the methods the path
has in ``Allow`` (the problem handler dropped it)."""

from __future__ import annotations

from typing import Any

from tests.unit.notary.conftest import Api


def _documented(api: Api, path: str) -> set[str]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    return set(document["paths"][path]["get"]["responses"]["200"]["content"])


def test_the_log_routes_are_documented_as_served(api: Api) -> None:
    h = api.principal("answers-holder", "holder")
    r = api.client.post("/v1/evidence", headers=h, json={"sha256": "cd" * 32, "size": 9})
    api.wait_anchored(f"/v1/evidence/{r.json()['id']}", h)
    note = api.client.get("/log/checkpoint")
    assert note.status_code == 200, note.text
    served = note.headers["content-type"].split(";")[0]
    assert served == "text/plain" and _documented(api, "/log/checkpoint") == {served}
    size = int(note.text.splitlines()[1])
    at_size = api.client.get(f"/v1/log/checkpoints/{size}")
    assert at_size.status_code == 200
    assert at_size.headers["content-type"].split(";")[0] in _documented(
        api, "/v1/log/checkpoints/{size}"
    )
    tile = api.client.get(f"/log/tile/0/000.p/{size}" if size < 256 else "/log/tile/0/000")
    assert tile.status_code == 200, tile.text
    assert tile.headers["content-type"] == "application/octet-stream"
    assert _documented(api, "/log/tile/{level}/{path}") == {"application/octet-stream"}


def test_a_405_names_the_allowed_methods(api: Api) -> None:
    for method, path, allowed in (
        ("DELETE", "/log/checkpoint", {"GET"}),
        ("PUT", "/v1/evidence", {"POST"}),
        ("PATCH", "/v1/verify", {"POST"}),
    ):
        r = api.client.request(method, path)
        assert r.status_code == 405, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert set(r.headers["allow"].replace(" ", "").split(",")) >= allowed, r.headers
