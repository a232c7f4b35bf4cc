"""PDF certificates: the JSON certificate a PDF carries, and the PAdES signature over the PDF.

The service prints each certificate as a PDF/A-3 document with the JSON certificate attached as an
associated file (``certificate.json``, AFRelationship ``Data``) and signs the whole file (PAdES,
an ECDSA P-256 key whose X.509 certificate the trust policy names in ``document_signers``). The
attached certificate is the evidence and verifies as any certificate does; the signature says
that the page, and the attachment with it, are exactly what the issuer produced.

:func:`verify_certificate_pdf` checks the PDF, then the certificate, and raises
``VerificationError`` naming the first step that failed. The PDF's steps come first (:class:`PdfStep`):

1. ``pdf_format``      the file is a PDF within :data:`MAX_PDF_BYTES` with one signed signature
                       field whose byte ranges leave out exactly one hexadecimal ``/Contents``
2. ``pdf_coverage``    the signature covers the whole file but that hole: nothing was appended
                       after signing (an incremental update) or left outside it
3. ``pdf_signature``   the CMS (CAdES detached) signature holds SHA-2 digests of the signed
                       ranges, and its signer's key signed them (ECDSA, or RSA PKCS#1 v1.5)
4. ``pdf_timestamp``   (policy with TSAs, when the signature carries an RFC 3161 token) the token
                       is over this signature and from a TSA the policy trusts (a token from
                       another TSA is noted, not counted)
5. ``pdf_signer``      (policy) the signer's certificate is one of the policy's document
                       signers, valid at the time of signing (the TSA's time if trusted, else
                       the time the signature states)
6. ``pdf_attachment``  the file carries ``certificate.json`` as a Data associated file, within
                       the certificate's size limit

then the certificate's own steps (``ipnotary.sdk.verify``). :func:`read_attached_certificate`
extracts the attachment without checking anything.

Only pypdf (pure Python) reads the file, and ``cryptography``/``asn1crypto`` check the signature:
what a verifier installs, not the service's PDF stack.
"""  # noqa: E501 - the table of steps above is wider than 100 columns

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES, AnyCertificate, parse_certificate
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import ChainView, ContentDigests, VerificationResult, verify_certificate

__all__ = [
    "ATTACHMENT_NAME",
    "MAX_PDF_BYTES",
    "PDF_MEDIA_TYPE",
    "PdfSignature",
    "PdfStep",
    "PdfVerification",
    "check_pdf_signature",
    "is_pdf",
    "read_attached_certificate",
    "verify_certificate_pdf",
]

PDF_MEDIA_TYPE = "application/pdf"
ATTACHMENT_NAME = "certificate.json"
# Our PDFs are ~0.3 MB; the limit keeps a hostile file from costing a verifier more than a moment.
MAX_PDF_BYTES = 16 * 1024 * 1024
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_HOLE = re.compile(rb"<[0-9A-Fa-f]*>")
_PDF_DATE = re.compile(
    r"^D:([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})"
    r"(?:(Z)|([+-])([0-9]{2})'?([0-9]{2})'?)?$"
)


class PdfStep(StrEnum):
    FORMAT = "pdf_format"
    COVERAGE = "pdf_coverage"
    SIGNATURE = "pdf_signature"
    TIMESTAMP = "pdf_timestamp"
    SIGNER = "pdf_signer"
    ATTACHMENT = "pdf_attachment"


@dataclass(frozen=True)
class PdfSignature:
    """What the PDF's signature proved."""

    signer: str  # the signing certificate's subject (RFC 4514)
    signer_fingerprint: str  # SHA-256 of the signing certificate (DER), hex
    signer_name: str | None  # the policy's name for it; None when no policy was given
    signed_at: datetime  # the time the signature states (``/M``), the signer's own claim
    timestamp: datetime | None  # a policy TSA's genTime over the signature, if there is one
    timestamp_authority: str | None
    steps: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def trusted(self) -> bool:
        return self.signer_name is not None


@dataclass(frozen=True)
class PdfVerification:
    """A PDF certificate verified: its signature, and the certificate it carries."""

    signature: PdfSignature
    certificate: VerificationResult

    @property
    def trusted(self) -> bool:
        return self.signature.trusted and self.certificate.trusted


def is_pdf(data: bytes) -> bool:
    """Whether ``data`` looks like a PDF (a header in its first KiB, as readers accept)."""
    return b"%PDF-" in data[:1024]


def read_attached_certificate(pdf: bytes) -> bytes:
    """The JSON certificate attached to ``pdf``, unchecked. Raises ``FormatError``."""
    try:
        return _attachment(_open(pdf))
    except VerificationError as exc:
        raise FormatError(exc.reason) from None


def verify_certificate_pdf(
    pdf: bytes | str | Path,
    policy: TrustPolicy | None,
    *,
    content: bytes | str | Path | ContentDigests | None = None,
    chain: ChainView | None = None,
    min_confirmations: int | None = None,
    now: datetime | None = None,
) -> PdfVerification:
    """Verify a PDF certificate under ``policy``: its signature, then the attached certificate
    (with ``content``, ``chain`` and ``min_confirmations`` as
    :func:`~ipnotary.sdk.verify.verify_certificate` takes them). Raises ``VerificationError``
    at the first failed step."""
    data = _read(pdf)
    signature, reader = _check_signature(data, policy, now)
    attached = _attachment(reader)
    try:
        cert: AnyCertificate = parse_certificate(attached)
    except FormatError as exc:
        raise VerificationError("format", f"the attached certificate: {exc}") from exc
    result = verify_certificate(
        cert, policy, content=content, chain=chain, min_confirmations=min_confirmations, now=now
    )
    return PdfVerification(signature=signature, certificate=result)


def check_pdf_signature(
    pdf: bytes | str | Path, policy: TrustPolicy | None, *, now: datetime | None = None
) -> PdfSignature:
    """Steps ``pdf_format`` to ``pdf_timestamp`` alone: the signature, not the attachment."""
    return _check_signature(_read(pdf), policy, now)[0]


# --- the steps --------------------------------------------------------------------------------


def _read(pdf: bytes | str | Path) -> bytes:
    if isinstance(pdf, bytes):
        data = pdf
    else:
        path = Path(pdf)
        try:
            if path.stat().st_size > MAX_PDF_BYTES:
                raise VerificationError(
                    PdfStep.FORMAT, f"{path} is over the limit of {MAX_PDF_BYTES} bytes"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc}") from exc
    if len(data) > MAX_PDF_BYTES:
        raise VerificationError(
            PdfStep.FORMAT, f"the PDF is over the limit of {MAX_PDF_BYTES} bytes"
        )
    return data


def _open(data: bytes) -> Any:
    import pypdf
    from pypdf.errors import PyPdfError

    if not is_pdf(data):
        raise VerificationError(PdfStep.FORMAT, "this is not a PDF (no %PDF- header)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
        _ = reader.trailer["/Root"]
    except (PyPdfError, KeyError, ValueError, TypeError, RecursionError) as exc:
        raise VerificationError(PdfStep.FORMAT, f"the PDF does not parse: {exc}") from exc
    return reader


def _check_signature(
    data: bytes, policy: TrustPolicy | None, now: datetime | None
) -> tuple[PdfSignature, Any]:
    reader = _open(data)
    steps: list[str] = []
    notes: list[str] = []
    sig = _signature_dictionary(reader)
    ranges = _byte_ranges(sig)
    steps.append(PdfStep.FORMAT)

    start, first, second, last = ranges
    end = second + last
    hole = data[first:second] if first < second <= len(data) else b""
    if start != 0 or not _HOLE.fullmatch(hole) or end > len(data):
        raise VerificationError(
            PdfStep.COVERAGE,
            f"the signature's byte ranges (0-{first}, {second}-{end} of {len(data)} bytes) do "
            "not span the file around its one /Contents value",
        )
    if end < len(data):
        raise VerificationError(
            PdfStep.COVERAGE,
            f"the PDF was changed after signing: the signature covers its first {end} bytes, "
            f"and {len(data) - end} more bytes (an incremental update, or anything) follow them",
        )
    steps.append(PdfStep.COVERAGE)

    signed = data[:first] + data[second:]
    signer_info, signer_der, cert = _check_cms(bytes.fromhex(hole[1:-1].decode("ascii")), signed)
    steps.append(PdfStep.SIGNATURE)

    signed_at = _pdf_time(sig.get("/M"))
    timestamp, authority = _check_timestamp(signer_info, policy, now, notes)
    if policy is not None and timestamp is not None:
        steps.append(PdfStep.TIMESTAMP)
    name = None
    if policy is None:
        notes.append("no trust policy: the PDF's signer is not checked against anyone you trust")
    else:
        name = _check_signer(policy, signer_der, cert, timestamp or signed_at)
        steps.append(PdfStep.SIGNER)
    return (
        PdfSignature(
            signer=cert.subject.rfc4514_string(),
            signer_fingerprint=hashlib.sha256(signer_der).hexdigest(),
            signer_name=name,
            signed_at=signed_at,
            timestamp=timestamp,
            timestamp_authority=authority,
            steps=tuple(steps),
            notes=tuple(notes),
        ),
        reader,
    )


def _signature_dictionary(reader: Any) -> Any:
    """The one signed signature field's value (``/V``)."""
    root = reader.trailer["/Root"]
    form = root.get("/AcroForm")
    fields = form.get_object().get("/Fields", []) if form is not None else []
    found: list[Any] = []
    todo = list(fields)
    seen = 0
    while todo:
        seen += 1
        if seen > 10_000:  # a hostile form of endless kids
            raise VerificationError(PdfStep.FORMAT, "the PDF's form has too many fields")
        node = todo.pop().get_object()
        todo.extend(node.get("/Kids", []))
        if node.get("/FT") == "/Sig" and node.get("/V") is not None:
            found.append(node["/V"].get_object())
    if len(found) != 1:
        raise VerificationError(
            PdfStep.FORMAT,
            "the PDF carries no signature"
            if not found
            else f"the PDF carries {len(found)} signatures; a PDF certificate carries one "
            "(another was added after the issuer signed)",
        )
    return found[0]


def _byte_ranges(sig: Any) -> tuple[int, int, int, int]:
    raw = sig.get("/ByteRange")
    try:
        values = tuple(int(v) for v in raw)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or any(v < 0 for v in values):
        raise VerificationError(
            PdfStep.FORMAT, f"the signature's /ByteRange is {raw!r}, not four offsets"
        )
    return values[0], values[0] + values[1], values[2], values[3]


def _check_cms(blob: bytes, signed: bytes) -> tuple[cms.SignerInfo, bytes, x509.Certificate]:
    try:
        info = cms.ContentInfo.load(blob, strict=False)  # the hole is padded with zeros
        if info["content_type"].native != "signed_data":
            raise ValueError(f"a CMS {info['content_type'].native}, not signed data")
        data = info["content"]
        signers = data["signer_infos"]
        if len(signers) != 1:
            raise ValueError(f"{len(signers)} signers, not one")
        si = signers[0]
        digest_name = si["digest_algorithm"]["algorithm"].native
        attrs = {a["type"].native: a["values"] for a in si["signed_attrs"]}
        signer_der = _signer_certificate(data, si)
        signature = si["signature"].native
        signed_attrs = si["signed_attrs"].dump()
        scheme = si["signature_algorithm"].signature_algo
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError(
            PdfStep.SIGNATURE, f"the signature is not a CMS signature we can read: {exc}"
        ) from exc
    if digest_name not in _HASHES:
        raise VerificationError(
            PdfStep.SIGNATURE, f"the signature uses digest {digest_name}, not SHA-2"
        )
    if "message_digest" not in attrs or [v.native for v in attrs.get("content_type", [])] != [
        "data"
    ]:
        raise VerificationError(
            PdfStep.SIGNATURE, "the signature's signed attributes lack its content type or digest"
        )
    digest = hashes.Hash(_HASHES[digest_name]())
    digest.update(signed)
    if attrs["message_digest"][0].native != digest.finalize():
        raise VerificationError(
            PdfStep.SIGNATURE,
            "the PDF was changed after signing: the signed bytes do not hash to the digest the "
            "signature holds",
        )
    try:
        cert = x509.load_der_x509_certificate(signer_der)
    except ValueError as exc:
        raise VerificationError(
            PdfStep.SIGNATURE, f"the signer's certificate does not parse: {exc}"
        ) from exc
    # The signed attributes are signed as a SET OF (tag 0x31), not as the [0] they are stored in.
    message = b"\x31" + signed_attrs[1:]
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and scheme == "ecdsa":
            key.verify(signature, message, ec.ECDSA(_HASHES[digest_name]()))
        elif isinstance(key, rsa.RSAPublicKey) and scheme == "rsassa_pkcs1v15":
            key.verify(signature, message, padding.PKCS1v15(), _HASHES[digest_name]())
        else:
            raise VerificationError(
                PdfStep.SIGNATURE,
                f"the signature is {scheme} with a {type(key).__name__}; ECDSA or RSA PKCS#1 v1.5 "
                "signatures are checked",
            )
    except InvalidSignature:
        raise VerificationError(
            PdfStep.SIGNATURE, "the signature does not verify with its signer's key"
        ) from None
    return si, signer_der, cert


def _signer_certificate(data: cms.SignedData, si: cms.SignerInfo) -> bytes:
    sid = si["sid"]
    for choice in data["certificates"] or []:
        if choice.name != "certificate":
            continue
        candidate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                candidate.issuer == wanted["issuer"]
                and candidate.serial_number == wanted["serial_number"].native
            ):
                return bytes(candidate.dump())
        elif candidate.key_identifier == sid.chosen.native:
            return bytes(candidate.dump())
    raise ValueError("it does not carry its signer's certificate")


def _check_timestamp(
    si: cms.SignerInfo, policy: TrustPolicy | None, now: datetime | None, notes: list[str]
) -> tuple[datetime | None, str | None]:
    """The genTime of the signature's RFC 3161 token, if a TSA of the policy issued it."""
    tokens = [
        attr["values"][0].dump()
        for attr in si["unsigned_attrs"] or []
        if attr["type"].native == "signature_time_stamp_token"
    ]
    if not tokens:
        return None, None
    if policy is None or not policy.timestamp_authorities:
        notes.append("the signature carries a time-stamp, not checked: the policy trusts no TSA")
        return None, None
    from ipnotary.sdk.timestamp import TimestampError, TimestampVerificationError, verify_token

    imprint = hashlib.sha256(si["signature"].native).digest()
    skew = timedelta(seconds=policy.max_clock_skew_seconds)
    for authority in policy.timestamp_authorities:
        try:
            info = verify_token(tokens[0], digest=imprint, trusted_roots=authority.roots)
        except TimestampVerificationError as exc:
            if exc.step == "imprint":
                raise VerificationError(
                    PdfStep.TIMESTAMP, f"the signature's time-stamp is not over it: {exc.reason}"
                ) from exc
            continue
        except (TimestampError, FormatError):
            continue
        if info.gen_time > (now or datetime.now(UTC)) + skew:
            raise VerificationError(
                PdfStep.TIMESTAMP,
                f"the signature's time-stamp says {info.gen_time.isoformat()}, in the future",
            )
        return info.gen_time, f"{authority.name} ({info.tsa_name or 'TSA'})"
    notes.append(
        "the signature's time-stamp is not from a TSA the policy trusts; it was not counted"
    )
    return None, None


def _check_signer(
    policy: TrustPolicy, signer_der: bytes, cert: x509.Certificate, moment: datetime
) -> str:
    trusted = next(
        (s for s in policy.document_signers if s.x509.public_bytes(Encoding.DER) == signer_der),
        None,
    )
    if trusted is None:
        if not policy.document_signers:
            raise VerificationError(
                PdfStep.SIGNER,
                "the trust policy names no PDF document signer: add the issuer's "
                "(`notary policy fetch`, then check it out of band), or verify the attached "
                "certificate.json alone",
            )
        raise VerificationError(
            PdfStep.SIGNER,
            f"the PDF is signed by {cert.subject.rfc4514_string()} (SHA-256 "
            f"{hashlib.sha256(signer_der).hexdigest()}), not by a document signer the policy names",
        )
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise VerificationError(
            PdfStep.SIGNER,
            f"the signing certificate of {trusted.name} is valid from "
            f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}, "
            f"not at the time of signing ({moment.isoformat()})",
        )
    return trusted.name


def _pdf_time(value: Any) -> datetime:
    match = _PDF_DATE.match(str(value or ""))
    if match is None:
        raise VerificationError(
            PdfStep.FORMAT, f"the signature's time /M is {value!r}, not a PDF date"
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = UTC
    if match.group(8):
        offset = timedelta(hours=int(match.group(9)), minutes=int(match.group(10)))
        zone = timezone(offset if match.group(8) == "+" else -offset)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except ValueError as exc:
        raise VerificationError(
            PdfStep.FORMAT, f"the signature's time /M is {value!r}: {exc}"
        ) from exc


def _attachment(reader: Any) -> bytes:
    root = reader.trailer["/Root"]
    candidates: Sequence[Any] = root.get("/AF", [])
    found: dict[int, Any] = {}
    for ref in candidates:
        spec = ref.get_object()
        name = spec.get("/UF") or spec.get("/F")
        if str(name) == ATTACHMENT_NAME and spec.get("/AFRelationship") == "/Data":
            found[getattr(ref, "idnum", id(spec))] = spec
    if len(found) != 1:
        raise VerificationError(
            PdfStep.ATTACHMENT,
            f"the PDF carries {len(found) or 'no'} {ATTACHMENT_NAME} associated file(s) "
            "(AFRelationship Data); a PDF certificate carries exactly one",
        )
    spec = next(iter(found.values()))
    try:
        stream = spec["/EF"]["/F"].get_object()
        declared = stream.get("/Params", {}).get("/Size")
        if declared is not None and int(declared) > MAX_CERTIFICATE_BYTES:
            raise ValueError(f"it declares {declared} bytes")
        data = bytes(stream.get_data())
    except (KeyError, ValueError, TypeError) as exc:
        raise VerificationError(
            PdfStep.ATTACHMENT, f"{ATTACHMENT_NAME} cannot be read: {exc}"
        ) from exc
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise VerificationError(
            PdfStep.ATTACHMENT,
            f"{ATTACHMENT_NAME} is {len(data)} bytes, over the certificate limit of "
            f"{MAX_CERTIFICATE_BYTES}",
        )
    return data
