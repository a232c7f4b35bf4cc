"""Trade-secret filings: encrypt on the holder's machine, commit to the plaintext, disclose by key.

The plaintext never leaves the holder's machine. :func:`seal_secret` encrypts a file into a
container (only this ciphertext is uploaded), computes a salted commitment to the plaintext's
SHA-256 (the only thing anchored on chain) and wraps the random data key, together with the
commitment salt, to the holder's own public keys. :func:`disclose` re-wraps that key to an
arbitrator's or notary's public keys, taken from their signed key document and only if it is signed
by the key the recipient named out of band; :func:`open_secret` is what the recipient runs: it
decrypts while checking every segment and finally the commitment, and only then moves the plaintext
into place. Nobody without a wrapped key, the operator included, can read the secret.
``docs/trade-secret-crypto.md`` has the byte layout, the threat model and the reasons behind each
choice.

Pieces, all from ``cryptography`` (nothing hand-made below the framing):

* keys and their signed documents: :mod:`client_sdk._trade_secret_keys` (re-exported here);
* key wrapping: HPKE (RFC 9180, mode base) with the hybrid post-quantum KEM ML-KEM-768 + X25519;
  DHKEM(X25519) only when the holder explicitly allows it for a recipient without a hybrid key;
  HKDF-SHA256; AES-256-GCM. The HPKE ``info`` binds the filing id and the recipient's key id, so a
  wrapped key opens for nothing else.
* content: Tink's AES-GCM-HKDF streaming AEAD (STREAM), see :mod:`client_sdk._stream_aead`.
* commitment: ``SHA-256(tag || salt || SHA-256(plaintext))`` with a 32-byte random salt.

Start reading at :func:`seal_secret`. Errors: documents that do not parse raise
:class:`~client_sdk.errors.FormatError`; a recipient key document that is not provably the
recipient's, or that would need the classic suite without the holder's consent, raises
:class:`~client_sdk.errors.VerificationError` (step ``recipient_key``); anything that stops a
secret from opening (wrong recipient, wrong filing, altered or cut ciphertext, commitment
mismatch) raises :class:`~client_sdk.errors.DecryptionError` with a message saying which.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, Literal, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from client_sdk import _stream_aead
from client_sdk._trade_secret_keys import (
    RECIPIENT_KEY_MEDIA_TYPE,
    RECIPIENT_KEY_STEP,
    SIGNED_RECIPIENT_KEY_MEDIA_TYPE,
    RecipientKeyInfo,
    RecipientKeys,
    RecipientPublicKey,
    check_recipient_document,
    expect_keys,
    recipient_key_id,
    verify_recipient_document,
)
from client_sdk.canonical import canonical_json, parse_json
from client_sdk.errors import DecryptionError, FormatError, VerificationError
from client_sdk.signing import b64decode, b64encode

__all__ = [
    "CONTAINER_MAGIC",
    "CONTAINER_MEDIA_TYPE",
    "RECIPIENT_KEY_MEDIA_TYPE",
    "RECIPIENT_KEY_STEP",
    "SIGNED_RECIPIENT_KEY_MEDIA_TYPE",
    "SUITE_HYBRID",
    "SUITE_X25519",
    "WRAPPED_KEY_MEDIA_TYPE",
    "ContainerInfo",
    "KeyMaterial",
    "OpenedSecret",
    "RecipientKeyInfo",
    "RecipientKeys",
    "RecipientPublicKey",
    "SealedSecret",
    "WrappedKey",
    "check_recipient_document",
    "compute_commitment",
    "disclose",
    "inspect_container",
    "new_filing_id",
    "open_secret",
    "recipient_key_id",
    "seal_secret",
    "unwrap_data_key",
    "verify_commitment",
    "verify_recipient_document",
    "wrap_data_key",
]

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
_FILING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


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
        expect_keys(doc, {"media_type", "filing_id", "recipient_key_id", "suite", "sealed"},
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


def wrap_data_key(material: KeyMaterial, recipient: RecipientPublicKey, *, filing_id: str,
                  allow_classic: bool = False) -> WrappedKey:
    """Seal ``material`` to a recipient's public keys for one filing.

    ``recipient`` is one's own :meth:`RecipientKeys.public_key` or what
    :func:`verify_recipient_document` returned for a document checked against the recipient's
    pinned signing key id; a raw document is refused. The hybrid ML-KEM-768 + X25519 suite is
    used; a recipient without a hybrid key is refused unless ``allow_classic`` says the holder
    accepts classic X25519 HPKE, which a future quantum computer could open. Never a silent
    fallback.
    """
    _check_filing_id(filing_id)
    if not isinstance(recipient, RecipientPublicKey):
        raise TypeError(
            "wrap_data_key takes a RecipientPublicKey: your own (RecipientKeys.public_key()) or "
            "a recipient's document checked by verify_recipient_document(doc, signing_key_id=...)")
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
            "--allow-classic on the command line)")
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
            wrapped.sealed, _hpke_private_key(keys, wrapped.suite), info=info)
    except (InvalidTag, ValueError):
        raise DecryptionError(
            "the wrapped key failed authentication: it was altered, or made for another filing "
            "or recipient and relabelled") from None
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
        expect_keys(header, {"media_type", "filing_id", "stream", "segment_size"}, set(),
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
    holder: RecipientPublicKey,
    filing_id: str,
    segment_size: int = _stream_aead.DEFAULT_SEGMENT_SIZE,
    allow_classic: bool = False,
) -> SealedSecret:
    """Encrypt a secret into a container at ``out_path`` and commit to it; nothing leaves the
    machine.

    ``holder`` is the filer's own public key, ``RecipientKeys.public_key()`` of the key file
    (never a document the service sent). The plaintext is read once, in segments (constant
    memory). The container appears at ``out_path`` only when complete. ``filing_id`` is chosen
    before sealing (see :func:`new_filing_id`) because the container and the wrapped key are
    bound to it. ``allow_classic``: see :func:`wrap_data_key`.
    """
    _check_filing_id(filing_id)
    material = KeyMaterial.generate()
    # Wrapping first refuses a bad holder key before any work, and leaves no container behind.
    wrapped = wrap_data_key(material, holder, filing_id=filing_id, allow_classic=allow_classic)
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
    recipient_document: Mapping[str, Any],
    *,
    filing_id: str,
    signing_key_id: str,
    allow_classic: bool = False,
) -> WrappedKey:
    """Re-wrap a filing's key from the holder to a recipient (arbitrator, notary).

    ``recipient_document`` is the recipient's signed key document (the service serves it);
    ``signing_key_id`` is the id the recipient gave you out of band. The document is used only if
    that key signed it (:func:`verify_recipient_document`); ``allow_classic``: see
    :func:`wrap_data_key`. The ciphertext is untouched: the recipient gets the same data key and
    commitment salt, so the anchored commitment and the stored container stay valid.
    """
    recipient = verify_recipient_document(recipient_document, signing_key_id=signing_key_id)
    material = unwrap_data_key(wrapped_for_holder, holder_keys, filing_id=filing_id)
    return wrap_data_key(material, recipient, filing_id=filing_id, allow_classic=allow_classic)


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
