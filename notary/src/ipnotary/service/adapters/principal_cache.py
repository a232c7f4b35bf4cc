"""API key -> principal for a few seconds, so a request costs no authentication queries."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine

from ipnotary.service.storage.models import Principal

__all__ = ["PrincipalCache"]


class PrincipalCache:
    """API key -> principal, for a few seconds, so a request costs no authentication queries.

    Entries are snapshots (new transient objects per request, never shared ORM instances);
    ``invalidate`` drops a principal at once when its keys or state change. Revocation therefore
    takes effect within ``ttl`` seconds at most across processes, at once in this one; a key with
    an expiry is never served from the cache past it.
    """

    def __init__(self, engine: Engine, *, ttl: float = 5.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    def authenticate(self, key: str | None) -> Principal:
        from sqlmodel import Session

        from ipnotary.service.services.principals import authenticate_key, hash_api_key

        digest = hash_api_key(key) if key else ""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return Principal(**hit[1])
        with Session(self._engine) as session:
            principal, seconds_left = authenticate_key(session, key)
            fields = principal.model_dump()
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now + min(self._ttl, seconds_left), fields)
        return Principal(**fields)

    def invalidate(self, principal_id: str) -> None:
        with self._lock:
            for digest in [d for d, (_, f) in self._entries.items() if f["id"] == principal_id]:
                del self._entries[digest]
