"""The operator's area (``admin``): the service's health (``readiness.check_readiness``: database,
content store, chain, anchoring, witnesses and TSAs) and its anchoring backlog, principals and
their keys (``services.principals``), persons and their invitations (``services.accounts``), and
the audit log of all of it.

A principal's page is also its own managers' (a person marked ``manages_persons``): they invite
and disable the principal's persons and manage its keys, as a key may manage its own principal's
keys in the API. Every act is audited with the person who did it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select
from starlette.responses import Response

from ipnotary.service.api.deps import with_session
from ipnotary.service.api.web.auth import HOME, Page, WebContext, WebRoute, account_rules
from ipnotary.service.api.web.i18n import N_
from ipnotary.service.api.web.messages import ROLE_NAMES
from ipnotary.service.domain.records import Role
from ipnotary.service.domain.scalars import stored_int_or_none
from ipnotary.service.errors import InvalidInput, NotFound
from ipnotary.service.readiness import check_readiness
from ipnotary.service.services import accounts, principals
from ipnotary.service.services.accounts import SignedIn
from ipnotary.service.services.progress import anchoring_backlog
from ipnotary.service.storage.accounts import Person
from ipnotary.service.storage.models import ApiKey, AuditEvent, Principal

__all__ = ["router"]

router = APIRouter(prefix=HOME, route_class=WebRoute, include_in_schema=False)

CHECK_NAMES = {
    "database": N_("Database"),
    "content_store": N_("Content store"),
    "chain": N_("Blockchain"),
    "anchoring": N_("Anchoring worker"),
    "log": N_("Transparency log"),
    "witnesses": N_("Witnesses"),
    "timestamp_authorities": N_("Time-stamp authorities"),
}
AUDIT_PAGE = 100


def _roles() -> dict[str, str]:
    # Roles other engineers add (a seller, say) are shown by their name until translated.
    return {r.value: ROLE_NAMES.get(r.value, r.value) for r in Role}


@router.get("/admin")
def overview(ctx: Page) -> Response:
    ctx.require(Role.admin)
    runtime = ctx.runtime
    checks = check_readiness(runtime)
    backlog = with_session(runtime, anchoring_backlog)
    members = {
        name: check.get("members", []) for name, check in checks.items() if "members" in check
    }
    return ctx.page(
        "admin_overview.html.j2",
        {
            "checks": checks,
            "check_names": CHECK_NAMES,
            "members": members,
            "pending": runtime.worker.pending_count(),
            "backlog": backlog,
            "witnesses_configured": len(runtime.settings.witnesses),
            "tsas_configured": len(runtime.settings.tsa_urls),
            "required_cosignatures": runtime.settings.required_cosignatures,
            "required_timestamps": runtime.settings.required_timestamps,
        },
    )


@router.get("/admin/principals")
def principal_list(ctx: Page) -> Response:
    ctx.require(Role.admin)

    def load(session: Session) -> list[Principal]:
        return list(session.exec(select(Principal).order_by(col(Principal.created_at)).limit(1000)))

    return ctx.page(
        "admin_principals.html.j2",
        {"principals": with_session(ctx.runtime, load), "roles": _roles(), "created": None},
    )


@router.post("/admin/principals")
def create_principal(ctx: Page) -> Response:
    user = ctx.require(Role.admin)
    actor = accounts.person_actor(user.person, user.principal)
    identifier = ctx.field("identifier") or None

    def create(session: Session) -> principals.NewPrincipal:
        return principals.create_principal(
            session,
            name=ctx.field("name"),
            role=ctx.field("role"),
            identifier=identifier,
            actor=actor,
        )

    created = with_session(ctx.runtime, create)
    # Shown once, on this answer to the form: never in a link, a log or a later page.
    return ctx.page(
        "key_issued.html.j2",
        {
            "principal": created.principal,
            "api_key": created.api_key,
            "key_id": created.key_id,
            "roles": _roles(),
        },
        status_code=201,
    )


def _managed(ctx: WebContext, principal_id: str) -> tuple[SignedIn, Principal]:
    """The signed-in person, if it may manage ``principal_id``'s persons and keys."""
    user = ctx.signed_in
    accounts.may_manage_persons(user.person, user.principal, principal_id)
    principal = with_session(ctx.runtime, lambda s: s.get(Principal, principal_id[:40]))
    if principal is None:
        raise NotFound(f"no principal {principal_id[:40]!r}")
    return user, principal


@router.get("/team")
def own_team(ctx: Page) -> Response:
    user = ctx.signed_in
    return ctx.redirect(f"{HOME}/principals/{user.principal.id}")


@router.get("/principals/{principal_id}")
def principal_page(principal_id: str, ctx: Page) -> Response:
    _, principal = _managed(ctx, principal_id)

    def load(session: Session) -> dict[str, Any]:
        return {
            "persons": list(accounts.persons_of(session, principal.id)),
            "keys": list(principals.keys_of(session, principal.id)),
        }

    return ctx.page(
        "principal.html.j2",
        {
            "principal": principal,
            "roles": _roles(),
            "now": datetime.now(UTC),
            "notice": ctx.request.query_params.get("done"),
            **with_session(ctx.runtime, load),
        },
    )


@router.post("/principals/{principal_id}/persons")
def invite(principal_id: str, ctx: Page) -> Response:
    user, principal = _managed(ctx, principal_id)
    rules_hours = ctx.runtime.settings.web_invitation_hours
    issued = with_session(
        ctx.runtime,
        lambda s: accounts.invite_person(
            s,
            principal_id=principal.id,
            email=ctx.field("email"),
            name=ctx.field("name"),
            manages_persons=ctx.field("manages_persons") == "yes",
            actor=accounts.person_actor(user.person, user.principal),
            rules=account_rules(ctx.runtime),
        ),
    )
    link = f"{ctx.runtime.settings.resolved_public_url}{HOME}/invitations/{issued.token}"
    return ctx.page(
        "invitation_issued.html.j2",
        {
            "principal": principal,
            "person": issued.person,
            "link": link,
            "expires_at": issued.expires_at,
            "hours": rules_hours,
        },
        status_code=201,
    )


@router.post("/persons/{person_id}/disable")
def disable(person_id: str, ctx: Page) -> Response:
    user = ctx.signed_in

    def act(session: Session) -> str:
        person = session.get(Person, person_id[:40])
        if person is None:
            raise NotFound(f"no person {person_id[:40]!r}")
        accounts.may_manage_persons(user.person, user.principal, person.principal_id)
        if person.id == user.person.id:
            raise InvalidInput("you cannot disable yourself", code="cannot_disable_self")
        accounts.disable_person(
            session, person_id=person.id, actor=accounts.person_actor(user.person, user.principal)
        )
        return person.principal_id

    owner = with_session(ctx.runtime, act)
    return ctx.redirect(f"{HOME}/principals/{owner}?done=disabled")


@router.post("/principals/{principal_id}/keys")
def issue_key(principal_id: str, ctx: Page) -> Response:
    user, principal = _managed(ctx, principal_id)

    def act(session: Session) -> principals.IssuedKey:
        issued = principals.issue_api_key(
            session,
            principal_id=principal.id,
            actor=accounts.person_actor(user.person, user.principal),
        )
        session.commit()
        return issued

    issued = with_session(ctx.runtime, act)
    return ctx.page(
        "key_issued.html.j2",
        {
            "principal": principal,
            "api_key": issued.api_key,
            "key_id": issued.row.id,
            "roles": _roles(),
        },
        status_code=201,
    )


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: str, ctx: Page) -> Response:
    user = ctx.signed_in

    def act(session: Session) -> str:
        key = session.get(ApiKey, key_id[:40])
        if key is None:
            raise NotFound(f"no API key {key_id[:40]!r}")
        accounts.may_manage_persons(user.person, user.principal, key.principal_id)
        principals.revoke_api_key(
            session,
            key_id=key.id,
            actor=accounts.person_actor(user.person, user.principal),
            reason=ctx.field("reason")[:200] or None,
        )
        return key.principal_id

    owner = with_session(ctx.runtime, act)
    # At once in this process, as the API's route does; the others within the cache's lifetime.
    ctx.runtime.principals.invalidate(owner)
    return ctx.redirect(f"{HOME}/principals/{owner}?done=revoked")


@router.get("/admin/audit")
def audit_log(ctx: Page, action: str = "", target_id: str = "", after: str = "") -> Response:
    ctx.require(Role.admin)
    action, target_id = action.strip()[:64], target_id.strip()[:80]
    cursor = stored_int_or_none(after)

    def load(session: Session) -> list[AuditEvent]:
        if cursor is not None:
            return list(
                principals.audit_events(
                    session,
                    limit=AUDIT_PAGE,
                    after=cursor,
                    action=action or None,
                    target_id=target_id or None,
                )
            )
        # Without a cursor: the newest page, still shown oldest first as the API lists it.
        query = select(AuditEvent)
        if action:
            query = query.where(AuditEvent.action == action)
        if target_id:
            query = query.where(AuditEvent.target_id == target_id)
        rows = session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(AUDIT_PAGE)).all()
        return list(reversed(rows))

    events = with_session(ctx.runtime, load)
    return ctx.page(
        "admin_audit.html.j2",
        {
            "events": [
                {"event": e, "detail": json.loads(e.detail) if e.detail else {}} for e in events
            ],
            "action": action,
            "target_id": target_id,
            # Pages on from a cursor go forward; the newest page offers the one before it.
            "newer": str(events[-1].seq)
            if cursor is not None and len(events) == AUDIT_PAGE
            else None,
            "earlier": (
                str(max(0, (events[0].seq or 0) - AUDIT_PAGE - 1))
                if cursor is None
                and not (action or target_id)
                and events
                and (events[0].seq or 0) > 1
                else None
            ),
        },
    )
