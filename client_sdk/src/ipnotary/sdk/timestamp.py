"""RFC 3161 time-stamps: ask a time-stamp authority (TSA) to sign a digest, and verify its token.

A token is independent evidence that a digest (for the notary, a log checkpoint) existed at the
token's ``genTime``, signed by a TSA the verifier trusts, not by our operator. Start reading at
:func:`request_token` (client side) and :func:`verify_token` (verifier side);
:func:`read_token` shows what a token says without trusting it.

Why these libraries: no maintained Python library issues RFC 3161 messages, so requests are built
and responses and tokens are read as DER with ``asn1crypto``. The cryptographic checks are not ours:
``rfc3161-client`` (Trail of Bits, used by sigstore) verifies the CMS signature and the certificate
chain with OpenSSL's ``PKCS7_verify`` (which also refuses a signer whose extended key usage is not
timeStamping alone, marked critical) and checks that usage again itself. The one check it lacks (the
ESS ``signingCertificate`` attribute, which binds the signature to the signer's certificate, RFC
3161 section 2.4.1 / RFC 5035) is a hash comparison of signed bytes, made here with ``hashlib``.
``openssl ts -verify`` accepts the same tokens and refuses the same forgeries (integration tests).

Two things rfc3161-client needs that :func:`verify_token` takes care of: it verifies responses, not
tokens (the token is wrapped in a granted response), and its strict DER parser refuses certificate
sets in OpenSSL's order (they are re-sorted; the set is not signed).

Errors (see ``ipnotary.sdk.errors`` for the SDK's tree)::

    ClientSDKError
    ├── FormatError                        a request, response or token is malformed or too large
    └── TimestampError                     the TSA refused, answered the wrong digest or nonce, or
        │                                  could not be reached
        └── TimestampVerificationError     a token does not verify; ``.step`` names the check

Limits, to prevent denial of service: a token is at most :data:`MAX_TOKEN_BYTES`, a response at most
:data:`MAX_RESPONSE_BYTES`. Only SHA-256 imprints are requested or accepted. Revocation (CRL, OCSP)
of the TSA certificate is not checked: the chain is validated at the token's ``genTime``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import VerificationError as _Rfc3161VerificationError
from rfc3161_client import VerifierBuilder, decode_timestamp_response

from ipnotary.sdk.errors import FormatError, TimestampError, TimestampVerificationError
from ipnotary.sdk.numerals import declared_length
from ipnotary.sdk.redaction import Redactor, redact_url

__all__ = [
    "MAX_RESPONSE_BYTES",
    "MAX_TOKEN_BYTES",
    "QUERY_MEDIA_TYPE",
    "REPLY_MEDIA_TYPE",
    "TimestampCheck",
    "TimestampError",
    "TimestampInfo",
    "TimestampVerificationError",
    "build_request",
    "read_token",
    "request_token",
    "token_from_response",
    "verify_token",
]

# A token is a few KiB (TSTInfo, signed attributes, one signature, a certificate or a short chain).
MAX_TOKEN_BYTES = 64 * 1024
# A response is a token plus a status; the margin leaves room for status strings.
MAX_RESPONSE_BYTES = MAX_TOKEN_BYTES + 4 * 1024
# RFC 3161 sets no bound on nonces; ours are 64 bits, and 160 bits covers what other clients send.
MAX_NONCE_BITS = 160
QUERY_MEDIA_TYPE = "application/timestamp-query"  # RFC 3161 section 3.4
REPLY_MEDIA_TYPE = "application/timestamp-reply"

_SHA256_LEN = 32
_TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"  # id-ct-TSTInfo
_GRANTED = ("granted", "granted_with_mods")
_ESS_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
# Every exception asn1crypto raises on hostile DER (it parses lazily, so access can raise too).
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


class _TimeStampResp(tsp.TimeStampResp):
    # asn1crypto 1.5.1 makes timeStampToken mandatory, so it cannot read a rejection; RFC 3161
    # section 2.4.2 has it OPTIONAL (present only when the status is granted).
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampCheck(StrEnum):
    """The checks of :func:`verify_token`, in the order they run."""

    FORMAT = "format"
    IMPRINT = "imprint"
    CERTIFICATE_CHAIN = "certificate_chain"
    SIGNATURE = "signature"
    TSA_CERTIFICATE = "tsa_certificate"
    SIGNING_CERTIFICATE = "signing_certificate"


@dataclass(frozen=True)
class TimestampInfo:
    """What a token says (from its TSTInfo). Trust it only when :func:`verify_token` returned it."""

    gen_time: datetime  # aware, UTC
    serial_number: int
    policy: str  # dotted OID
    hash_algorithm: str  # "sha256" for tokens we request; other names only from read_token
    digest: bytes  # the messageImprint's hashedMessage
    nonce: int | None
    tsa_name: str  # RFC 4514 subject of the signing certificate if embedded, else ""
    accuracy_seconds: float | None


def build_request(digest: bytes, *, nonce: int | None = None, cert_req: bool = True) -> bytes:
    """DER TimeStampReq (version 1) over a SHA-256 digest (32 bytes), with ``certReq`` as given.

    With ``cert_req`` the TSA embeds its certificate in the token, so the token verifies with only
    the root; without it the verifier must be given the TSA certificate.
    """
    _check_digest(digest)
    fields: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        if not 0 <= nonce < 2**MAX_NONCE_BITS:
            raise FormatError(f"nonce must be a non-negative integer below 2**{MAX_NONCE_BITS}")
        fields["nonce"] = nonce
    return bytes(tsp.TimeStampReq(fields).dump())


def token_from_response(response: bytes, *, digest: bytes, nonce: int | None) -> bytes:
    """The TimeStampToken (DER CMS ContentInfo) of a DER TimeStampResp, after checking the answer.

    The status must be granted (or granted with modifications), the token's imprint SHA-256 of
    exactly ``digest``, and, when ``nonce`` is given, the nonce echoed. The signature is not checked
    here: that is :func:`verify_token`'s job, with the verifier's own trusted roots.
    """
    _check_digest(digest)
    if len(response) > MAX_RESPONSE_BYTES:
        raise FormatError(
            f"time-stamp response is {len(response)} bytes, over the limit of {MAX_RESPONSE_BYTES}"
        )
    resp = _load(_TimeStampResp, response, "time-stamp response")
    try:
        # The token's bytes exactly as received (asn1crypto re-encodes what it has walked).
        token = bytes(resp["time_stamp_token"].dump())
        status = resp["status"]
        state = status["status"].native
        description = _describe_status(status)
    except _ASN1_ERRORS as exc:
        raise FormatError(f"time-stamp response is not valid DER: {exc}") from exc
    if state not in _GRANTED:
        raise TimestampError(f"the TSA did not grant the time-stamp: {description}")
    if not token:
        raise FormatError(f"time-stamp response has status {state} but carries no token")
    info = read_token(token)
    if info.hash_algorithm != "sha256":
        raise TimestampError(
            f"the TSA time-stamped a {info.hash_algorithm} imprint, but we asked for sha256"
        )
    if info.digest != digest:
        raise TimestampError(
            f"the TSA time-stamped digest {info.digest.hex()}, not the {digest.hex()} we sent "
            "(a reply to another request, or a faulty TSA)"
        )
    if nonce is not None and info.nonce != nonce:
        got = "no nonce" if info.nonce is None else f"nonce {info.nonce}"
        raise TimestampError(
            f"the TSA answered with {got}, not the nonce {nonce} we sent "
            "(a replayed or mixed-up reply)"
        )
    return token


def request_token(
    url: str, digest: bytes, *, timeout: float = 10.0, client: httpx.Client | None = None
) -> bytes:
    """Ask the TSA at ``url`` to time-stamp ``digest`` (SHA-256, 32 bytes); return the token DER.

    Sends an ``application/timestamp-query`` with a fresh random 64-bit nonce and ``certReq`` set,
    and checks that the reply is an ``application/timestamp-reply`` within
    :data:`MAX_RESPONSE_BYTES` that answers this digest and nonce (:func:`token_from_response`).
    Pass ``client`` to reuse connections or set a proxy or transport.
    """
    shown = redact_url(url)  # messages never carry the URL's credentials or API key
    nonce = secrets.randbits(64)
    body = build_request(digest, nonce=nonce, cert_req=True)
    headers = {"Content-Type": QUERY_MEDIA_TYPE, "Accept": REPLY_MEDIA_TYPE}
    http = client if client is not None else httpx.Client()
    try:
        with http.stream("POST", url, content=body, headers=headers, timeout=timeout) as reply:
            if reply.status_code != 200:
                detail = _read_limited(reply, 512).decode("utf-8", "replace").strip()
                raise TimestampError(
                    f"the TSA at {shown} answered HTTP {reply.status_code}"
                    + (f": {detail[:200]}" if detail else "")
                )
            media_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != REPLY_MEDIA_TYPE:
                raise TimestampError(
                    f"the TSA at {shown} answered {media_type or 'no content type'}, "
                    f"not {REPLY_MEDIA_TYPE}: is this the TSA's URL?"
                )
            declared = declared_length(reply.headers.get("content-length"))
            if declared is not None and declared > MAX_RESPONSE_BYTES:
                raise FormatError(
                    f"the TSA at {shown} announced a {declared}-byte reply, "
                    f"over the limit of {MAX_RESPONSE_BYTES}"
                )
            data = _read_limited(reply, MAX_RESPONSE_BYTES + 1)
    except httpx.HTTPError as exc:
        raise TimestampError(
            f"the TSA at {shown} could not be reached: {exc.__class__.__name__}: "
            f"{Redactor.for_urls([url])(str(exc))}"
        ) from exc
    finally:
        if client is None:
            http.close()
    if len(data) > MAX_RESPONSE_BYTES:
        raise FormatError(f"the TSA at {shown} sent a reply over the limit of {MAX_RESPONSE_BYTES}")
    return token_from_response(data, digest=digest, nonce=nonce)


def read_token(token: bytes) -> TimestampInfo:
    """What a token says, parsed WITHOUT checking its signature or its TSA (for display only).

    Raises :class:`FormatError` unless the token is a CMS SignedData with one SignerInfo over a
    version 1 TSTInfo, within :data:`MAX_TOKEN_BYTES`.
    """
    return _read(token).info


def verify_token(
    token: bytes,
    *,
    digest: bytes,
    trusted_roots: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    tsa_certificate: x509.Certificate | None = None,
) -> TimestampInfo:
    """Verify a token over ``digest`` against the verifier's own trusted roots; return what it says.

    The checks, in order (:class:`TimestampCheck`; the error's ``step`` names the first failure):

    1. ``format``       the token parses (:func:`read_token`)                          [asn1crypto]
    2. ``imprint``      its messageImprint is SHA-256 and equals ``digest``   [here; rfc3161-client too]
    3. ``certificate_chain``  the signer certificate chains to one of ``trusted_roots`` (through the
                        token's certificates and ``intermediates``) and is valid at ``genTime``
                                                          [rfc3161-client, by OpenSSL's PKCS7_verify]
    4. ``signature``    the CMS signature covers the signed attributes, whose messageDigest is the
                        hash of the TSTInfo                  [rfc3161-client, by OpenSSL's PKCS7_verify]
    5. ``tsa_certificate``  the signer's extended key usage is timeStamping alone, marked critical
                        [OpenSSL's purpose check in step 3, then rfc3161-client], and the TSTInfo's
                        optional ``tsa`` name is that certificate's                  [here, asn1crypto]
    6. ``signing_certificate``  the signed ESS signingCertificate(V2) attribute names the signer's
                        certificate by hash                                     [here, hashlib]

    ``tsa_certificate`` is needed only for tokens requested without ``certReq``; when given, an
    embedded signer certificate must be that one. Neither it nor ``intermediates`` may be
    self-signed (unless also in ``trusted_roots``): rfc3161-client puts them in its trust store,
    where a self-signed one would become a root. Revocation is not checked.
    """  # noqa: E501 - the table of checks above is wider than 100 columns
    _check_digest(digest)
    parsed = _read(token)  # 1. format
    info, signer = parsed.info, parsed.signer

    # 2. imprint: our own message first, because it tells a human what differs.
    if info.hash_algorithm != "sha256":
        raise TimestampVerificationError(
            TimestampCheck.IMPRINT, f"the token's imprint is {info.hash_algorithm}, not sha256"
        )
    if info.digest != digest:
        raise TimestampVerificationError(
            TimestampCheck.IMPRINT,
            f"the token time-stamps SHA-256 digest {info.digest.hex()}, "
            f"but the data's digest is {digest.hex()}",
        )

    # 3.-5. rfc3161-client verifies responses, not bare tokens: wrap the token in a granted one.
    if not trusted_roots:
        raise TimestampVerificationError(
            TimestampCheck.CERTIFICATE_CHAIN, "no trusted TSA root certificates were given"
        )
    _refuse_extra_anchors(
        [*intermediates, *([tsa_certificate] if tsa_certificate else [])], trusted_roots
    )
    wrapped = _TimeStampResp(
        {
            "status": {"status": "granted"},
            "time_stamp_token": _with_certificates_in_der_order(bytes(token)),
        }
    ).dump()
    verifier = VerifierBuilder(
        tsa_certificate=tsa_certificate,
        intermediates=list(intermediates),
        roots=list(trusted_roots),
    ).build()
    _call_rfc3161_client(lambda: verifier.verify(decode_timestamp_response(wrapped), digest))

    if signer is None:  # rfc3161-client accepted it, so tsa_certificate is the signer
        if tsa_certificate is None:
            raise TimestampVerificationError(
                TimestampCheck.TSA_CERTIFICATE, "the token carries no signer certificate"
            )
        signer = _Signer.from_der(tsa_certificate.public_bytes(Encoding.DER))
        info = replace(info, tsa_name=signer.subject)
    _check_tsa_name(parsed.tst_info, signer)  # 5. (the part rfc3161-client leaves out)
    _check_signing_certificate(parsed.signer_info, signer)  # 6.
    return info


# --- parsing --------------------------------------------------------------------------------------


def _load(spec: Any, data: bytes, what: str, *, walk: bool = False) -> Any:
    """Parse DER with no trailing data. asn1crypto parses lazily, so a field can still fail when it
    is read (callers read inside ``except _ASN1_ERRORS``); ``walk`` reads everything now. Walking a
    whole token costs ~20 ms and makes asn1crypto re-encode on dump, so only small parts are walked;
    rfc3161-client parses the whole token as strict DER when it verifies."""
    try:
        value = spec.load(data, strict=True)
        if walk:
            _ = value.native
    except _ASN1_ERRORS as exc:
        raise FormatError(f"{what} is not valid DER: {exc}") from exc
    return value


@dataclass(frozen=True)
class _Signer:
    """The certificate a SignerInfo names: its bytes as embedded, and both libraries' views."""

    der: bytes
    certificate: x509.Certificate
    asn1: asn1_x509.Certificate

    @classmethod
    def from_der(cls, der: bytes) -> _Signer:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion) as exc:
            raise FormatError(
                f"time-stamp token: its signer certificate does not parse: {exc}"
            ) from exc
        return cls(der, certificate, asn1_x509.Certificate.load(der))

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


@dataclass(frozen=True)
class _ParsedToken:
    info: TimestampInfo
    tst_info: tsp.TSTInfo
    signer_info: cms.SignerInfo
    signer: _Signer | None  # the embedded certificate the SignerInfo names, if any


def _read(token: bytes) -> _ParsedToken:
    if not isinstance(token, bytes | bytearray | memoryview):
        raise FormatError(f"time-stamp token must be bytes, not {type(token).__name__}")
    if not token:
        raise FormatError("time-stamp token is empty")
    if len(token) > MAX_TOKEN_BYTES:
        raise FormatError(
            f"time-stamp token is {len(token)} bytes, over the limit of {MAX_TOKEN_BYTES}"
        )
    content_info = _load(cms.ContentInfo, bytes(token), "time-stamp token")
    try:
        if content_info["content_type"].native != "signed_data":
            raise FormatError(
                f"time-stamp token is a CMS {content_info['content_type'].native}, not signed data"
            )
        signed = content_info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != _TST_INFO_OID:
            raise FormatError(
                f"time-stamp token signs a {encap['content_type'].native}, not a TSTInfo"
            )
        if not isinstance(encap["content"], cms.ParsableOctetString):
            raise FormatError("time-stamp token has no TSTInfo (detached content)")
        tst = _load(tsp.TSTInfo, bytes(encap["content"]), "time-stamp token's TSTInfo", walk=True)
        if tst["version"].native != "v1":
            raise FormatError(f"time-stamp token: TSTInfo version {tst['version'].native}, not v1")
        signer_infos = signed["signer_infos"]
        if len(signer_infos) != 1:
            # RFC 3161 section 2.4.2: the token carries the TSA's signature and no other.
            raise FormatError(
                f"time-stamp token has {len(signer_infos)} signatures, not exactly one"
            )
        signer = _find_signer(signed, signer_infos[0])
        gen_time = tst["gen_time"].native
        if not isinstance(gen_time, datetime) or gen_time.tzinfo is None:
            raise FormatError(f"time-stamp token: genTime {gen_time!r} is not a UTC time")
        accuracy = tst["accuracy"].native
        nonce = tst["nonce"].native
        info = TimestampInfo(
            gen_time=gen_time.astimezone(UTC),
            serial_number=int(tst["serial_number"].native),
            policy=str(tst["policy"].dotted),
            hash_algorithm=str(tst["message_imprint"]["hash_algorithm"]["algorithm"].native),
            digest=bytes(tst["message_imprint"]["hashed_message"].native),
            nonce=None if nonce is None else int(nonce),
            tsa_name=signer.subject if signer is not None else "",
            accuracy_seconds=None
            if accuracy is None
            else (
                (accuracy.get("seconds") or 0)
                + (accuracy.get("millis") or 0) / 1_000
                + (accuracy.get("micros") or 0) / 1_000_000
            ),
        )
    except _ASN1_ERRORS as exc:
        raise FormatError(f"time-stamp token is malformed: {exc}") from exc
    return _ParsedToken(info, tst, signer_infos[0], signer)


def _find_signer(signed: cms.SignedData, signer_info: cms.SignerInfo) -> _Signer | None:
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        der = bytes(choice.chosen.dump())  # before any comparison walks it
        cert = asn1_x509.Certificate.load(der)
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.serial_number == ias["serial_number"].native and cert.issuer == ias["issuer"]:
                return _Signer.from_der(der)
        elif cert.key_identifier == sid.chosen.native:
            return _Signer.from_der(der)
    return None


def _describe_status(status: tsp.PKIStatusInfo) -> str:
    text = f"status {status['status'].native}"
    fail_info = status["fail_info"].native
    if fail_info:
        text += f" ({', '.join(sorted(str(f) for f in fail_info))})"
    strings = status["status_string"].native
    if strings:
        text += ": " + "; ".join(repr(s) for s in strings)[:300]
    return text


def _check_digest(digest: bytes) -> None:
    if not isinstance(digest, bytes) or len(digest) != _SHA256_LEN:
        got = f"{len(digest)} bytes" if isinstance(digest, bytes) else type(digest).__name__
        raise FormatError(f"digest must be a 32-byte SHA-256 digest, got {got}")


def _read_limited(reply: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body, without reading the rest (a hostile TSA may stream)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in reply.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


# --- verification ---------------------------------------------------------------------------------

_OPENSSL_DATA = re.compile(r'data: "([^"]+)"')
_OPENSSL_REASON = re.compile(r'reason: "([^"]+)"')


def _refuse_extra_anchors(
    extra: Sequence[x509.Certificate], trusted_roots: Sequence[x509.Certificate]
) -> None:
    """rfc3161-client adds intermediates and the TSA certificate to the store OpenSSL trusts; a
    self-issued one there would be a trust anchor the caller never named as a root."""
    for cert in extra:
        if cert.subject == cert.issuer and cert not in trusted_roots:
            raise TimestampVerificationError(
                TimestampCheck.CERTIFICATE_CHAIN,
                f"{cert.subject.rfc4514_string()} is self-signed: it would act as a trusted root, "
                "so pass it in trusted_roots if you trust it, not as an intermediate or TSA "
                "certificate",
            )


def _with_certificates_in_der_order(token: bytes) -> cms.ContentInfo:
    """The token for rfc3161-client, its certificate set sorted as DER requires.

    OpenSSL (``openssl ts -reply`` with a chain, and many TSAs built on it) writes the certificates
    in the order it was given, and rfc3161-client's strict DER parser refuses a SET OF out of order
    (InvalidSetOrdering). The set is not covered by the signature, so sorting it changes nothing
    the TSA signed: the TSTInfo and the SignerInfo keep their bytes (checked below).
    """
    try:
        content_info = cms.ContentInfo.load(token)
        signed = content_info["content"]
        certificates = signed["certificates"]
        if not isinstance(certificates, cms.CertificateSet) or len(certificates) < 2:
            return content_info
        fields = {
            name: signed[name]
            for name, *_ in signed._fields
            if name != "certificates" and not isinstance(signed[name], core.Void)
        }
        resorted = cms.ContentInfo(
            {
                "content_type": "signed_data",
                "content": cms.SignedData(
                    {**fields, "certificates": cms.CertificateSet(list(certificates))}
                ),
            }
        )
        encoded = resorted.dump()
        signed_parts = [
            signed["encap_content_info"].dump(),
            *(si.dump() for si in signed["signer_infos"]),
        ]
    except _ASN1_ERRORS as exc:
        raise TimestampVerificationError(
            TimestampCheck.FORMAT, f"the token's certificates are malformed: {exc}"
        ) from exc
    if any(bytes(part) not in encoded for part in signed_parts):
        raise TimestampVerificationError(
            TimestampCheck.FORMAT, "the token's signed parts are not DER (re-encoding changed them)"
        )
    return resorted


def _call_rfc3161_client(check: Callable[[], object]) -> None:
    """Run an rfc3161-client check, turning its errors into a named :class:`TimestampCheck`."""
    try:
        check()
    except (_Rfc3161VerificationError, ValueError) as exc:
        raise _classify(str(exc)) from exc
    except Exception as exc:
        # Anything else it raises (e.g. cryptography's InvalidVersion for a mangled certificate in
        # the token) means it could not read the token; such a token does not verify.
        raise TimestampVerificationError(
            TimestampCheck.FORMAT, f"the verifier could not read the token: {exc!r}"
        ) from exc
    except BaseException as exc:
        # Its Rust core panics (pyo3's PanicException, a BaseException) on some inputs it cannot
        # parse instead of raising; such a token does not verify either.
        if type(exc).__name__ != "PanicException":
            raise
        raise TimestampVerificationError(
            TimestampCheck.FORMAT, f"the verifier could not parse the token: {exc}"
        ) from exc


def _classify(text: str) -> TimestampVerificationError:
    reasons = _OPENSSL_REASON.findall(text)
    data = _OPENSSL_DATA.findall(text)
    if any("unsuitable certificate purpose" in d for d in data):
        return TimestampVerificationError(
            TimestampCheck.TSA_CERTIFICATE,
            "the TSA certificate is not for time-stamping: RFC 3161 needs the extended key usage "
            "timeStamping, alone and marked critical (OpenSSL: unsuitable certificate purpose)",
        )
    if "certificate verify error" in reasons:
        detail = data[-1].removeprefix("Verify error: ") if data else "no detail"
        return TimestampVerificationError(
            TimestampCheck.CERTIFICATE_CHAIN,
            "the TSA certificate does not validate against the trusted roots at the token's "
            f"genTime (OpenSSL: {detail})",
        )
    if "signer certificate not found" in reasons or "Certificates neither found" in text:
        return TimestampVerificationError(
            TimestampCheck.TSA_CERTIFICATE,
            "the token does not carry its signer's certificate; pass the TSA certificate "
            "(tsa_certificate=...)",
        )
    if reasons:
        return TimestampVerificationError(
            TimestampCheck.SIGNATURE,
            f"the TSA's signature does not verify: the token was altered or not signed by the "
            f"certificate it names (OpenSSL: {', '.join(dict.fromkeys(reasons))})",
        )
    if "EKU" in text or "leaf certificate" in text or "Embedded certificate" in text:
        return TimestampVerificationError(TimestampCheck.TSA_CERTIFICATE, text)
    if "Mismatch between messages" in text:
        return TimestampVerificationError(TimestampCheck.IMPRINT, "imprint does not match digest")
    return TimestampVerificationError(TimestampCheck.SIGNATURE, text)


def _check_tsa_name(tst: tsp.TSTInfo, signer: _Signer) -> None:
    """RFC 3161 section 2.4.2: a ``tsa`` name, if present, must be one of the signer's names."""
    name = tst["tsa"]
    if name.native is None:
        return
    names = [asn1_x509.GeneralName({"directory_name": signer.asn1.subject})]
    names += list(signer.asn1.subject_alt_name_value or [])
    if not any(name == candidate for candidate in names):
        raise TimestampVerificationError(
            TimestampCheck.TSA_CERTIFICATE,
            f"the token names its TSA {_describe_name(name)!r}, which is not the signer "
            f"certificate ({signer.subject})",
        )


def _describe_name(name: asn1_x509.GeneralName) -> str:
    if name.name == "directory_name":
        return str(name.chosen.human_friendly)
    return str(name.native)


def _check_signing_certificate(signer_info: cms.SignerInfo, signer: _Signer) -> None:
    """The signed ESS attribute must identify the signer's certificate (RFC 2634, RFC 5035).

    rfc3161-client does not check it (OpenSSL's ``ts -verify`` does): without it, a certificate with
    the same key could be substituted for the one the TSA signed under. It is a hash comparison of
    signed data, so ``hashlib`` is enough; the signature over it was checked by rfc3161-client.
    """
    # (hash algorithm, certificate hash, whether its optional issuerSerial names the signer)
    ess: list[tuple[str, bytes, bool | None]] = []
    signer_issuer = asn1_x509.GeneralName({"directory_name": signer.asn1.issuer})
    try:
        for attr in signer_info["signed_attrs"] or []:
            kind = attr["type"].native
            if kind not in ("signing_certificate", "signing_certificate_v2"):
                continue
            for value in attr["values"]:
                if len(value["certs"]) == 0:
                    continue
                first = value["certs"][0]  # the signer's; the others are its chain
                algorithm = (
                    "sha1"
                    if kind == "signing_certificate"
                    else str(first["hash_algorithm"]["algorithm"].native)
                )
                issuer_serial = first["issuer_serial"]
                names_signer = (
                    None
                    if issuer_serial.native is None
                    else (
                        issuer_serial["serial_number"].native == signer.certificate.serial_number
                        and any(name == signer_issuer for name in issuer_serial["issuer"])
                    )
                )
                ess.append((algorithm, bytes(first["cert_hash"].native), names_signer))
    except _ASN1_ERRORS as exc:
        raise TimestampVerificationError(
            TimestampCheck.SIGNING_CERTIFICATE, f"the ESS signingCertificate is malformed: {exc}"
        ) from exc
    if not ess:
        raise TimestampVerificationError(
            TimestampCheck.SIGNING_CERTIFICATE,
            "the signature does not name its certificate (no ESS signingCertificate attribute)",
        )
    for algorithm, cert_hash, names_signer in ess:
        hash_fn = _ESS_HASHES.get(algorithm)
        if hash_fn is None:
            raise TimestampVerificationError(
                TimestampCheck.SIGNING_CERTIFICATE,
                f"the ESS signingCertificate uses an unsupported hash ({algorithm})",
            )
        if hash_fn(signer.der).digest() != cert_hash:
            raise TimestampVerificationError(
                TimestampCheck.SIGNING_CERTIFICATE,
                f"the signature names a certificate with {algorithm} {cert_hash.hex()}, "
                f"not the signer's ({signer.subject})",
            )
        if names_signer is False:
            raise TimestampVerificationError(
                TimestampCheck.SIGNING_CERTIFICATE,
                "the ESS signingCertificate names another issuer and serial than the signer's",
            )
