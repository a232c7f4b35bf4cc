"""The people's web app: server-rendered pages for every role, in Chinese and English, under
``/app`` (``docs/web.md`` lists each page and what each role can do on it).

Start reading at :mod:`.auth` (the session cookie, CSRF, roles, how a refusal reads), then a
role's module: :mod:`.holder` (records, uploads, certificates, sharing), :mod:`.reviewer`
(notaries and arbitrators), :mod:`.platform` (the claim check), :mod:`.registers` (the public
credit and pledge registers) and :mod:`.admin` (health, principals, persons, keys, the audit
log); :mod:`.accounts` signs people in and out. The pages call the services the API's routes
call, with the principal a person acts for, so a page can do exactly what the principal's key
could. Templates, scripts, styles and the Chinese catalog are data files under ``web/app/``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ipnotary.service.api.web import accounts, admin, holder, platform, registers, reviewer
from ipnotary.service.api.web.auth import HOME, WebRoute
from ipnotary.service.errors import NotFound

__all__ = ["router"]

router = APIRouter(route_class=WebRoute, include_in_schema=False)
for module in (accounts, holder, reviewer, platform, registers, admin):
    router.include_router(module.router)


@router.api_route(HOME + "/{rest:path}", methods=["GET", "HEAD", "POST"])
def unknown_page(rest: str, request: Request) -> Response:
    """Any other address under ``/app``: a page saying so, in the reader's language."""
    del request
    raise NotFound(f"no page /app/{rest[:200]}")
