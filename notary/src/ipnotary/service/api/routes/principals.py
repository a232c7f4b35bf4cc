"""``/v1/principals``, ``/v1/api-keys``, ``/v1/audit``: the operator creates principals; keys are
issued, rotated and revoked by an admin (any key) or their principal (its own; a key it mints is
bound to the minting key, ``services/principals.py``); an admin disables and enables principals;
every such act is in the audit log, which only admins read. Anyone with a key can see who
principals are; the identity number a principal speaks for only whoever needs it (:func:`_subject`,
``docs/security.md``).

The paths are written out in full (the router has no prefix) so that the key and audit endpoints
can live beside the principals they belong to.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ipnotary.service.api.deps import (
    CurrentPrincipal,
    RuntimeDep,
    SessionDep,
    api_key_of,
    require_roles,
)
from ipnotary.service.domain.identifiers import mask_identifier
from ipnotary.service.domain.records import Role
from ipnotary.service.domain.scalars import JsonAwareDateTime, StoredInt, UrlInt
from ipnotary.service.errors import PermissionDenied
from ipnotary.service.services import principals as svc
from ipnotary.service.services.principals import Actor, create_principal
from ipnotary.service.storage.models import ApiKey, AuditEvent, Principal

router = APIRouter(tags=["principals"])

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


class PrincipalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    subject: (
        Annotated[str, Field(max_length=120, description="type:id the principal speaks for")] | None
    ) = None
    key_expires_at: JsonAwareDateTime | None = Field(
        default=None, description="when the first API key stops working (RFC 3339); none: never"
    )


class PrincipalPublic(BaseModel):
    id: str
    name: str
    role: str
    subject: str | None = Field(
        default=None,
        description="type:id the principal speaks for (its identity as a party: works it owns, "
        "credit about it); a person's identity number masked unless you may read it "
        "(docs/security.md)",
    )
    subject_masked: bool = Field(default=False, description="subject is shown masked")


class PrincipalState(PrincipalPublic):
    """A principal as an admin sees it after changing it."""

    disabled: bool


class DisableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=500)] | None = None


# Who reads the identity numbers principals speak for: admins (who checked them), and notaries
# and arbitrators, who must establish who a party is; besides, each principal its own.
SUBJECT_READERS = frozenset({Role.admin.value, Role.notary.value, Role.arbitrator.value})


def _subject(viewer: Principal, principal: Principal) -> tuple[str | None, bool]:
    """What ``viewer`` is shown of ``principal``'s subject, and whether it is masked: a person's
    identity number is personal data (``identifiers.mask_identifier``; an organisation's credit
    code is a public registration and shown whole)."""
    subject = principal.identifier
    if subject is None or viewer.id == principal.id or viewer.role in SUBJECT_READERS:
        return subject, False
    id_type, _, value = subject.partition(":")
    try:
        shown = f"{id_type}:{mask_identifier(id_type, value)}"
    except ValueError:  # an id type this version does not know: show none of it
        shown = f"{id_type}:{'*' * len(value)}"
    return shown, shown != subject


def _public(viewer: Principal, principal: Principal) -> PrincipalPublic:
    subject, masked = _subject(viewer, principal)
    return PrincipalPublic(
        id=principal.id,
        name=principal.name,
        role=principal.role,
        subject=subject,
        subject_masked=masked,
    )


class PrincipalCreated(PrincipalPublic):
    api_key: str = Field(description="shown once; only its hash is stored")
    key_id: str
    key_expires_at: datetime | None = None


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: JsonAwareDateTime | None = Field(
        default=None, description="when the new key stops working (RFC 3339); none: never"
    )


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=500)] | None = None


class KeyPublic(BaseModel):
    """An API key's state; never its hash."""

    id: str
    principal_id: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None
    parent_id: str | None = Field(
        default=None,
        description="the key that minted this one: it expires no later and is revoked with it",
    )


class KeyIssued(BaseModel):
    id: str
    principal_id: str
    api_key: str = Field(description="shown once; only its hash is stored")
    expires_at: datetime | None
    replaces: str | None = None
    parent_id: str | None = Field(
        default=None,
        description="the key that minted this one: it expires no later and is revoked with it",
    )


class AuditEventPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: str | None
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    events: list[AuditEventPublic] = Field(max_length=svc.MAX_AUDIT_PAGE)
    next_cursor: int | None = Field(description="pass as cursor for the next page; null at the end")


def _key_view(row: ApiKey) -> KeyPublic:
    return KeyPublic(
        id=row.id,
        principal_id=row.principal_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        replaced_by=row.replaced_by,
        parent_id=row.parent_id,
    )


def _issued(issued: svc.IssuedKey, replaces: str | None = None) -> KeyIssued:
    row = issued.row
    return KeyIssued(
        id=row.id,
        principal_id=row.principal_id,
        api_key=issued.api_key,
        expires_at=row.expires_at,
        replaces=replaces,
        parent_id=row.parent_id,
    )


def _target(principal_id: str, caller: Principal) -> str:
    """``me`` or a principal id; a principal other than the caller needs an admin."""
    target = caller.id if principal_id == "me" else principal_id
    if target != caller.id and caller.role != Role.admin.value:
        raise PermissionDenied(
            "only an admin may manage another principal's keys", code="not_your_key"
        )
    return target


@router.post(
    "/v1/principals",
    status_code=201,
    response_model=PrincipalCreated,
    summary="Create a principal (admin)",
)
def create(body: PrincipalCreate, session: SessionDep, admin: Admin) -> PrincipalCreated:
    new = create_principal(
        session,
        name=body.name,
        role=body.role.value,
        identifier=body.subject,
        key_expires_at=body.key_expires_at,
        actor=Actor.of(admin),
    )
    p = new.principal
    return PrincipalCreated(
        id=p.id,
        name=p.name,
        role=p.role,
        subject=p.identifier,
        api_key=new.api_key,
        key_id=new.key_id,
        key_expires_at=body.key_expires_at,
    )


@router.get(
    "/v1/principals/{principal_id}/keys",
    response_model=list[KeyPublic],
    summary="A principal's API keys (admin: any; a principal: its own, as 'me')",
)
def list_keys(principal_id: str, session: SessionDep, caller: CurrentPrincipal) -> list[KeyPublic]:
    return [_key_view(k) for k in svc.keys_of(session, _target(principal_id, caller))]


@router.post(
    "/v1/principals/{principal_id}/keys",
    status_code=201,
    response_model=KeyIssued,
    summary="Issue another API key (admin: any principal; a principal: itself, as 'me')",
    description="A key a principal mints for itself is the minting key's child: it expires no "
    "later (none asked: the minting key's expiry; a later one: 422 `key_outlives_parent`) and is "
    "revoked with it.",
)
def issue_key(
    principal_id: str,
    body: KeyRequest,
    session: SessionDep,
    caller: CurrentPrincipal,
    request: Request,
) -> KeyIssued:
    target = _target(principal_id, caller)
    issued = svc.issue_api_key(
        session,
        principal_id=target,
        actor=Actor.of(caller),
        expires_at=body.expires_at,
        parent=svc.minting_parent(svc.key_of_request(session, api_key_of(request.headers)), target),
    )
    session.commit()
    session.refresh(issued.row)
    return _issued(issued)


@router.post(
    "/v1/api-keys/{key_id}/revoke",
    response_model=KeyPublic,
    summary="Revoke an API key at once, and the keys minted from it (admin: any; a principal: "
    "its own)",
)
def revoke_key(
    key_id: str,
    body: RevokeRequest,
    session: SessionDep,
    caller: CurrentPrincipal,
    runtime: RuntimeDep,
) -> KeyPublic:
    row = svc.revoke_api_key(
        session, key_id=key_id, actor=Actor.of(caller), by=caller, reason=body.reason
    )
    # At once in this process; other processes drop it when their cache entry expires.
    runtime.principals.invalidate(row.principal_id)
    return _key_view(row)


@router.post(
    "/v1/api-keys/{key_id}/rotate",
    status_code=201,
    response_model=KeyIssued,
    summary="Replace an API key by a new one; the old one, and the keys minted from it, are "
    "revoked at once",
)
def rotate_key(
    key_id: str,
    body: KeyRequest,
    session: SessionDep,
    caller: CurrentPrincipal,
    runtime: RuntimeDep,
    request: Request,
) -> KeyIssued:
    issued = svc.rotate_api_key(
        session,
        key_id=key_id,
        actor=Actor.of(caller),
        by=caller,
        by_key=svc.key_of_request(session, api_key_of(request.headers)),
        expires_at=body.expires_at,
    )
    runtime.principals.invalidate(issued.row.principal_id)
    return _issued(issued, replaces=key_id)


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    tags=["audit"],
    summary="The audit log of administrative acts, oldest first (admin)",
)
def audit_log(
    session: SessionDep,
    _: Admin,
    limit: Annotated[int, UrlInt(ge=1, le=svc.MAX_AUDIT_PAGE), Query()] = 100,
    cursor: Annotated[
        StoredInt | None, Query(description="next_cursor of the previous page")
    ] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=80)] = None,
) -> AuditPage:
    events = svc.audit_events(
        session, limit=limit, after=cursor, action=action, target_id=target_id
    )
    return AuditPage(
        events=[_audit_view(e) for e in events],
        next_cursor=events[-1].seq if len(events) == limit else None,
    )


def _audit_view(event: AuditEvent) -> AuditEventPublic:
    assert event.seq is not None
    return AuditEventPublic(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        detail=None if event.detail is None else json.loads(event.detail),
    )


@router.get(
    "/v1/principals/me", response_model=PrincipalPublic, summary="Who this API key belongs to"
)
def me(principal: CurrentPrincipal) -> PrincipalPublic:
    return _public(principal, principal)


def _set_disabled(
    principal_id: str,
    disabled: bool,
    body: DisableRequest,
    session: SessionDep,
    admin: Principal,
    runtime: RuntimeDep,
) -> PrincipalState:
    row = svc.set_disabled(
        session,
        principal_id=principal_id,
        disabled=disabled,
        actor=Actor.of(admin),
        by=admin,
        reason=body.reason,
    )
    runtime.principals.invalidate(row.id)  # at once here; other processes within 5 s
    return PrincipalState(**_public(admin, row).model_dump(), disabled=row.disabled)


@router.post(
    "/v1/principals/{principal_id}/disable",
    response_model=PrincipalState,
    summary="Disable a principal: every key of it answers 401 until it is enabled (admin)",
)
def disable(
    principal_id: str,
    body: DisableRequest,
    session: SessionDep,
    admin: Admin,
    runtime: RuntimeDep,
) -> PrincipalState:
    return _set_disabled(principal_id, True, body, session, admin, runtime)


@router.post(
    "/v1/principals/{principal_id}/enable",
    response_model=PrincipalState,
    summary="Enable a disabled principal again: its keys work as before (admin)",
)
def enable(
    principal_id: str,
    body: DisableRequest,
    session: SessionDep,
    admin: Admin,
    runtime: RuntimeDep,
) -> PrincipalState:
    return _set_disabled(principal_id, False, body, session, admin, runtime)


@router.put(
    "/v1/principals/me/encryption-key",
    summary="Register your trade-secret recipient key "
    "(public document from 'notary keys generate')",
)
def register_encryption_key(
    document: dict[str, Any], session: SessionDep, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, str]:
    from ipnotary.service.services.trade_secrets import set_encryption_key

    key_id = set_encryption_key(session, principal=principal, public_document=document)
    runtime.principals.invalidate(principal.id)
    return {"principal_id": principal.id, "key_id": key_id}


@router.get(
    "/v1/principals/{principal_id}/encryption-key", summary="A principal's public recipient key"
)
def get_encryption_key(
    principal_id: str, session: SessionDep, _: CurrentPrincipal
) -> dict[str, Any]:
    from ipnotary.service.errors import NotFound
    from ipnotary.service.services.trade_secrets import encryption_key_of

    target = session.get(Principal, principal_id)
    if target is None:
        raise NotFound(f"no principal {principal_id!r}")
    return encryption_key_of(target)


@router.get(
    "/v1/principals",
    response_model=list[PrincipalPublic],
    summary="Directory of principals by role",
)
def directory(
    session: SessionDep, caller: CurrentPrincipal, role: Role | None = None
) -> list[PrincipalPublic]:
    from sqlmodel import select

    query = select(Principal).where(Principal.disabled == False)  # noqa: E712 - an SQL expression
    if role is not None:
        query = query.where(Principal.role == role.value)
    return [_public(caller, p) for p in session.exec(query.limit(500))]
