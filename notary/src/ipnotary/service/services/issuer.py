"""The service's Ed25519 issuer key, and the signed documents it issues (receipts, certificates).

The key lives in a PEM file (``adapters.keys``). Signatures are deterministic (Ed25519), so a
certificate rebuilt later from the database is byte-identical.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.certificate import (
    CERTIFICATE_MEDIA_TYPE,
    CERTIFICATE_V1_MEDIA_TYPE,
    RECEIPT_MEDIA_TYPE,
    Anchor,
    AnyCertificate,
    format_timestamp,
    parse_certificate,
)
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.signing import key_id, public_key_to_b64, sign_document
from ipnotary.sdk.verify import verify_certificate
from ipnotary.service.errors import ConfigurationError

__all__ = ["OPERATOR_ONLY_NOTICE", "Issuer", "LogFacts"]

OPERATOR_ONLY_NOTICE = (
    "No independent party vouches for the time of this certificate: it carries no witness "
    "cosignature and no time-stamp token, and its chain is the operator's own. It shows what the "
    "operator attests, not what the operator could not have backdated."
)


@dataclass(frozen=True)
class LogFacts:
    """A record's place in the log, and the (cosigned) checkpoint that includes it."""

    origin: str
    leaf_index: int
    tree_size: int
    inclusion_proof: Sequence[bytes]
    checkpoint: str  # the signed note, with cosignature lines


class Issuer:
    """Signs receipts and certificates with the service key.

    ``policy_source`` (set by the runtime: the deployment's published policy, built on first use)
    is what every issued certificate is checked against before it leaves: never hand out a
    certificate our own verifier would reject under our own published policy.
    """

    def __init__(self, private_key: Ed25519PrivateKey, name: str = "ip-notary") -> None:
        self._key = private_key
        public = private_key.public_key()
        self.key_id = key_id(public)
        self.public_key_b64 = public_key_to_b64(public)
        self.name = name
        self.policy_source: Callable[[], TrustPolicy] | None = None

    @property
    def policy(self) -> TrustPolicy | None:
        return self.policy_source() if self.policy_source is not None else None

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        """The issuer's key, for the SDK's Data Integrity proofs (``ipnotary.sdk.vc``): those
        sign the cryptosuite's hash data, not canonical JSON as :meth:`sign` does."""
        return self._key

    def _issuer_field(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": self.public_key_b64, "name": self.name}

    def sign(self, unsigned: dict[str, Any]) -> dict[str, Any]:
        """Add an Ed25519 ``signature`` over the canonical JSON of ``unsigned``."""
        return {
            **unsigned,
            "signature": {"alg": "Ed25519", "value": sign_document(self._key, unsigned)},
        }

    def receipt_document(
        self, record: dict[str, Any], leaf_hash: str, issued_at: datetime
    ) -> dict[str, Any]:
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
        log: LogFacts,
        timestamps: Sequence[bytes],
        cosignatures: int,
        anchor: Anchor,
        issued_at: datetime,
    ) -> AnyCertificate:
        """A version 2 certificate: the record's inclusion in the log at a cosigned checkpoint.

        When nothing in it but our own signatures and our own chain vouches for its time (no
        cosignature, no token, no chain our policy suggests for time), it says so in ``notice``.
        """
        unsigned: dict[str, Any] = {
            "media_type": CERTIFICATE_MEDIA_TYPE,
            "record": record,
            "leaf_hash": leaf_hash,
            "log": {
                "origin": log.origin,
                "leaf_index": log.leaf_index,
                "tree_size": log.tree_size,
                "inclusion_proof": [h.hex() for h in log.inclusion_proof],
                "checkpoint": log.checkpoint,
            },
            "timestamps": [{"token": base64.b64encode(t).decode("ascii")} for t in timestamps],
            "anchor": anchor.model_dump(),
            "issued_at": format_timestamp(issued_at),
            "issuer": self._issuer_field(),
        }
        policy = self.policy
        if not cosignatures and not timestamps and not (policy and policy.chains):
            unsigned["notice"] = OPERATOR_ONLY_NOTICE
        return self._checked(unsigned)

    def certificate_v1(
        self,
        *,
        record: dict[str, Any],
        leaf_hash: str,
        leaf_index: int,
        tree_size: int,
        audit_path: list[str],
        root: str,
        anchor: Anchor,
        issued_at: datetime,
    ) -> AnyCertificate:
        """A version 1 certificate, for records anchored in their own batch tree before the log
        existed: they can be fetched again, as what they are."""
        unsigned = {
            "media_type": CERTIFICATE_V1_MEDIA_TYPE,
            "record": record,
            "leaf_hash": leaf_hash,
            "proof": {
                "hash_alg": "sha256",
                "leaf_index": leaf_index,
                "tree_size": tree_size,
                "audit_path": audit_path,
                "root": root,
            },
            "anchor": anchor.model_dump(),
            "issued_at": format_timestamp(issued_at),
            "issuer": self._issuer_field(),
        }
        return self._checked(unsigned)

    def _checked(self, unsigned: dict[str, Any]) -> AnyCertificate:
        cert = parse_certificate(self.sign(unsigned))
        # Never hand out a certificate our own verifier would reject under our own policy.
        try:
            verify_certificate(cert, self.policy)
        except VerificationError as exc:
            raise ConfigurationError(
                f"refusing to issue a certificate that fails our own trust policy at step "
                f"'{exc.step}': {exc.reason} (is this server's clock right?)",
                code="certificate_self_check_failed",
            ) from exc
        return cert
