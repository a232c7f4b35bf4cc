"""Pages from Jinja2 templates (``web/app/templates``), and the headers every page is sent with.

One environment per language, each with its catalog installed (Jinja's i18n extension, new
style: ``{{ _("Hello %(name)s", name=x) }}`` escapes ``x`` and the template engine escapes every
other value), so rendering never switches language under another request's feet. Autoescape is
on for every template.

The headers keep every page a plain document: a Content-Security-Policy with no inline script or
style (scripts and styles are files of this service, ``web/app/static``), forms only to this
origin, nothing from another host, nothing may frame the page, no referrer leaves for another
site (an invitation's link holds its token), and a private page is never cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ipnotary.service.api.web.i18n import Language, Speaker
from ipnotary.service.api.web.messages import ROLE_NAMES
from ipnotary.service.api.web.progress import STAGES

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PAGE_HEADERS",
    "render",
    "static_asset",
    "static_url",
]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: Chromium then sends "Origin: null" with the pages' own forms, which the
    # CSRF check must refuse. same-origin sends nothing to other sites (an invitation's token
    # is in its address).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cache-Control": "no-store",
}

_APP = files("ipnotary.service") / "web" / "app"
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class StaticAsset:
    body: bytes
    media_type: str
    etag: str


@cache
def static_asset(name: str) -> StaticAsset | None:
    """A file of ``web/app/static`` (read once), or None for any other name."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in _STATIC_TYPES or "/" in name or name.startswith("."):
        return None
    resource = _APP / "static" / name
    if not resource.is_file():
        return None
    body = resource.read_bytes()
    return StaticAsset(body, _STATIC_TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def static_url(name: str) -> str:
    """The file's URL, with its digest as a version: a new release is never mixed with a
    cached old script."""
    asset = static_asset(name)
    version = asset.etag.strip('"')[:12] if asset is not None else "0"
    return f"/app/static/{name}?v={version}"


@cache
def _environment(language: Language) -> Environment:
    speaker = Speaker(language)
    env = Environment(
        loader=FileSystemLoader(str(_APP / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(speaker.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = speaker.datetime
    env.filters["date"] = speaker.date
    env.globals["static_url"] = static_url
    env.globals["language"] = language
    env.globals["stages"] = STAGES
    env.globals["role_names"] = ROLE_NAMES
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    speaker: Speaker,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = (
        _environment(speaker.language)
        .get_template(template)
        .render({"request": request, "speaker": speaker, **context})
    )
    return HTMLResponse(body, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
