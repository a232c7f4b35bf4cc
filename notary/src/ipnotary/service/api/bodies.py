"""Request bodies under limits, and JSON read the way the SDK reads it.

- :class:`RequestBodyLimit` (ASGI middleware) holds every request body to
  ``NOTARY_MAX_REQUEST_BYTES``: a declared ``Content-Length`` over the limit is refused before the
  first byte is read, a chunked body as soon as it passes the limit. A file upload raises the
  limit of its own request to ``NOTARY_MAX_UPLOAD_BYTES`` (:func:`allow_body_up_to`) before it
  streams; nothing else can. It also gives every body a deadline that grows with what arrives,
  as Apache's mod_reqtimeout does (``body=20,MinRate=...``): :data:`BODY_TIMEOUT_SECONDS` for
  the first bytes, one more second for every :data:`BODY_MIN_RATE` bytes received, and a 408
  ``request_timeout`` past it. A client that sends a byte now and then (slowloris) would
  otherwise hold its connection, and the memory of a request, for as long as it likes.
- :func:`read_body` reads a body whole under a tighter limit of the route's own.
- :func:`object_members` and :func:`array_items` split a JSON object or array into the raw text
  of its members without interpreting them, so that a certificate inside a request reaches
  ``ipnotary.sdk.canonical.parse_json`` (size, depth, duplicate keys) as the bytes the client
  sent: Starlette's parser would have kept the last of two duplicate keys and hidden the first.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, TypeVar

import anyio
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ipnotary.sdk.canonical import parse_json
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.numerals import declared_length
from ipnotary.service.errors import UnsupportedMediaType

__all__ = [
    "BODY_MIN_RATE",
    "BODY_TIMEOUT_SECONDS",
    "BodyTimeout",
    "BodyTooLarge",
    "RequestBodyLimit",
    "allow_body_up_to",
    "array_items",
    "body_limit_of",
    "documented_body_schemas",
    "form_field_chars",
    "json_body_doc",
    "object_members",
    "parse_members",
    "read_body",
    "require_json",
    "validation_errors",
]

M = TypeVar("M", bound=BaseModel)

_SCOPE_KEY = "notary.body_limit"


class BodyTooLarge(StarletteHTTPException):
    """A request body over its limit. An ``HTTPException`` so that FastAPI's own body reading
    lets it through unchanged (it turns other errors into a 400); answered as ``limit_exceeded``."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        what = (
            f"the request body ({declared} bytes)" if declared is not None else "the request body"
        )
        super().__init__(413, f"{what} is over the limit of {limit} bytes for this endpoint")


BODY_TIMEOUT_SECONDS = 20.0
"""Seconds a request body has for its first bytes (and, with :data:`BODY_MIN_RATE`, the rest)."""
BODY_MIN_RATE = 500
"""Bytes a second a body must average: every this many bytes received add a second to its
deadline. An upload of 8 GiB at 500 B/s would take six months; any working link is far faster."""


class BodyTimeout(StarletteHTTPException):
    """A request body that did not arrive by its deadline; answered 408 ``request_timeout``, and
    the connection is closed (its body was never read to the end)."""

    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(
            408,
            f"the request body did not arrive in time: {received} bytes in {seconds:.0f} s; a "
            f"body has {BODY_TIMEOUT_SECONDS:.0f} s and one more for every {BODY_MIN_RATE} "
            "bytes sent",
        )


class _Limit:
    __slots__ = ("bytes", "complete", "declared", "read", "since", "started")

    def __init__(self, limit: int, declared: int | None) -> None:
        self.bytes = limit
        self.declared = declared
        self.read = 0
        self.started = False  # the response has started: the body no longer matters
        self.complete = False  # the last part of the body has arrived
        self.since = time.monotonic()


class RequestBodyLimit:
    """Every HTTP request's body at most ``max_bytes`` (``NOTARY_MAX_REQUEST_BYTES``), counted
    as the application reads it; the check of a declared length happens before the first read."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        min_rate: int = BODY_MIN_RATE,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(Headers(scope=scope).get("content-length"))
        limit = scope[_SCOPE_KEY] = _Limit(self.max_bytes, declared)

        async def guarded_receive() -> Message:
            if not limit.started and limit.declared is not None and limit.declared > limit.bytes:
                raise BodyTooLarge(limit.bytes, limit.declared)
            if limit.complete or limit.started:
                message = await receive()  # a wait for the client to disconnect: no deadline
            else:
                deadline = limit.since + self.body_timeout + limit.read / self.min_rate
                with anyio.move_on_after(deadline - time.monotonic()) as waited:
                    message = await receive()
                if waited.cancelled_caught:
                    raise BodyTimeout(time.monotonic() - limit.since, limit.read)
            if message["type"] == "http.request":
                limit.read += len(message.get("body", b""))
                limit.complete = not message.get("more_body", False)
                if limit.read > limit.bytes and not limit.started:
                    raise BodyTooLarge(limit.bytes)
            return message

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                limit.started = True
            await send(message)

        await self.app(scope, guarded_receive, watched_send)


def allow_body_up_to(request: Request, max_bytes: int) -> None:
    """Let this request's body grow to ``max_bytes`` (a file upload); call before reading it."""
    limit = request.scope.get(_SCOPE_KEY)
    if isinstance(limit, _Limit):
        limit.bytes = max(limit.bytes, max_bytes)


def body_limit_of(request: Request) -> int | None:
    """The limit the middleware holds this request's body to (None without the middleware)."""
    limit = request.scope.get(_SCOPE_KEY)
    return limit.bytes if isinstance(limit, _Limit) else None


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The whole body, refused (413) from its declared length or as soon as it passes
    ``max_bytes``: an oversized body is never read whole."""
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge(max_bytes, declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(request: Request) -> None:
    """415 unless the body is JSON (``application/json`` or ``+json``; no type is taken as JSON)."""
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type.lower() != "application/json" and not media_type.lower().endswith("+json"):
        raise UnsupportedMediaType("send the request as application/json")


# -- JSON members as raw text ------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRUCTURE = re.compile(r'["{}\[\]]')
_SCALAR = re.compile(r"[^,}\]\s]+")


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _value_end(text: str, pos: int, what: str) -> int:
    """Where the JSON value starting at ``pos`` ends, from its structure alone (brackets and
    strings); what is inside is checked when the value itself is parsed."""
    if pos >= len(text):
        raise FormatError(f"{what} ends where a value should be")
    first = text[pos]
    if first == '"':
        match = _STRING.match(text, pos)
        if match is None:
            raise FormatError(f"{what} has an unterminated string at character {pos}")
        return match.end()
    if first not in "{[":
        match = _SCALAR.match(text, pos)
        if match is None:
            raise FormatError(f"{what} has no value at character {pos}")
        return match.end()
    depth = 0
    while True:
        match = _STRUCTURE.search(text, pos)
        if match is None:
            raise FormatError(
                f"{what} ends inside an unclosed {'object' if first == '{' else 'array'}"
            )
        pos = match.start()
        if match.group() == '"':
            string = _STRING.match(text, pos)
            if string is None:
                raise FormatError(f"{what} has an unterminated string at character {pos}")
            pos = string.end()
            continue
        depth += 1 if match.group() in "{[" else -1
        pos += 1
        if depth == 0:
            return pos


def _decode(data: bytes | str, what: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not UTF-8: {exc}") from exc


def object_members(data: bytes | str, *, what: str) -> dict[str, str]:
    """The raw JSON text of each member of the object ``data``; a key twice is refused."""
    text = _decode(data, what)
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        raise FormatError(f"{what} is not a JSON object")
    members: dict[str, str] = {}
    pos = _skip_ws(text, pos + 1)
    if text.startswith("}", pos):
        pos += 1
    else:
        while True:
            if not text.startswith('"', pos):
                raise FormatError(f"{what} has no member name at character {pos}")
            end = _value_end(text, pos, what)
            try:
                key = json.loads(text[pos:end])
            except ValueError as exc:
                raise FormatError(f"{what} has a malformed member name: {exc}") from exc
            if key in members:
                raise FormatError(f"{what} has the key {key!r} twice")
            pos = _skip_ws(text, end)
            if not text.startswith(":", pos):
                raise FormatError(f"{what} has no ':' after the key {key!r}")
            pos = _skip_ws(text, pos + 1)
            end = _value_end(text, pos, what)
            members[key] = text[pos:end]
            pos = _skip_ws(text, end)
            if text.startswith(",", pos):
                pos = _skip_ws(text, pos + 1)
                continue
            if text.startswith("}", pos):
                pos += 1
                break
            raise FormatError(f"{what} has no ',' or '}}' after the key {key!r}")
    if _skip_ws(text, pos) != len(text):
        raise FormatError(f"{what} has data after its end")
    return members


def array_items(text: str, *, what: str, max_items: int) -> list[str]:
    """The raw JSON text of each item of the array ``text``; more than ``max_items`` is refused
    without splitting the rest."""
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        raise FormatError(f"{what} is not a JSON array")
    items: list[str] = []
    pos = _skip_ws(text, pos + 1)
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            if len(items) == max_items:
                raise FormatError(f"{what} has more than {max_items} items")
            end = _value_end(text, pos, what)
            items.append(text[pos:end])
            pos = _skip_ws(text, end)
            if text.startswith(",", pos):
                pos = _skip_ws(text, pos + 1)
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise FormatError(f"{what} has no ',' or ']' after item {len(items) - 1}")
    if _skip_ws(text, pos) != len(text):
        raise FormatError(f"{what} has data after its end")
    return items


def parse_members(model: type[M], members: dict[str, str], *, max_bytes: int) -> M:
    """``model`` from raw members, each parsed by the SDK's JSON parser (duplicate keys, depth
    and size refused as ``FormatError``); a rule broken raises pydantic's ``ValidationError``."""
    values: dict[str, Any] = {
        name: parse_json(raw, max_bytes=max_bytes, what=name) for name, raw in members.items()
    }
    return model.model_validate(values)


def validation_errors(exc: ValidationError, *prefix: str | int) -> list[dict[str, Any]]:
    """pydantic's errors with ``loc`` under ``prefix`` (``body``), for
    ``RequestValidationError``."""
    return [
        {"loc": (*prefix, *err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


def invalid_request(exc: ValidationError, *prefix: str | int) -> RequestValidationError:
    """A body a route parsed itself broke ``exc``'s rules: answered by the app's one 422 handler
    (``api/errors.py``), every error listed, each ``loc`` under ``prefix`` (``body``, ``work``)."""
    return RequestValidationError(validation_errors(exc, *prefix))


# -- OpenAPI for routes that read their body themselves -----------------------------------------


def form_fields_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The ``multipart/form-data`` properties of ``model``'s fields as one form field each, with
    the limits the model enforces (a list is one comma-separated or repeated field): documented
    from the model, so the document cannot drift from what is checked."""
    properties: dict[str, Any] = {}
    for name, schema in model.model_json_schema()["properties"].items():
        # an optional field is anyOf [its type, null]: a form field is the type or absent
        typed: dict[str, Any] = next(
            (s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"), {}
        )
        if typed.get("type") == "array":
            item = typed.get("items", {})
            field: dict[str, Any] = {
                "type": "string",
                "description": f"comma-separated or repeated; at most {typed.get('maxItems')} "
                f"of at most {item.get('maxLength')} characters",
            }
        else:
            keep = ("type", "format", "maxLength", "minLength", "pattern")
            field = {k: typed[k] for k in keep if k in typed}
        properties[name] = field
    return properties


def form_field_chars(model: type[BaseModel]) -> dict[str, int]:
    """The documented length in characters of each of ``model``'s fields sent as one form field
    (a list: all its items, comma-separated); fields without one are left out."""
    limits: dict[str, int] = {}
    for name, schema in model.model_json_schema()["properties"].items():
        typed: dict[str, Any] = next(
            (s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"), {}
        )
        if typed.get("type") == "array":
            items, length = typed.get("maxItems"), typed.get("items", {}).get("maxLength")
            if isinstance(items, int) and isinstance(length, int):
                limits[name] = items * (length + 1)
        elif isinstance(typed.get("maxLength"), int):
            limits[name] = typed["maxLength"]
    return limits


_DOCUMENTED: list[type[BaseModel]] = []


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The ``requestBody`` of a route that reads its JSON body itself, as ``model`` describes it
    (``openapi_extra``); the app adds the schemas to the document's components."""
    if model not in _DOCUMENTED:
        _DOCUMENTED.append(model)
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def documented_body_schemas() -> dict[str, Any]:
    """The component schemas of every model given to :func:`json_body_doc`."""
    if not _DOCUMENTED:
        return {}
    _, schemas = models_json_schema(
        [(m, "validation") for m in _DOCUMENTED], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = schemas.get("$defs", {})
    return defs
