"""The witness's own key, kept in its directory as an unencrypted PKCS#8 PEM file (0600): Ed25519
(``cosignature/v1``) or ML-DSA-44 (tlog-cosignature's post-quantum cosignature; the PEM holds the
32-byte seed, as FIPS 204 and cryptography write it).

The key never leaves the witness's machine: the log operator learns only the vkey the signer
prints (``<name>+<key id>+base64(0x04 || key)``, or ``0x06`` for ML-DSA-44). PKCS#8 PEM is what
``openssl pkey`` reads, so an operator can back it up or move it to an HSM.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from ipnotary.witness.errors import WitnessSetupError

__all__ = ["KEY_FILE", "WitnessKey", "load_key_file", "write_key_file"]

KEY_FILE = "witness-key.pem"
_MAX_KEY_FILE_BYTES = 4096

WitnessKey = Ed25519PrivateKey | MLDSA44PrivateKey


def write_key_file(directory: Path, key: WitnessKey) -> Path:
    """Write ``key`` to ``directory/witness-key.pem``, readable by the owner only.

    Refuses to overwrite an existing key: a witness that changes key silently is a new witness.
    """
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = directory / KEY_FILE
    try:
        # O_EXCL: never replace a key; mode 0600 from creation, so it is never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise WitnessSetupError(f"{path} already exists; a witness keeps its key") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return path


def load_key_file(directory: Path) -> WitnessKey:
    """Read the witness key; refuses a file that others can read or that is neither Ed25519 nor
    ML-DSA-44."""
    path = directory / KEY_FILE
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise WitnessSetupError(f"no witness key at {path}; run `notary witness init`") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise WitnessSetupError(f"{path} is accessible to other users; chmod 600 it")
    data = path.read_bytes()
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise WitnessSetupError(f"{path} is not a witness key (too large)")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise WitnessSetupError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey | MLDSA44PrivateKey):
        raise WitnessSetupError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 or ML-DSA-44 key"
        )
    return key
