"""RFC 3161 against a real TSA: OpenSSL's ``openssl ts -reply`` on loopback (``tests/tsa.py``).

Our client asks it for tokens (RSA-2048 and ECDSA P-256 signers), our verifier accepts them, and the
same stored token passes ``openssl ts -verify``, an independent checker. What our verifier refuses
(another digest, another CA, a flipped signature byte), openssl refuses too. Without ``openssl`` the
tests skip (and fail under ``CI=true``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.timestamp import (
    TimestampCheck,
    TimestampError,
    TimestampVerificationError,
    build_request,
    read_token,
    request_token,
    token_from_response,
    verify_token,
)
from tests.integration.conftest import record_measurement
from tests.tsa import (
    TSA_POLICY,
    OpenSSLTimestampAuthority,
    TestCA,
    openssl_tsa,  # noqa: F401 (a fixture)
    openssl_tsa_ec,  # noqa: F401 (a fixture)
    require_openssl,
)

DIGEST = hashlib.sha256(b"checkpoint: origin example.org/log, size 42\n").digest()
OTHER_DIGEST = hashlib.sha256(b"some other checkpoint\n").digest()


@pytest.fixture(params=["openssl_tsa", "openssl_tsa_ec"], ids=["rsa", "ec"])
def tsa(request: pytest.FixtureRequest) -> OpenSSLTimestampAuthority:
    """Each test against both signers, through the fixtures other suites import from tests.tsa."""
    server: OpenSSLTimestampAuthority = request.getfixturevalue(request.param)
    return server


def openssl_verify(
    tsa: OpenSSLTimestampAuthority,
    token: bytes,
    digest: bytes,
    tmp: Path,
    *,
    ca_file: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``openssl ts -verify`` on a stored token, the way a third party would check it."""
    token_file = tmp / "token.tst"
    token_file.write_bytes(token)
    return subprocess.run(
        [
            tsa.openssl,
            "ts",
            "-verify",
            "-digest",
            digest.hex(),
            "-in",
            str(token_file),
            "-token_in",
            "-CAfile",
            str(ca_file or tsa.ca_file),
            "-untrusted",
            str(tsa.untrusted_file),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_token_from_a_real_tsa_verifies_here_and_in_openssl(
    tsa: OpenSSLTimestampAuthority, tmp_path: Path
) -> None:
    before = dt.datetime.now(dt.UTC)
    token = request_token(tsa.url, DIGEST)
    info = verify_token(token, digest=DIGEST, trusted_roots=[tsa.root_certificate])

    assert abs(info.gen_time - before) < dt.timedelta(seconds=5)
    assert info.digest == DIGEST and info.hash_algorithm == "sha256"
    assert info.policy == TSA_POLICY
    assert info.tsa_name == tsa.tsa_certificate.subject.rfc4514_string()
    assert info.nonce is not None
    sent = read_token(token)
    assert sent == info

    result = openssl_verify(tsa, token, DIGEST, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


def test_openssl_reads_our_request_as_we_meant_it(
    tsa: OpenSSLTimestampAuthority, tmp_path: Path
) -> None:
    query = tmp_path / "request.tsq"
    query.write_bytes(build_request(DIGEST, nonce=0xDEADBEEF, cert_req=True))
    text = subprocess.run(
        [tsa.openssl, "ts", "-query", "-in", str(query), "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Hash Algorithm: sha256" in text
    assert "Nonce: 0xDEADBEEF" in text
    assert "Certificate required: yes" in text
    # The imprint as openssl prints it: "0000 - ba d3 f2 ...-47 eb ...   <ascii>", 16 bytes a line.
    dumped = re.findall(r"^\s*[0-9a-f]{4} - (.{47})", text, flags=re.MULTILINE)
    assert "".join(dumped).replace(" ", "").replace("-", "") == DIGEST.hex()


def _flip_signature_byte(token: bytes) -> bytes:
    signature = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].contents
    offset = token.index(signature) + len(signature) // 2
    return token[:offset] + bytes([token[offset] ^ 0x01]) + token[offset + 1 :]


@pytest.mark.parametrize("attack", ["another-digest", "another-ca", "flipped-signature-byte"])
def test_what_we_refuse_openssl_refuses(
    tsa: OpenSSLTimestampAuthority, tmp_path: Path, attack: str
) -> None:
    token = request_token(tsa.url, DIGEST)
    digest, roots, ca_file, step = DIGEST, [tsa.root_certificate], tsa.ca_file, None
    if attack == "another-digest":
        digest, step = OTHER_DIGEST, TimestampCheck.IMPRINT
    elif attack == "another-ca":
        other = TestCA("Unrelated Root", tsa.key_type)
        roots, step = [other.certificate], TimestampCheck.CERTIFICATE_CHAIN
        ca_file = tmp_path / "other-root.pem"
        ca_file.write_bytes(other.certificate.public_bytes(serialization.Encoding.PEM))
    else:
        token, step = _flip_signature_byte(token), TimestampCheck.SIGNATURE

    with pytest.raises(TimestampVerificationError) as err:
        verify_token(token, digest=digest, trusted_roots=roots)
    assert err.value.step == step

    result = openssl_verify(tsa, token, digest, tmp_path, ca_file=ca_file)
    assert result.returncode != 0
    assert "Verification: FAILED" in result.stdout


def test_tsa_under_an_intermediate_ca_verifies_with_the_root_alone(tmp_path: Path) -> None:
    with OpenSSLTimestampAuthority(
        tmp_path / "tsa", "ec", openssl=require_openssl(), intermediate=True
    ) as tsa:
        token = request_token(tsa.url, DIGEST)
    assert tsa.intermediate_certificates
    info = verify_token(token, digest=DIGEST, trusted_roots=[tsa.root_certificate])
    assert info.tsa_name == tsa.tsa_certificate.subject.rfc4514_string()
    assert openssl_verify(tsa, token, DIGEST, tmp_path).returncode == 0
    with pytest.raises(TimestampVerificationError) as err:  # the intermediate is no anchor
        verify_token(token, digest=DIGEST, trusted_roots=tsa.intermediate_certificates)
    assert err.value.step == TimestampCheck.CERTIFICATE_CHAIN


def test_token_without_embedded_certificate(tsa: OpenSSLTimestampAuthority, tmp_path: Path) -> None:
    reply = httpx.post(
        tsa.url,
        content=build_request(DIGEST, nonce=7, cert_req=False),
        headers={"Content-Type": "application/timestamp-query"},
    )
    token = token_from_response(reply.content, digest=DIGEST, nonce=7)
    assert read_token(token).tsa_name == ""
    with pytest.raises(TimestampVerificationError) as err:
        verify_token(token, digest=DIGEST, trusted_roots=[tsa.root_certificate])
    assert err.value.step == TimestampCheck.TSA_CERTIFICATE
    info = verify_token(
        token,
        digest=DIGEST,
        trusted_roots=[tsa.root_certificate],
        tsa_certificate=tsa.tsa_certificate,
    )
    assert info.tsa_name == tsa.tsa_certificate.subject.rfc4514_string()
    assert openssl_verify(tsa, token, DIGEST, tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (
            "rejection",
            TimestampError,
            "did not grant the time-stamp: status rejection (bad_request)",
        ),
        ("garbage", FormatError, "not valid DER"),
        (
            "wrong_content_type",
            TimestampError,
            "/ answered text/html, not application/timestamp-reply",
        ),
        ("server_error", TimestampError, "/ answered HTTP 500: the test TSA is failing on purpose"),
        ("slow", TimestampError, "/ could not be reached: ReadTimeout"),
    ],
)
def test_a_failing_tsa_is_reported_for_what_it_did(
    tsa: OpenSSLTimestampAuthority, fault: str, error: type[Exception], message: str
) -> None:
    tsa.fault = fault  # type: ignore[assignment]
    with pytest.raises(error) as err:
        request_token(tsa.url, DIGEST, timeout=1.0)
    assert message in str(err.value)


def test_the_tsa_stops_with_its_context(tmp_path: Path) -> None:
    with OpenSSLTimestampAuthority(tmp_path / "tsa", "ec", openssl=require_openssl()) as tsa:
        request_token(tsa.url, DIGEST)
    with pytest.raises(TimestampError, match="could not be reached"):
        request_token(tsa.url, DIGEST, timeout=2.0)


def test_cost_of_one_round_trip_and_one_verification(tmp_path: Path) -> None:
    """Not a timed assertion: the figures go to the end-of-run summary for the benchmark table."""
    openssl = require_openssl()
    lines = []
    for key_type in ("rsa", "ec"):
        with (
            OpenSSLTimestampAuthority(tmp_path / key_type, key_type, openssl=openssl) as tsa,
            httpx.Client() as client,
        ):
            request_token(tsa.url, DIGEST, client=client)  # warm up connection and caches
            trips, verifies, openssl_alone = [], [], []
            for _ in range(5):
                t0 = time.perf_counter()
                token = request_token(tsa.url, DIGEST, client=client)
                t1 = time.perf_counter()
                verify_token(token, digest=DIGEST, trusted_roots=[tsa.root_certificate])
                t2 = time.perf_counter()
                tsa.reply(tsa.requests[-1])
                t3 = time.perf_counter()
                trips.append(t1 - t0)
                verifies.append(t2 - t1)
                openssl_alone.append(t3 - t2)
        lines.append(
            f"RFC 3161 {key_type}: request_token {statistics.median(trips) * 1e3:.1f} ms "
            f"(of which openssl ts -reply {statistics.median(openssl_alone) * 1e3:.1f} ms), "
            f"verify_token {statistics.median(verifies) * 1e3:.1f} ms (median of 5)"
        )
    for line in lines:
        record_measurement(line)
    assert len(lines) == 2
