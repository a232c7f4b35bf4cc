"""Every kind of malformed request gets the documented status and one JSON problem shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ipnotary.service.api.app import create_app
from ipnotary.service.config import Settings
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.principals import create_principal

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    data = tmp_path_factory.mktemp("api")
    settings = Settings(
        data_dir=Path(data),
        max_upload_bytes=1024,
        max_digests_per_request=10,
        batch_interval_seconds=3600,
        run_anchoring_worker=False,
    )
    runtime = Runtime.build(settings)
    keys = {}
    with Session(runtime.engine) as session:
        for role in ("holder", "credit_authority", "admin"):
            keys[role] = create_principal(session, name=f"{role} one", role=role).api_key
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield client, keys
    runtime.close()


def auth(keys: dict[str, str], role: str = "holder") -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def assert_problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status and body["code"] == code, body
    if code == "validation_error":  # every broken rule listed, pydantic's shape
        assert body["errors"] and {"loc", "msg", "type"} <= set(body["errors"][0]), body
    assert "Traceback" not in response.text
    return body


DIGEST = {"sha256": "ab" * 32, "size": 5}


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "code"),
    [
        (
            "no key",
            {"method": "POST", "url": "/v1/evidence", "json": DIGEST},
            401,
            "authentication_required",
        ),
        (
            "unknown key",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": DIGEST,
                "headers": {"Authorization": "Bearer nk_nope"},
            },
            401,
            "authentication_required",
        ),
        (
            "malformed key",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": DIGEST,
                "headers": {"Authorization": "Bearer " + "x" * 500},
            },
            401,
            "authentication_required",
        ),
        (
            "wrong media type",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "content": b"hi",
                "headers": {"Content-Type": "text/plain"},
            },
            415,
            "unsupported_media_type",
        ),
        (
            "broken json",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "content": b"{",
                "headers": {"Content-Type": "application/json"},
            },
            422,
            "validation_error",
        ),
        (
            "bad digest",
            {"method": "POST", "url": "/v1/evidence", "json": {"sha256": "xyz", "size": 1}},
            422,
            "validation_error",
        ),
        (
            "negative size",
            {"method": "POST", "url": "/v1/evidence", "json": {**DIGEST, "size": -1}},
            422,
            "validation_error",
        ),
        (
            "unknown field",
            {"method": "POST", "url": "/v1/evidence", "json": {**DIGEST, "owner": "me"}},
            422,
            "validation_error",
        ),
        (
            "digest naming a CID",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"},
            },
            422,
            "invalid_input",
        ),
        (
            "title too long",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"title": "t" * 301}},
            },
            422,
            "validation_error",
        ),
        (
            "capture in the future",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"captured_at": "2999-01-01T00:00:00Z"}},
            },
            422,
            "validation_error",
        ),
        (
            "naive capture time",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"captured_at": "2020-01-01T00:00:00"}},
            },
            422,
            "validation_error",
        ),
        (
            "not a url",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"source_url": "javascript:alert(1)"}},
            },
            422,
            "validation_error",
        ),
        (
            "too many tags",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"tags": [f"t{i}" for i in range(33)]}},
            },
            422,
            "validation_error",
        ),
        (
            "huge json",
            {
                "method": "POST",
                "url": "/v1/evidence",
                "json": {**DIGEST, "metadata": {"description": "d" * 300_000}},
            },
            413,
            "limit_exceeded",
        ),
        (
            "too many digests",
            {
                "method": "POST",
                "url": "/v1/evidence/digests",
                "json": {"items": [{"sha256": f"{i:064x}", "size": 1} for i in range(11)]},
            },
            413,
            "limit_exceeded",
        ),
        (
            "empty digest list",
            {"method": "POST", "url": "/v1/evidence/digests", "json": {"items": []}},
            422,
            "validation_error",
        ),
        (
            "page too large",
            {"method": "GET", "url": "/v1/evidence?limit=501"},
            422,
            "validation_error",
        ),
        (
            "bad cursor",
            {"method": "GET", "url": "/v1/evidence?cursor=abc"},
            422,
            "validation_error",
        ),
        ("unknown record", {"method": "GET", "url": "/v1/evidence/ev_0"}, 404, "not_found"),
        ("unknown route", {"method": "GET", "url": "/v1/nothing"}, 404, "not_found"),
        ("wrong method", {"method": "DELETE", "url": "/v1/evidence"}, 405, "method_not_allowed"),
        (
            "verify garbage",
            {"method": "POST", "url": "/v1/verify", "json": {"certificate": "x"}},
            422,
            "validation_error",
        ),
    ],
)
def test_malformed_requests(api, name: str, request_kwargs: dict, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    client, keys = api
    kwargs = dict(request_kwargs)
    headers = {**auth(keys), **kwargs.pop("headers", {})} if name != "no key" else {}
    assert_problem(client.request(headers=headers, **kwargs), status, code)


def test_wrong_role_is_forbidden(api) -> None:  # type: ignore[no-untyped-def]
    client, keys = api
    body = assert_problem(
        client.post("/v1/evidence", json=DIGEST, headers=auth(keys, "credit_authority")),
        403,
        "permission_denied",
    )
    assert "holder" in body["detail"]
    assert_problem(
        client.post("/v1/principals", json={"name": "x", "role": "holder"}, headers=auth(keys)),
        403,
        "permission_denied",
    )


def test_upload_limits(api) -> None:  # type: ignore[no-untyped-def]
    client, keys = api
    h = auth(keys)
    assert_problem(
        client.post("/v1/evidence", files={"file": ("a", b"x" * 2048)}, headers=h),
        413,
        "limit_exceeded",
    )
    assert_problem(
        client.post(
            "/v1/evidence", data={"title": "no file"}, files={"other": ("a", b"x")}, headers=h
        ),
        422,
        "invalid_input",
    )
    two = [("file", ("a", b"1")), ("file", ("b", b"2"))]
    assert_problem(client.post("/v1/evidence", files=two, headers=h), 422, "invalid_input")
    assert_problem(
        client.post("/v1/evidence", files={"file": ("a", b"1")}, data={"colour": "red"}, headers=h),
        422,
        "invalid_input",
    )
    assert_problem(
        client.post(
            "/v1/evidence",
            content=b"--x\r\nbroken",
            headers={**h, "Content-Type": "multipart/form-data; boundary=x"},
        ),
        422,
        "invalid_input",
    )
    assert_problem(
        client.post(
            "/v1/evidence", content=b"abc", headers={**h, "Content-Type": "multipart/form-data"}
        ),
        422,
        "invalid_input",
    )


def test_certificate_before_anchoring_says_so(api) -> None:  # type: ignore[no-untyped-def]
    client, keys = api
    rid = client.post(
        "/v1/evidence", json={"sha256": "cd" * 32, "size": 1}, headers=auth(keys)
    ).json()["id"]
    body = assert_problem(
        client.get(f"/v1/evidence/{rid}/certificate", headers=auth(keys)), 409, "not_anchored_yet"
    )
    assert "not in the log yet" in body["detail"]
    assert_problem(client.get(f"/v1/evidence/{rid}/content", headers=auth(keys)), 404, "no_content")


def test_records_are_private_to_their_owner(api) -> None:  # type: ignore[no-untyped-def]
    client, keys = api
    rid = client.post(
        "/v1/evidence", json={"sha256": "ef" * 32, "size": 1}, headers=auth(keys)
    ).json()["id"]
    assert_problem(client.get(f"/v1/evidence/{rid}", headers=auth(keys, "admin")), 404, "not_found")


def test_openapi_documents_the_routes(api) -> None:  # type: ignore[no-untyped-def]
    client, _ = api
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/evidence",
        "/v1/evidence/digests",
        "/v1/evidence/{record_id}/certificate",
        "/v1/verify",
        "/healthz",
        "/readyz",
        "/v1/trust",
    ):
        assert path in spec["paths"], path
