"""The one place where errors become HTTP responses: ``{type, title, status, detail, code}``.

RFC 9457 problem details plus a stable ``code``. Validation errors add pydantic's ``errors`` list
(``loc``, ``msg``, ``type``). Nothing unexpected ever leaks a stack trace: it is logged, and the
client gets a 500 problem with an incident id to quote (its error line carries the same
``incident`` as a field). A database that went away (a restart, a failover, a pool with no
connection free) is a 503 ``database_unavailable`` with ``Retry-After``, which the SDK's client
retries, not an unexpected error. Every detail passes the app's
:class:`~ipnotary.sdk.redaction.Redactor` (``app.state.redactor``): a dependency's error quoting its
URL must not hand its password or API key to the caller.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.redaction import Redactor
from ipnotary.service import errors as e
from ipnotary.service.api.bodies import BodyTooLarge
from ipnotary.service.observability.logs import event
from ipnotary.service.storage.db import database_unavailable, is_database_outage

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "TOO_EARLY",
    "document_problems",
    "install_error_handlers",
    "problem",
    "redactor_of",
]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# What a 503 tells a client to wait before asking again: a restarting database or a chain
# failover takes seconds, and the SDK's client honours it.
RETRY_AFTER_UNAVAILABLE_SECONDS = 1

_STATUS: list[tuple[type[e.NotaryError], int, str]] = [
    (e.ConfigurationError, 500, "Service misconfigured"),
    (e.LimitExceeded, 413, "Input over a documented limit"),
    (e.UnsupportedMediaType, 415, "Unsupported media type"),
    (e.InvalidInput, 422, "Invalid input"),
    (e.AuthenticationRequired, 401, "Authentication required"),
    (e.PermissionDenied, 403, "Not allowed for your role"),
    (e.NotFound, 404, "Not found"),
    (e.NotReady, 409, "Not ready yet"),
    (e.Conflict, 409, "Conflict"),
    (e.DependencyUnavailable, 503, "A dependency is unavailable"),
    (e.ContentNotFound, 404, "Content not found"),
    (e.ContentCorrupted, 500, "Stored content failed its integrity check"),
]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:ipnotary:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers or None
    )


def redactor_of(request: Request) -> Redactor:
    """The app's redactor (it knows the configured URLs' secrets); a generic one before startup."""
    redactor = getattr(request.app.state, "redactor", None)
    return redactor if isinstance(redactor, Redactor) else Redactor()


# What a route that may answer "too early" documents (``responses={425: TOO_EARLY}``).
TOO_EARLY: dict[str, Any] = {
    "description": "as_of has not passed yet: ask again after `Retry-After` seconds (also "
    "`retry_after` in the problem)",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _for_notary_error(exc: e.NotaryError, redact: Redactor) -> JSONResponse:
    detail = redact(exc.detail)
    if isinstance(exc, e.TooEarly):
        # Answered at once, never waited for in a request thread: the client waits instead.
        return problem(
            425,
            exc.code,
            "Too early",
            detail,
            retry_after=exc.retry_after,
            headers={"Retry-After": str(exc.retry_after)},
        )
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            headers = None
            if status >= 500:
                log.error(
                    "%s: %s",
                    type(exc).__name__,
                    detail,
                    extra=event("request_failed", code=exc.code, status=status),
                )
            if status == 503:
                headers = {"Retry-After": str(RETRY_AFTER_UNAVAILABLE_SECONDS)}
            return problem(status, exc.code, title, detail, headers=headers)
    log.error(
        "%s: %s",
        type(exc).__name__,
        detail,
        extra=event("request_failed", code=exc.code, status=500),
    )
    return problem(500, exc.code, "Service error", detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.NotaryError)
    async def _notary(request: Request, exc: e.NotaryError) -> JSONResponse:
        return _for_notary_error(exc, redactor_of(request))

    @app.exception_handler(FormatError)
    async def _format(request: Request, exc: FormatError) -> JSONResponse:
        return problem(
            422, "malformed_document", "Malformed document", redactor_of(request)(str(exc))
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return problem(413, "limit_exceeded", "Input over a documented limit", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem(
            422,
            "validation_error",
            "Invalid request",
            f"{where}: {first['msg']}" if where else str(first["msg"]),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            408: "request_timeout",
            413: "limit_exceeded",
            415: "unsupported_media_type",
            400: "bad_request",
        }
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        # The exception's headers are part of the answer: a 405's Allow names the methods the
        # path has (RFC 9110 requires it).
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail), headers=headers)

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if is_database_outage(exc):
            return _for_notary_error(database_unavailable(exc), redactor_of(request))
        return _unexpected_error(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_database_outage(exc):  # reached here when raised outside a route (middleware)
            return _for_notary_error(database_unavailable(exc), Redactor())
        return _unexpected_error(exc)


def _unexpected_error(exc: BaseException) -> JSONResponse:
    """A bug: logged with its traceback and an incident id the client can quote."""
    incident = secrets.token_hex(8)
    log.error(
        "unexpected error (incident %s)",
        incident,
        exc_info=exc,
        extra=event("internal_error", incident=incident, error_type=type(exc).__name__),
    )
    return problem(
        500,
        "internal_error",
        "Internal error",
        f"the service failed unexpectedly; quote incident {incident}",
        incident=incident,
    )


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "incident": {"type": "string"},
    },
}


def _content(schema: str = "Problem") -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers above answer.

    FastAPI documents its 422 as ``HTTPValidationError`` in ``application/json``; every error is a
    problem document instead. Each documented error status names the problem shape, a ``default``
    response covers the statuses a route does not list (403, 404, 409, 503, ...), and the
    operations that read the caller's key (``security``, from ``api/deps.py``) list their 401.
    """
    base = app.openapi

    def openapi() -> dict[str, Any]:
        schema = base()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = _PROBLEM_SCHEMA
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    if status[0] in "45":
                        response["content"] = _content()
                if operation.get("security"):
                    responses.setdefault(
                        "401",
                        {
                            "description": "no key, or an unknown, revoked or expired key",
                            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                            "content": _content(),
                        },
                    )
                responses.setdefault(
                    "default",
                    {
                        "description": "any other status: a problem document (docs/api.md, Errors)",
                        "content": _content(),
                    },
                )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
