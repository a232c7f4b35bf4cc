"""A per-client rate limit on the public endpoints (the ones anyone can call without a key).

:class:`RateLimit` (ASGI middleware) charges each request to a public endpoint
(:data:`PUBLIC_PATHS`, :data:`PUBLIC_PREFIXES`) to its client's token bucket: the principal when
the request carries a valid API key, else the client address (``request.client``; behind a proxy,
the address uvicorn takes from ``X-Forwarded-For`` when the proxy is in ``--forwarded-allow-ips``).
A bucket holds ``NOTARY_RATE_LIMIT_BURST`` requests and refills at ``NOTARY_RATE_LIMIT_PER_MINUTE``;
an empty one answers 429 ``rate_limited`` with ``Retry-After``. The buckets live in this process:
several processes each keep their own, and a load balancer's limit is the global one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ipnotary.service.api.deps import api_key_of
from ipnotary.service.api.errors import problem

__all__ = ["PUBLIC_PATHS", "PUBLIC_PREFIXES", "RateLimit", "TokenBuckets", "is_public"]

PUBLIC_PATHS = frozenset(
    {
        "/readyz",
        "/v1/trust",
        "/v1/verify",
        "/v1/pledges/status",
        "/v1/credit/status",
        "/credentials/verify",
    }
)
PUBLIC_PREFIXES = ("/log/", "/v1/log/", "/v1/shared/", "/v1/credentials/")

# Clients remembered at once; the least recently seen is forgotten first (a forgotten client
# starts again with a full bucket, which only ever errs towards letting a request through).
MAX_CLIENTS = 100_000


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class TokenBuckets:
    """One token bucket per client: ``burst`` tokens, refilled at ``per_minute`` a minute."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive")
        self.per_minute = per_minute
        self.burst = burst
        self._rate = per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take a token for ``client``: 0.0 if it had one, else the seconds until it will."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self._rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self._rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """Answers 429 to a client whose bucket is empty, on the public endpoints only.

    ``identify(api_key)`` returns the principal id of a valid key (or None); it may block, so it
    runs on a worker thread. An invalid key counts against the client's address, so that made-up
    keys cannot each open a bucket of their own.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_minute: int,
        burst: int,
        identify: Callable[[Scope, str], str | None],
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute, burst) if per_minute > 0 else None
        self._identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or not is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = await self._client(scope)
        wait = self.buckets.take(client)
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        response = problem(
            429,
            "rate_limited",
            "Too many requests",
            f"at most {self.buckets.per_minute} requests a minute (bursts of "
            f"{self.buckets.burst}) per client on the public endpoints; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

    async def _client(self, scope: Scope) -> str:
        key = api_key_of(Headers(scope=scope))
        if key:
            principal = await run_in_threadpool(self._identify, scope, key)
            if principal is not None:
                return f"principal:{principal}"
        address: Any = scope.get("client")
        return f"address:{address[0]}" if address else "address:unknown"
