"""Request dependencies: a database session, the caller, role checks (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlmodel import Session
from starlette.datastructures import Headers

from ipnotary.service.domain.records import Role
from ipnotary.service.errors import PermissionDenied
from ipnotary.service.runtime import Runtime
from ipnotary.service.storage.models import Principal

__all__ = ["CurrentPrincipal", "RuntimeDep", "SessionDep", "api_key_of", "require_roles"]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _session(runtime: RuntimeDep) -> Iterator[Session]:
    # Objects stay readable after commit: building a response must not reload every row.
    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


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


def _principal(request: Request, runtime: RuntimeDep, _bearer: Annotated[object, _BEARER],
               _header: Annotated[object, _KEY_HEADER]) -> Principal:
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
