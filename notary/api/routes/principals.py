"""``/v1/principals``: the operator creates principals and keys; anyone can see who they are."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from notary.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from notary.domain.records import Role
from notary.services.principals import create_principal
from notary.storage.models import Principal

router = APIRouter(prefix="/v1/principals", tags=["principals"])

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


class PrincipalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    subject: Annotated[str, Field(max_length=120, description="type:id the principal speaks for")] | None = None


class PrincipalPublic(BaseModel):
    id: str
    name: str
    role: str


class PrincipalCreated(PrincipalPublic):
    api_key: str = Field(description="shown once; only its hash is stored")


@router.post("", status_code=201, response_model=PrincipalCreated, summary="Create a principal (admin)")
def create(body: PrincipalCreate, session: SessionDep, _: Admin) -> PrincipalCreated:
    new = create_principal(session, name=body.name, role=body.role.value, identifier=body.subject)
    p = new.principal
    return PrincipalCreated(id=p.id, name=p.name, role=p.role, api_key=new.api_key)


@router.get("/me", response_model=PrincipalPublic, summary="Who this API key belongs to")
def me(principal: CurrentPrincipal) -> PrincipalPublic:
    return PrincipalPublic(id=principal.id, name=principal.name, role=principal.role)


@router.put(
    "/me/encryption-key",
    summary="Register your trade-secret recipient key (public document from 'notary keys generate')",
)
def register_encryption_key(
    document: dict[str, Any], session: SessionDep, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, str]:
    from notary.services.trade_secrets import set_encryption_key

    key_id = set_encryption_key(session, principal=principal, public_document=document)
    runtime.principals.invalidate(principal.id)
    return {"principal_id": principal.id, "key_id": key_id}


@router.get("/{principal_id}/encryption-key", summary="A principal's public recipient key")
def get_encryption_key(principal_id: str, session: SessionDep, _: CurrentPrincipal) -> dict[str, Any]:
    from notary.errors import NotFound
    from notary.services.trade_secrets import encryption_key_of

    target = session.get(Principal, principal_id)
    if target is None:
        raise NotFound(f"no principal {principal_id!r}")
    return encryption_key_of(target)


@router.get("", response_model=list[PrincipalPublic], summary="Directory of principals by role")
def directory(
    session: SessionDep, _: CurrentPrincipal, role: Role | None = None
) -> list[PrincipalPublic]:
    from sqlmodel import select

    query = select(Principal).where(Principal.disabled == False)
    if role is not None:
        query = query.where(Principal.role == role.value)
    return [PrincipalPublic(id=p.id, name=p.name, role=p.role) for p in session.exec(query.limit(500))]
