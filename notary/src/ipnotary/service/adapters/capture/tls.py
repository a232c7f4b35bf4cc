"""The certificate chains the browser was shown, as evidence: each certificate's DER, digest and
names, and whether the chain verifies for the host against the system's roots (and the operator's
``NOTARY_CAPTURE_CA_FILE``) at capture time, with cryptography's X.509 path validation.

The browser accepts any chain during a capture (``ignore_https_errors``): a page behind a broken
certificate is still evidence, and the record says that the chain did not verify and why.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

__all__ = ["describe_chain", "load_roots"]

SYSTEM_ROOTS = Path("/etc/ssl/certs/ca-certificates.crt")


def load_roots(extra: Path | None) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for path in (SYSTEM_ROOTS, extra):
        if path is not None and path.is_file():
            roots += x509.load_pem_x509_certificates(path.read_bytes())
    return roots


def describe_chain(
    host: str, chain: list[bytes], roots: list[x509.Certificate], at: datetime | None = None
) -> dict[str, Any]:
    """What the provenance says of one origin's chain (leaf first)."""
    certificates = [x509.load_der_x509_certificate(der) for der in chain]
    described = [
        {
            "sha256": hashlib.sha256(der).hexdigest(),
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": format(cert.serial_number, "x"),
            "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        }
        for der, cert in zip(chain, certificates, strict=True)
    ]
    verified, error = _verify(host, certificates, roots, at or datetime.now(UTC))
    return {"certificates": described, "verified": verified, "verify_error": error}


def _verify(
    host: str, chain: list[x509.Certificate], roots: list[x509.Certificate], at: datetime
) -> tuple[bool, str | None]:
    if not chain:
        return False, "no certificate"
    if not roots:
        return False, "no trusted roots on this machine"
    try:
        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    verifier = PolicyBuilder().store(Store(roots)).time(at).build_server_verifier(subject)
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as exc:
        return False, str(exc)
    return True, None
