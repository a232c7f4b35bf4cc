"""Browser tests: one headless Chromium for the whole session, driven by Python Playwright.

The browser is Debian's ``chromium`` (``NOTARY_CHROMIUM`` overrides the path), never one that
Playwright downloads. :func:`browser` starts it once per session; each test takes a fresh context
from :func:`new_page` (own cookies, storage and language), which also collects the page's
uncaught errors, failed requests and console errors so a test can assert there were none.
:class:`LiveServer` serves an ASGI app (the service, or a router of it) on a free loopback port
in a thread, for pages that must be loaded over HTTP.

Without Chromium or Playwright the tests skip, and under ``CI=true`` they fail
(``tests.conftest.missing_component``).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import free_port, missing_component

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

__all__ = ["LAUNCH_ARGS", "LiveServer", "PageErrors", "find_chromium", "new_page"]

# What Chromium needs on these machines: no sandbox in containers, no GPU, and no traffic of its
# own (QUIC probes, component updates, sync) that a test of "works offline" would trip over.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's Chromium: ``$NOTARY_CHROMIUM``, /usr/bin/chromium, then ``chromium`` on PATH."""
    for candidate in (os.environ.get("NOTARY_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for every browser test of the session."""
    path = find_chromium()
    if path is None:
        missing_component("chromium not found (apt-get install chromium, or set NOTARY_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_component("the Python playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageErrors:
    """What went wrong in a page: uncaught exceptions, console errors and failed requests."""

    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uncaught or self.console or self.failed_requests)

    def __str__(self) -> str:
        return "; ".join(
            [f"uncaught: {e}" for e in self.uncaught]
            + [f"console: {e}" for e in self.console]
            + [f"request failed: {e}" for e in self.failed_requests]
        )


@contextmanager
def new_page(browser: Browser, **context: Any) -> Iterator[tuple[Page, PageErrors]]:
    """A page in a fresh browser context (``context``: Playwright's ``new_context`` options, e.g.
    ``locale="zh-CN"``, ``offline=True``), with its errors collected."""
    ctx = browser.new_context(**context)
    errors = PageErrors()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.console.append(message.text)

    def on_failed(request: Request) -> None:
        errors.failed_requests.append(f"{request.url} ({request.failure})")

    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.uncaught.append(str(exc)))
    page.on("console", on_console)
    page.on("requestfailed", on_failed)
    try:
        yield page, errors
    finally:
        ctx.close()


class LiveServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread; ``url`` is its base URL.

    ``port``: one chosen beforehand (``tests.conftest.free_port``), for an app that must know its
    own URL when it is built (the service's ``NOTARY_PUBLIC_URL``)."""

    def __init__(self, app: Any, *, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
