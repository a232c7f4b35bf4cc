"""RFC 3161 client and verifier, offline: requests as DER, the assets made by ``openssl ts -reply``
(``tests/assets/timestamp``), and a TSA replaced by ``httpx.MockTransport``.

The real TSA round trip and the cross-check with ``openssl ts -verify`` are in
``tests/integration/test_tsa_openssl.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import cms, tsp
from cryptography import x509

from ipnotary.sdk.errors import ClientSDKError, FormatError
from ipnotary.sdk.timestamp import (
    MAX_RESPONSE_BYTES,
    MAX_TOKEN_BYTES,
    QUERY_MEDIA_TYPE,
    REPLY_MEDIA_TYPE,
    TimestampCheck,
    TimestampError,
    TimestampVerificationError,
    build_request,
    read_token,
    request_token,
    token_from_response,
    verify_token,
)
from tests.conftest import free_port

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "timestamp"
MANIFEST: dict[str, Any] = json.loads((ASSETS / "manifest.json").read_text())
DIGEST = bytes.fromhex(MANIFEST["digest"])
NONCE: int = MANIFEST["nonce"]
OTHER_DIGEST = bytes(32)
ERRORS: dict[str, type[Exception]] = {
    "FormatError": FormatError,
    "TimestampError": TimestampError,
    "TimestampVerificationError": TimestampVerificationError,
}


def _asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


def _cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(_asset(name))


ROOT = _cert("root.pem")
VALID = _asset("valid.tst")
VALID_RESPONSE = _asset("valid-response.tsr")


def _cases(call: str) -> list[Any]:
    return [
        pytest.param(name, case, id=name)
        for name, case in sorted(MANIFEST["cases"].items())
        if case["call"] == call
    ]


def _expect(case: dict[str, Any]) -> Any:
    return pytest.raises(ERRORS[case["error"]], match=re.escape(case["message"]))


# --- requests -------------------------------------------------------------------------------------


def test_request_round_trips_through_asn1crypto() -> None:
    der = build_request(DIGEST, nonce=NONCE, cert_req=True)
    req = tsp.TimeStampReq.load(der, strict=True)
    assert req["version"].native == "v1"
    assert req["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert req["message_imprint"]["hashed_message"].native == DIGEST
    assert req["nonce"].native == NONCE
    assert req["cert_req"].native is True
    assert req["req_policy"].native is None
    assert req.dump(force=True) == der  # DER: re-encoding changes nothing


def test_request_without_nonce_or_cert_req_leaves_them_out() -> None:
    req = tsp.TimeStampReq.load(build_request(DIGEST, cert_req=False), strict=True)
    assert req["nonce"].native is None
    assert req["cert_req"].native is False
    assert b"\x01\x01\xff" not in build_request(DIGEST, cert_req=False)  # no BOOLEAN TRUE on wire


@pytest.mark.parametrize("digest", [b"", b"\x00" * 31, b"\x00" * 64, "00" * 32])
def test_request_refuses_anything_but_a_sha256_digest(digest: Any) -> None:
    with pytest.raises(FormatError, match="32-byte SHA-256 digest"):
        build_request(digest)


@pytest.mark.parametrize("nonce", [-1, 2**160])
def test_request_refuses_out_of_range_nonces(nonce: int) -> None:
    with pytest.raises(FormatError, match="nonce"):
        build_request(DIGEST, nonce=nonce)


# --- responses ------------------------------------------------------------------------------------


def test_valid_response_yields_its_token() -> None:
    assert token_from_response(VALID_RESPONSE, digest=DIGEST, nonce=NONCE) == VALID


@pytest.mark.parametrize(("name", "case"), _cases("token_from_response"))
def test_hostile_response_is_refused_with_a_clear_message(name: str, case: dict[str, Any]) -> None:
    with _expect(case):
        token_from_response(_asset(name), digest=DIGEST, nonce=NONCE)


def test_response_for_the_wrong_digest_names_both_digests() -> None:
    with pytest.raises(TimestampError) as err:
        token_from_response(VALID_RESPONSE, digest=OTHER_DIGEST, nonce=NONCE)
    assert DIGEST.hex() in str(err.value) and OTHER_DIGEST.hex() in str(err.value)


def test_nonce_is_only_checked_when_given() -> None:
    other_nonce = _asset("response-for-another-nonce.tsr")
    assert (
        read_token(token_from_response(other_nonce, digest=DIGEST, nonce=None)).nonce == NONCE + 1
    )


def test_oversized_response_is_refused_before_parsing() -> None:
    with pytest.raises(FormatError, match=f"over the limit of {MAX_RESPONSE_BYTES}"):
        token_from_response(b"\x30" * (MAX_RESPONSE_BYTES + 1), digest=DIGEST, nonce=NONCE)


# --- reading tokens (untrusted) -------------------------------------------------------------------


def test_read_token_shows_what_the_tsa_said() -> None:
    info = read_token(VALID)
    assert info.gen_time.tzinfo == dt.UTC
    assert dt.datetime(2026, 1, 1, tzinfo=dt.UTC) < info.gen_time < dt.datetime.now(dt.UTC)
    assert info.hash_algorithm == "sha256" and info.digest == DIGEST
    assert info.nonce == NONCE
    assert info.policy == "1.3.6.1.4.1.99999.3161.1"
    assert info.tsa_name == "CN=Test TSA (ec),O=IP Notary tests"
    assert info.accuracy_seconds == pytest.approx(1.5001)
    assert info.serial_number > 0


def test_read_token_does_not_verify_so_a_backdated_token_reads_backdated() -> None:
    forged = read_token(_asset("token-backdated-gen-time.tst"))
    assert read_token(VALID).gen_time - forged.gen_time == dt.timedelta(minutes=30)
    with pytest.raises(TimestampVerificationError):
        verify_token(_asset("token-backdated-gen-time.tst"), digest=DIGEST, trusted_roots=[ROOT])


def test_read_token_without_embedded_certificate_has_no_tsa_name() -> None:
    assert read_token(_asset("valid-without-certificate.tst")).tsa_name == ""


@pytest.mark.parametrize(
    ("name", "case"), [p for p in _cases("verify_token") if p.values[1]["error"] == "FormatError"]
)
def test_read_token_refuses_junk(name: str, case: dict[str, Any]) -> None:
    with _expect(case):
        read_token(_asset(name))


@pytest.mark.parametrize("junk", [b"\x00", b"\x30\x80\x00\x00", b"\xff" * 100, VALID_RESPONSE])
def test_read_token_refuses_bytes_that_are_not_a_token(junk: bytes) -> None:
    with pytest.raises(FormatError):
        read_token(junk)


def test_read_token_refuses_oversized_tokens() -> None:
    with pytest.raises(FormatError, match=f"over the limit of {MAX_TOKEN_BYTES}"):
        read_token(VALID + b"\x00" * MAX_TOKEN_BYTES)


def test_read_token_refuses_non_bytes() -> None:
    with pytest.raises(FormatError, match="must be bytes"):
        read_token(VALID.hex())  # type: ignore[arg-type]


# --- verifying tokens -----------------------------------------------------------------------------


def test_valid_token_verifies_against_its_root() -> None:
    info = verify_token(VALID, digest=DIGEST, trusted_roots=[ROOT])
    assert info == read_token(VALID)


def test_token_with_an_intermediate_verifies_with_the_root_alone() -> None:
    token = _asset("valid-with-intermediate.tst")
    certificates = cms.ContentInfo.load(token)["content"]["certificates"]
    encodings = [c.dump() for c in certificates]
    assert len(encodings) == 2 and encodings != sorted(encodings)  # OpenSSL's order, not DER's
    info = verify_token(token, digest=DIGEST, trusted_roots=[ROOT])
    assert info.tsa_name == "CN=Test TSA (ec),O=IP Notary tests"


def test_token_without_certificate_verifies_with_the_tsa_certificate() -> None:
    token = _asset("valid-without-certificate.tst")
    info = verify_token(
        token, digest=DIGEST, trusted_roots=[ROOT], tsa_certificate=_cert("tsa.pem")
    )
    assert info.tsa_name == "CN=Test TSA (ec),O=IP Notary tests"
    with pytest.raises(TimestampVerificationError, match="pass the TSA certificate") as err:
        verify_token(token, digest=DIGEST, trusted_roots=[ROOT])
    assert err.value.step == TimestampCheck.TSA_CERTIFICATE


def test_token_checked_against_another_digest_fails_at_imprint() -> None:
    with pytest.raises(TimestampVerificationError) as err:
        verify_token(VALID, digest=OTHER_DIGEST, trusted_roots=[ROOT])
    assert err.value.step == TimestampCheck.IMPRINT
    assert DIGEST.hex() in str(err.value) and OTHER_DIGEST.hex() in str(err.value)


def test_token_checked_against_another_root_fails_at_the_chain() -> None:
    with pytest.raises(TimestampVerificationError, match="unable to get local issuer") as err:
        verify_token(VALID, digest=DIGEST, trusted_roots=[_cert("other-root.pem")])
    assert err.value.step == TimestampCheck.CERTIFICATE_CHAIN


def test_the_tsa_certificate_is_not_a_trust_anchor() -> None:
    # Trusting the leaf alone must not do: the chain has to end at a root the verifier holds.
    with pytest.raises(TimestampVerificationError) as err:
        verify_token(VALID, digest=DIGEST, trusted_roots=[_cert("tsa.pem")])
    assert err.value.step == TimestampCheck.CERTIFICATE_CHAIN


def test_a_self_signed_intermediate_or_tsa_certificate_is_not_a_back_door_root() -> None:
    # rfc3161-client trusts every certificate it is handed; only trusted_roots may be anchors.
    unknown = _asset("token-from-unknown-tsa.tst")
    other_root = _cert("other-root.pem")
    for extra in ({"intermediates": [other_root]}, {"tsa_certificate": other_root}):
        with pytest.raises(TimestampVerificationError, match="is self-signed") as err:
            verify_token(unknown, digest=DIGEST, trusted_roots=[ROOT], **extra)
        assert err.value.step == TimestampCheck.CERTIFICATE_CHAIN
    assert (
        verify_token(
            unknown, digest=DIGEST, trusted_roots=[ROOT, other_root], intermediates=[other_root]
        ).digest
        == DIGEST
    )


def test_no_trusted_roots_means_no_verification() -> None:
    with pytest.raises(TimestampVerificationError, match="no trusted TSA root") as err:
        verify_token(VALID, digest=DIGEST, trusted_roots=[])
    assert err.value.step == TimestampCheck.CERTIFICATE_CHAIN


@pytest.mark.parametrize(("name", "case"), _cases("verify_token"))
def test_hostile_token_fails_at_the_named_step(name: str, case: dict[str, Any]) -> None:
    digest = bytes.fromhex(case.get("digest", MANIFEST["digest"]))
    with _expect(case) as err:
        verify_token(_asset(name), digest=digest, trusted_roots=[ROOT])
    assert getattr(err.value, "step", None) == case.get("step")


def _signed_regions(token: bytes) -> dict[str, range]:
    signed = cms.ContentInfo.load(token)["content"]
    signer = signed["signer_infos"][0]
    parts = {
        "tst_info": bytes(signed["encap_content_info"]["content"]),
        "signed_attrs": signer["signed_attrs"].contents,
        "signature": signer["signature"].contents,
    }
    regions = {}
    for name, part in parts.items():
        assert token.count(part) == 1
        start = token.index(part)
        regions[name] = range(start, start + len(part))
    return regions


@pytest.mark.parametrize("region", ["tst_info", "signed_attrs", "signature"])
def test_every_flipped_byte_of_what_the_tsa_signed_is_refused(region: str) -> None:
    accepted = []
    for offset in _signed_regions(VALID)[region]:
        flipped = VALID[:offset] + bytes([VALID[offset] ^ 0x01]) + VALID[offset + 1 :]
        try:
            verify_token(flipped, digest=DIGEST, trusted_roots=[ROOT])
        except (TimestampVerificationError, FormatError):
            continue
        accepted.append(offset)
    assert accepted == []


def _unsigned_labels(token: bytes) -> set[int]:
    """Offsets of the fields no signature covers and OpenSSL does not check: the SignedData and
    SignerInfo version numbers and the SignerInfo's signatureAlgorithm (the key decides)."""
    signed = cms.ContentInfo.load(token)["content"]
    signer = signed["signer_infos"][0]
    offsets = set()
    fields = [
        (signed, signed["version"]),
        (signer, signer["version"]),
        (signer, signer["signature_algorithm"]),
    ]
    for parent, field in fields:
        encoded = field.dump()
        start = token.index(encoded, token.index(parent.contents))
        offsets |= set(range(start + len(encoded) - len(field.contents), start + len(encoded)))
    return offsets


def test_flipping_any_byte_of_the_token_is_refused_or_changes_nothing_it_says() -> None:
    unsigned = _unsigned_labels(VALID)
    accepted = []
    for offset in range(len(VALID)):
        flipped = VALID[:offset] + bytes([VALID[offset] ^ 0x01]) + VALID[offset + 1 :]
        try:
            info = verify_token(flipped, digest=DIGEST, trusted_roots=[ROOT])
        except (TimestampVerificationError, FormatError):
            continue
        assert info == read_token(VALID)
        accepted.append(offset)
    assert set(accepted) <= unsigned, sorted(set(accepted) - unsigned)


def test_verify_refuses_a_wrong_length_digest() -> None:
    with pytest.raises(FormatError, match="32-byte"):
        verify_token(VALID, digest=DIGEST[:20], trusted_roots=[ROOT])


def test_error_tree() -> None:
    assert issubclass(TimestampVerificationError, TimestampError)
    assert issubclass(TimestampError, ClientSDKError)
    assert issubclass(FormatError, ClientSDKError)
    err = TimestampVerificationError(TimestampCheck.SIGNATURE, "altered")
    assert err.step == "signature" and err.reason == "altered" and "'signature'" in str(err)


# --- the HTTP client, against a mock TSA ----------------------------------------------------------


def _client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _reply(body: bytes, ctype: str = REPLY_MEDIA_TYPE, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": ctype})


def test_request_token_posts_a_query_and_returns_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "randbits", lambda bits: NONCE)  # the asset's nonce
    seen: list[httpx.Request] = []

    def tsa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _reply(VALID_RESPONSE, ctype=f"{REPLY_MEDIA_TYPE}; charset=binary")

    with _client(tsa) as client:
        assert request_token("https://tsa.example/", DIGEST, client=client) == VALID
    (request,) = seen
    assert request.method == "POST" and request.headers["content-type"] == QUERY_MEDIA_TYPE
    query = tsp.TimeStampReq.load(request.content)
    assert query["nonce"].native == NONCE and query["cert_req"].native is True
    assert query["message_imprint"]["hashed_message"].native == DIGEST


def test_request_token_uses_a_fresh_nonce_each_time() -> None:
    nonces = []

    def tsa(request: httpx.Request) -> httpx.Response:
        nonces.append(tsp.TimeStampReq.load(request.content)["nonce"].native)
        return _reply(VALID_RESPONSE)

    with _client(tsa) as client:
        for _ in range(3):
            # The stored reply echoes the asset's nonce, never ours: a replay, refused.
            with pytest.raises(TimestampError, match="replayed or mixed-up"):
                request_token("https://tsa.example/", DIGEST, client=client)
    assert len(set(nonces)) == 3 and all(0 <= n < 2**64 for n in nonces)


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            _reply(b"<h1>down</h1>", "text/html", 503),
            TimestampError,
            "answered HTTP 503: <h1>down</h1>",
        ),
        (
            _reply(VALID_RESPONSE, "text/html"),
            TimestampError,
            "answered text/html, not application/",
        ),
        (_reply(VALID_RESPONSE, ""), TimestampError, "answered no content type"),
        (_reply(b"\x30" * (MAX_RESPONSE_BYTES + 1)), FormatError, "over the limit"),
        (_reply(_asset("response-rejected-sha1-imprint.tsr")), TimestampError, "status rejection"),
        (_reply(b"garbage"), FormatError, "not valid DER"),
    ],
    ids=["http-503", "html", "no-content-type", "oversized", "rejection", "garbage"],
)
def test_request_token_refuses_bad_replies(
    reply: httpx.Response, error: type[Exception], message: str
) -> None:
    with _client(lambda request: reply) as client, pytest.raises(error, match=re.escape(message)):
        request_token("https://tsa.example/", DIGEST, client=client)


def test_request_token_stops_reading_an_endless_reply() -> None:
    served = 0

    def endless() -> Any:
        nonlocal served
        while True:
            served += 4096
            yield b"\x30" * 4096

    reply = httpx.Response(200, headers={"Content-Type": REPLY_MEDIA_TYPE}, content=endless())
    with (
        _client(lambda request: reply) as client,
        pytest.raises(FormatError, match="over the limit"),
    ):
        request_token("https://tsa.example/", DIGEST, client=client)
    assert served <= MAX_RESPONSE_BYTES + 8192


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_transport_errors_become_timestamp_errors(exc: httpx.HTTPError) -> None:
    def tsa(request: httpx.Request) -> httpx.Response:
        raise exc

    with _client(tsa) as client, pytest.raises(TimestampError, match="could not be reached") as err:
        request_token("https://tsa.example/", DIGEST, client=client)
    assert err.value.__cause__ is exc


def test_unreachable_tsa_is_a_timestamp_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(TimestampError, match=f"the TSA at {re.escape(url)} could not be reached"):
        request_token(url, DIGEST, timeout=2.0)
