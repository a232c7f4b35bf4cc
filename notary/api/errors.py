"""The one place where errors become HTTP responses: ``{type, title, status, detail, code}``.

RFC 9457 problem details plus a stable ``code``. Validation errors add pydantic's ``errors`` list
(``loc``, ``msg``, ``type``). Nothing unexpected ever leaks a stack trace: it is logged, and the
client gets a 500 problem with an incident id to quote.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from client_sdk.errors import FormatError
from notary import errors as e

__all__ = ["PROBLEM_MEDIA_TYPE", "install_error_handlers", "problem"]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

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


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:ipnotary:problem:{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _for_notary_error(exc: e.NotaryError) -> JSONResponse:
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            if status >= 500:
                log.error("%s: %s", type(exc).__name__, exc.detail)
            return problem(status, exc.code, title, exc.detail)
    return problem(500, exc.code, "Service error", exc.detail)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.NotaryError)
    async def _notary(_: Request, exc: e.NotaryError) -> JSONResponse:
        return _for_notary_error(exc)

    @app.exception_handler(FormatError)
    async def _format(_: Request, exc: FormatError) -> JSONResponse:
        return problem(422, "malformed_document", "Malformed document", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
            for err in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem(422, "validation_error", "Invalid request",
                       f"{where}: {first['msg']}" if where else str(first["msg"]), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "limit_exceeded",
                 415: "unsupported_media_type", 400: "bad_request"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        incident = secrets.token_hex(8)
        log.exception("unexpected error (incident %s)", incident)
        return problem(500, "internal_error", "Internal error",
                       f"the service failed unexpectedly; quote incident {incident}", incident=incident)
