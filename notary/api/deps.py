"""Request dependencies: a database session, the caller, role checks (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from notary.domain.records import Role
from notary.errors import PermissionDenied
from notary.runtime import Runtime
from notary.services.principals import authenticate
from notary.storage.models import Principal

__all__ = ["CurrentPrincipal", "RuntimeDep", "SessionDep", "require_roles"]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    return request.headers.get("x-api-key")


def _principal(request: Request, session: SessionDep) -> Principal:
    return authenticate(session, _bearer(request))


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = {r.value for r in roles}

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise PermissionDenied(
                f"role {principal.role!r} may not do this; it needs one of: {', '.join(sorted(allowed))}"
            )
        return principal

    return check
