"""Errors raised by the client SDK.

Every error the SDK raises derives from :class:`ClientSDKError`, so a caller can catch one type::

    ClientSDKError
    ├── FormatError               a document (certificate, proof, receipt) is malformed or too large
    ├── VerificationError         a check failed; ``.step`` names which one (see ``verify.Step``)
    │   └── NotTrustedError       the trust policy does not vouch for it (another deployment's
    │                             log or issuer, a quorum not met): not evidence of an alteration
    ├── ContentIntegrityError     bytes do not match the CID or digest they were fetched under
    ├── DecryptionError           a trade-secret envelope cannot be opened (wrong key or tampered)
    ├── ChainReadError            the chain could not be read (node down, wrong chain, no contract)
    ├── TimestampError            a TSA refused, was unreachable, or answered for something else
    │   └── TimestampVerificationError  an RFC 3161 token did not verify (``.step``, ``.reason``)
    ├── APIError                  the notary service answered with an error (``.status``, ``.code``)
    └── TransportError            the service could not be reached at all (no answer)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "ChainReadError",
    "ClientSDKError",
    "ContentIntegrityError",
    "DecryptionError",
    "FormatError",
    "NotTrustedError",
    "TimestampError",
    "TimestampVerificationError",
    "TransportError",
    "VerificationError",
]


class ClientSDKError(Exception):
    """Root of every error the SDK raises."""


class FormatError(ClientSDKError, ValueError):
    """A document is malformed, of an unknown version, or over a documented size limit."""


class VerificationError(ClientSDKError):
    """A verification step failed.

    ``step`` is the machine-readable name of the failed step (for example ``"signature"`` or
    ``"inclusion_proof"``); the message says, for a human, what did not match and what it means.
    """

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"verification failed at step '{step}': {message}")
        self.step = step
        self.reason = message


class NotTrustedError(VerificationError):
    """A step failed because the verifier's trust policy does not vouch for what the document
    names: a log or issuer key it does not list (a policy of another deployment, a key outside
    its window), fewer of its witnesses than its quorum, no independent time where it requires
    one. The document may be intact; nobody the verifier trusts stands behind it. Every other
    VerificationError means that something does not match: the evidence was altered."""


class ContentIntegrityError(ClientSDKError):
    """Bytes do not hash to the CID or digest they were stored or fetched under."""


class DecryptionError(ClientSDKError):
    """An encrypted envelope could not be opened: wrong recipient key, or the ciphertext was
    altered."""


class ChainReadError(ClientSDKError):
    """The chain could not be read, or it is not the chain/contract the certificate names."""


class TimestampError(ClientSDKError):
    """The TSA refused the request, answered for another digest or nonce, or was unreachable."""


class TimestampVerificationError(TimestampError):
    """A time-stamp token did not verify; ``step`` names the failed
    ``ipnotary.sdk.timestamp.TimestampCheck``."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"time-stamp token failed check '{step}': {message}")
        self.step = step
        self.reason = message


class APIError(ClientSDKError):
    """The notary service answered with an error document ``{type, title, status, detail,
    code}``."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.body = body or {}


class TransportError(ClientSDKError):
    """The service could not be reached (connection refused, timeout): no answer at all, so a
    sibling of :class:`APIError`, as httpx keeps transport and status errors apart. It carries
    the same attributes (``status`` 0, ``code`` ``transport_error``) so a report can show either."""

    def __init__(self, message: str) -> None:
        super().__init__(f"0 transport_error: {message}")
        self.status = 0
        self.code = "transport_error"
        self.title = "Service unreachable"
        self.detail = message
        self.body: dict[str, Any] = {}
