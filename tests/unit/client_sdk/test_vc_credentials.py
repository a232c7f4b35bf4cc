"""Record credentials (``ipnotary.sdk.vc``) around the golden version 2 certificate: one verifies
under a court's policy and says what its certificate proves; whatever is changed in it, by anyone
or by its own issuer, fails at the step that names it; revocation is read from a signed list."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import CredentialStatus, verify_credential
from ipnotary.sdk._status_list import MIN_LIST_BITS, bit_is_set, decode_list, encode_list
from ipnotary.sdk.certificate import Certificate, format_timestamp
from ipnotary.sdk.errors import APIError, FormatError, TransportError, VerificationError
from ipnotary.sdk.policy import IssuerKey, TrustPolicy
from ipnotary.sdk.signing import public_key_to_b64
from ipnotary.sdk.vc import (
    CONTEXT_URL,
    StatusListEntry,
    add_data_integrity_proof,
    did_key,
    issue_record_credential,
    issue_status_list_credential,
)
from ipnotary.sdk.verify import verify_certificate

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
LIST_URL = "https://notary.example.cn/v1/credentials/status/0"
KEY = Ed25519PrivateKey.generate()  # the deployment's issuer key today, which signs credentials


def _policy(*extra: IssuerKey) -> TrustPolicy:
    policy = TrustPolicy.load(V2 / "policy.json")
    return policy.model_copy(update={"issuers": [*policy.issuers, *extra]})


POLICY = _policy(IssuerKey(public_key=public_key_to_b64(KEY.public_key()), name="today's key"))
CERTIFICATE = Certificate.from_json((V2 / "certificate.json").read_bytes())


def _credential(status: StatusListEntry | None = None, **options: Any) -> dict[str, Any]:
    return issue_record_credential(CERTIFICATE, POLICY, KEY, status=status, **options)


def _resigned(credential: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> Any:
    """``credential`` changed and signed again with the issuer's own key: a lie by the issuer."""
    unsigned = {k: copy.deepcopy(v) for k, v in credential.items() if k != "proof"}
    change(unsigned)
    return add_data_integrity_proof(unsigned, KEY, created=datetime.now(UTC))


def test_a_credential_verifies_and_says_what_its_certificate_proves() -> None:
    credential = _credential()
    result = verify_credential(credential, POLICY, content=V2 / "hello.txt")
    assert result.trusted and result.status is CredentialStatus.NOT_REVOCABLE
    assert result.issuer == did_key(KEY.public_key())
    assert result.steps[:4] == (
        "credential_format",
        "credential_proof",
        "credential_issuer",
        "credential_subject",
    )
    assert {"content", "leaf_hash", "witnesses", "timestamps", "time"} <= set(result.steps)
    offline = verify_certificate(CERTIFICATE, POLICY)
    assert result.certificate.proven_time == offline.proven_time
    subject = credential["credentialSubject"]
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2", CONTEXT_URL]
    assert credential["validFrom"] == CERTIFICATE.issued_at
    assert subject["recordKind"] == "evidence" and subject["recordId"] == CERTIFICATE.record_id
    assert subject["holder"] == {
        "principalId": "prn_fa0737ae4077f54a57233c0d5a3bd648",
        "name": "Acme",
    }
    assert subject["content"]["sha256"] == CERTIFICATE.record["content"]["sha256"]
    assert subject["content"]["cidV1"] == CERTIFICATE.record["content"]["cid_v1"]
    assert subject["provenTime"] == format_timestamp(offline.proven_time)
    assert subject["timeSource"] == "witnesses"
    assert {e["source"] for e in subject["timeEvidence"]} == {"witnesses", "timestamp_authority"}
    assert Certificate.from_json(subject["certificate"]) == CERTIFICATE
    # As bytes too, as a user saves and sends it.
    assert verify_credential(json.dumps(credential).encode(), POLICY).trusted


def test_without_a_policy_it_is_self_consistent_but_not_trusted() -> None:
    result = verify_credential(_credential(), None)
    assert not result.trusted and "credential_issuer" not in result.steps


def test_a_key_the_policy_does_not_list_fails_at_the_issuer() -> None:
    with pytest.raises(VerificationError) as failure:
        verify_credential(_credential(), _policy())
    assert failure.value.step == "credential_issuer"


def test_a_key_used_after_its_window_fails_at_the_issuer() -> None:
    retired = IssuerKey(
        public_key=public_key_to_b64(KEY.public_key()),
        not_after=format_timestamp(datetime.now(UTC) - timedelta(days=1)),
    )
    with pytest.raises(VerificationError) as failure:
        verify_credential(_credential(), _policy(retired))
    assert failure.value.step == "credential_issuer"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for name in parents:
            node = node[name]
        node[last] = value

    return change


# Changed by someone without the issuer's key: the proof no longer covers the document.
FORGED = {
    "the record id": _set("credentialSubject.recordId", "ev_" + "0" * 32),
    "the proven time": _set("credentialSubject.provenTime", "2020-01-01T00:00:00.000000Z"),
    "the certificate's record": _set("credentialSubject.certificate.record.metadata.title", "U"),
    "validFrom": _set("validFrom", "2020-01-01T00:00:00.000000Z"),
    "the issuer's name for the key": _set(
        "issuer", did_key(Ed25519PrivateKey.generate().public_key())
    ),
}


@pytest.mark.parametrize("what", sorted(FORGED))
def test_a_credential_changed_by_anyone_fails_at_its_proof(what: str) -> None:
    credential = _credential()
    FORGED[what](credential)
    with pytest.raises(VerificationError) as failure:
        verify_credential(credential, POLICY)
    assert failure.value.step == "credential_proof"


# Changed and signed again by the issuer itself: the certificate inside contradicts it.
LIES = {
    "another record id": (
        _set("credentialSubject.recordId", "ev_" + "0" * 32),
        "credential_subject",
    ),
    "another holder": (_set("credentialSubject.holder.name", "Someone Else"), "credential_subject"),
    "another digest": (_set("credentialSubject.content.sha256", "00" * 32), "credential_subject"),
    "a claim the record lacks": (
        _set("credentialSubject.commitment", "ab" * 32),
        "credential_subject",
    ),
    "an earlier validFrom": (
        _set("validFrom", "2026-11-01T00:00:00.000000Z"),
        "credential_subject",
    ),
    "a record altered inside the certificate": (
        _set("credentialSubject.certificate.record.metadata.title", "U"),
        "leaf_hash",
    ),
    "a certificate not signed by its issuer": (
        _set("credentialSubject.certificate.signature.value", "A" * 86),
        "signature",
    ),
}


@pytest.mark.parametrize("what", sorted(LIES))
def test_what_the_issuer_says_beyond_its_certificate_fails_at_the_step_it_contradicts(
    what: str,
) -> None:
    change, step = LIES[what]
    with pytest.raises(VerificationError) as failure:
        verify_credential(_resigned(_credential(), change), POLICY)
    assert failure.value.step == step


def test_a_time_the_verifier_cannot_confirm_is_reported_not_taken() -> None:
    # Issued under no policy, the credential states the operator's own time; a court's policy
    # proves the witnesses' time instead, and that is what the result holds.
    credential = issue_record_credential(CERTIFICATE, None, KEY)
    result = verify_credential(credential, POLICY)
    assert result.certificate.time_source.value == "witnesses"
    assert any("under its issuer's policy" in note for note in result.notes)


def test_another_file_fails_at_content() -> None:
    with pytest.raises(VerificationError) as failure:
        verify_credential(_credential(), POLICY, content=b"hello world!")
    assert failure.value.step == "content"


SHAPES = {
    "an unknown member": lambda d: d.update(evidence=[{"type": "Evidence"}]),
    "another context": lambda d: d.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
    "another type": lambda d: d.update(type=["VerifiableCredential"]),
    "no certificate": lambda d: d["credentialSubject"].pop("certificate"),
    "a proof without its time": lambda d: d["proof"].pop("created"),
    "a status of another kind": lambda d: d.update(
        credentialStatus={"type": "StatusList2021Entry"}
    ),
    "over the size limit": lambda d: d["credentialSubject"].update(padding="x" * 400_000),
}


@pytest.mark.parametrize("what", sorted(SHAPES))
def test_a_document_of_another_shape_fails_at_its_format(what: str) -> None:
    credential = _credential()
    SHAPES[what](credential)
    with pytest.raises(VerificationError) as failure:
        verify_credential(credential, POLICY)
    assert failure.value.step == "credential_format"


# -- revocation ---------------------------------------------------------------------------------

ENTRY = StatusListEntry(LIST_URL, 94_567)


def _list(revoked: list[int], key: Ed25519PrivateKey = KEY, url: str = LIST_URL) -> Any:
    return issue_status_list_credential(url, revoked, key, valid_from=datetime.now(UTC))


def test_a_revocable_credential_is_active_until_its_list_revokes_it() -> None:
    credential = _credential(ENTRY)
    unchecked = verify_credential(credential, POLICY)
    assert unchecked.status is CredentialStatus.NOT_CHECKED and unchecked.status_list == LIST_URL
    active = verify_credential(credential, POLICY, status_list=_list([1, 94_566, 94_568]))
    assert active.status is CredentialStatus.ACTIVE and active.steps[-1] == "credential_status"
    with pytest.raises(VerificationError) as failure:
        verify_credential(credential, POLICY, status_list=_list([94_567]))
    assert failure.value.step == "credential_status" and "revoked" in failure.value.reason


BAD_LISTS = {
    "signed by another key": lambda: _list([], key=Ed25519PrivateKey.generate()),
    "of another URL": lambda: _list([], url=LIST_URL.replace("/0", "/1")),
    "changed after it was signed": lambda: {
        **_list([94_567]),
        "credentialSubject": {
            **_list([94_567])["credentialSubject"],
            "encodedList": encode_list([]),
        },
    },
    "for suspension": lambda: _resigned(
        _list([]), _set("credentialSubject.statusPurpose", "suspension")
    ),
    "of another type": lambda: _resigned(_list([]), _set("type", ["VerifiableCredential"])),
    "too short to hide anyone": lambda: _resigned(
        _list([]),
        _set("credentialSubject.encodedList", "u" + _b64url(gzip.compress(bytes(1024), mtime=0))),
    ),
    "not JSON": lambda: b"<html>",
}


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("what", sorted(BAD_LISTS))
def test_a_status_list_the_issuer_did_not_make_for_it_fails_at_the_status(what: str) -> None:
    with pytest.raises(VerificationError) as failure:
        verify_credential(_credential(ENTRY), POLICY, status_list=BAD_LISTS[what]())
    assert failure.value.step == "credential_status"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_the_status_list_is_fetched_from_the_url_the_credential_names() -> None:
    asked: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=_list([94_567]))

    with pytest.raises(VerificationError) as failure:
        verify_credential(_credential(ENTRY), POLICY, fetch_status=True, http=_client(serve))
    assert failure.value.step == "credential_status" and asked == [LIST_URL]


def test_a_list_that_cannot_be_fetched_is_no_verdict() -> None:
    gone = _client(lambda request: httpx.Response(404, json={"code": "no_status_list"}))
    with pytest.raises(APIError) as answered:
        verify_credential(_credential(ENTRY), POLICY, fetch_status=True, http=gone)
    assert answered.value.status == 404

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportError):
        verify_credential(_credential(ENTRY), POLICY, fetch_status=True, http=_client(down))


def test_an_entry_counts_from_the_left_of_the_first_byte() -> None:
    bits = decode_list(encode_list([0, 9, MIN_LIST_BITS - 1]))
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert [i for i in range(16) if bit_is_set(bits, i)] == [0, 9]


def _respelled() -> str:
    """A list's text whose last character differs only in bits base64 leaves unused: it decodes
    to the same bytes, and is another document."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    text = next(t for t in (encode_list([i]) for i in range(64)) if len(t[1:]) % 4)
    return text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]


HOSTILE_LISTS = {
    # 8 MiB of zeros in 8 KiB: it must be refused before it is inflated whole.
    "a decompression bomb": "u" + _b64url(gzip.compress(bytes(8 * 1024 * 1024 + 8), mtime=0)),
    "no GZIP": "u" + _b64url(bytes(MIN_LIST_BITS // 8)),
    "another multibase": "z" + "1" * 40,
    "two GZIP streams": "u" + _b64url(gzip.compress(bytes(MIN_LIST_BITS // 8), mtime=0) * 2),
    "base64 with its unused bits set": _respelled(),
}


@pytest.mark.parametrize("what", sorted(HOSTILE_LISTS))
def test_a_hostile_encoded_list_is_refused(what: str) -> None:
    with pytest.raises(FormatError):
        decode_list(HOSTILE_LISTS[what])
