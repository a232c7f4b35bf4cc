"""``NotaryClient.credit_status`` checks that the answer is about the subject it asked about, with
the subject spelled as the register spells it (``ipnotary.sdk.identifiers``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.client import NotaryClient
from ipnotary.sdk.credit import CREDIT_STATUS_MEDIA_TYPE
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.identifiers import InvalidIdentifier
from ipnotary.sdk.signing import key_id, public_key_to_b64, sign_document

OWNER = "uscc:91350100M000100Y43"
OTHER = "uscc:91110108551385082Q"


def _status(subject: str) -> dict[str, Any]:
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    unsigned = {
        "media_type": CREDIT_STATUS_MEDIA_TYPE,
        "subject": subject,
        "as_of": now,
        "issued_at": now,
        "entries": [],
        "class": "B",
        "issuer": {
            "key_id": key_id(key.public_key()),
            "public_key": public_key_to_b64(key.public_key()),
            "name": "register",
        },
    }
    return {**unsigned, "signature": {"alg": "Ed25519", "value": sign_document(key, unsigned)}}


def _client(answer_about: str, asked: list[str]) -> NotaryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["subject"])
        return httpx.Response(200, json=_status(answer_about))

    return NotaryClient("http://notary.test", "k", transport=httpx.MockTransport(handler))


def test_a_status_of_another_subject_is_refused() -> None:
    with (
        _client(OTHER, []) as client,
        pytest.raises(VerificationError, match="about uscc:91110108551385082Q") as caught,
    ):
        client.credit_status(OWNER)
    assert caught.value.step == "subject"


def test_the_subject_is_asked_for_and_compared_in_its_canonical_spelling() -> None:
    asked: list[str] = []
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "91350100m000100y43")
    with _client(OWNER, asked) as client:
        status = client.credit_status(f"USCC:{full_width}")
    assert asked == [OWNER] and status.subject == OWNER


def test_an_invalid_subject_is_refused_before_anything_is_sent() -> None:
    asked: list[str] = []
    with (
        _client(OWNER, asked) as client,
        pytest.raises(InvalidIdentifier, match="check character"),
    ):
        client.credit_status("uscc:91350100M000100Y44")
    assert asked == []
