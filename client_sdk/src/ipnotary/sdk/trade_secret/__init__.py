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

Pieces, all from ``cryptography`` (nothing hand-made below the framing), one module each; every
public name is re-exported here, so import from :mod:`ipnotary.sdk.trade_secret`:

* keys and their signed documents: :mod:`~ipnotary.sdk.trade_secret.keys`;
* key wrapping: HPKE (RFC 9180, mode base) with the hybrid post-quantum KEM ML-KEM-768 + X25519;
  DHKEM(X25519) only when the holder explicitly allows it for a recipient without a hybrid key;
  HKDF-SHA256; AES-256-GCM. The HPKE ``info`` binds the filing id and the recipient's key id, so a
  wrapped key opens for nothing else: :mod:`~ipnotary.sdk.trade_secret.wrapping`;
* content: Tink's AES-GCM-HKDF streaming AEAD (STREAM), :mod:`~ipnotary.sdk.trade_secret.stream`,
  inside the container format (magic, public header, filing id):
  :mod:`~ipnotary.sdk.trade_secret.container`;
* commitment: ``SHA-256(tag || salt || SHA-256(plaintext))`` with a 32-byte random salt:
  :mod:`~ipnotary.sdk.trade_secret.commitment`.

Imports between them point one way: ``stream`` and ``commitment`` need none of the others,
``container`` uses ``stream`` (and the document checks of ``keys``), ``wrapping`` uses ``keys`` and
the filing id of ``container``; this module, the high-level API, uses them all.

Start reading at :func:`seal_secret`. Errors: documents that do not parse raise
:class:`~ipnotary.sdk.errors.FormatError`; a recipient key document that is not provably the
recipient's, or that would need the classic suite without the holder's consent, raises
:class:`~ipnotary.sdk.errors.VerificationError` (step ``recipient_key``); anything that stops a
secret from opening (wrong recipient, wrong filing, altered or cut ciphertext, commitment
mismatch) raises :class:`~ipnotary.sdk.errors.DecryptionError` with a message saying which.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from ipnotary.sdk.errors import DecryptionError, VerificationError
from ipnotary.sdk.trade_secret import stream
from ipnotary.sdk.trade_secret.commitment import (
    check_commitment,
    compute_commitment,
    verify_commitment,
)
from ipnotary.sdk.trade_secret.container import (
    CONTAINER_MAGIC,
    CONTAINER_MEDIA_TYPE,
    CONTAINER_VERSION,
    MAX_CONTAINER_HEADER_BYTES,
    STREAM_ALGORITHM,
    ContainerInfo,
    check_filing_id,
    container_prefix,
    inspect_container,
    new_filing_id,
    read_container_header,
)
from ipnotary.sdk.trade_secret.keys import (
    RECIPIENT_KEY_MEDIA_TYPE,
    RECIPIENT_KEY_STEP,
    SIGNED_RECIPIENT_KEY_MEDIA_TYPE,
    RecipientKeyInfo,
    RecipientKeys,
    RecipientPublicKey,
    check_recipient_document,
    recipient_key_id,
    verify_recipient_document,
)
from ipnotary.sdk.trade_secret.wrapping import (
    MAX_WRAPPED_KEY_BYTES,
    SUITE_HYBRID,
    SUITE_X25519,
    WRAPPED_KEY_MEDIA_TYPE,
    KeyMaterial,
    Suite,
    WrappedKey,
    unwrap_data_key,
    wrap_data_key,
)

__all__ = [
    "CONTAINER_MAGIC",
    "CONTAINER_MEDIA_TYPE",
    "CONTAINER_VERSION",
    "MAX_CONTAINER_HEADER_BYTES",
    "MAX_WRAPPED_KEY_BYTES",
    "RECIPIENT_KEY_MEDIA_TYPE",
    "RECIPIENT_KEY_STEP",
    "SIGNED_RECIPIENT_KEY_MEDIA_TYPE",
    "STREAM_ALGORITHM",
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
    "Suite",
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
    segment_size: int = stream.DEFAULT_SEGMENT_SIZE,
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
    check_filing_id(filing_id)
    material = KeyMaterial.generate()
    # Wrapping first refuses a bad holder key before any work, and leaves no container behind.
    wrapped = wrap_data_key(material, holder, filing_id=filing_id, allow_classic=allow_classic)
    digest = hashlib.sha256()
    out = Path(out_path)
    with _AtomicOutput(out) as sink:
        prefix = container_prefix(filing_id, segment_size)
        sink.write(prefix)
        if isinstance(plaintext_path, (str, os.PathLike)):
            with open(plaintext_path, "rb") as source:
                size = stream.encrypt_stream(
                    material.data_key,
                    source,
                    sink,
                    prefix,
                    segment_size=segment_size,
                    observe=digest.update,
                )
        else:
            size = stream.encrypt_stream(
                material.data_key,
                plaintext_path,
                sink,
                prefix,
                segment_size=segment_size,
                observe=digest.update,
            )
    commitment = compute_commitment(digest.digest(), material.commitment_salt)
    return SealedSecret(
        ciphertext_path=out,
        commitment=commitment,
        holder_wrapped_key=wrapped,
        size=size,
        filing_id=filing_id,
    )


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
    check_commitment(commitment)
    material = unwrap_data_key(wrapped, keys, filing_id=filing_id)
    out = Path(out_path)
    if isinstance(ciphertext, (str, os.PathLike)):
        with open(ciphertext, "rb") as source:
            return _open_stream(source, material, out, filing_id, commitment)
    return _open_stream(ciphertext, material, out, filing_id, commitment)


def _open_stream(
    source: BinaryIO, material: KeyMaterial, out: Path, filing_id: str, commitment: str
) -> OpenedSecret:
    info = read_container_header(source)
    if info.filing_id != filing_id:
        raise DecryptionError(
            f"this container belongs to filing {info.filing_id!r}, not {filing_id!r}"
        )
    digest = hashlib.sha256()
    with _AtomicOutput(out) as sink:
        size = stream.decrypt_stream(
            material.data_key,
            source,
            sink,
            info.header_bytes,
            segment_size=info.segment_size,
            observe=digest.update,
        )
        try:
            verify_commitment(digest.digest(), material.commitment_salt, commitment)
        except VerificationError:
            raise DecryptionError(
                "the decrypted secret does not match the filed commitment: this is not the "
                "plaintext that was committed to (or the commitment given is for another filing)"
            ) from None
    return OpenedSecret(
        path=out, size=size, sha256=digest.hexdigest(), commitment=commitment, filing_id=filing_id
    )


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
