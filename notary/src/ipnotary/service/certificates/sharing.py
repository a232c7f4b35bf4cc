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
from pathlib import Path
from urllib.parse import quote

from ipnotary.service.adapters.keys import load_or_create_secret
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
    def load(cls, settings: Settings, public_url: str, *, create: bool = True) -> ShareLinks:
        """The links under this deployment's secret, created where keys are (``create``; never
        in production)."""
        path = share_secret_file(settings)
        if settings.env is Environment.production and not path.exists():
            raise ConfigurationError(
                f"the share-token secret {path} does not exist (no key is created in production: "
                "restore it, or run `notary deploy` to create it)",
                code="production_settings_missing",
            )
        secret = load_or_create_secret(
            path, purpose="share-token", size=SECRET_BYTES, create=create
        )
        return cls(secret, public_url)

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
