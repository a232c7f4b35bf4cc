"""Who is asking, in the web app: the session cookie, the CSRF check, roles, and the answer a
page gives when something is refused.

- **Session cookie.** ``ipn_session`` holds the session's token (``services.accounts``):
  HttpOnly, ``SameSite=Lax``, path ``/``, and ``Secure`` under the ``__Host-`` prefix whenever
  the service is reached over HTTPS (``NOTARY_PUBLIC_URL`` or the request itself), so that no
  other host or plain-HTTP page can set or read it. The cookie carries no expiry: the server
  decides when a session ends.
- **CSRF.** Every unsafe request (anything but GET, HEAD, OPTIONS) must carry the session's
  token, in the form field ``csrf_token`` or the ``X-CSRF-Token`` header (the page's scripts),
  compared in constant time; a browser's ``Origin``, when it sends one, must be this service's.
  Before sign-in (the sign-in and invitation forms) the token is a double-submit one: the
  ``ipn_csrf`` cookie (HttpOnly, ``SameSite=Strict``) and the form must agree.
- **Roles.** A person acts as its principal: :meth:`WebContext.require` checks the principal's
  role, as ``api.deps.require_roles`` does for a key, and the services judge the rest.
- **Refusals.** :class:`WebRoute` turns the service's errors into a page in the reader's language
  (or JSON for the page's scripts) with the status the API gives (``api/errors.py`` decides
  it); a page that needs a signed-in person sends a signed-out visitor to the sign-in page, with
  ``next`` naming the page, and ``next`` is followed only to this service's own pages
  (:func:`safe_next`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from ipnotary.sdk.errors import FormatError
from ipnotary.service.api.deps import in_session
from ipnotary.service.api.errors import _for_notary_error, redactor_of
from ipnotary.service.api.web.i18n import Speaker, speaker
from ipnotary.service.api.web.messages import error_message
from ipnotary.service.api.web.rendering import PAGE_HEADERS, render
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import InvalidInput, LimitExceeded, NotaryError, PermissionDenied
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.accounts import AccountRules, SignedIn, resume_session

__all__ = [
    "Page",
    "RateLimited",
    "SignInNeeded",
    "UploadPage",
    "WebContext",
    "WebRoute",
    "account_rules",
    "safe_next",
]

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 64
MAX_FORM_FIELD_BYTES = 16 * 1024  # as the API's multipart fields (api/uploads.py)
HOME = "/app"


class SignInNeeded(NotaryError):
    """The page needs a signed-in person; the visitor is sent to the sign-in page."""

    code = "sign_in_needed"


class CsrfRefused(PermissionDenied):
    code = "csrf_refused"


class RateLimited(NotaryError):
    """Too many sign-in attempts or register look-ups from one address (429, as the API's
    public endpoints answer)."""

    code = "rate_limited"
    retry_after = 60


def account_rules(runtime: Runtime) -> AccountRules:
    s = runtime.settings
    return AccountRules(
        idle=timedelta(minutes=s.web_session_idle_minutes),
        lifetime=timedelta(hours=s.web_session_hours),
        max_failures=s.web_sign_in_failures,
        lockout=timedelta(minutes=s.web_lockout_minutes),
        invitation=timedelta(hours=s.web_invitation_hours),
    )


def safe_next(value: str | None, default: str = HOME) -> str:
    """``value`` if it is a path of this web app (``/app...``), else ``default``: a ``next``
    parameter never sends anyone to another host (``//evil.example``, ``https://...``,
    ``/\\evil.example``, a scheme, a control character)."""
    if not value or len(value) > 2000:
        return default
    if any(c in value for c in "\\\r\n\t\x00") or not value.startswith("/"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return default
    if parts.path != HOME and not parts.path.startswith(HOME + "/"):
        return default
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return default  # the browser would resolve it to a path outside /app
    return value


def is_secure(request: Request, runtime: Runtime) -> bool:
    return (
        runtime.settings.resolved_public_url.startswith("https://") or request.url.scheme == "https"
    )


def cookie_name(base: str, secure: bool) -> str:
    # __Host-: the browser takes it only Secure, for path /, from this host alone.
    return f"__Host-{base}" if secure else base


@dataclass
class WebContext:
    """One request of the web app: the service, the reader's language, the signed-in person (if
    any) and the CSRF token its forms carry."""

    request: Request
    runtime: Runtime
    speaker: Speaker
    user: SignedIn | None
    csrf_token: str
    secure: bool
    form: FormData | None = None
    _new_anonymous_token: bool = False
    _cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def signed_in(self) -> SignedIn:
        if self.user is None:
            raise SignInNeeded("sign in to see this page")
        return self.user

    def require(self, *roles: Role) -> SignedIn:
        """The signed-in person, whose principal has one of ``roles``; PermissionDenied else."""
        user = self.signed_in
        if user.principal.role not in {r.value for r in roles}:
            raise PermissionDenied(
                f"role {user.principal.role!r} may not do this; it needs one of: "
                f"{', '.join(sorted(r.value for r in roles))}",
                code="wrong_role",
            )
        return user

    def field(self, name: str, default: str = "") -> str:
        """A form field's value, trimmed (the last if given twice); ``default`` if absent."""
        if self.form is None:
            return default
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else default

    def set_cookie(self, name: str, value: str, **options: Any) -> None:
        self._cookies.append((name, value, options))

    def session_cookie(self) -> str:
        return cookie_name("ipn_session", self.secure)

    def finish(self, response: Response) -> Response:
        """``response`` with the cookies this request set."""
        if self._new_anonymous_token:
            response.set_cookie(
                cookie_name("ipn_csrf", self.secure),
                self.csrf_token,
                httponly=True,
                secure=self.secure,
                samesite="strict",
                path="/",
            )
        for name, value, options in self._cookies:
            if value:
                response.set_cookie(name, value, secure=self.secure, path="/", **options)
            else:
                response.delete_cookie(name, secure=self.secure, path="/", httponly=True)
        return response

    def page(
        self,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> Response:
        return self.finish(
            render(
                self.request,
                template,
                {"ctx": self, "user": self.user, "csrf_token": self.csrf_token, **(context or {})},
                speaker=self.speaker,
                status_code=status_code,
            )
        )

    def redirect(self, to: str) -> Response:
        """303 See Other: after a form, the browser asks for the page with GET."""
        return self.finish(RedirectResponse(to, status_code=303, headers=PAGE_HEADERS))

    def gettext(self, message: str, **values: Any) -> str:
        return self.speaker.gettext(message, **values)

    def check_csrf(self, token: str | None) -> None:
        """Refuse an unsafe request whose token is not this session's (or, signed out, not the
        double-submit cookie's)."""
        if not token or not hmac.compare_digest(token.encode(), self.csrf_token.encode()):
            raise CsrfRefused(
                "the form's security token is missing or wrong: reload the page and try again"
            )


def _same_origin(request: Request, runtime: Runtime) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request; the token decides
    own = {
        runtime.settings.resolved_public_url.rstrip("/"),
        f"{request.url.scheme}://{request.url.netloc}",
    }
    return origin in own


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _read_form(request: Request) -> FormData:
    try:
        return await request.form(
            max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_FIELD_BYTES
        )
    except StarletteHTTPException as exc:
        raise LimitExceeded(f"the form is over a limit: {exc.detail}") from exc


def _context_dependency(*, form: bool) -> Callable[[Request], Awaitable[WebContext]]:
    async def dependency(request: Request) -> WebContext:
        runtime: Runtime = request.app.state.runtime
        secure = is_secure(request, runtime)
        reader = speaker(request.cookies, request.headers)
        token = request.cookies.get(cookie_name("ipn_session", secure))
        user = None
        if token:
            rules = account_rules(runtime)

            def resume(session: Session) -> SignedIn | None:
                return resume_session(session, token, rules=rules, now=datetime.now(UTC))

            user = await in_session(runtime, resume)
        anonymous = request.cookies.get(cookie_name("ipn_csrf", secure), "")
        new_anonymous = user is None and not (16 <= len(anonymous) <= 100)
        if user is not None:
            csrf = user.csrf_token
        elif new_anonymous:
            csrf = secrets.token_urlsafe(32)
        else:
            csrf = anonymous
        ctx = WebContext(
            request, runtime, reader, user, csrf, secure, _new_anonymous_token=new_anonymous
        )
        if request.method not in SAFE_METHODS:
            if not _same_origin(request, runtime):
                raise CsrfRefused("this form was sent from another site")
            header = request.headers.get(CSRF_HEADER)
            if form:
                # No form, no token: refused as a forgery, not as a malformed request.
                is_form = request.headers.get("content-type", "").startswith(_FORM_TYPES)
                ctx.form = await _read_form(request) if is_form else FormData()
                sent = ctx.form.get(CSRF_FIELD)
                ctx.check_csrf(header or (sent if isinstance(sent, str) else None))
            elif header is not None:
                ctx.check_csrf(header)
            # else: a streamed upload; its handler checks the form's field before it commits.
        return ctx

    return dependency


Page = Annotated[WebContext, Depends(_context_dependency(form=True))]
"""A page; for an unsafe method its form is read (no files) and its CSRF token checked."""

UploadPage = Annotated[WebContext, Depends(_context_dependency(form=False))]
"""A page that streams a file upload: its handler reads the form and checks the token."""


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _refusal(request: Request, exc: NotaryError) -> Response:
    runtime: Runtime = request.app.state.runtime
    reader = speaker(request.cookies, request.headers)
    if isinstance(exc, SignInNeeded):
        if _wants_json(request):
            return JSONResponse(
                {"code": exc.code, "message": reader.gettext(error_message(exc.code, 401))},
                status_code=401,
                headers=PAGE_HEADERS,
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        to = f"{HOME}/sign-in?next={quote(safe_next(target), safe='/')}"
        return RedirectResponse(to, status_code=303, headers=PAGE_HEADERS)
    # The API's mapping decides the status (and logs what is a 5xx); the page says it in words.
    headers = dict(PAGE_HEADERS)
    if isinstance(exc, RateLimited):
        status = 429
        headers["Retry-After"] = str(exc.retry_after)
    else:
        status = _for_notary_error(exc, redactor_of(request)).status_code
    message = reader.gettext(error_message(exc.code, status))
    detail = redactor_of(request)(exc.detail)
    if _wants_json(request):
        return JSONResponse(
            {"code": exc.code, "message": message, "detail": detail},
            status_code=status,
            headers=headers,
        )
    secure = is_secure(request, runtime)
    user = None  # the error page shows no person's data: it may be the answer to anyone
    return render(
        request,
        "error.html.j2",
        {
            "ctx": None,
            "user": user,
            "csrf_token": "",
            "status": status,
            "code": exc.code,
            "message": message,
            "detail": detail,
            "secure": secure,
        },
        speaker=reader,
        status_code=status,
        headers=headers,
    )


class WebRoute(APIRoute):
    """A route of the web app: the service's errors are answered as pages (or JSON for the
    page's scripts), never as the API's problem documents."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except NotaryError as exc:
                return _refusal(request, exc)
            except FormatError as exc:
                return _refusal(request, InvalidInput(str(exc), code="malformed_document"))
            except RequestValidationError as exc:
                first: Mapping[str, Any] = next(iter(exc.errors()), {})
                where = ".".join(str(p) for p in first.get("loc", ()))
                return _refusal(
                    request, InvalidInput(f"{where}: {first.get('msg', '')}", code="invalid_input")
                )

        return route
