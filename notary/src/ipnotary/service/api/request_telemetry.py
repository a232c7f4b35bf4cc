"""Every HTTP request gets an id, one access line and its metrics (the outermost middleware).

:class:`RequestTelemetry` takes the client's ``X-Request-ID`` when it is a sane token
(``observability.logs.accept_request_id``), else makes one, binds it for the request's log lines
(the route's, the error handler's, those of the worker threads it runs on) and echoes it in the
response. When the response ends it writes the access line, logger ``ipnotary.service.access``,
event ``http_request``: method, path, route template, status, duration, client address and the
records the request created or returned; and it counts ``notary_http_requests`` and
``notary_http_request_duration_seconds`` by *route template* (``/v1/evidence/{record_id}``), never
by path, so that made-up paths cannot grow the series without bound. The health probes
(``/healthz``, ``/readyz``) count in ``notary_probe_requests`` instead: a readiness 503 reports a
dependency, not a request the service failed.

An exception no handler took is answered here with the app's own 500 handler
(``api/errors.py``), inside the request's context: its error line carries the request id, the
client gets the id beside the incident number, and the server does not log the traceback a
second time.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import (
    REQUEST_ID_HEADER,
    accept_request_id,
    bind_request,
    current_request,
    event,
    unbind_request,
)

__all__ = ["RequestTelemetry", "route_template"]

access_log = logging.getLogger("ipnotary.service.access")

# Label values are bounded: any other method, and any path no route matched, share one value.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
_MAX_PATH_IN_LOG = 512


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request (``/v1/evidence/{record_id}``),
    or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = accept_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = bind_request(request_id)
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if response_started or not await self._answer_unexpected(scope, exc, send_with_id):
                    raise
        finally:
            self._record(scope, request_id, status, time.perf_counter() - started)
            unbind_request(token)

    async def _answer_unexpected(self, scope: Scope, exc: Exception, send: Send) -> bool:
        """Answer with the app's handler for ``Exception``; False when it has none."""
        app: Any = scope.get("app")
        handler = getattr(app, "exception_handlers", {}).get(Exception)
        if handler is None:
            return False
        request = Request(scope)
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        await response(scope, _no_body, send)
        return True

    @staticmethod
    def _record(scope: Scope, request_id: str, status: int, seconds: float) -> None:
        method = scope.get("method", "")
        method_label = method if method in _METHODS else "OTHER"
        route = route_template(scope)
        if route in metrics.PROBE_ROUTES:
            # A probe's 503 says a dependency is down (alerted on by its own rule): counted
            # apart, so that the 5xx alert on notary_http_requests pages only for failed requests.
            metrics.PROBE_REQUESTS.labels(route, str(status)).inc()
            metrics.PROBE_DURATION.labels(route).observe(seconds)
        else:
            metrics.HTTP_REQUESTS.labels(method_label, route, str(status)).inc()
            metrics.HTTP_REQUEST_DURATION.labels(method_label, route).observe(seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        context = current_request()
        client = scope.get("client")
        path = _printable(scope.get("path", "")[:_MAX_PATH_IN_LOG])
        fields = event(
            "http_request",
            request_id=request_id,
            method=method_label,
            path=path,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            client=client[0] if client else None,
        )
        if context is not None and context.record_ids:
            fields["record_ids"] = context.record_ids[:100]
        level = logging.WARNING if status >= 500 else logging.INFO
        # No query string: it may carry what a client should not have put in a URL.
        access_log.log(
            level, "%s %s %s %.1f ms", method_label, path, status, seconds * 1000, extra=fields
        )


def _printable(text: str) -> str:
    # The path arrives percent-decoded: %0A would otherwise start a forged line in text logs.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
