"""Regenerate the RFC 3161 assets: ``python -m tests.assets.timestamp.make_hostile`` (needs
openssl).

Every token and response here comes from a real ``openssl ts -reply`` (:mod:`tests.tsa`) with a
throwaway ECDSA P-256 CA whose keys are discarded; an attack then changes the bytes the way an
attacker could (the signature cannot be recomputed without the TSA key). Writes ``root.pem`` (the
trust anchor), ``other-root.pem`` (an unrelated root), ``tsa.pem`` (the signer, for the token made
without ``certReq``), ``valid.tst`` / ``valid-response.tsr`` / ``valid-without-certificate.tst`` /
``valid-with-intermediate.tst`` (signed under an intermediate CA the token carries),
one file per attack, and ``manifest.json`` (see README.md). Regenerating changes every byte; the
tests only need the files to agree with each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.tsa import OpenSSLTimestampAuthority, TestCA, TimeStampResp, find_openssl

HERE = Path(__file__).resolve().parent
DIGEST = hashlib.sha256(b"IP notary test checkpoint\n").digest()
OTHER_DIGEST = hashlib.sha256(b"another checkpoint\n").digest()
NONCE = 0x0123456789ABCDEF


def _request(
    digest: bytes, *, nonce: int | None = NONCE, cert_req: bool = True, algorithm: str = "sha256"
) -> bytes:
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return bytes(tsp.TimeStampReq(fields).dump())


def _token(response: bytes) -> bytes:
    return bytes(TimeStampResp.load(response)["time_stamp_token"].dump())


def _signed_data(token: bytes) -> cms.SignedData:
    return cms.ContentInfo.load(token)["content"]


def _rebuild(token: bytes, **changes: Any) -> bytes:
    """The token with SignedData fields replaced (``None`` drops an optional one); the signed parts
    (encapsulated TSTInfo, signed attributes, signature) keep their original bytes."""
    sd = _signed_data(token)
    fields = {name: sd[name] for name, _, *_ in sd._fields if sd[name].native is not None}
    fields.update(changes)
    fields = {k: v for k, v in fields.items() if v is not None}
    return bytes(
        cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(fields)}).dump()
    )


def _tst_der(token: bytes) -> bytes:
    return bytes(_signed_data(token)["encap_content_info"]["content"])


def _replace_tst(token: bytes, change: dict[str, Any]) -> bytes:
    """The token with TSTInfo fields changed in place (same length), the signature left alone."""
    old = _tst_der(token)
    tst = tsp.TSTInfo.load(old)
    kept = {name: tst[name] for name, *_ in tst._fields if tst[name].native is not None}
    new_tst = tsp.TSTInfo({**kept, **change})
    new = bytes(new_tst.dump(force=True))
    assert len(new) == len(old) and token.count(old) == 1, "attack must keep the token's layout"
    return token.replace(old, new)


def _reissue(
    ca: TestCA, cert: x509.Certificate, *, common_name: str | None = None
) -> x509.Certificate:
    """The same key, issuer and serial as ``cert``, signed again by its CA, with one change: the
    validity starts a minute earlier, or the subject gets ``common_name``."""
    subject = cert.subject
    if common_name is not None:
        subject = x509.Name(
            [a for a in subject if a.oid != x509.NameOID.COMMON_NAME]
            + [x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc - dt.timedelta(minutes=0 if common_name else 1))
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(ca.key, hashes.SHA256())


def _with_certificate(token: bytes, cert: x509.Certificate) -> bytes:
    der = cert.public_bytes(serialization.Encoding.DER)
    return _rebuild(
        token,
        certificates=cms.CertificateSet(
            [cms.CertificateChoices({"certificate": asn1_x509.Certificate.load(der)})]
        ),
    )


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


def main() -> None:
    openssl = find_openssl()
    if openssl is None:
        raise SystemExit("openssl is needed to regenerate the RFC 3161 assets")
    ca = TestCA("Test TSA Root (assets)", "ec")
    other = TestCA("Unrelated Root (assets)", "ec")
    now = dt.datetime.now(dt.UTC)
    files: dict[str, bytes] = {}
    cases: dict[str, dict[str, Any]] = {}

    def case(
        name: str,
        data: bytes,
        call: str,
        error: str,
        message: str,
        step: str | None = None,
        **extra: Any,
    ) -> None:
        files[name] = data
        cases[name] = {"call": call, "error": error, "message": message, **extra}
        if step is not None:
            cases[name]["step"] = step

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with OpenSSLTimestampAuthority(work / "tsa", "ec", openssl=openssl, ca=ca) as tsa:
            valid_response = tsa.reply(_request(DIGEST))
            valid = _token(valid_response)
            files["valid-response.tsr"] = valid_response
            files["valid.tst"] = valid
            files["valid-without-certificate.tst"] = _token(
                tsa.reply(_request(DIGEST, cert_req=False))
            )
            files["root.pem"] = ca.certificate.public_bytes(serialization.Encoding.PEM)
            files["other-root.pem"] = other.certificate.public_bytes(serialization.Encoding.PEM)
            files["tsa.pem"] = tsa.tsa_certificate.public_bytes(serialization.Encoding.PEM)

            # --- responses: token_from_response(data, digest=DIGEST, nonce=NONCE) ---
            resp = "token_from_response"
            case(
                "response-rejected-sha1-imprint.tsr",
                tsa.reply(
                    _request(hashlib.sha1(b"x", usedforsecurity=False).digest(), algorithm="sha1")
                ),
                resp,
                "TimestampError",
                "status rejection (bad_alg)",
            )
            case(
                "response-waiting.tsr",
                bytes(
                    TimeStampResp(
                        {"status": {"status": "waiting", "status_string": ["come back later"]}}
                    ).dump()
                ),
                resp,
                "TimestampError",
                "status waiting",
            )
            case(
                "response-for-another-digest.tsr",
                tsa.reply(_request(OTHER_DIGEST)),
                resp,
                "TimestampError",
                f"time-stamped digest {OTHER_DIGEST.hex()}",
            )
            case(
                "response-for-another-nonce.tsr",
                tsa.reply(_request(DIGEST, nonce=NONCE + 1)),
                resp,
                "TimestampError",
                f"nonce {NONCE + 1}, not the nonce {NONCE}",
            )
            case(
                "response-without-nonce.tsr",
                tsa.reply(_request(DIGEST, nonce=None)),
                resp,
                "TimestampError",
                "answered with no nonce",
            )
            case(
                "response-sha512-imprint.tsr",
                tsa.reply(_request(hashlib.sha512(b"x").digest(), algorithm="sha512")),
                resp,
                "TimestampError",
                "sha512 imprint",
            )
            case(
                "response-granted-without-token.tsr",
                bytes(TimeStampResp({"status": {"status": "granted"}}).dump()),
                resp,
                "FormatError",
                "carries no token",
            )
            case(
                "response-trailing-garbage.tsr",
                valid_response + b"\x00\x00",
                resp,
                "FormatError",
                "not valid DER",
            )
            case(
                "response-truncated.tsr", valid_response[:-20], resp, "FormatError", "not valid DER"
            )
            case(
                "response-html-error-page.tsr",
                b"<html><body>502 Bad Gateway</body></html>",
                resp,
                "FormatError",
                "not valid DER",
            )
            case(
                "response-token-not-signed-data.tsr",
                bytes(
                    TimeStampResp(
                        {
                            "status": {"status": "granted"},
                            "time_stamp_token": {"content_type": "data", "content": b"trust me"},
                        }
                    ).dump()
                ),
                resp,
                "FormatError",
                "not signed data",
            )

            # --- tokens: verify_token(data, digest=DIGEST, trusted_roots=[root]) ---
            ver = "verify_token"
            case(
                "token-signature-flipped.tst",
                _flip(valid, len(valid) - 5),
                ver,
                "TimestampVerificationError",
                "signature does not verify",
                step="signature",
            )
            gen_time = tsp.TSTInfo.load(_tst_der(valid))["gen_time"].native
            case(
                "token-backdated-gen-time.tst",
                _replace_tst(valid, {"gen_time": gen_time - dt.timedelta(minutes=30)}),
                ver,
                "TimestampVerificationError",
                "signature does not verify",
                step="signature",
            )
            case(
                "token-imprint-replaced.tst",
                _replace_tst(
                    valid,
                    {
                        "message_imprint": {
                            "hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": OTHER_DIGEST,
                        }
                    },
                ),
                ver,
                "TimestampVerificationError",
                "signature does not verify",
                step="signature",
                digest=OTHER_DIGEST.hex(),
            )
            case(
                "token-for-another-digest.tst",
                _token(tsa.reply(_request(OTHER_DIGEST))),
                ver,
                "TimestampVerificationError",
                f"the data's digest is {DIGEST.hex()}",
                step="imprint",
            )
            case(
                "token-certificate-stripped.tst",
                _rebuild(valid, certificates=None),
                ver,
                "TimestampVerificationError",
                "does not carry its signer's certificate",
                step="tsa_certificate",
            )
            same_name = _reissue(ca, tsa.tsa_certificate)
            case(
                "token-signer-certificate-substituted.tst",
                _with_certificate(valid, same_name),
                ver,
                "TimestampVerificationError",
                "not the signer's",
                step="signing_certificate",
            )
            renamed = _reissue(ca, tsa.tsa_certificate, common_name="Forged TSA")
            case(
                "token-signer-certificate-renamed.tst",
                _with_certificate(valid, renamed),
                ver,
                "TimestampVerificationError",
                "not the signer certificate",
                step="tsa_certificate",
            )
            case(
                "token-two-signatures.tst",
                _rebuild(
                    valid,
                    signer_infos=cms.SignerInfos([_signed_data(valid)["signer_infos"][0]] * 2),
                ),
                ver,
                "FormatError",
                "2 signatures, not exactly one",
            )
            case(
                "token-tst-info-version-2.tst",
                _replace_tst(valid, {"version": 2}),
                ver,
                "FormatError",
                "TSTInfo version v2, not v1",
            )
            case("token-truncated.tst", valid[:-30], ver, "FormatError", "not valid DER")
            case("token-trailing-byte.tst", valid + b"\x00", ver, "FormatError", "not valid DER")
            case("token-empty.tst", b"", ver, "FormatError", "empty")
            case(
                "token-not-der.tst", b"-----BEGIN PKCS7-----\n", ver, "FormatError", "not valid DER"
            )
            case(
                "token-not-signed-data.tst",
                bytes(cms.ContentInfo({"content_type": "data", "content": b"trust me"}).dump()),
                ver,
                "FormatError",
                "not signed data",
            )
            signed_other = work / "cms.der"
            (work / "payload").write_bytes(DIGEST)
            subprocess.run(
                [
                    openssl,
                    "cms",
                    "-sign",
                    "-binary",
                    "-nodetach",
                    "-outform",
                    "DER",
                    "-in",
                    str(work / "payload"),
                    "-signer",
                    str(tsa.tsa_cert_file),
                    "-inkey",
                    str(tsa.tsa_key_file),
                    "-out",
                    str(signed_other),
                ],
                check=True,
                capture_output=True,
            )
            case(
                "token-signs-plain-data.tst",
                signed_other.read_bytes(),
                ver,
                "FormatError",
                "signs a data, not a TSTInfo",
            )

        # A TSA under an intermediate CA: the token carries both certificates, in the order OpenSSL
        # wrote them (not DER's), and verifies with root.pem alone.
        # New intermediates until OpenSSL's order differs from DER's (about one try in two).
        for attempt in range(20):
            with OpenSSLTimestampAuthority(
                work / f"chain{attempt}", "ec", openssl=openssl, ca=ca, intermediate=True
            ) as tsa:
                chained = _token(tsa.reply(_request(DIGEST)))
            encodings = [c.dump() for c in _signed_data(chained)["certificates"]]
            if encodings != sorted(encodings):
                files["valid-with-intermediate.tst"] = chained
                break
        else:
            raise SystemExit("openssl wrote the certificates in DER order 20 times in a row")

        # Tokens from other, real TSAs that must not be trusted under root.pem.
        with OpenSSLTimestampAuthority(work / "unknown", "ec", openssl=openssl, ca=other) as tsa:
            case(
                "token-from-unknown-tsa.tst",
                _token(tsa.reply(_request(DIGEST))),
                "verify_token",
                "TimestampVerificationError",
                "unable to get local issuer",
                step="certificate_chain",
            )
        expired = ca.issue_tsa_certificate(
            "Expired TSA",
            "ec",
            not_before=now - dt.timedelta(days=30),
            not_after=now - dt.timedelta(days=1),
        )
        with OpenSSLTimestampAuthority(
            work / "expired", "ec", openssl=openssl, ca=ca, tsa_certificate=expired
        ) as tsa:
            case(
                "token-signed-after-certificate-expired.tst",
                _token(tsa.reply(_request(DIGEST))),
                "verify_token",
                "TimestampVerificationError",
                "certificate has expired",
                step="certificate_chain",
            )
        eku_cases: list[tuple[str, dict[str, Any], str]] = [
            ("token-eku-not-critical.tst", {"eku_critical": False}, "marked critical"),
            (
                "token-eku-code-signing.tst",
                {"eku": ExtendedKeyUsageOID.CODE_SIGNING},
                "not for time-stamping",
            ),
        ]
        for name, kwargs, phrase in eku_cases:
            # openssl ts -reply itself refuses a signer without the critical timeStamping EKU, so
            # these tokens are made with a good certificate and then carry the bad one: same key,
            # issuer and serial, so the signature and chain still check and only the EKU differs.
            bad, _ = ca.issue_tsa_certificate("Test TSA (ec)", "ec", **kwargs)
            with OpenSSLTimestampAuthority(work / name, "ec", openssl=openssl, ca=ca) as tsa:
                good = _token(tsa.reply(_request(DIGEST)))
                swapped = _reissue_with(ca, tsa.tsa_certificate, bad)
                case(
                    name,
                    _with_certificate(good, swapped),
                    "verify_token",
                    "TimestampVerificationError",
                    phrase,
                    step="tsa_certificate",
                )

    for old in HERE.glob("*.ts[tr]"):
        old.unlink()
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    manifest = {
        "digest": DIGEST.hex(),
        "nonce": NONCE,
        "note": "call(file, digest=digest or this case's digest, ...) must raise error "
        "with message",
        "cases": cases,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(files)} files and manifest.json to {HERE}")


def _reissue_with(
    ca: TestCA, signer: x509.Certificate, model: x509.Certificate
) -> x509.Certificate:
    """``signer``'s key, subject and serial with ``model``'s extensions, signed by ``ca``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(signer.subject)
        .issuer_name(signer.issuer)
        .public_key(signer.public_key())
        .serial_number(signer.serial_number)
        .not_valid_before(signer.not_valid_before_utc)
        .not_valid_after(signer.not_valid_after_utc)
    )
    for ext in model.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(ca.key, hashes.SHA256())


if __name__ == "__main__":
    main()
