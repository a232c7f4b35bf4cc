"""Key wrapping: a filing's data key and commitment salt, sealed with HPKE to one recipient.

HPKE (RFC 9180, mode base) from ``cryptography``, with the hybrid post-quantum KEM ML-KEM-768 +
X25519; DHKEM(X25519) only when the holder explicitly allows it for a recipient without a hybrid
key; HKDF-SHA256; AES-256-GCM. The HPKE ``info`` binds the filing id and the recipient's key id, so
a wrapped key opens for nothing else. A :class:`WrappedKey` is a small public JSON document the
service stores; only the recipient's :class:`~ipnotary.sdk.trade_secret.keys.RecipientKeys` open
it. Part of :mod:`ipnotary.sdk.trade_secret`, which re-exports its public names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.errors import DecryptionError, FormatError, VerificationError
from ipnotary.sdk.signing import b64decode, b64encode
from ipnotary.sdk.trade_secret.container import check_filing_id
from ipnotary.sdk.trade_secret.keys import (
    RECIPIENT_KEY_STEP,
    RecipientKeys,
    RecipientPublicKey,
    expect_keys,
)

__all__ = [
    "MAX_WRAPPED_KEY_BYTES",
    "SUITE_HYBRID",
    "SUITE_X25519",
    "WRAPPED_KEY_MEDIA_TYPE",
    "KeyMaterial",
    "Suite",
    "WrappedKey",
    "unwrap_data_key",
    "wrap_data_key",
]

WRAPPED_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-wrapped-key+json;version=1"

SUITE_HYBRID: Final = "hpke-base/mlkem768-x25519/hkdf-sha256/aes-256-gcm"
SUITE_X25519: Final = "hpke-base/dhkem-x25519-hkdf-sha256/hkdf-sha256/aes-256-gcm"
Suite = Literal[
    "hpke-base/mlkem768-x25519/hkdf-sha256/aes-256-gcm",
    "hpke-base/dhkem-x25519-hkdf-sha256/hkdf-sha256/aes-256-gcm",
]
_HPKE_SUITES: dict[str, hpke.Suite] = {
    SUITE_HYBRID: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    SUITE_X25519: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}
_HPKE_ENC_LENGTH = {
    SUITE_HYBRID: hpke.KEM.MLKEM768_X25519.enc_length(),
    SUITE_X25519: hpke.KEM.X25519.enc_length(),
}
_WRAP_PURPOSE = "ipnotary/trade-secret/data-key/v1"

# Limits ("to prevent DoS"): every document here is small; anything larger is hostile.
MAX_WRAPPED_KEY_BYTES = 8192
_HEX64 = re.compile(r"[0-9a-f]{64}")  # a recipient key id


@dataclass(frozen=True, repr=False)
class KeyMaterial:
    """What a wrapped key carries: the data key of the container and the commitment salt."""

    data_key: bytes
    commitment_salt: bytes

    _VERSION = 1
    SIZE = 1 + 32 + 32

    def __post_init__(self) -> None:
        if len(self.data_key) != 32 or len(self.commitment_salt) != 32:
            raise ValueError("the data key and the commitment salt are 32 bytes each")

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(data_key=os.urandom(32), commitment_salt=os.urandom(32))

    def to_bytes(self) -> bytes:
        return bytes([self._VERSION]) + self.data_key + self.commitment_salt

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyMaterial:
        if len(data) != cls.SIZE or data[0] != cls._VERSION:
            raise DecryptionError("the unwrapped key material has an unknown layout")
        return cls(data_key=data[1:33], commitment_salt=data[33:])

    def __repr__(self) -> str:
        return "KeyMaterial(<secret>)"


@dataclass(frozen=True)
class WrappedKey:
    """A data key (and commitment salt) sealed with HPKE to one recipient for one filing.

    The service stores it as the small JSON document of :meth:`to_json`; nothing in it is secret.
    """

    filing_id: str
    recipient_key_id: str
    suite: Suite
    sealed: bytes = field(repr=False)  # HPKE enc || AEAD ciphertext of KeyMaterial

    def __post_init__(self) -> None:
        check_filing_id(self.filing_id)
        if not isinstance(self.recipient_key_id, str) or not _HEX64.fullmatch(
            self.recipient_key_id
        ):
            raise FormatError("wrapped key: recipient_key_id must be 64 lowercase hex digits")
        if self.suite not in _HPKE_SUITES:
            raise FormatError(f"wrapped key: unknown suite {self.suite!r}")
        expected = _HPKE_ENC_LENGTH[self.suite] + KeyMaterial.SIZE + 16
        if not isinstance(self.sealed, bytes) or len(self.sealed) != expected:
            raise FormatError(f"wrapped key: the sealed key must be {expected} bytes for its suite")

    def to_json(self) -> dict[str, Any]:
        return {
            "media_type": WRAPPED_KEY_MEDIA_TYPE,
            "filing_id": self.filing_id,
            "recipient_key_id": self.recipient_key_id,
            "suite": self.suite,
            "sealed": b64encode(self.sealed),
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> WrappedKey:
        if not isinstance(doc, Mapping):
            raise FormatError("a wrapped key is a JSON object")
        expect_keys(
            doc,
            {"media_type", "filing_id", "recipient_key_id", "suite", "sealed"},
            set(),
            what="wrapped key",
        )
        if doc["media_type"] != WRAPPED_KEY_MEDIA_TYPE:
            raise FormatError(f"not a trade-secret wrapped key: {doc['media_type']!r}")
        for name in ("filing_id", "recipient_key_id", "suite", "sealed"):
            if not isinstance(doc[name], str):
                raise FormatError(f"wrapped key: {name} must be a string")
        return cls(
            filing_id=doc["filing_id"],
            recipient_key_id=doc["recipient_key_id"],
            suite=cast(Suite, doc["suite"]),
            sealed=b64decode(doc["sealed"]),
        )

    @classmethod
    def from_bytes(cls, data: bytes | str) -> WrappedKey:
        return cls.from_json(parse_json(data, max_bytes=MAX_WRAPPED_KEY_BYTES, what="wrapped key"))


def wrap_data_key(
    material: KeyMaterial,
    recipient: RecipientPublicKey,
    *,
    filing_id: str,
    allow_classic: bool = False,
) -> WrappedKey:
    """Seal ``material`` to a recipient's public keys for one filing.

    ``recipient`` is one's own :meth:`RecipientKeys.public_key` or what
    :func:`verify_recipient_document` returned for a document checked against the recipient's
    pinned signing key id; a raw document is refused. The hybrid ML-KEM-768 + X25519 suite is
    used; a recipient without a hybrid key is refused unless ``allow_classic`` says the holder
    accepts classic X25519 HPKE, which a future quantum computer could open. Never a silent
    fallback.
    """
    check_filing_id(filing_id)
    if not isinstance(recipient, RecipientPublicKey):
        raise TypeError(
            "wrap_data_key takes a RecipientPublicKey: your own (RecipientKeys.public_key()) or "
            "a recipient's document checked by verify_recipient_document(doc, signing_key_id=...)"
        )
    suite: Suite
    public_key: hpke.MLKEM768X25519PublicKey | X25519PublicKey
    if recipient.hybrid is not None:
        suite, public_key = SUITE_HYBRID, recipient.hybrid
    elif allow_classic:
        suite, public_key = SUITE_X25519, recipient.x25519
    else:
        raise VerificationError(
            RECIPIENT_KEY_STEP,
            f"recipient key {recipient.key_id} has no post-quantum (ML-KEM-768 + X25519) key; "
            "classic X25519 is used only if you allow it explicitly (allow_classic=True, "
            "--allow-classic on the command line)",
        )
    info = _wrap_info(filing_id, recipient.key_id, suite)
    try:
        sealed = _HPKE_SUITES[suite].encrypt(material.to_bytes(), public_key, info=info)
    except ValueError as exc:  # e.g. a low-order X25519 point: DH gives the all-zero secret
        raise FormatError(f"recipient key {recipient.key_id} is not usable: {exc}") from exc
    return WrappedKey(
        filing_id=filing_id, recipient_key_id=recipient.key_id, suite=suite, sealed=sealed
    )


def unwrap_data_key(wrapped: WrappedKey, keys: RecipientKeys, *, filing_id: str) -> KeyMaterial:
    """Open a wrapped key with the recipient's private keys; raises DecryptionError if it is not
    theirs, not for ``filing_id``, or was altered."""
    if wrapped.filing_id != filing_id:
        raise DecryptionError(
            f"this wrapped key is for filing {wrapped.filing_id!r}, not {filing_id!r}"
        )
    own_id = keys.key_id
    if wrapped.recipient_key_id != own_id:
        raise DecryptionError(
            f"this wrapped key was made for recipient key {wrapped.recipient_key_id}, "
            f"not for these keys ({own_id}): ask the holder to disclose it to you"
        )
    info = _wrap_info(filing_id, own_id, wrapped.suite)
    try:
        plain = _HPKE_SUITES[wrapped.suite].decrypt(
            wrapped.sealed, _hpke_private_key(keys, wrapped.suite), info=info
        )
    except (InvalidTag, ValueError):
        raise DecryptionError(
            "the wrapped key failed authentication: it was altered, or made for another filing "
            "or recipient and relabelled"
        ) from None
    return KeyMaterial.from_bytes(plain)


def _hpke_private_key(
    keys: RecipientKeys, suite: str
) -> X25519PrivateKey | hpke.MLKEM768X25519PrivateKey:
    if suite == SUITE_X25519:
        return keys.x25519
    if keys.mlkem768 is None or keys.hybrid_x25519 is None:
        raise DecryptionError("the key was wrapped to a hybrid key, and these keys have none")
    return hpke.MLKEM768X25519PrivateKey(keys.mlkem768, keys.hybrid_x25519)


def _wrap_info(filing_id: str, recipient_key_id: str, suite: str) -> bytes:
    return canonical_json(
        {
            "purpose": _WRAP_PURPOSE,
            "filing_id": filing_id,
            "recipient_key_id": recipient_key_id,
            "suite": suite,
        }
    )
