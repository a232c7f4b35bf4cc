"""Trade-secret filings: encrypt on the holder's machine, commit to the plaintext, disclose by key.

The plaintext never leaves the holder's machine. :func:`seal_secret` encrypts a file into a container
(only this ciphertext is uploaded), computes a salted commitment to the plaintext's SHA-256 (the
only thing anchored on chain) and wraps the random data key, together with the commitment salt, to
the holder's own public keys. :func:`disclose` re-wraps that key to an arbitrator's or notary's
public keys; :func:`open_secret` is what the recipient runs: it decrypts while checking every segment
and finally the commitment, and only then moves the plaintext into place. Nobody without a wrapped
key, the operator included, can read the secret. ``docs/trade-secret-crypto.md`` has the byte
layout, the threat model and the reasons behind each choice.

Pieces, all from ``cryptography`` (nothing hand-made below the framing):

* key wrapping: HPKE (RFC 9180, mode base) with the hybrid post-quantum KEM ML-KEM-768 + X25519,
  or DHKEM(X25519) when a recipient has no hybrid key; HKDF-SHA256; AES-256-GCM. The HPKE ``info``
  binds the filing id and the recipient's key id, so a wrapped key opens for nothing else.
* content: Tink's AES-GCM-HKDF streaming AEAD (STREAM), see :mod:`client_sdk._stream_aead`.
* commitment: ``SHA-256(tag || salt || SHA-256(plaintext))`` with a 32-byte random salt.

Start reading at :func:`seal_secret`. Errors: documents that do not parse raise
:class:`~client_sdk.errors.FormatError`; anything that stops a secret from opening (wrong recipient,
wrong filing, altered or cut ciphertext, commitment mismatch) raises
:class:`~client_sdk.errors.DecryptionError` with a message saying which.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Literal, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from client_sdk import _stream_aead
from client_sdk.canonical import canonical_json, parse_json
from client_sdk.errors import DecryptionError, FormatError, VerificationError
from client_sdk.signing import b64decode, b64encode

__all__ = [
    "CONTAINER_MAGIC",
    "CONTAINER_MEDIA_TYPE",
    "RECIPIENT_KEY_MEDIA_TYPE",
    "SUITE_HYBRID",
    "SUITE_X25519",
    "WRAPPED_KEY_MEDIA_TYPE",
    "ContainerInfo",
    "KeyMaterial",
    "OpenedSecret",
    "RecipientKeys",
    "SealedSecret",
    "WrappedKey",
    "compute_commitment",
    "disclose",
    "inspect_container",
    "new_filing_id",
    "open_secret",
    "recipient_key_id",
    "seal_secret",
    "unwrap_data_key",
    "verify_commitment",
    "wrap_data_key",
]

RECIPIENT_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-recipient-key+json;version=1"
PRIVATE_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-private-key+json;version=1"
ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE = (
    "application/vnd.ipnotary.trade-secret-private-key-encrypted+json;version=1"
)
WRAPPED_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-wrapped-key+json;version=1"
CONTAINER_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-container;version=1"

# PNG-style magic: the high byte catches 7-bit channels, CR LF catches newline translation.
CONTAINER_MAGIC = b"\x89IPNTS\r\n"
CONTAINER_VERSION = 1
STREAM_ALGORITHM = "tink-aes256-gcm-hkdf-sha256"

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
_COMMITMENT_TAG = b"ipnotary/trade-secret/commitment/v1\x00"

# Limits ("to prevent DoS"): every document here is small; anything larger is hostile.
MAX_CONTAINER_HEADER_BYTES = 4096
MAX_WRAPPED_KEY_BYTES = 8192
MAX_PUBLIC_DOCUMENT_BYTES = 4096
MAX_PRIVATE_KEY_FILE_BYTES = 8192
_FILING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_HEX64 = re.compile(r"[0-9a-f]{64}")

_MLKEM768_PUBLIC_SIZE = 1184
_MLKEM768_SEED_SIZE = 64
_HYBRID_PUBLIC_SIZE = _MLKEM768_PUBLIC_SIZE + 32  # pk_ML-KEM-768 || pk_X25519

# Key files: scrypt (RFC 7914) at 128 MiB of memory by default; reading accepts at most 256 MiB
# (N = 2^18) so a hostile file cannot make us allocate gigabytes.
DEFAULT_SCRYPT_N = 1 << 17
_SCRYPT_N_RANGE = (1 << 14, 1 << 18)
_SCRYPT_R = 8
_SCRYPT_P = 1


# --------------------------------------------------------------------------------------- keys --


@dataclass(frozen=True, repr=False)
class RecipientKeys:
    """A principal's private keys for trade secrets: a hybrid HPKE key pair and an X25519 key pair.

    The hybrid key is ML-KEM-768 plus its own X25519 key (never the classic one: one key, one use).
    It is optional only for a principal whose tooling has no ML-KEM; such a principal receives
    classic X25519 HPKE, which a future quantum computer could break.
    """

    x25519: X25519PrivateKey
    mlkem768: MLKEM768PrivateKey | None = None
    hybrid_x25519: X25519PrivateKey | None = None

    def __post_init__(self) -> None:
        if (self.mlkem768 is None) != (self.hybrid_x25519 is None):
            raise ValueError("the hybrid key needs both its ML-KEM-768 and its X25519 half")

    @classmethod
    def generate(cls, *, post_quantum: bool = True) -> RecipientKeys:
        if not post_quantum:
            return cls(x25519=X25519PrivateKey.generate())
        return cls(
            x25519=X25519PrivateKey.generate(),
            mlkem768=MLKEM768PrivateKey.generate(),
            hybrid_x25519=X25519PrivateKey.generate(),
        )

    @property
    def has_hybrid(self) -> bool:
        return self.mlkem768 is not None

    def public_document(self) -> dict[str, str]:
        """The document the service stores for this principal and holders wrap keys to."""
        return dict(self._public_document)

    @cached_property
    def _public_document(self) -> dict[str, str]:
        doc = {
            "media_type": RECIPIENT_KEY_MEDIA_TYPE,
            "x25519": b64encode(self.x25519.public_key().public_bytes_raw()),
        }
        if self.mlkem768 is not None and self.hybrid_x25519 is not None:
            doc["hpke_mlkem768x25519"] = b64encode(
                self.mlkem768.public_key().public_bytes_raw()
                + self.hybrid_x25519.public_key().public_bytes_raw()
            )
        doc["key_id"] = _public_key_id(doc)
        return doc

    @property
    def key_id(self) -> str:
        """SHA-256 of the canonical public document (without this field); compare it out of band."""
        return self._public_document["key_id"]

    def __repr__(self) -> str:
        return f"RecipientKeys(key_id={self.key_id!r}, post_quantum={self.has_hybrid})"

    # -- private key file --

    def private_document(self, *, password: str | bytes | None = None,
                         scrypt_n: int = DEFAULT_SCRYPT_N) -> dict[str, Any]:
        """The private keys as a JSON document, encrypted under ``password`` if one is given.

        With a password: scrypt(N=``scrypt_n``, r=8, p=1) derives an AES-256-GCM key that encrypts
        the plain document; the KDF parameters and key id are authenticated as associated data.
        """
        plain: dict[str, Any] = {
            "media_type": PRIVATE_KEY_MEDIA_TYPE,
            "key_id": self.key_id,
            "x25519": b64encode(self.x25519.private_bytes_raw()),
        }
        if self.mlkem768 is not None and self.hybrid_x25519 is not None:
            plain["mlkem768_seed"] = b64encode(self.mlkem768.private_bytes_raw())
            plain["hybrid_x25519"] = b64encode(self.hybrid_x25519.private_bytes_raw())
        if password is None:
            return plain
        if not password:
            raise ValueError("an empty password protects nothing; pass password=None instead")
        if not _SCRYPT_N_RANGE[0] <= scrypt_n <= _SCRYPT_N_RANGE[1] or scrypt_n & (scrypt_n - 1):
            raise ValueError(f"scrypt_n must be a power of two in {_SCRYPT_N_RANGE}")
        envelope: dict[str, Any] = {
            "media_type": ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE,
            "key_id": self.key_id,
            "kdf": {"name": "scrypt", "salt": b64encode(os.urandom(16)), "n": scrypt_n,
                    "r": _SCRYPT_R, "p": _SCRYPT_P},
            "aead": "aes-256-gcm",
            "nonce": b64encode(os.urandom(12)),
        }
        key = _password_key(password, envelope["kdf"])
        envelope["ciphertext"] = b64encode(
            AESGCM(key).encrypt(b64decode(envelope["nonce"]), canonical_json(plain),
                                canonical_json(envelope))
        )
        return envelope

    @classmethod
    def from_private_document(cls, doc: Mapping[str, Any], *,
                              password: str | bytes | None = None) -> RecipientKeys:
        if not isinstance(doc, Mapping):
            raise FormatError("a private key document is a JSON object")
        if doc.get("media_type") == ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE:
            if password is None:
                raise DecryptionError("this key file is password-protected; give the password")
            doc = _decrypt_private_document(doc, password)
        _expect_keys(doc, {"media_type", "key_id", "x25519"},
                     {"mlkem768_seed", "hybrid_x25519"}, what="private key document")
        if doc["media_type"] != PRIVATE_KEY_MEDIA_TYPE:
            raise FormatError(f"not a trade-secret private key document: {doc['media_type']!r}")
        try:
            x25519 = X25519PrivateKey.from_private_bytes(_b64_exact(doc["x25519"], 32, "x25519"))
            mlkem = hybrid_x = None
            if "mlkem768_seed" in doc or "hybrid_x25519" in doc:
                mlkem = MLKEM768PrivateKey.from_seed_bytes(
                    _b64_exact(doc.get("mlkem768_seed"), _MLKEM768_SEED_SIZE, "mlkem768_seed"))
                hybrid_x = X25519PrivateKey.from_private_bytes(
                    _b64_exact(doc.get("hybrid_x25519"), 32, "hybrid_x25519"))
            keys = cls(x25519=x25519, mlkem768=mlkem, hybrid_x25519=hybrid_x)
        except ValueError as exc:
            raise FormatError(f"private key document: {exc}") from exc
        if keys.key_id != doc["key_id"]:
            raise FormatError("private key document: the keys do not match its key_id")
        return keys

    def save(self, path: str | os.PathLike[str], *, password: str | bytes | None = None,
             scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        """Write the private key file, readable by its owner only; never overwrites a file."""
        data = canonical_json(self.private_document(password=password, scrypt_n=scrypt_n))
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             password: str | bytes | None = None) -> RecipientKeys:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PRIVATE_KEY_FILE_BYTES + 1)
        doc = parse_json(data, max_bytes=MAX_PRIVATE_KEY_FILE_BYTES, what="private key file")
        return cls.from_private_document(doc, password=password)

    # -- used by unwrap --

    def _hpke_private_key(self, suite: str) -> Any:
        if suite == SUITE_X25519:
            return self.x25519
        if self.mlkem768 is None or self.hybrid_x25519 is None:
            raise DecryptionError("the key was wrapped to a hybrid key, and these keys have none")
        return hpke.MLKEM768X25519PrivateKey(self.mlkem768, self.hybrid_x25519)


@dataclass(frozen=True)
class _RecipientPublic:
    key_id: str
    x25519: X25519PublicKey
    hybrid: hpke.MLKEM768X25519PublicKey | None


def _parse_public_document(doc: Mapping[str, Any]) -> _RecipientPublic:
    if not isinstance(doc, Mapping):
        raise FormatError("a recipient key document is a JSON object")
    _expect_keys(doc, {"media_type", "x25519", "key_id"}, {"hpke_mlkem768x25519"},
                 what="recipient key document")
    if doc["media_type"] != RECIPIENT_KEY_MEDIA_TYPE:
        raise FormatError(f"not a trade-secret recipient key document: {doc['media_type']!r}")
    if len(canonical_json(dict(doc))) > MAX_PUBLIC_DOCUMENT_BYTES:
        raise FormatError(f"recipient key document is over {MAX_PUBLIC_DOCUMENT_BYTES} bytes")
    if doc["key_id"] != _public_key_id(doc):
        raise FormatError("recipient key document: key_id does not match its keys")
    try:
        x25519 = X25519PublicKey.from_public_bytes(_b64_exact(doc["x25519"], 32, "x25519"))
        hybrid = None
        if "hpke_mlkem768x25519" in doc:
            raw = _b64_exact(doc["hpke_mlkem768x25519"], _HYBRID_PUBLIC_SIZE,
                             "hpke_mlkem768x25519")
            hybrid = hpke.MLKEM768X25519PublicKey(
                MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM768_PUBLIC_SIZE]),
                X25519PublicKey.from_public_bytes(raw[_MLKEM768_PUBLIC_SIZE:]),
            )
    except ValueError as exc:
        raise FormatError(f"recipient key document: {exc}") from exc
    return _RecipientPublic(key_id=doc["key_id"], x25519=x25519, hybrid=hybrid)


def recipient_key_id(doc: Mapping[str, Any]) -> str:
    """Validate a recipient key document (the service stores one per principal); its key id."""
    return _parse_public_document(doc).key_id


def _public_key_id(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical document without ``key_id``: one id covering every key in it."""
    return hashlib.sha256(canonical_json({k: v for k, v in doc.items() if k != "key_id"})).hexdigest()


# ----------------------------------------------------------------------------- key wrapping --


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
        _check_filing_id(self.filing_id)
        if not isinstance(self.recipient_key_id, str) or not _HEX64.fullmatch(
                self.recipient_key_id):
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
        _expect_keys(doc, {"media_type", "filing_id", "recipient_key_id", "suite", "sealed"},
                     set(), what="wrapped key")
        if doc["media_type"] != WRAPPED_KEY_MEDIA_TYPE:
            raise FormatError(f"not a trade-secret wrapped key: {doc['media_type']!r}")
        for name in ("filing_id", "recipient_key_id", "suite", "sealed"):
            if not isinstance(doc[name], str):
                raise FormatError(f"wrapped key: {name} must be a string")
        return cls(filing_id=doc["filing_id"], recipient_key_id=doc["recipient_key_id"],
                   suite=cast(Suite, doc["suite"]), sealed=b64decode(doc["sealed"]))

    @classmethod
    def from_bytes(cls, data: bytes | str) -> WrappedKey:
        return cls.from_json(parse_json(data, max_bytes=MAX_WRAPPED_KEY_BYTES, what="wrapped key"))


def wrap_data_key(material: KeyMaterial, recipient_public: Mapping[str, Any], *, filing_id: str,
                  require_post_quantum: bool = False) -> WrappedKey:
    """Seal ``material`` to a recipient's public key document for one filing.

    Uses the recipient's hybrid ML-KEM-768 + X25519 key when the document has one, else its X25519
    key; ``require_post_quantum`` refuses the fallback (a document stripped of its hybrid key has
    a different ``key_id``, so pinning the id you expect also detects that downgrade).
    """
    _check_filing_id(filing_id)
    recipient = _parse_public_document(recipient_public)
    suite: Suite
    public_key: hpke.MLKEM768X25519PublicKey | X25519PublicKey
    if recipient.hybrid is not None:
        suite, public_key = SUITE_HYBRID, recipient.hybrid
    elif require_post_quantum:
        raise FormatError(
            f"recipient key {recipient.key_id} has no post-quantum (ML-KEM-768) key")
    else:
        suite, public_key = SUITE_X25519, recipient.x25519
    info = _wrap_info(filing_id, recipient.key_id, suite)
    try:
        sealed = _HPKE_SUITES[suite].encrypt(material.to_bytes(), public_key, info=info)
    except ValueError as exc:  # e.g. a low-order X25519 point: DH gives the all-zero secret
        raise FormatError(f"recipient key {recipient.key_id} is not usable: {exc}") from exc
    return WrappedKey(filing_id=filing_id, recipient_key_id=recipient.key_id, suite=suite,
                      sealed=sealed)


def unwrap_data_key(wrapped: WrappedKey, keys: RecipientKeys, *, filing_id: str) -> KeyMaterial:
    """Open a wrapped key with the recipient's private keys; raises DecryptionError if it is not
    theirs, not for ``filing_id``, or was altered."""
    if wrapped.filing_id != filing_id:
        raise DecryptionError(
            f"this wrapped key is for filing {wrapped.filing_id!r}, not {filing_id!r}")
    own_id = keys.key_id
    if wrapped.recipient_key_id != own_id:
        raise DecryptionError(
            f"this wrapped key was made for recipient key {wrapped.recipient_key_id}, "
            f"not for these keys ({own_id}): ask the holder to disclose it to you")
    info = _wrap_info(filing_id, own_id, wrapped.suite)
    try:
        plain = _HPKE_SUITES[wrapped.suite].decrypt(
            wrapped.sealed, keys._hpke_private_key(wrapped.suite), info=info)
    except (InvalidTag, ValueError):
        raise DecryptionError(
            "the wrapped key failed authentication: it was altered, or made for another filing "
            "or recipient and relabelled") from None
    return KeyMaterial.from_bytes(plain)


def _wrap_info(filing_id: str, recipient_key_id: str, suite: str) -> bytes:
    return canonical_json({"purpose": _WRAP_PURPOSE, "filing_id": filing_id,
                           "recipient_key_id": recipient_key_id, "suite": suite})


# ------------------------------------------------------------------------------- commitment --


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
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
        raise FormatError("a commitment is 64 lowercase hex digits")
    if not hmac.compare_digest(compute_commitment(plaintext_sha256, salt), commitment):
        raise VerificationError(
            "commitment", "the plaintext and salt do not open the filed commitment")


# -------------------------------------------------------------------------------- container --


@dataclass(frozen=True)
class ContainerInfo:
    """What anyone can read from a container without a key (the service checks uploads with it)."""

    filing_id: str
    segment_size: int
    header_bytes: bytes = field(repr=False)  # magic .. end of the JSON header: the stream's AAD

    def plaintext_size(self, container_size: int) -> int:
        """The plaintext size behind a well-formed container of ``container_size`` bytes."""
        try:
            return _stream_aead.plaintext_size(container_size - len(self.header_bytes),
                                               self.segment_size)
        except ValueError as exc:
            raise DecryptionError(f"the container is too short: {exc}") from exc


def new_filing_id() -> str:
    """A fresh filing id, ``ts_`` and 32 hex digits, for when the service does not assign one."""
    return "ts_" + secrets.token_hex(16)


def _container_prefix(filing_id: str, segment_size: int) -> bytes:
    header = canonical_json({
        "media_type": CONTAINER_MEDIA_TYPE,
        "filing_id": filing_id,
        "stream": STREAM_ALGORITHM,
        "segment_size": segment_size,
    })
    return CONTAINER_MAGIC + bytes([CONTAINER_VERSION]) + len(header).to_bytes(2, "big") + header


def _read_container_header(source: BinaryIO) -> ContainerInfo:
    """Steps 1-3 of reading: magic, version, JSON header. Raises DecryptionError."""
    fixed = _stream_aead.read_up_to(source, len(CONTAINER_MAGIC) + 3)
    seen = min(len(fixed), len(CONTAINER_MAGIC))
    if not fixed or fixed[:seen] != CONTAINER_MAGIC[:seen]:
        raise DecryptionError("not a trade-secret container (wrong magic number)")
    if len(fixed) < len(CONTAINER_MAGIC) + 3:
        raise DecryptionError("the container is truncated before the end of its header")
    version = fixed[len(CONTAINER_MAGIC)]
    if version != CONTAINER_VERSION:
        raise DecryptionError(f"unsupported container version {version} (this SDK reads 1)")
    length = int.from_bytes(fixed[-2:], "big")
    if length > MAX_CONTAINER_HEADER_BYTES:
        raise DecryptionError(
            f"the container header claims {length} bytes; the limit is "
            f"{MAX_CONTAINER_HEADER_BYTES}")
    raw = _stream_aead.read_up_to(source, length)
    if len(raw) < length:
        raise DecryptionError("the container is truncated inside its header")
    try:
        header = parse_json(raw, max_bytes=MAX_CONTAINER_HEADER_BYTES, what="container header")
        _expect_keys(header, {"media_type", "filing_id", "stream", "segment_size"}, set(),
                     what="container header")
        if canonical_json(header) != raw:
            raise FormatError("container header is not in canonical JSON form")
    except FormatError as exc:
        raise DecryptionError(f"the container header is malformed: {exc}") from exc
    if header["media_type"] != CONTAINER_MEDIA_TYPE or header["stream"] != STREAM_ALGORITHM:
        raise DecryptionError(
            f"unsupported container: {header['media_type']!r} with {header['stream']!r}")
    size = header["segment_size"]
    if (not isinstance(size, int) or isinstance(size, bool)
            or not _stream_aead.MIN_SEGMENT_SIZE <= size <= _stream_aead.MAX_SEGMENT_SIZE):
        raise DecryptionError(f"the container header has an unacceptable segment_size {size!r}")
    filing_id = header["filing_id"]
    try:
        _check_filing_id(filing_id)
    except FormatError as exc:
        raise DecryptionError(f"the container header is malformed: {exc}") from exc
    return ContainerInfo(filing_id=filing_id, segment_size=size, header_bytes=fixed + raw)


def inspect_container(source: str | os.PathLike[str] | BinaryIO) -> ContainerInfo:
    """Read a container's public header without a key; raises DecryptionError if it is not one.

    The service can use this to refuse an upload that is not a container for the filing. It
    cannot prove the payload is ciphertext: only the holder's SDK can promise that.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return _read_container_header(fh)
    return _read_container_header(source)


# --------------------------------------------------------------------------- high-level API --


@dataclass(frozen=True)
class SealedSecret:
    """What sealing produces. Only the container, the commitment and the wrapped key go to the
    service; the size is public anyway because the container's length reveals it."""

    ciphertext_path: Path
    commitment: str
    holder_wrapped_key: WrappedKey
    size: int
    filing_id: str


@dataclass(frozen=True)
class OpenedSecret:
    """A secret that decrypted, authenticated and matched its commitment."""

    path: Path
    size: int
    sha256: str
    commitment: str
    filing_id: str


def seal_secret(
    plaintext_path: str | os.PathLike[str] | BinaryIO,
    out_path: str | os.PathLike[str],
    *,
    holder_public: Mapping[str, Any],
    filing_id: str,
    segment_size: int = _stream_aead.DEFAULT_SEGMENT_SIZE,
    require_post_quantum: bool = False,
) -> SealedSecret:
    """Encrypt a secret into a container at ``out_path`` and commit to it; nothing leaves the machine.

    The plaintext is read once, in segments (constant memory). The container appears at
    ``out_path`` only when complete. ``filing_id`` is chosen before sealing (see
    :func:`new_filing_id`) because the container and the wrapped key are bound to it.
    """
    _check_filing_id(filing_id)
    material = KeyMaterial.generate()
    # Wrapping first refuses a bad holder key before any work, and leaves no container behind.
    wrapped = wrap_data_key(material, holder_public, filing_id=filing_id,
                            require_post_quantum=require_post_quantum)
    digest = hashlib.sha256()
    out = Path(out_path)
    with _AtomicOutput(out) as sink:
        prefix = _container_prefix(filing_id, segment_size)
        sink.write(prefix)
        if isinstance(plaintext_path, (str, os.PathLike)):
            with open(plaintext_path, "rb") as source:
                size = _stream_aead.encrypt_stream(
                    material.data_key, source, sink, prefix, segment_size=segment_size,
                    observe=digest.update)
        else:
            size = _stream_aead.encrypt_stream(
                material.data_key, plaintext_path, sink, prefix, segment_size=segment_size,
                observe=digest.update)
    commitment = compute_commitment(digest.digest(), material.commitment_salt)
    return SealedSecret(ciphertext_path=out, commitment=commitment, holder_wrapped_key=wrapped,
                        size=size, filing_id=filing_id)


def disclose(
    wrapped_for_holder: WrappedKey,
    holder_keys: RecipientKeys,
    recipient_public: Mapping[str, Any],
    *,
    filing_id: str,
    require_post_quantum: bool = False,
) -> WrappedKey:
    """Re-wrap a filing's key from the holder to a recipient (arbitrator, notary).

    The ciphertext is untouched: the recipient gets the same data key and commitment salt, so the
    anchored commitment and the stored container stay valid.
    """
    material = unwrap_data_key(wrapped_for_holder, holder_keys, filing_id=filing_id)
    return wrap_data_key(material, recipient_public, filing_id=filing_id,
                         require_post_quantum=require_post_quantum)


def open_secret(
    ciphertext: str | os.PathLike[str] | BinaryIO,
    wrapped: WrappedKey,
    keys: RecipientKeys,
    out_path: str | os.PathLike[str],
    *,
    filing_id: str,
    commitment: str,
) -> OpenedSecret:
    """Decrypt a container to ``out_path``, checking everything before the file appears there.

    Steps; the first that fails raises :class:`DecryptionError` saying which:

    1. unwrap the data key (wrong recipient, wrong filing, altered wrapped key);
    2. read the container header (not a container, other filing, malformed, oversized);
    3. decrypt and authenticate every segment in order (altered, reordered, truncated, extended);
    4. check the plaintext against ``commitment``, the value anchored on chain;
    5. move the plaintext from a temporary file beside ``out_path`` into place.
    """
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
        raise FormatError("a commitment is 64 lowercase hex digits")
    material = unwrap_data_key(wrapped, keys, filing_id=filing_id)
    out = Path(out_path)
    if isinstance(ciphertext, (str, os.PathLike)):
        with open(ciphertext, "rb") as source:
            return _open_stream(source, material, out, filing_id, commitment)
    return _open_stream(ciphertext, material, out, filing_id, commitment)


def _open_stream(source: BinaryIO, material: KeyMaterial, out: Path, filing_id: str,
                 commitment: str) -> OpenedSecret:
    info = _read_container_header(source)
    if info.filing_id != filing_id:
        raise DecryptionError(
            f"this container belongs to filing {info.filing_id!r}, not {filing_id!r}")
    digest = hashlib.sha256()
    with _AtomicOutput(out) as sink:
        size = _stream_aead.decrypt_stream(
            material.data_key, source, sink, info.header_bytes, segment_size=info.segment_size,
            observe=digest.update)
        try:
            verify_commitment(digest.digest(), material.commitment_salt, commitment)
        except VerificationError:
            raise DecryptionError(
                "the decrypted secret does not match the filed commitment: this is not the "
                "plaintext that was committed to (or the commitment given is for another filing)"
            ) from None
    return OpenedSecret(path=out, size=size, sha256=digest.hexdigest(), commitment=commitment,
                        filing_id=filing_id)


class _AtomicOutput:
    """A temporary file beside ``target`` (mode 0600) that replaces ``target`` only if the block
    exits normally; otherwise it is deleted, so no partial or unverified output is ever seen."""

    def __init__(self, target: Path) -> None:
        self._target = target
        self._tmp: Path | None = None
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        fd, name = _mkstemp_beside(self._target)
        self._tmp = Path(name)
        self._fh = os.fdopen(fd, "wb")
        return self._fh

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._fh is not None and self._tmp is not None
        try:
            if exc_type is None:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            self._fh.close()
            if exc_type is None:
                os.replace(self._tmp, self._target)
                self._tmp = None
        finally:
            if self._tmp is not None:
                self._fh.close()
                self._tmp.unlink(missing_ok=True)


def _mkstemp_beside(target: Path) -> tuple[int, str]:
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")


# ---------------------------------------------------------------------------------- helpers --


def _check_filing_id(filing_id: object) -> None:
    if not isinstance(filing_id, str) or not _FILING_ID.fullmatch(filing_id):
        raise FormatError(
            "a filing id is 1-128 characters from A-Z a-z 0-9 _ . : - and starts with a letter "
            "or digit")


def _expect_keys(doc: Mapping[str, Any], required: set[str], optional: set[str], *,
                 what: str) -> None:
    if not isinstance(doc, Mapping):
        raise FormatError(f"{what} is not a JSON object")
    missing = required - doc.keys()
    if missing:
        raise FormatError(f"{what} lacks {sorted(missing)}")
    unknown = doc.keys() - required - optional
    if unknown:
        raise FormatError(f"{what} has unknown fields {sorted(unknown)}")


def _b64_exact(value: object, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"{name} must be a base64url string")
    raw = b64decode(value)
    if len(raw) != size:
        raise FormatError(f"{name} must be {size} bytes, not {len(raw)}")
    return raw


def _password_key(password: str | bytes, kdf: Mapping[str, Any]) -> bytes:
    if isinstance(password, str):
        # NFC so the same password typed on two systems gives the same bytes.
        password = unicodedata.normalize("NFC", password).encode("utf-8")
    return Scrypt(salt=b64decode(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"],
                  p=kdf["p"]).derive(password)


def _decrypt_private_document(envelope: Mapping[str, Any],
                              password: str | bytes) -> dict[str, Any]:
    _expect_keys(envelope, {"media_type", "key_id", "kdf", "aead", "nonce", "ciphertext"}, set(),
                 what="encrypted private key document")
    kdf = envelope["kdf"]
    _expect_keys(kdf, {"name", "salt", "n", "r", "p"}, set(), what="key file kdf")
    n = kdf["n"]
    if (kdf["name"] != "scrypt" or envelope["aead"] != "aes-256-gcm"
            or not isinstance(n, int) or isinstance(n, bool)
            or not _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1] or n & (n - 1)
            or kdf["r"] != _SCRYPT_R or kdf["p"] != _SCRYPT_P):
        raise FormatError("key file: unsupported or out-of-range key derivation parameters")
    if not isinstance(envelope["ciphertext"], str):
        raise FormatError("key file: ciphertext must be a base64url string")
    aad = canonical_json({k: v for k, v in envelope.items() if k != "ciphertext"})
    try:
        plain = AESGCM(_password_key(password, kdf)).decrypt(
            _b64_exact(envelope["nonce"], 12, "nonce"), b64decode(envelope["ciphertext"]), aad)
    except InvalidTag:
        raise DecryptionError("wrong password for this key file, or the file was altered") from None
    doc = parse_json(plain, max_bytes=MAX_PRIVATE_KEY_FILE_BYTES, what="private key document")
    if not isinstance(doc, dict) or doc.get("key_id") != envelope["key_id"]:
        raise FormatError("key file: the encrypted keys do not carry the key id outside")
    return doc
