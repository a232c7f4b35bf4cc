"""The salted commitment to a trade secret's plaintext: the only thing about it anchored on chain.

``SHA-256(tag || salt || SHA-256(plaintext))``, hex, with a 32-byte random salt that travels inside
the wrapped key (:class:`~ipnotary.sdk.trade_secret.wrapping.KeyMaterial`), never in the clear.
Part of :mod:`ipnotary.sdk.trade_secret`, which re-exports its public names.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from ipnotary.sdk.errors import FormatError, VerificationError

__all__ = ["compute_commitment", "verify_commitment"]

_COMMITMENT_TAG = b"ipnotary/trade-secret/commitment/v1\x00"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def compute_commitment(plaintext_sha256: bytes, salt: bytes) -> str:
    """``SHA-256(tag || salt || SHA-256(plaintext))``, hex.

    Every field has a fixed length, so the encoding is injective and binding reduces to SHA-256
    collision resistance; the 256-bit secret salt makes it hiding, so a guessable secret cannot be
    confirmed by hashing candidates.
    """
    if len(plaintext_sha256) != 32 or len(salt) != 32:
        raise ValueError("the digest and the salt are 32 bytes each")
    return hashlib.sha256(_COMMITMENT_TAG + salt + plaintext_sha256).hexdigest()


def verify_commitment(plaintext_sha256: bytes, salt: bytes, commitment: str) -> None:
    """Raise :class:`VerificationError` (step ``commitment``) unless the commitment opens to this
    digest with this salt."""
    check_commitment(commitment)
    if not hmac.compare_digest(compute_commitment(plaintext_sha256, salt), commitment):
        raise VerificationError(
            "commitment", "the plaintext and salt do not open the filed commitment"
        )


def check_commitment(commitment: object) -> None:
    """Raise :class:`FormatError` unless ``commitment`` is written as a commitment is (64 lowercase
    hex digits); says nothing about what it commits to."""
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
        raise FormatError("a commitment is 64 lowercase hex digits")
