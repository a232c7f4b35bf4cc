"""One capture in a headless Chromium: load the page through the capture proxy, then keep what the
browser saw (every exchange, the certificate chains it was shown) and what it renders (a
full-page screenshot, a PDF, MHTML, the DOM).

Python Playwright drives Debian's chromium (``executable_path``: nothing is downloaded), in a
profile directory made empty for this capture and deleted after it, with extensions disabled and
the browser's own background services turned off. A request the proxy refuses fails in the page
as a network error, as it would for a visitor behind that policy; the refusal itself is recorded
by the proxy. Bodies come from the browser after the page settled (``Response.body``); the browser
asks for ``Accept-Encoding: identity`` so that what it holds is what the server sent.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ipnotary.sdk.certificate import format_timestamp

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request, Response

__all__ = [
    "BrowserCapture",
    "CaptureFailed",
    "Exchange",
    "PageOptions",
    "capture_page",
    "host_port",
    "launch_args",
]

# Chromium's own traffic (updates, time queries, sign-in, safe browsing, metrics) has no place in
# a capture; the proxy refuses what still gets through as "not requested by the page".
_BACKGROUND_OFF = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--no-pings",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-service-autorun",
    "--password-store=basic",
    "--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
]


def launch_args(proxy_url: str) -> list[str]:
    """The command line a capture's Chromium gets (recorded in the provenance)."""
    return [
        "--headless",
        "--no-sandbox",  # containers give no user namespaces; the profile is thrown away
        "--disable-gpu",
        "--disable-quic",  # QUIC is UDP: it would not pass through the proxy
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        f"--proxy-server={proxy_url}",
        "--proxy-bypass-list=<-loopback>",  # loopback hosts through the proxy too
        *_BACKGROUND_OFF,
    ]


class CaptureFailed(Exception):
    """The page could not be captured (load error, timeout); the message says what happened."""


@dataclass(frozen=True)
class PageOptions:
    width: int = 1280
    height: int = 800
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    settle_seconds: float = 1.0  # waited after the load event and network idle
    full_page: bool = True


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as the browser made it."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    status: int
    status_text: str
    response_headers: list[tuple[str, str]]
    body: bytes | None
    body_note: str | None
    at: str
    redirected_to: str | None


@dataclass
class BrowserCapture:
    requested_url: str
    final_url: str
    title: str
    status: int | None
    started_at: str
    loaded_at: str
    exchanges: list[Exchange]
    failed_requests: list[dict[str, str]]
    screenshot: bytes
    pdf: bytes
    mhtml: bytes
    dom: bytes
    certificates: dict[str, list[bytes]]  # origin -> DER chain, leaf first, as the browser saw
    security: dict[str, dict[str, Any]]  # origin -> Playwright's security details
    browser_version: str
    user_agent: str
    command_line: list[str]
    extension_targets: list[str]
    profile_was_empty: bool
    timed_out_waiting: list[str] = field(default_factory=list)


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.hostname or "").lower(), port


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def capture_page(
    url: str,
    *,
    chromium: str,
    proxy_url: str,
    page_hosts: set[tuple[str, int]],
    options: PageOptions,
    deadline: float,
    max_body_bytes: int,
) -> BrowserCapture:
    """Capture ``url`` before ``deadline`` (``time.monotonic()``); raise :class:`CaptureFailed`.

    ``page_hosts`` is filled with every host:port the page requests, as the proxy's gate."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    def remaining_ms(cap: float | None = None) -> float:
        left = max(0.5, deadline - time.monotonic())
        return 1000 * (min(left, cap) if cap is not None else left)

    profile = Path(tempfile.mkdtemp(prefix="notary-capture-profile-"))
    profile_was_empty = not any(profile.iterdir())
    page_hosts.add(host_port(url))
    started = format_timestamp(datetime.now(UTC))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=chromium,
                headless=True,
                args=launch_args(proxy_url),
                ignore_https_errors=True,  # recorded and judged by us, not hidden by a refusal
                viewport={"width": options.width, "height": options.height},
                locale=options.locale,
                timezone_id=options.timezone,
                extra_http_headers={"Accept-Encoding": "identity"},
                service_workers="block",  # a worker's fetches would bypass the page's events
                accept_downloads=False,
                timeout=remaining_ms(),
            )
            try:
                return _run(
                    context,
                    url,
                    options=options,
                    page_hosts=page_hosts,
                    remaining_ms=remaining_ms,
                    started=started,
                    profile_was_empty=profile_was_empty,
                    max_body_bytes=max_body_bytes,
                )
            finally:
                context.close()
    except PlaywrightError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CaptureFailed(f"the browser could not capture {url}: {message}") from exc
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _run(
    context: BrowserContext,
    url: str,
    *,
    options: PageOptions,
    page_hosts: set[tuple[str, int]],
    remaining_ms: Any,
    started: str,
    profile_was_empty: bool,
    max_body_bytes: int,
) -> BrowserCapture:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    lock = threading.Lock()
    responses: list[tuple[Response, str]] = []
    failed: list[dict[str, str]] = []

    def on_request(request: Request) -> None:
        with lock:
            page_hosts.add(host_port(request.url))

    def on_response(response: Response) -> None:
        responses.append((response, format_timestamp(datetime.now(UTC))))

    def on_failed(request: Request) -> None:
        failed.append({"url": request.url, "error": request.failure or "failed"})

    context.on("request", on_request)
    context.on("response", on_response)
    context.on("requestfailed", on_failed)
    page = context.pages[0] if context.pages else context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")  # Network.getCertificate answers only with it on
    waited: list[str] = []
    try:
        main = page.goto(url, wait_until="load", timeout=remaining_ms())
    except PlaywrightTimeout as exc:
        raise CaptureFailed(
            f"{url} did not finish loading within the capture's time limit"
        ) from exc
    except PlaywrightError as exc:
        raise CaptureFailed(f"{url} could not be loaded: {str(exc).splitlines()[0]}") from exc
    try:
        page.wait_for_load_state("networkidle", timeout=remaining_ms(10.0))
    except PlaywrightTimeout:
        waited.append("network idle")
    page.wait_for_timeout(min(options.settle_seconds * 1000, remaining_ms()))
    loaded = format_timestamp(datetime.now(UTC))

    exchanges = [_exchange(r, at, max_body_bytes) for r, at in list(responses)]
    origins = sorted({_origin(e.url) for e in exchanges if e.url.startswith("https://")})
    certificates: dict[str, list[bytes]] = {}
    security: dict[str, dict[str, Any]] = {}
    for origin in origins:
        answer = cdp.send("Network.getCertificate", {"origin": origin})
        chain = [base64.b64decode(c) for c in answer.get("tableNames", [])]
        if chain:
            certificates[origin] = chain
    for response, _ in responses:
        origin = _origin(response.url)
        if origin in origins and origin not in security:
            details = response.security_details()
            if details:
                security[origin] = dict(details)

    screenshot = page.screenshot(full_page=options.full_page, timeout=remaining_ms())
    pdf = page.pdf(print_background=True)
    mhtml = str(cdp.send("Page.captureSnapshot", {"format": "mhtml"})["data"]).encode("utf-8")
    dom = page.content().encode("utf-8")
    version = cdp.send("Browser.getVersion")
    try:
        command_line = list(cdp.send("Browser.getBrowserCommandLine")["arguments"])
    except PlaywrightError:
        command_line = []
    targets = cdp.send("Target.getTargets").get("targetInfos", [])
    extensions = [
        str(t.get("url", ""))
        for t in targets
        if str(t.get("url", "")).startswith("chrome-extension://")
        or t.get("type") in {"background_page", "service_worker"}
    ]
    return BrowserCapture(
        requested_url=url,
        final_url=page.url,
        title=page.title(),
        status=main.status if main is not None else None,
        started_at=started,
        loaded_at=loaded,
        exchanges=exchanges,
        failed_requests=failed,
        screenshot=screenshot,
        pdf=pdf,
        mhtml=mhtml,
        dom=dom,
        certificates=certificates,
        security=security,
        browser_version=str(version.get("product", "")),
        user_agent=str(version.get("userAgent", "")),
        command_line=command_line,
        extension_targets=extensions,
        profile_was_empty=profile_was_empty,
        timed_out_waiting=waited,
    )


def _exchange(response: Response, at: str, max_body_bytes: int) -> Exchange:
    from playwright.sync_api import Error as PlaywrightError

    request = response.request
    body: bytes | None = None
    note: str | None = None
    redirected = request.redirected_to
    if 300 <= response.status < 400 and redirected is not None:
        note = "redirect: the browser keeps no body of a redirect"
    else:
        try:
            body = response.body()
        except PlaywrightError as exc:
            note = f"body not available from the browser: {str(exc).splitlines()[0]}"
        if body is not None and len(body) > max_body_bytes:
            body, note = None, f"body over the capture's limit of {max_body_bytes} bytes"
    try:
        post = request.post_data_buffer
    except PlaywrightError:
        post = None
    return Exchange(
        url=response.url,
        method=request.method,
        request_headers=[(h["name"], h["value"]) for h in request.headers_array()],
        request_body=post,
        status=response.status,
        status_text=response.status_text,
        response_headers=[(h["name"], h["value"]) for h in response.headers_array()],
        body=body,
        body_note=note,
        at=at,
        redirected_to=redirected.url if redirected is not None else None,
    )
