"""Ed25519 issuer keys: key ids, signing and checking over canonical JSON.

Uses ``cryptography``'s Ed25519 (RFC 8032) and nothing hand-made. A key id is the SHA-256 of the raw
32-byte public key, hex: stable, collision-free, and computable by anyone holding the key.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.errors import FormatError

__all__ = [
    "b64decode",
    "b64encode",
    "key_id",
    "public_key_from_b64",
    "public_key_to_b64",
    "sign_document",
    "signature_is_valid",
]


def b64encode(data: bytes) -> str:
    """Unpadded base64url, as JWS and most modern formats write binary."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``, which must be their one encoding.

    The last character of a value whose length is not a multiple of three carries unused bits,
    and a decoder ignores them: without the check, sixteen spellings of one Ed25519 signature (four
    of a public key) would decode the same, and a certificate with its signature respelled would
    still verify while being another document (found by tests/fuzz/test_verifier_fuzz.py)."""
    if not isinstance(text, str) or len(text) > 4096:
        raise FormatError("expected a short base64url string")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise FormatError(f"invalid base64url: {exc}") from exc
    if b64encode(raw) != text:
        raise FormatError("base64url must be the one encoding of its bytes (unused bits zero)")
    return raw


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_to_b64(key: Ed25519PublicKey) -> str:
    return b64encode(public_key_raw(key))


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    raw = b64decode(text)
    if len(raw) != 32:
        raise FormatError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_raw(key)).hexdigest()


def sign_document(private_key: Ed25519PrivateKey, unsigned: dict[str, Any]) -> str:
    """Signature (base64url) over the RFC 8785 bytes of ``unsigned``."""
    return b64encode(private_key.sign(canonical_json(unsigned)))


def signature_is_valid(
    public_key: Ed25519PublicKey, unsigned: dict[str, Any], signature: str
) -> bool:
    try:
        public_key.verify(b64decode(signature), canonical_json(unsigned))
    except (InvalidSignature, FormatError):
        return False
    return True
