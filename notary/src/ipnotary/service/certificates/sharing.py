"""Capability links to one certificate, for people who hold no API key (a judge, the other side).

``GET /v1/shared/certificates/{record_id}?token=T`` serves the certificate of ``record_id`` to
anyone who has the link. The token is ``HMAC-SHA256(secret, "ipnotary/shared-certificate/v1\\n"
+ record_id)``, unpadded base64url: it opens that one certificate and nothing else, cannot be
guessed without the secret (256 bits of it), and says nothing about the record (the server
recomputes it; nothing is stored per link). The holder gets the link from the certificate routes
(``X-Shared-Certificate-URL``) and it is printed, as a QR code, on the PDF.

The secret is a file beside the other keys (``share-token-hmac.key``, 32 random bytes in
base64, mode 0600), created where they are (a development start, ``notary deploy``).
Replacing it revokes every link at once; there is no revoking one link alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from ipnotary.service.config import Environment, Settings
from ipnotary.service.errors import ConfigurationError

__all__ = ["SHARE_TOKEN_LENGTH", "ShareLinks", "share_secret_file"]

SHARE_TOKEN_LENGTH = 43  # 32 bytes, unpadded base64url
_CONTEXT = b"ipnotary/shared-certificate/v1\n"
SECRET_BYTES = 32


def share_secret_file(settings: Settings) -> Path:
    return settings.resolved_issuer_key_file.parent / "share-token-hmac.key"


class ShareLinks:
    """Makes and checks share tokens, and the public URLs built on them."""

    def __init__(self, secret: bytes, public_url: str) -> None:
        if len(secret) < SECRET_BYTES:
            raise ConfigurationError("the share-token secret is shorter than 32 bytes")
        self._secret = secret
        self.public_url = public_url.rstrip("/")

    @classmethod
    def load(cls, settings: Settings, public_url: str) -> ShareLinks:
        return cls(_load_or_create_secret(share_secret_file(settings), settings), public_url)

    def token(self, record_id: str) -> str:
        mac = hmac.new(self._secret, _CONTEXT + record_id.encode("utf-8"), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def opens(self, record_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(record_id), token)

    def certificate_url(self, record_id: str) -> str:
        """The public link to the record's JSON certificate."""
        return (
            f"{self.public_url}/v1/shared/certificates/{quote(record_id, safe='')}"
            f"?token={self.token(record_id)}"
        )

    def verification_url(self, record_id: str) -> str:
        """The verification page, told to fetch and check this record's shared certificate."""
        shared = quote(self.certificate_url(record_id), safe="")
        return f"{self.public_url}/verify?certificate={shared}"


def _load_or_create_secret(path: Path, settings: Settings) -> bytes:
    if path.exists():
        return _read_secret(path)
    if settings.env is Environment.production:
        raise ConfigurationError(
            f"the share-token secret {path} does not exist (no key is created in production: "
            "restore it, or run `notary deploy` to create it)",
            code="production_settings_missing",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    secret = secrets.token_bytes(SECRET_BYTES)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(secret) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return secret


def _read_secret(path: Path) -> bytes:
    try:
        secret = base64.b64decode(path.read_bytes().strip(), validate=True)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"share-token secret {path}: {exc}") from exc
    if len(secret) < SECRET_BYTES:
        raise ConfigurationError(f"share-token secret {path} holds fewer than 32 bytes")
    return secret
