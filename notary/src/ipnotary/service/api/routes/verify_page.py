"""``/verify``: the verification page, a second verifier that trusts no server, this one included.

The page (``web/verify/``: ``index.html``, ``verify.js``, ``verify.css``, built from
``verify-page/`` and committed, so the service needs no Node) recomputes every check of
``ipnotary.sdk.verify_certificate`` in the browser from the file, the certificate and the
visitor's own trust policy; the service only hands out its bytes. ``docs/verify-page.md`` says
what it checks and how it is tested against the Python verifier.

The headers keep the page a static document: no inline script (the bundle is a file of its own),
workers only from the Blob URLs the bundle makes, WebAssembly for the hashes, network only to this
origin (``?certificate=URL``), to HTTPS (another service's certificate, a chain node) and to a node
on loopback (IPv4 or ``localhost``: Chromium refuses ``[::1]`` in a policy), and nothing may frame
it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from ipnotary.service.errors import NotFound

__all__ = ["CONTENT_SECURITY_POLICY", "router"]

router = APIRouter(include_in_schema=False)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        # The bundle, and the WebAssembly of the SHA-256 and SM3 code it carries.
        "script-src 'self' 'wasm-unsafe-eval'",
        # The fingerprint's and PDF.js's workers start from Blob URLs made by the bundle.
        "worker-src blob:",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' https: http://127.0.0.1:* http://localhost:*",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Revalidated each time (ETag): a rebuilt page must not be mixed with a stale script.
    "Cache-Control": "no-cache",
}

_FILES = {
    "index.html": "text/html; charset=utf-8",
    "verify.js": "text/javascript; charset=utf-8",
    "verify.css": "text/css; charset=utf-8",
}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _asset(name: str) -> _Asset:
    """The committed file, read once from the installed package."""
    body = (files("ipnotary.service") / "web" / "verify" / name).read_bytes()
    return _Asset(body, _FILES[name], f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _serve(request: Request, name: str) -> Response:
    asset = _asset(name)
    headers = {**_HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.api_route("/verify", methods=["GET", "HEAD"])
def verify_page(request: Request) -> Response:
    """The page; ``?certificate=URL&policy=URL`` are read by the page itself, not here."""
    return _serve(request, "index.html")


@router.api_route("/verify/", methods=["GET", "HEAD"])
def verify_page_slash(request: Request) -> Response:
    """Without the slash, so the page's relative ``verify/verify.js`` resolves."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/verify{query}", status_code=308)


@router.api_route("/verify/{name}", methods=["GET", "HEAD"])
def verify_asset(request: Request, name: str) -> Response:
    """The page's script and stylesheet."""
    if name not in _FILES or name == "index.html":
        raise NotFound(f"no such file of the verification page: {name[:80]}")
    return _serve(request, name)
