"""Request bodies: one limit before reading, the certificate read by the SDK's parser, lists
bounded.

The parser differential: Starlette keeps the last of two duplicate keys, the SDK refuses the
document. A certificate sent to ``/v1/verify`` or ``/v1/claims/check`` must get the verdict the
SDK gives the same bytes offline, never a verdict on a document Starlette rewrote.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.verify import verify_certificate
from tests.unit.notary.conftest import Api

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def issued(api: Api) -> dict[str, Any]:
    """A certificate the service issued, as JSON text, and the service's own policy."""
    h = api.principal("limits-holder", "holder")
    rid = api.client.post("/v1/evidence", json={"sha256": "5e" * 32, "size": 9}, headers=h).json()[
        "id"
    ]
    assert api.wait_anchored(f"/v1/evidence/{rid}", h)["status"] == "anchored"
    text = api.client.get(f"/v1/evidence/{rid}/certificate", headers=h).text
    return {"text": text, "id": rid}


def _with_forged_first(text: str, key: str, value: Any) -> str:
    """The certificate with ``key`` written twice: a forged value first, the genuine one after
    (Starlette's parser keeps the genuine one; a strict parser refuses the document)."""
    assert text.startswith("{")
    return "{" + json.dumps(key) + ":" + json.dumps(value) + "," + text[1:]


def _verify_body(certificate_text: str, **options: Any) -> bytes:
    rest = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in options.items())
    return ('{"certificate":' + certificate_text + rest + "}").encode()


def test_a_genuine_certificate_sent_raw_still_verifies(api: Api, issued: dict[str, Any]) -> None:
    r = api.client.post(
        "/v1/verify",
        content=_verify_body(issued["text"], check_chain=False),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is True and r.json()["record_id"] == issued["id"]


def test_verify_refuses_a_certificate_with_a_duplicate_key_at_format(
    api: Api, issued: dict[str, Any]
) -> None:
    forged = _with_forged_first(issued["text"], "leaf_hash", "00" * 32)
    # The SDK, offline, on these bytes:
    with pytest.raises(VerificationError) as offline:
        verify_certificate(forged.encode(), api.runtime.trust_policy())
    assert offline.value.step == "format"

    r = api.client.post(
        "/v1/verify",
        content=_verify_body(forged, check_chain=False),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is False and body["failed_step"] == "format", body
    assert "'leaf_hash' twice" in body["reason"]


def test_verify_applies_the_sdk_size_limit_to_the_certificate(
    api: Api, issued: dict[str, Any]
) -> None:
    """JSON whitespace inside the certificate: the same document to a dict, not to the SDK."""
    padded = "{" + " " * (MAX_CERTIFICATE_BYTES + 1) + issued["text"][1:]
    r = api.client.post(
        "/v1/verify",
        content=_verify_body(padded, check_chain=False),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["valid"], r.json()["failed_step"]) == (False, "format")
    assert f"the limit is {MAX_CERTIFICATE_BYTES}" in r.json()["reason"]


def test_a_verify_request_over_its_limit_is_413(api: Api, issued: dict[str, Any]) -> None:
    padded = "{" + " " * (400 * 1024) + issued["text"][1:]
    r = api.client.post(
        "/v1/verify", content=_verify_body(padded), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "limit_exceeded", r.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            b'{"certificate": {}, "check_chain": false, "check_chain": true}',
            422,
            "malformed_document",
        ),
        (b'{"certificate": {}, "content": {"size": 1, "size": 2}}', 422, "malformed_document"),
        (b'{"check_chain": false}', 422, "validation_error"),
        (b'{"certificate": [], "check_chain": false}', 422, "validation_error"),
        (b'{"certificate": {}, "colour": "red"}', 422, "validation_error"),
        (b'{"certificate": {}, "min_confirmations": 0}', 422, "validation_error"),
        (b'{"certificate": {', 422, "malformed_document"),
        (b"[]", 422, "malformed_document"),
    ],
)
def test_a_malformed_verify_request_is_a_problem(
    api: Api, body: bytes, status: int, code: str
) -> None:
    r = api.client.post("/v1/verify", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_claims_refuse_a_certificate_with_a_duplicate_key(api: Api, issued: dict[str, Any]) -> None:
    forged = _with_forged_first(issued["text"], "record", {"id": issued["id"], "kind": "work"})
    body = (
        '{"certificates": [' + issued["text"] + "," + forged + '], "claimant": '
        '{"name": "A", "id_type": "uscc", "id": "91350100M000100Y43"}, '
        '"listing_date": "2030-01-01"}'
    ).encode()
    r = api.client.post(
        "/v1/claims/check",
        content=body,
        headers={
            **api.principal("limits-platform", "platform"),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "malformed_document"
    assert "certificates[1]" in problem["detail"] and "'record' twice" in problem["detail"]


# -- one body limit, enforced before reading -------------------------------------------------------


def _asgi_post(
    app: Any, path: str, headers: dict[str, str], chunks: Iterable[bytes]
) -> tuple[int, dict[str, Any], int]:
    """POST straight to the ASGI app; returns (status, JSON body, chunks the app pulled)."""
    source = iter(chunks)
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), pulled


def _route_headers(api: Api) -> dict[str, dict[str, str]]:
    return {
        "/v1/verify": {},
        "/v1/claims/check": api.principal("limits-platform", "platform"),
        "/v1/evidence/digests": api.principal("limits-holder", "holder"),
        "/v1/principals": api.principal("limits-admin", "admin"),
        "/v1/credit/entries": api.principal("limits-authority", "credit_authority"),
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/verify",
        "/v1/claims/check",
        "/v1/evidence/digests",
        "/v1/principals",
        "/v1/credit/entries",
    ],
)
def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(
    api: Api, path: str
) -> None:
    headers = {
        **_route_headers(api)[path],
        "Content-Type": "application/json",
        "Content-Length": str(2 * MIB),
    }
    status, body, pulled = _asgi_post(api.client.app, path, headers, [b" " * (64 * 1024)] * 32)
    assert (status, body["code"]) == (413, "limit_exceeded"), body
    assert pulled == 0


@pytest.mark.parametrize("path", ["/v1/verify", "/v1/evidence/digests", "/v1/principals"])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(api: Api, path: str) -> None:
    headers = {**_route_headers(api)[path], "Content-Type": "application/json"}
    status, body, pulled = _asgi_post(api.client.app, path, headers, [b" " * (64 * 1024)] * 64)
    assert (status, body["code"]) == (413, "limit_exceeded"), body
    assert pulled <= 17  # 1 MiB in 64 KiB chunks, and the one that passed it


def test_the_json_digest_path_stops_reading_at_its_own_limit(api: Api) -> None:
    """256 KiB for one digest submission (its metadata's characters in any JSON spelling): a
    larger body is not read whole first."""
    headers = {**api.principal("limits-holder", "holder"), "Content-Type": "application/json"}
    status, body, pulled = _asgi_post(
        api.client.app, "/v1/evidence", headers, [b" " * (16 * 1024)] * 40
    )
    assert (status, body["code"]) == (413, "limit_exceeded"), body
    assert pulled <= 17


def test_uploads_keep_their_own_larger_limit(make_api: Callable[..., Api]) -> None:
    api = make_api(max_request_bytes=64 * 1024, run_anchoring_worker=False)
    h = api.principal("uploader", "holder")
    upload = api.client.post(
        "/v1/evidence", files={"file": ("big.bin", b"u" * (200 * 1024))}, headers=h
    )
    assert upload.status_code == 201, upload.text
    items = [{"sha256": f"{i:064x}", "size": 1} for i in range(800)]  # ~70 KiB of JSON
    batch = api.client.post("/v1/evidence/digests", json={"items": items}, headers=h)
    assert batch.status_code == 413 and batch.json()["code"] == "limit_exceeded", batch.text


# -- every list in every request schema is bounded -------------------------------------------------


def _unbounded_arrays(
    schema: Any, components: dict[str, Any], where: str, seen: set[str]
) -> list[str]:
    if isinstance(schema, list):
        return [
            p
            for i, s in enumerate(schema)
            for p in _unbounded_arrays(s, components, f"{where}[{i}]", seen)
        ]
    if not isinstance(schema, dict):
        return []
    found: list[str] = []
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            found += _unbounded_arrays(components.get(name, {}), components, name, seen)
    if schema.get("type") == "array" and "maxItems" not in schema:
        found.append(where)
    for key, value in schema.items():
        if key != "$ref":
            found += _unbounded_arrays(value, components, f"{where}.{key}", seen)
    return found


def test_every_list_in_every_request_body_has_a_maximum(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    components = spec.get("components", {}).get("schemas", {})
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded_arrays(
                    media.get("schema", {}), components, f"{method.upper()} {path}", set()
                )
    assert unbounded == []
