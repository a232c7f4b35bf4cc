"""The service's own keys (Ed25519: issuer, log; ECDSA P-256: the PDF document signer) and
secrets (the share-token HMAC key), kept as files of mode 0600.

A key is created only where the caller says so (``create=True``): by ``notary deploy``, and by a
development service starting on a new data directory, so that ``make run`` needs no setup.
Anything else that finds a key missing refuses in one line naming the setting and the path
(``key_missing``): run from the wrong directory, ``notary log show`` would otherwise make a new
log key and print it as the one to publish. In production the keys are given
(``NOTARY_ISSUER_KEY_FILE``, ``NOTARY_LOG_KEY_FILE``) and kept with the backups.

At rest, with a passphrase (``NOTARY_KEY_PASSPHRASE`` or ``NOTARY_KEY_PASSPHRASE_FILE``), every key
file is an *encrypted* PKCS#8 PEM (``cryptography``'s ``BestAvailableEncryption``: PBKDF2 and
AES-256-CBC, the format OpenSSL and every HSM/KMS import tool read), never raw key bytes; a
plaintext key file found then is encrypted in place on first use. ``docs/deployment.md`` says how
an HSM or a KMS takes the place of these files.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TypeGuard, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ipnotary.service.errors import ConfigurationError

__all__ = [
    "KEY_MISSING",
    "load_or_create_ed25519_key",
    "load_or_create_p256_key",
    "load_or_create_secret",
]

# The code of the refusal to create a key; PDF certificates treat it as "not set up here".
KEY_MISSING = "key_missing"

log = logging.getLogger(__name__)

_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"

_Key = TypeVar("_Key", Ed25519PrivateKey, ec.EllipticCurvePrivateKey)


def load_or_create_ed25519_key(
    path: Path,
    *,
    purpose: str,
    passphrase: bytes | None = None,
    create: bool = True,
    setting: str | None = None,
) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path``; if the file does not exist, created (mode 0600, encrypted
    under ``passphrase`` if one is given) when ``create``, else refused naming ``setting``."""
    if not create:
        _require(path, purpose, setting)
    return _load_or_create(
        path, purpose, passphrase, Ed25519PrivateKey.generate, _is_ed25519, "Ed25519"
    )


def load_or_create_p256_key(
    path: Path,
    *,
    purpose: str,
    passphrase: bytes | None = None,
    create: bool = True,
    setting: str | None = None,
) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key in ``path``, created like :func:`load_or_create_ed25519_key`'s. PDF
    signatures need it: poppler, Acrobat and NSS validate ECDSA P-256, not Ed25519."""
    if not create:
        _require(path, purpose, setting)
    return _load_or_create(
        path,
        purpose,
        passphrase,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        _is_p256,
        "ECDSA P-256",
    )


def load_or_create_secret(
    path: Path,
    *,
    purpose: str,
    size: int = 32,
    create: bool = True,
    setting: str | None = None,
) -> bytes:
    """A random secret of ``size`` bytes kept base64 in ``path`` (mode 0600), created like the
    keys: when ``create``, else refused naming ``setting``."""
    if not create:
        _require(path, purpose, setting)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write a different secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            secret = secrets.token_bytes(size)
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.b64encode(secret) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            return secret
    try:
        secret = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{purpose} {path}: {exc}") from exc
    if len(secret) < size:
        raise ConfigurationError(f"{purpose} {path} holds fewer than {size} bytes")
    return secret


def _require(path: Path, purpose: str, setting: str | None) -> None:
    if path.exists():
        return
    named = f" ({setting})" if setting else ""
    point = f", or point {setting} at it" if setting else ""
    raise ConfigurationError(
        f"no {purpose} key at {path.resolve()}{named}: keys are made only by `notary deploy` "
        "(and a first `notary serve` on a new data directory); run this where the service's "
        f"data is (NOTARY_DATA_DIR){point}",
        code=KEY_MISSING,
    )


def _is_ed25519(key: PrivateKeyTypes) -> TypeGuard[Ed25519PrivateKey]:
    return isinstance(key, Ed25519PrivateKey)


def _is_p256(key: PrivateKeyTypes) -> TypeGuard[ec.EllipticCurvePrivateKey]:
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def _load_or_create(
    path: Path,
    purpose: str,
    passphrase: bytes | None,
    generate: Callable[[], _Key],
    is_kind: Callable[[PrivateKeyTypes], TypeGuard[_Key]],
    kind_name: str,
) -> _Key:
    if path.exists():
        return _load(path, purpose, passphrase, is_kind, kind_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_or_create(path, purpose, passphrase, generate, is_kind, kind_name)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_pem(key, passphrase))
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _load(
    path: Path,
    purpose: str,
    passphrase: bytes | None,
    is_kind: Callable[[PrivateKeyTypes], TypeGuard[_Key]],
    kind_name: str,
) -> _Key:
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
    if not is_kind(key):
        raise ConfigurationError(f"{purpose} key file {path} holds a non-{kind_name} key")
    if passphrase is not None and not encrypted:
        _rewrite(path, _pem(key, passphrase))
        log.warning("encrypted the %s key file %s at rest", purpose, path)
    return key


def _pem(key: PrivateKeyTypes, passphrase: bytes | None) -> bytes:
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
