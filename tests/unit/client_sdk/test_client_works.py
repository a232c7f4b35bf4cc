"""``NotaryClient`` for works and for records of every kind, against a fake service
(``httpx.MockTransport``): what it sends, and which answers it refuses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.certificate import record_leaf_hash
from ipnotary.sdk.client import RECORD_PATHS, WorkSubmission, record_path
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.service.services.issuer import Issuer

CONTENT = b"Moonlight over the river, as a JPEG would be"
SHA256 = hashlib.sha256(CONTENT).hexdigest()
WORK = {
    "title": "Moonlight over the river",
    "work_type": "fine_art",
    "authors": [{"name": "Li Hua"}],
    "copyright_owner": {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"},
    "completed_on": "2025-03-01",
}
PRIOR = {
    "id": "wk_" + "0" * 32,
    "received_at": "2025-04-01T00:00:00.000000Z",
    "copyright_owner": "Someone Else",
}

issuer = Issuer(Ed25519PrivateKey.generate())


def work_record(sha256: str = SHA256, kind: str = "work") -> dict[str, Any]:
    return {
        "id": "wk_" + "1" * 32,
        "kind": kind,
        "schema": 1,
        "holder": {"id": "prn_1", "name": "Acme"},
        "work": WORK,
        "content": {"size": len(CONTENT), "sha256": sha256},
        "received_at": "2026-11-27T10:00:00.000000Z",
    }


def answer(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    receipt = issuer.receipt_document(
        record, record_leaf_hash(record).hex(), datetime(2026, 11, 27, tzinfo=UTC)
    )
    return {"id": record["id"], "created": True, "status": "pending", "receipt": receipt, **extra}


def client(handler: Callable[[httpx.Request], httpx.Response]) -> NotaryClient:
    return NotaryClient("http://notary.test", "nk_key", transport=httpx.MockTransport(handler))


def test_register_work_uploads_the_file_and_work_and_returns_the_checked_receipt(
    tmp_path: Path,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(201, json=answer(work_record(), prior_registrations=[PRIOR]))

    path = tmp_path / "moonlight.jpg"
    path.write_bytes(CONTENT)
    sent: list[int] = []
    with client(handler) as c:
        from_file = c.register_work(path, WORK, progress=sent.append)
        from_bytes = c.register_work(CONTENT, WORK, filename="moonlight.jpg")
    for sub in (from_file, from_bytes):
        assert isinstance(sub, WorkSubmission)
        assert sub.id == "wk_" + "1" * 32 and sub.created and sub.receipt.record["kind"] == "work"
        assert sub.prior_registrations == (PRIOR,)
    assert sum(sent) == len(CONTENT)
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/v1/works")
    assert request.headers["content-type"].startswith("multipart/form-data")
    body = request.content
    assert CONTENT in body and b'name="work"' in body and b'filename="moonlight.jpg"' in body
    assert json.dumps(WORK).encode() in body


@pytest.mark.parametrize(
    "record",
    [work_record(sha256="ab" * 32), work_record(kind="evidence")],
    ids=["other content", "not a work"],
)
def test_a_receipt_that_is_not_for_the_work_sent_is_refused(record: dict[str, Any]) -> None:
    with (
        client(lambda _: httpx.Response(201, json=answer(record))) as c,
        pytest.raises(FormatError, match=SHA256),
    ):
        c.register_work(CONTENT, WORK)


def test_a_receipt_with_a_bad_signature_is_refused() -> None:
    forged = answer(work_record())
    forged["receipt"]["signature"]["value"] = forged["receipt"]["signature"]["value"][::-1]
    with (
        client(lambda _: httpx.Response(201, json=forged)) as c,
        pytest.raises(FormatError, match="invalid signature"),
    ):
        c.register_work(CONTENT, WORK)


def test_register_work_digest_sends_json_and_checks_the_digest() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(
            (request.url.path, request.headers["content-type"], json.loads(request.read()))
        )
        return httpx.Response(200, json={**answer(work_record()), "created": False})

    with client(handler) as c:
        sub = c.register_work_digest(WORK, sha256=SHA256.upper(), size=len(CONTENT), sm3="cd" * 32)
        assert not sub.created and sub.prior_registrations == ()
        with pytest.raises(FormatError):
            c.register_work_digest(WORK, sha256="ef" * 32, size=1)
    assert bodies[0] == (
        "/v1/works",
        "application/json",
        {
            "work": WORK,
            "content": {"sha256": SHA256.upper(), "size": len(CONTENT), "sm3": "cd" * 32},
        },
    )


def test_work_registrations_asks_by_digest_and_refuses_an_answer_about_other_content() -> None:
    asked: list[httpx.URL] = []
    entry = {"id": PRIOR["id"], "prior": True, "anchored": True}

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        sha256 = request.url.params["sha256"]
        about = sha256 if sha256 != "ab" * 32 else "cd" * 32
        return httpx.Response(200, json={"sha256": about, "registrations": [entry]})

    with client(handler) as c:
        assert c.work_registrations(SHA256.upper()) == (entry,)
        with pytest.raises(FormatError, match="other content"):
            c.work_registrations("ab" * 32)
        with pytest.raises(ValueError, match="64 hexadecimal"):
            c.work_registrations("not-a-digest")
    assert [(u.path, u.params["sha256"]) for u in asked] == [
        ("/v1/works/registrations", SHA256),
        ("/v1/works/registrations", "ab" * 32),
    ]


def test_every_kind_has_its_own_prefix_and_path_and_ids_name_their_kind() -> None:
    assert (
        len({k.id_prefix for k in RecordKind})
        == len({k.api_path for k in RecordKind})
        == len(RecordKind)
    )
    for kind in RecordKind:
        record_id = f"{kind.id_prefix}_{'a' * 32}"
        assert RecordKind.of_id(record_id) is kind
        assert record_path(record_id) == f"{kind.api_path}/{record_id}"
        assert RecordKind.of_api_path(kind.api_path) is kind
    assert RecordKind.of_id("zz_1") is None and RecordKind.of_id("nounderscore") is None
    assert RECORD_PATHS["wk"] == "works"  # the table of earlier releases, derived from the enum


def test_the_kind_accessor_and_the_deprecated_kind_path() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("disclosures"):
            return httpx.Response(200, json={"items": [{"id": "ds_1"}], "next_cursor": None})
        return httpx.Response(200, json={"status": "anchored"})

    with client(handler) as c:
        c.get("wk_1", kind=RecordKind.evidence)  # an explicit kind wins over the prefix
        c.wait_anchored("x_2", kind=RecordKind.pledge_event)
        assert list(c.list(kind=RecordKind.disclosure)) == [{"id": "ds_1"}]
        with pytest.warns(DeprecationWarning, match=r"kind=RecordKind\.trade_secret"):
            c.get("ts_3", kind_path="trade-secrets")
        with pytest.warns(DeprecationWarning):
            assert list(c.list(kind_path="disclosures")) == [{"id": "ds_1"}]
        with pytest.raises(ValueError, match="known: "):
            c.get("ev_4", kind_path="nowhere")
        with pytest.raises(TypeError):
            c.get("ev_5", kind=RecordKind.evidence, kind_path="evidence")
    assert asked == [
        "/v1/evidence/wk_1",
        "/v1/pledge-events/x_2",
        "/v1/disclosures",
        "/v1/trade-secrets/ts_3",
        "/v1/disclosures",
    ]
