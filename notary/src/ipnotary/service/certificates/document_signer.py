"""The PDF document signer: an ECDSA P-256 key, its X.509 certificate, and the PAdES signature
they put on every PDF certificate so that PDF readers show who issued it.

Why a second key beside the Ed25519 issuer key: PDF readers validate PAdES signatures through
their X.509 stacks (poppler and Firefox through NSS, Acrobat through its own), which take ECDSA
P-256 and not Ed25519. The certificate is self-signed: it is trusted because the verifier's trust
policy names it (``TrustPolicy.document_signers``), the way the issuer key is, not through a CA.

The files sit beside the issuer key (the directory of ``NOTARY_ISSUER_KEY_FILE``) and are made
like the other keys: on a development start and by ``notary deploy``; a production process never
creates them (``CertificatePdf.for_settings`` then runs without PDFs, naming ``notary deploy``):

* ``document-signing-p256.pem``: the key, mode 0600, encrypted under ``NOTARY_KEY_PASSPHRASE``
  like the other key files;
* ``document-signing-p256.crt``: its certificate (public), made from the key when missing;
* ``document-signing-retired.crt``: certificates of earlier keys (PEM, one after another), kept
  in the served policy so that PDFs they signed keep verifying (``docs/certificate-pdf.md``).

Signing (:meth:`DocumentSigner.sign`) uses pyHanko: a PAdES baseline signature (CAdES detached,
``ETSI.CAdES.detached``) over the whole file, and where TSAs are configured an RFC 3161 token
over the signature (PAdES B-T), so that the time of signing rests on the TSA, not on our clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ipnotary.sdk.policy import DocumentSigner as TrustedDocumentSigner
from ipnotary.service.adapters.keys import load_or_create_p256_key
from ipnotary.service.config import Environment, Settings
from ipnotary.service.errors import ConfigurationError, DependencyUnavailable

__all__ = [
    "CERTIFICATE_LIFETIME",
    "DocumentSigner",
    "DocumentSigningFiles",
    "trusted_document_signers",
]

log = logging.getLogger(__name__)

# Long enough to outlive a deployment's first key; a rotation (docs/certificate-pdf.md) ends a
# key's use earlier, and its certificate stays listed so that what it signed keeps verifying.
CERTIFICATE_LIFETIME = dt.timedelta(days=10 * 366)
# RFC 9336 id-kp-documentSigning: what the key is for, for readers that look.
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# Space pyHanko reserves in the file for the CMS blob: the signer's certificate, the signed
# attributes and a TSA token with its certificate chain (an RSA-4096 chain of three is ~6 KiB).
SIGNATURE_SPACE_BYTES = 24 * 1024


@dataclass(frozen=True)
class DocumentSigningFiles:
    key: Path
    certificate: Path
    retired: Path

    @classmethod
    def beside(cls, issuer_key_file: Path) -> DocumentSigningFiles:
        keys = issuer_key_file.parent
        return cls(
            key=keys / "document-signing-p256.pem",
            certificate=keys / "document-signing-p256.crt",
            retired=keys / "document-signing-retired.crt",
        )


class DocumentSigner:
    """Signs PDFs with the document-signing key; ``certificate`` is what verifiers trust."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        *,
        name: str = "ip-notary",
    ) -> None:
        if certificate.public_key() != key.public_key():
            raise ConfigurationError(
                "the document-signing certificate is not the document-signing key's: "
                "restore the pair, or rotate (docs/certificate-pdf.md)"
            )
        self._key = key
        self.certificate = certificate
        self.name = name

    @classmethod
    def load(
        cls, settings: Settings, *, name: str, origin: str, create: bool = True
    ) -> DocumentSigner:
        """The signer in the files beside the issuer key, created where keys are created
        (``create``; never in production).

        ``name`` (the issuer's) and ``origin`` (the log's) name the certificate's subject."""
        files = DocumentSigningFiles.beside(settings.resolved_issuer_key_file)
        if settings.env is Environment.production and not files.key.is_file():
            raise ConfigurationError(
                f"the PDF document-signing key {files.key} does not exist (no key is created "
                "in production: restore it, or run `notary deploy` to create it)",
                code="production_settings_missing",
            )
        key = load_or_create_p256_key(
            files.key,
            purpose="document-signing",
            passphrase=settings.resolved_key_passphrase,
            create=create,
        )
        certificate = _load_or_create_certificate(files.certificate, key, name, origin)
        return cls(key, certificate, name=name)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (DER), hex: what a person compares with the policy's."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def sign(
        self,
        pdf: bytes,
        *,
        timestamp_urls: Sequence[str] = (),
        timeout: float = 10.0,
        reason: str,
        location: str,
    ) -> bytes:
        """``pdf`` with a PAdES signature appended as an incremental update, time-stamped by
        the first of ``timestamp_urls`` that answers (none: signed without a token)."""
        problems: list[str] = []
        urls: list[str | None] = [*timestamp_urls] or [None]
        for url in urls:
            try:
                return self._sign_once(pdf, url, timeout, reason, location)
            except OSError as exc:  # pyHanko's TimestampRequestError is one, and so are timeouts
                log.warning("the TSA at %s did not stamp a PDF signature: %s", url, exc)
                problems.append(f"{url}: {type(exc).__name__}")
        raise DependencyUnavailable(
            "no time-stamp authority answered for the PDF's signature ("
            + "; ".join(problems)
            + "); ask again shortly",
            code="tsa_unavailable",
        )

    def _sign_once(
        self, pdf: bytes, tsa_url: str | None, timeout: float, reason: str, location: str
    ) -> bytes:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers
        from pyhanko.sign.timestamps import HTTPTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(
                self.certificate.public_bytes(serialization.Encoding.DER)
            ),
            signing_key=asn1_keys.PrivateKeyInfo.load(
                self._key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            # No chain to embed: the certificate is self-signed, trusted through the policy.
            cert_registry=SimpleCertificateStore(),  # type: ignore[no-untyped-call]
        )
        meta = signers.PdfSignatureMetadata(
            field_name="Signature",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            name=self.name,
        )
        timestamper = HTTPTimeStamper(tsa_url, timeout=timeout) if tsa_url else None
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = _pdf17_signer()(meta, signer=signer, timestamper=timestamper).sign_pdf(
            writer, bytes_reserved=SIGNATURE_SPACE_BYTES
        )
        signed: bytes = out.getvalue()
        return signed


@functools.cache
def _pdf17_signer() -> Any:
    """pyHanko's PdfSigner for PDF/A-3; imported with the first PDF, not when the service starts."""
    from pyhanko.pdf_utils.writer import BasePdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.signers import constants

    class Pdf17Signer(signers.PdfSigner):
        """PAdES on PDF 1.7, which PDF/A-3 is: for an ECDSA key pyHanko would also declare the
        ISO 32002 extension, which raises the file to PDF 2.0 and out of PDF/A-3."""

        def register_extensions(self, pdf_out: BasePdfFileWriter, *, md_algorithm: str) -> None:
            pdf_out.ensure_output_version(version=(1, 7))  # type: ignore[no-untyped-call]
            pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    return Pdf17Signer


def trusted_document_signers(
    settings: Settings, *, name: str = "ip-notary"
) -> list[TrustedDocumentSigner]:
    """The trust policy's entries for the certificates in the files (no key is read): the
    current one, then each retired one still within its validity. None before the files exist."""
    files = DocumentSigningFiles.beside(settings.resolved_issuer_key_file)
    if not files.certificate.is_file():
        return []
    try:
        current = x509.load_pem_x509_certificate(files.certificate.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"document-signing certificate {files.certificate}: {exc}"
        ) from exc
    now = dt.datetime.now(dt.UTC)
    entries = [TrustedDocumentSigner(name=f"{name} (PDF signer)", certificate=_pem(current))]
    for old in _load_retired(files.retired):
        if old != current and old.not_valid_after_utc >= now:
            entries.append(
                TrustedDocumentSigner(name=f"{name} (retired PDF signer)", certificate=_pem(old))
            )
    return entries


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load_or_create_certificate(
    path: Path, key: ec.EllipticCurvePrivateKey, name: str, origin: str
) -> x509.Certificate:
    if path.exists():
        try:
            certificate = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError as exc:
            raise ConfigurationError(f"document-signing certificate {path}: {exc}") from exc
        if certificate.public_key() != key.public_key():
            raise ConfigurationError(
                f"document-signing certificate {path} is not for the key beside it: restore "
                "the pair, or remove the certificate to make a new one for the key"
            )
        if certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
            raise ConfigurationError(
                f"document-signing certificate {path} expired on "
                f"{certificate.not_valid_after_utc:%Y-%m-%d}: rotate the key "
                "(docs/certificate-pdf.md)"
            )
        return certificate
    certificate = _self_signed(key, name, origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its key; a process that loses the race reads the winner's.
    try:
        with path.open("xb") as fh:
            fh.write(certificate.public_bytes(serialization.Encoding.PEM))
    except FileExistsError:
        return _load_or_create_certificate(path, key, name, origin)
    return certificate


def _self_signed(key: ec.EllipticCurvePrivateKey, name: str, origin: str) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} document signer"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, origin[:64]),
        ]
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        # An hour back: a reader whose clock is a little behind still finds it valid.
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING_EKU]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _load_retired(path: Path) -> tuple[x509.Certificate, ...]:
    if not path.exists():
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(path.read_bytes()))
    except ValueError as exc:
        raise ConfigurationError(f"retired document-signing certificates {path}: {exc}") from exc
