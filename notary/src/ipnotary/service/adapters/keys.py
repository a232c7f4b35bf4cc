"""The service's own Ed25519 keys (issuer, log), kept as PEM files of mode 0600.

Generated on first start when absent, so that ``make run`` needs no setup; in production they are
given (``NOTARY_ISSUER_KEY_FILE``, ``NOTARY_LOG_KEY_FILE``) and kept with the backups.

At rest, with a passphrase (``NOTARY_KEY_PASSPHRASE`` or ``NOTARY_KEY_PASSPHRASE_FILE``), every key
file is an *encrypted* PKCS#8 PEM (``cryptography``'s ``BestAvailableEncryption``: PBKDF2 and
AES-256-CBC, the format OpenSSL and every HSM/KMS import tool read), never raw key bytes; a
plaintext key file found then is encrypted in place on first use. ``docs/deployment.md`` says how
an HSM or a KMS takes the place of these files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.service.errors import ConfigurationError

__all__ = ["load_or_create_ed25519_key"]

log = logging.getLogger(__name__)

_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def load_or_create_ed25519_key(
    path: Path, *, purpose: str, passphrase: bytes | None = None
) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path``, created (mode 0600, encrypted under ``passphrase`` if one is
    given) if the file does not exist."""
    if path.exists():
        return _load(path, purpose, passphrase)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_ed25519_key(path, purpose=purpose, passphrase=passphrase)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem(key, passphrase))
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _load(path: Path, purpose: str, passphrase: bytes | None) -> Ed25519PrivateKey:
    data = path.read_bytes()
    encrypted = data.lstrip().startswith(_ENCRYPTED_PEM)
    if encrypted and passphrase is None:
        raise ConfigurationError(
            f"{purpose} key file {path} is encrypted: give its passphrase in "
            "NOTARY_KEY_PASSPHRASE or NOTARY_KEY_PASSPHRASE_FILE",
            code="key_passphrase_missing",
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        # cryptography says "Bad decrypt" for a wrong passphrase: say it in our words.
        why = "the passphrase does not open it" if encrypted else f"not a PEM private key: {exc}"
        raise ConfigurationError(
            f"{purpose} key file {path}: {why}", code="key_file_unreadable"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{purpose} key file {path} holds a non-Ed25519 key")
    if passphrase is not None and not encrypted:
        _rewrite(path, _pem(key, passphrase))
        log.warning("encrypted the %s key file %s at rest", purpose, path)
    return key


def _pem(key: Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _rewrite(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically (write beside it, fsync, rename), keeping mode 0600."""
    scratch = path.with_name(path.name + ".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(scratch, path)
