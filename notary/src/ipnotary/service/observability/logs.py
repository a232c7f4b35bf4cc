"""Log lines an operator can read and a log pipeline can parse: configured once per process.

``notary serve`` calls :func:`configure_logging` before uvicorn starts and hands the same
:func:`logging_config` to uvicorn, which applies it again in every worker process it spawns. From
then on every logger of the process (ours, uvicorn's, the libraries') writes through one handler
on standard error, at ``NOTARY_LOG_LEVEL``, in ``NOTARY_LOG_FORMAT``:

- ``json``: one JSON object a line: ``time`` (UTC, RFC 3339), ``level``, ``logger``, ``event``
  (a stable name for the service's own events, see :func:`event`; for a line a library logged
  without one, its logger and level, :func:`fallback_event`), ``message`` (for people),
  the ids the event is about (``request_id``, ``record_id``, ``batch_seq``, ``log_size``,
  ``witness``, ``tsa``, ...), ``pid``, and ``exception`` with the traceback when there is one.
- ``text``: the same as one readable line, ids as ``key=value`` after the message.

Each line is cleaned by the deployment's :class:`~ipnotary.sdk.redaction.Redactor` (string field
by string field), on top of the process-wide record hook the app installs: a node's URL with an
API key never reaches a log line, whichever field it went into.

The request being served is a context variable (:func:`bind_request`, set by
``ipnotary.service.api.request_telemetry``): every line logged while serving it carries its
``request_id``, also from the worker threads blocking route code runs on.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import secrets
import traceback
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ipnotary.sdk.redaction import Redactor
from ipnotary.service.config import LogFormat

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestContext",
    "RequestContextFilter",
    "TextFormatter",
    "accept_request_id",
    "bind_request",
    "configure_logging",
    "current_request",
    "event",
    "fallback_event",
    "logging_config",
    "note_record_id",
    "unbind_request",
]

REQUEST_ID_HEADER = "X-Request-ID"

# A client's request id is kept if it could not disturb a log line or a header: a bounded token
# of characters proxies and tracers use (UUIDs, nginx's hex ids, AWS's "Root=1-...;Parent=...").
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:;=+/@-]{0,127}")

# Our code's loggers follow NOTARY_LOG_LEVEL; these libraries log every HTTP request or block at
# INFO/DEBUG, so they speak only from WARNING up whatever the level.
_OWN_LOGGERS = ("ipnotary", "uvicorn", "uvicorn.error", "alembic")
_CHATTY_LOGGERS = (
    "httpx",
    "httpcore",
    "urllib3",
    "web3",
    "asyncio",
    "multipart",
    "python_multipart",
    "eth",
    "evm",
    "py.warnings",
    "alembic.runtime.plugins",  # one INFO line per plugin at every migration check
)

# Attributes every LogRecord has: whatever else a record carries came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's colourised copy of the message
}


@dataclass
class RequestContext:
    """The request being served: its id, and the records it created or returned."""

    request_id: str
    record_ids: list[str] = field(default_factory=list)


_request: ContextVar[RequestContext | None] = ContextVar("notary_request", default=None)


def accept_request_id(offered: str | None) -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new one (32 hex digits)."""
    if offered and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(16)


def bind_request(request_id: str) -> Token[RequestContext | None]:
    return _request.set(RequestContext(request_id))


def unbind_request(token: Token[RequestContext | None]) -> None:
    _request.reset(token)


def current_request() -> RequestContext | None:
    return _request.get()


def note_record_id(record_id: str) -> None:
    """Name a record in the access line of the request being served (no-op outside one)."""
    context = _request.get()
    if context is not None and len(context.record_ids) < 1_000:
        context.record_ids.append(record_id)


def event(name: str, **ids: Any) -> dict[str, Any]:
    """``extra=`` for one of the service's own events: a stable ``event`` name and its ids.

    ``log.info("sealed batch %s ...", seq, extra=event("batch_sealed", batch_seq=seq))``: the
    message stays for people, the fields are what a pipeline filters and alerts on. Error texts
    belong in the message, not in the fields.
    """
    return {"event": name, **ids}


class RequestContextFilter(logging.Filter):
    """Adds the ``request_id`` of the request being served to each record passing through."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _request.get()
        if context is not None and not hasattr(record, "request_id"):
            record.request_id = context.request_id
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _RECORD_ATTRIBUTES and not k.startswith("_")
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class _Formatter(logging.Formatter):
    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redactor or Redactor()

    def _exception(self, record: logging.LogRecord) -> str | None:
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        text = record.exc_text or None
        if record.stack_info:
            text = f"{text}\n{record.stack_info}" if text else record.stack_info
        return text


class JsonFormatter(_Formatter):
    """One JSON object a line (see the module docstring); every string in it redacted."""

    def format(self, record: logging.LogRecord) -> str:
        redact = self._redact
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        extra = _fields(record)
        line["event"] = extra.pop("event", None) or fallback_event(record)
        line["message"] = redact(record.getMessage())
        for key, value in extra.items():
            line[key] = _redacted(_plain(value), redact)
        line["pid"] = record.process
        exception = self._exception(record)
        if exception:
            line["exception"] = redact(exception)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def fallback_event(record: logging.LogRecord) -> str:
    """The ``event`` of a line logged without one (a library's, uvicorn's): its top-level
    logger and level, e.g. ``uvicorn_info``, ``alembic_warning``: stable, so a pipeline can still
    filter on it."""
    return f"{record.name.split('.', 1)[0] or 'root'}_{record.levelname.lower()}"


class TextFormatter(_Formatter):
    """``time level logger: message key=value ...`` and the traceback below; redacted."""

    def format(self, record: logging.LogRecord) -> str:
        extra = _fields(record)
        extra.setdefault("event", fallback_event(record))
        ids = " ".join(f"{k}={_plain(v)}" for k, v in extra.items())
        text = (
            f"{_utc(record.created)} {record.levelname:<7} {record.name}: "
            f"{record.getMessage()}" + (f"  [{ids}]" if ids else "")
        )
        exception = self._exception(record)
        if exception:
            text = f"{text}\n{exception}"
        return self._redact(text)


def _redacted(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, redact) for k, v in value.items()}
    return value


def _utc(created: float) -> str:
    return (
        datetime.fromtimestamp(created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def logging_config(
    *, level: str, fmt: LogFormat, redactor: Redactor | None = None
) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` document for a service process (also uvicorn's
    ``log_config``: uvicorn applies it in each worker process it spawns, so it must pickle)."""
    level = level.upper()
    quiet = level if logging.getLevelName(level) >= logging.WARNING else "WARNING"
    formatter = JsonFormatter if fmt is LogFormat.json else TextFormatter
    loggers: dict[str, dict[str, Any]] = {
        name: {"level": level, "handlers": [], "propagate": True} for name in _OWN_LOGGERS
    }
    loggers.update(
        {name: {"level": quiet, "handlers": [], "propagate": True} for name in _CHATTY_LOGGERS}
    )
    # The service writes its own access line (notary.api.request_telemetry), with the request
    # id, route and duration: uvicorn's would be a second line for the same request.
    loggers["uvicorn.access"] = {"level": "WARNING", "handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContextFilter}},
        "formatters": {"notary": {"()": formatter, "redactor": redactor}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "notary",
                "filters": ["request"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": loggers,
    }


def configure_logging(*, level: str, fmt: LogFormat, redactor: Redactor | None = None) -> None:
    """Route every logger of this process through one handler, in ``fmt``, at ``level``."""
    logging.config.dictConfig(logging_config(level=level, fmt=fmt, redactor=redactor))
    logging.captureWarnings(True)
