"""The service's Ed25519 issuer key, and the signed documents it issues (receipts, certificates).

The key lives in a PEM file (mode 0600) in the data directory, generated on first start. Signatures
are deterministic (Ed25519), so a certificate rebuilt later from the database is byte-identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client_sdk.certificate import (
    CERTIFICATE_MEDIA_TYPE,
    RECEIPT_MEDIA_TYPE,
    Certificate,
    format_timestamp,
)
from client_sdk.signing import key_id, public_key_to_b64, sign_document
from client_sdk.verify import verify_certificate
from notary.errors import ConfigurationError

__all__ = ["AnchorFacts", "Issuer", "load_or_create_issuer_key", "public_trust_document"]


def load_or_create_issuer_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"issuer key file {path} is not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"issuer key file {path} holds a non-Ed25519 key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_issuer_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return key


@dataclass(frozen=True)
class AnchorFacts:
    """What the database knows about an anchored batch, as the certificate states it."""

    chain_id: int
    contract: str
    batch_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_timestamp: int


class Issuer:
    """Signs receipts and certificates with the service key."""

    def __init__(self, private_key: Ed25519PrivateKey, name: str = "ip-notary") -> None:
        self._key = private_key
        public = private_key.public_key()
        self.key_id = key_id(public)
        self.public_key_b64 = public_key_to_b64(public)
        self.name = name

    def _issuer_field(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": self.public_key_b64, "name": self.name}

    def sign(self, unsigned: dict[str, Any]) -> dict[str, Any]:
        """Add an Ed25519 ``signature`` over the canonical JSON of ``unsigned``."""
        return {**unsigned, "signature": {"alg": "Ed25519", "value": sign_document(self._key, unsigned)}}

    def receipt_document(self, record: dict[str, Any], leaf_hash: str, issued_at: datetime) -> dict[str, Any]:
        """The signed receipt as JSON, built from already-validated parts (the hot path of
        every submission: no second validation of what was just built)."""
        unsigned = {
            "media_type": RECEIPT_MEDIA_TYPE,
            "record": record,
            "leaf_hash": leaf_hash,
            "status": "pending",
            "issued_at": format_timestamp(issued_at),
            "issuer": self._issuer_field(),
        }
        return self.sign(unsigned)

    def certificate(
        self,
        *,
        record: dict[str, Any],
        leaf_hash: str,
        leaf_index: int,
        tree_size: int,
        audit_path: list[str],
        root: str,
        anchor: AnchorFacts,
        issued_at: datetime,
    ) -> Certificate:
        unsigned = {
            "media_type": CERTIFICATE_MEDIA_TYPE,
            "record": record,
            "leaf_hash": leaf_hash,
            "proof": {
                "hash_alg": "sha256",
                "leaf_index": leaf_index,
                "tree_size": tree_size,
                "audit_path": audit_path,
                "root": root,
            },
            "anchor": {
                "chain_id": anchor.chain_id,
                "contract": anchor.contract,
                "batch_id": anchor.batch_id,
                "tx_hash": anchor.tx_hash.lower(),
                "block_number": anchor.block_number,
                "block_hash": anchor.block_hash.lower(),
                "block_timestamp": anchor.block_timestamp,
                "block_time": format_timestamp(datetime.fromtimestamp(anchor.block_timestamp, UTC)),
            },
            "issued_at": format_timestamp(issued_at),
            "issuer": self._issuer_field(),
        }
        cert = Certificate.from_json(self.sign(unsigned))
        # Never hand out a certificate our own verifier would reject.
        verify_certificate(cert, trusted_issuer_keys=[self.key_id])
        return cert


def public_trust_document(issuer: Issuer, chain_id: int | None, contract: str | None) -> dict[str, Any]:
    """What verifiers pin: the issuer key and the registry address (served at /v1/trust)."""
    return {
        "issuer": {"key_id": issuer.key_id, "public_key": issuer.public_key_b64, "name": issuer.name},
        "registry": {"chain_id": chain_id, "contract": contract},
    }
