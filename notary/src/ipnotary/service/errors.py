"""Errors of the notary service.

Domain and storage code raise these; ``ipnotary.service.api.errors`` maps them to HTTP problem
documents ``{type, title, status, detail, code}`` in one place::

    NotaryError
    ├── ConfigurationError        settings are inconsistent or unsafe for the environment
    │   └── LogBehindChain        the registry holds a checkpoint this log cannot account for
    ├── InvalidInput              a request is well-formed JSON but breaks a rule (422)
    │   └── UnsupportedMediaType  a body in a format the endpoint does not take (415)
    ├── LimitExceeded             an input is over a documented limit (413)
    ├── AuthenticationRequired    no or unknown API key (401)
    ├── PermissionDenied          the key's role may not do this (403)
    ├── NotFound                  no such record, or not visible to the caller (404)
    ├── Conflict                  the request contradicts the current state (409)
    ├── NotReady                  the record exists but is not anchored yet (409)
    │   └── TooEarly              asked about a time that has not passed yet (425, Retry-After)
    ├── DependencyUnavailable     database, chain or content store is down (503)
    │   ├── ContentStoreUnavailable
    │   └── ChainUnusable
    └── ContentStoreError
        ├── ContentNotFound       no content under that CID (404)
        └── ContentCorrupted      stored bytes no longer match their CID (500)
"""

from __future__ import annotations

__all__ = [
    "AuthenticationRequired",
    "ChainUnusable",
    "ConfigurationError",
    "Conflict",
    "ContentCorrupted",
    "ContentNotFound",
    "ContentStoreError",
    "ContentStoreUnavailable",
    "DependencyUnavailable",
    "InvalidInput",
    "LimitExceeded",
    "LogBehindChain",
    "NotFound",
    "NotReady",
    "NotaryError",
    "PermissionDenied",
    "TooEarly",
    "UnsupportedMediaType",
]


class NotaryError(Exception):
    """Root of the service's errors. ``code`` is a stable machine-readable name."""

    code = "notary_error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class ConfigurationError(NotaryError):
    code = "configuration_error"


class LogBehindChain(ConfigurationError):
    """The registry holds a checkpoint this database's log cannot account for: entries were lost
    (a restore from an older backup) or the log forked. Anchoring stops until an operator runs
    ``notary reconcile`` (docs/deployment.md, *Backups and restore*)."""


class InvalidInput(NotaryError, ValueError):
    code = "invalid_input"


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"


class LimitExceeded(NotaryError, ValueError):
    code = "limit_exceeded"


class AuthenticationRequired(NotaryError):
    code = "authentication_required"


class PermissionDenied(NotaryError):
    code = "permission_denied"


class NotFound(NotaryError, LookupError):
    code = "not_found"


class Conflict(NotaryError):
    code = "conflict"


class NotReady(NotaryError):
    code = "not_ready"


class TooEarly(NotReady):
    """The answer is not final before ``retry_after`` seconds have passed: ask again then."""

    code = "too_early"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class DependencyUnavailable(NotaryError):
    code = "dependency_unavailable"


class ContentStoreUnavailable(DependencyUnavailable):
    code = "content_store_unavailable"


class ChainUnusable(DependencyUnavailable):
    """The chain could not be used (node down, wrong chain, registry missing): the service's
    translation of any ``ipnotary.chain.errors.ChainError`` at ``adapters.chain_gateway``; named
    apart from the chain layer's ``ChainUnavailable`` (the node does not answer), which it often
    wraps."""

    code = "chain_unavailable"


class ContentStoreError(NotaryError):
    code = "content_store_error"


class ContentNotFound(ContentStoreError, LookupError):
    code = "content_not_found"


class ContentCorrupted(ContentStoreError):
    code = "content_corrupted"
