"""Request dependencies: a database session, the caller, role checks (``Annotated`` aliases), and
the session a handler opens itself for blocking work (:func:`with_session`, :func:`in_session`)."""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Annotated, TypeVar, Union, get_args, get_origin

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from ipnotary.service.domain.records import Role
from ipnotary.service.errors import InvalidInput, PermissionDenied
from ipnotary.service.runtime import Runtime
from ipnotary.service.storage.models import Principal

__all__ = [
    "CurrentPrincipal",
    "RuntimeDep",
    "SessionDep",
    "api_key_of",
    "in_session",
    "refuse_repeated_query_parameters",
    "require_roles",
    "with_session",
]

T = TypeVar("T")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _session(runtime: RuntimeDep) -> Iterator[Session]:
    # Objects stay readable after commit: building a response must not reload every row.
    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def with_session(runtime: Runtime, work: Callable[[Session], T]) -> T:
    """``work(session)`` in a session of its own, open while the work runs and not, as
    ``SessionDep``'s, for the whole request: an upload's handler holds no pooled connection while
    it reads the body."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        return work(session)


async def in_session(runtime: Runtime, work: Callable[[Session], T]) -> T:
    """:func:`with_session` in the thread pool: blocking database work off the event loop."""
    return await run_in_threadpool(with_session, runtime, work)


def api_key_of(headers: Headers) -> str | None:
    """The API key a request carries: ``Authorization: Bearer <key>`` or ``X-API-Key``."""
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key")


# Declared, never enforced here: they put both ways of sending a key into the OpenAPI document
# (``security``); ``api_key_of`` reads the key and the principals service judges it.
_BEARER = Security(HTTPBearer(auto_error=False, description="an API key: `Bearer nk_...`"))
_KEY_HEADER = Security(APIKeyHeader(name="X-API-Key", auto_error=False))


def _principal(
    request: Request,
    runtime: RuntimeDep,
    _bearer: Annotated[object, _BEARER],
    _header: Annotated[object, _KEY_HEADER],
) -> Principal:
    # Not SessionDep: that connection would stay checked out until the response is sent, and a
    # handler opening its own session would then hold two; under load the pool runs dry.
    return runtime.principals.authenticate(api_key_of(request.headers))


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = {r.value for r in roles}

    async def check(principal: CurrentPrincipal) -> Principal:  # no I/O: no thread hop
        if principal.role not in allowed:
            raise PermissionDenied(
                f"role {principal.role!r} may not do this; it needs one of: "
                f"{', '.join(sorted(allowed))}"
            )
        return principal

    return check


def refuse_repeated_query_parameters(request: Request) -> None:
    """Refuse a query parameter given twice unless its route takes a list (every route, through
    the app's dependencies). FastAPI keeps the last of ``?action=a&action=b`` while a proxy, a log
    or a web application firewall may read the first: two readings of one request."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [(name, n) for name, n in counts.items() if n > 1]  # one pass: a query may be long
    if not repeated:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    lists = {
        param.alias
        for param in getattr(dependant, "query_params", ())
        if _takes_many(param.field_info.annotation)
    }
    for name, n in repeated:
        if name not in lists:
            raise InvalidInput(
                f"query parameter {name!r} is given {n} times; give it once",
                code="repeated_parameter",
            )


def _takes_many(annotation: object) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, Annotated):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str
