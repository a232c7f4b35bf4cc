"""``/docs``: Swagger UI on the live OpenAPI document, every asset served by the service itself.

FastAPI's own page loads Swagger UI's script and style from a CDN (and its favicon from FastAPI's
site): offline, or behind a firewall that allows only this service, it is a blank page, and every
visit tells a third party who reads the API. The assets are swagger-ui-dist's (the version
``swagger-ui/package-lock.json`` pins), copied into the package data by ``swagger-ui/copy.mjs``
and checked against it by ``tests/unit/notary/test_docs_page.py``. ReDoc's page, which would load
its script and fonts from outside as well, is not served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from ipnotary.service.errors import NotFound

__all__ = ["ASSETS", "router"]

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_PREFIX = "/docs/assets"


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _asset(name: str) -> _Asset:
    body = (files("ipnotary.service") / "web" / "swagger-ui" / name).read_bytes()
    return _Asset(body, ASSETS[name], f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="IP Notary API",
        swagger_js_url=f"{root}{_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_PREFIX}/favicon-32x32.png",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        # Swagger UI would send the document to validator.swagger.io for its badge.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/docs/oauth2-redirect")
def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(_PREFIX + "/{name}")
def asset(name: str, request: Request) -> Response:
    if name not in ASSETS:
        raise NotFound(f"no asset {name!r}")
    found = _asset(name)
    headers = {"ETag": found.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
