"""``/v1/persons``: the persons who sign in to the web app (``docs/web.md``), for programs and for
the operator's first step: an admin's API key invites the first administrator by a one-time
link; from then on people invite each other on the web app's pages. Every act is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ipnotary.service.api.deps import RuntimeDep, SessionDep, require_roles
from ipnotary.service.api.web.auth import HOME, account_rules
from ipnotary.service.domain.records import Role
from ipnotary.service.services import accounts
from ipnotary.service.services.principals import Actor
from ipnotary.service.storage.models import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1/persons", tags=["persons"])

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


class InvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal_id: Annotated[str, Field(min_length=1, max_length=40)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    manages_persons: bool = Field(
        default=False, description="may invite and disable the principal's other persons"
    )


class InvitationIssued(BaseModel):
    person_id: str
    principal_id: str
    email: str
    invitation_url: str = Field(description="the one-time link: shown once, valid until expires_at")
    expires_at: datetime


class PersonView(BaseModel):
    id: str
    principal_id: str
    email: str
    name: str
    manages_persons: bool
    password_set: bool
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None


@router.post(
    "/invitations",
    status_code=201,
    response_model=InvitationIssued,
    summary="Invite a person to sign in for a principal (a new person, or a new password)",
    description="Answers the one-time link once (`NOTARY_WEB_INVITATION_HOURS`, default 72 h). "
    "For a person the principal already has, earlier links stop working and the link sets a new "
    "password. 409 `email_taken` when the email signs in for another principal.",
)
def invite(
    body: InvitationRequest, runtime: RuntimeDep, session: SessionDep, admin: Admin
) -> InvitationIssued:
    issued = accounts.invite_person(
        session,
        principal_id=body.principal_id,
        email=body.email,
        name=body.name,
        manages_persons=body.manages_persons,
        actor=Actor.of(admin),
        rules=account_rules(runtime),
    )
    return InvitationIssued(
        person_id=issued.person.id,
        principal_id=issued.person.principal_id,
        email=issued.person.email,
        invitation_url=f"{runtime.settings.resolved_public_url}{HOME}/invitations/{issued.token}",
        expires_at=issued.expires_at,
    )


@router.get(
    "", response_model=list[PersonView], summary="A principal's persons (never a password hash)"
)
def persons(
    session: SessionDep, _: Admin, principal_id: Annotated[str, Query(max_length=40)]
) -> list[PersonView]:
    return [
        PersonView(
            id=p.id,
            principal_id=p.principal_id,
            email=p.email,
            name=p.name,
            manages_persons=p.manages_persons,
            password_set=p.password_hash is not None,
            disabled=p.disabled_at is not None,
            created_at=p.created_at,
            last_sign_in_at=p.last_sign_in_at,
        )
        for p in accounts.persons_of(session, principal_id)
    ]
