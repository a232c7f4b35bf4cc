"""``NotaryClient`` against a fake service (``httpx.MockTransport``): every error path gives the
SDK's own error, with what a caller needs, and nothing the service returns is taken on trust."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import NotaryClient, TrustPolicy
from ipnotary.sdk.certificate import record_leaf_hash
from ipnotary.sdk.errors import (
    APIError,
    ContentIntegrityError,
    FormatError,
    TransportError,
    VerificationError,
)
from ipnotary.service.services.issuer import Issuer

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
RECORD = {
    "id": "ev_" + "1" * 32,
    "kind": "evidence",
    "schema": 1,
    "holder": {"id": "prn_1", "name": "Acme"},
    "content": {
        "size": 11,
        "sha256": "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    },
    "received_at": "2026-11-27T10:00:00.000000Z",
}

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: Any) -> NotaryClient:
    return NotaryClient(
        "http://notary.test", "nk_key", transport=httpx.MockTransport(handler), **kwargs
    )


def problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": f"urn:ipnotary:problem:{code}",
            "title": "t",
            "status": status,
            "detail": detail,
            "code": code,
        },
        headers={"content-type": "application/problem+json"},
    )


def receipt(issuer: Issuer, *, record: dict[str, object] = RECORD) -> dict[str, object]:
    from datetime import UTC, datetime

    return issuer.receipt_document(
        dict(record), record_leaf_hash(dict(record)).hex(), datetime(2026, 11, 27, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "authentication_required"),
        (403, "permission_denied"),
        (409, "not_anchored_yet"),
        (413, "limit_exceeded"),
        (503, "chain_unavailable"),
    ],
)
def test_a_problem_document_becomes_an_api_error_with_its_code(status: int, code: str) -> None:
    with (
        client(lambda _: problem(status, code, "said the service")) as c,
        pytest.raises(APIError) as info,
    ):
        c.get("ev_x")
    assert (info.value.status, info.value.code, info.value.detail) == (
        status,
        code,
        "said the service",
    )
    assert not isinstance(info.value, TransportError)


def test_an_error_without_a_problem_document_still_says_what_happened() -> None:
    with (
        client(lambda _: httpx.Response(502, text="<html>bad gateway</html>")) as c,
        pytest.raises(APIError) as info,
    ):
        c.get("ev_x")
    assert (
        info.value.status == 502
        and info.value.code == "http_502"
        and "bad gateway" in info.value.detail
    )


def test_an_unreachable_service_is_a_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with client(refuse) as c, pytest.raises(TransportError) as info:
        c.get("ev_x")
    assert info.value.status == 0 and "connection refused" in str(info.value)
    # It names the service it could not reach, and what it was doing.
    assert "http://notary.test" in info.value.detail and "/v1/evidence/ev_x" in info.value.detail


def test_a_non_json_answer_is_a_format_error() -> None:
    with client(lambda _: httpx.Response(200, text="not json")) as c, pytest.raises(FormatError):
        c.get("ev_x")


def test_a_receipt_with_a_bad_signature_or_leaf_is_refused() -> None:
    issuer = Issuer(Ed25519PrivateKey.generate())
    good = receipt(issuer)
    forged = json.loads(json.dumps(good))
    forged["record"]["content"]["size"] = 12  # the record changed after signing

    def answer(body: dict[str, object]) -> Handler:
        return lambda _: httpx.Response(
            201, json={"id": RECORD["id"], "created": True, "status": "pending", "receipt": body}
        )

    with client(answer(good)) as c:
        assert c.submit_digest(sha256="ab" * 32, size=11).receipt.leaf_hash == good["leaf_hash"]
    with client(answer(forged)) as c, pytest.raises(FormatError, match="invalid signature"):
        c.submit_digest(sha256="ab" * 32, size=11)
    relabelled = issuer.sign({k: v for k, v in forged.items() if k != "signature"})
    with client(answer(relabelled)) as c, pytest.raises(FormatError, match="leaf hash"):
        c.submit_digest(sha256="ab" * 32, size=11)


def test_a_receipt_from_an_issuer_outside_the_policy_is_refused() -> None:
    policy = TrustPolicy.load(V2 / "policy.json")
    stranger = receipt(Issuer(Ed25519PrivateKey.generate()))

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            json={"id": RECORD["id"], "created": True, "status": "pending", "receipt": stranger},
        )

    with client(handler, policy=policy) as c, pytest.raises(FormatError, match="does not list"):
        c.submit_digest(sha256="ab" * 32, size=11)


def test_a_tampered_certificate_never_reaches_the_caller() -> None:
    golden = json.loads((V2 / "certificate.json").read_text())
    policy = TrustPolicy.load(V2 / "policy.json")
    with client(lambda _: httpx.Response(200, json=golden), policy=policy) as c:
        assert c.certificate("ev_x").record_id == golden["record"]["id"]
    golden["record"]["holder"]["name"] = "Someone Else"
    with (
        client(lambda _: httpx.Response(200, json=golden), policy=policy) as c,
        pytest.raises(VerificationError) as info,
    ):
        c.certificate("ev_x")
    assert info.value.step == "leaf_hash"


def test_content_that_does_not_match_the_record_is_deleted(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/content"):
            return httpx.Response(200, content=b"hello world!")  # one byte more than recorded
        return httpx.Response(
            200, json={"id": RECORD["id"], "status": "anchored", "record": RECORD}
        )

    dest = tmp_path / "out.bin"
    with client(handler) as c, pytest.raises(ContentIntegrityError):
        c.download_content(RECORD["id"], dest)  # type: ignore[arg-type]
    assert not dest.exists()


def test_waiting_for_an_anchor_gives_up_after_its_timeout() -> None:
    with (
        client(lambda _: httpx.Response(200, json={"id": "ev_x", "status": "batched"})) as c,
        # A service that does not say which stage: the stages it can be
        pytest.raises(TimeoutError, match="waits for anchoring, the witness quorum or a time"),
    ):
        c.wait_anchored("ev_x", timeout=0.05, poll=0.01)
    view = {"id": "ev_x", "status": "batched", "waiting_for": "timestamps"}
    with (
        client(lambda _: httpx.Response(200, json=view)) as c,
        pytest.raises(TimeoutError, match="waits for a time-stamp authority's token"),
    ):
        c.wait_anchored("ev_x", timeout=0.05, poll=0.01)


def test_the_trust_policy_the_service_suggests_is_parsed_strictly() -> None:
    with (
        client(lambda _: httpx.Response(200, json={"issuers": []})) as c,
        pytest.raises(FormatError, match="trust policy"),
    ):
        c.trust_policy()
