"""The service's own Ed25519 keys (issuer, log), kept as PEM files of mode 0600.

Generated on first start when absent, so that ``make run`` needs no setup; in production they are
given (``NOTARY_ISSUER_KEY_FILE``, ``NOTARY_LOG_KEY_FILE``) and kept with the backups.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from notary.errors import ConfigurationError

__all__ = ["load_or_create_ed25519_key"]


def load_or_create_ed25519_key(path: Path, *, purpose: str) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path``, created (mode 0600) if the file does not exist."""
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"{purpose} key file {path} is not a PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{purpose} key file {path} holds a non-Ed25519 key")
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
        return load_or_create_ed25519_key(path, purpose=purpose)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    return key
