"""Signing in and out, setting a password from an invitation, the language switch, the home page
that leads each role to its area, and the web app's static files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ipnotary.service.api.deps import in_session
from ipnotary.service.api.rate_limit import TokenBuckets
from ipnotary.service.api.web.auth import (
    HOME,
    Page,
    RateLimited,
    WebContext,
    WebRoute,
    account_rules,
    safe_next,
)
from ipnotary.service.api.web.i18n import LANGUAGE_COOKIE, Language
from ipnotary.service.api.web.rendering import static_asset
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import InvalidInput, NotaryError, NotFound
from ipnotary.service.services import accounts

__all__ = ["router"]

router = APIRouter(prefix=HOME, route_class=WebRoute, include_in_schema=False)

# Where each role starts: its own area (docs/web.md lists what each can do there).
ROLE_HOME = {
    Role.holder.value: f"{HOME}/records",
    Role.notary.value: f"{HOME}/shared",
    Role.arbitrator.value: f"{HOME}/shared",
    Role.platform.value: f"{HOME}/claims",
    Role.admin.value: f"{HOME}/admin",
}

# Sign-in and invitation forms, per client address: each attempt costs an argon2id hash (64 MiB
# for a fraction of a second), so a flood of them is a flood of work. A person typing never
# meets this; the per-account lockout is what stops guessing one password.
_ATTEMPTS_PER_MINUTE = 30
_ATTEMPTS_BURST = 10


def _attempt(ctx: WebContext) -> None:
    buckets = getattr(ctx.request.app.state, "web_sign_in_buckets", None)
    if buckets is None:
        buckets = TokenBuckets(_ATTEMPTS_PER_MINUTE, _ATTEMPTS_BURST)
        ctx.request.app.state.web_sign_in_buckets = buckets
    client = ctx.request.client.host if ctx.request.client else "unknown"
    if buckets.take(client) > 0:
        raise RateLimited("too many sign-in attempts from this address; wait a minute")


@router.get("")
def home(ctx: Page) -> Response:
    if ctx.user is not None:
        start = ROLE_HOME.get(ctx.user.principal.role)
        if start is not None:
            return ctx.redirect(start)
    return ctx.page("home.html.j2")


@router.get("/sign-in")
def sign_in_page(ctx: Page, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return ctx.page("sign_in.html.j2", {"next": safe_next(next, ""), "email": ""})


@router.post("/sign-in")
async def sign_in(ctx: Page) -> Response:
    _attempt(ctx)
    email, password = ctx.field("email"), ctx.form.get("password") if ctx.form else None
    target = safe_next(ctx.field("next"), "")
    rules = account_rules(ctx.runtime)
    try:
        started = await in_session(
            ctx.runtime,
            lambda s: accounts.sign_in(
                s,
                email=email,
                password=password if isinstance(password, str) else "",
                rules=rules,
            ),
        )
    except accounts.SignInRefused as exc:
        return _form_again(ctx, "sign_in.html.j2", exc, {"next": target, "email": email[:254]})
    ctx.set_cookie(ctx.session_cookie(), started.token, httponly=True, samesite="lax")
    return ctx.redirect(target or ROLE_HOME.get(started.principal.role, HOME))


def _form_again(
    ctx: WebContext, template: str, exc: NotaryError, context: dict[str, object]
) -> Response:
    """The form once more, saying why it was refused (the status the API gives)."""
    from ipnotary.service.api.web.messages import error_message

    status = {"sign_in_refused": 401, "password_mismatch": 422}.get(exc.code, 422)
    return ctx.page(
        template,
        {**context, "error": ctx.gettext(error_message(exc.code, status)), "detail": exc.detail},
        status_code=status,
    )


@router.post("/sign-out")
async def sign_out(ctx: Page) -> Response:
    token = ctx.request.cookies.get(ctx.session_cookie())
    await in_session(ctx.runtime, lambda s: accounts.sign_out(s, token))
    ctx.set_cookie(ctx.session_cookie(), "")
    ctx.user = None
    return ctx.redirect(f"{HOME}/sign-in?signed_out=1")


@router.get("/invitations/{token}")
async def invitation_page(token: str, ctx: Page) -> Response:
    person = await in_session(ctx.runtime, lambda s: accounts.invitation_person(s, token))
    return ctx.page("invitation.html.j2", {"person": person, "token": token})


@router.post("/invitations/{token}")
async def accept_invitation(token: str, ctx: Page) -> Response:
    _attempt(ctx)
    person = await in_session(ctx.runtime, lambda s: accounts.invitation_person(s, token))
    password = ctx.form.get("password") if ctx.form else None
    again = ctx.form.get("password_again") if ctx.form else None
    password = password if isinstance(password, str) else ""
    try:
        if password != again:
            raise InvalidInput("the two passwords differ", code="password_mismatch")
        await in_session(
            ctx.runtime,
            lambda s: accounts.accept_invitation(s, token=token, password=password),
        )
    except InvalidInput as exc:
        return _form_again(ctx, "invitation.html.j2", exc, {"person": person, "token": token})
    return ctx.redirect(f"{HOME}/sign-in?password_set=1")


@router.get("/language")
def choose_language(
    ctx: Page,
    to: Annotated[str, Query(max_length=8)] = "",
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    """The switch on every page: remember the choice (a year) and go back to the page."""
    if to in (Language.zh.value, Language.en.value):
        ctx.set_cookie(LANGUAGE_COOKIE, to, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return ctx.redirect(safe_next(next))


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    asset = static_asset(name)
    if asset is None:
        raise NotFound("no such file")
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
