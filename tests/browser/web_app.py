"""What the web app's browser tests share: the service on a loopback port (embedded chain, quick
batches), its principals and people, signing in through the pages, axe-core in a page, and the
screenshots ``docs/web.md`` shows (``WEB_SCREENSHOTS=docs/images`` writes them)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.conftest import LiveServer
from tests.conftest import free_port, missing_component

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["PASSWORD", "WebService", "check_accessibility", "serve_web", "shot", "sign_in"]

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tests" / "interop" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "西湖 long enough pass phrase"


@dataclass
class WebService:
    server: LiveServer
    runtime: Any
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def principal(self, label: str, role: str, name: str, identifier: str | None = None) -> str:
        """An API key of principal ``label`` (made on first use)."""
        if label not in self.keys:
            from sqlmodel import Session

            from ipnotary.service.services.principals import create_principal

            with Session(self.runtime.engine) as session:
                made = create_principal(session, name=name, role=role, identifier=identifier)
            self.keys[label], self.ids[label] = made.api_key, made.principal.id
        return self.keys[label]

    def headers(self, label: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[label]}"}

    def invitation(self, label: str, email: str, name: str, **extra: Any) -> str:
        """A one-time link for a new person of ``label``, made with the admin's API key (what
        an operator does for the first administrator)."""
        answer = httpx.post(
            f"{self.url}/v1/persons/invitations",
            json={"principal_id": self.ids[label], "email": email, "name": name, **extra},
            headers=self.headers("operator"),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        link: str = answer.json()["invitation_url"]
        return link

    def wait_certified(self, path: str, label: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = httpx.get(
                f"{self.url}{path}", headers=self.headers(label), timeout=30
            ).json()
            if view.get("status") == "anchored" or time.monotonic() > deadline:
                return view
            time.sleep(0.2)


def serve_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebService]:
    """The service (embedded defaults) on a loopback port, with an operator's admin key."""
    from ipnotary.service.api.app import create_app
    from ipnotary.service.config import Settings

    if not AXE.is_file():
        missing_component("axe-core is not installed (scripts/setup-node.sh: tests/interop/axe)")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("web-service"),
        public_url=f"http://127.0.0.1:{port}",
        batch_interval_seconds=0.2,
    )
    app = create_app(settings)
    with LiveServer(app, port=port) as server:
        service = WebService(server, app.state.runtime)
        service.principal("operator", "admin", "平台运营中心")
        yield service


def sign_in(page: Page, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/app/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state()


def set_password(page: Page, link: str, password: str = PASSWORD) -> None:
    page.goto(link)
    page.locator("#password").fill(password)
    page.locator("#password_again").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/app/sign-in\?password_set=1$"))


_AXE_SOURCE: str | None = None


def check_accessibility(page: Page, what: str) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.x A and AA, best practices) in the page; fail on a serious or
    critical violation, naming each rule and the elements it found. Evaluated through the
    debugging protocol, so the page's own Content-Security-Policy stays as served."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE.read_text(encoding="utf-8")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_AXE_SOURCE)
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                              'wcag22aa', 'best-practice']},
            resultTypes: ['violations'],
          });
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    violations: list[dict[str, Any]] = list(result)
    grave = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not grave, f"{what}: {json.dumps(grave, ensure_ascii=False, indent=1)}"
    return violations


def shot(page: Page, name: str) -> None:
    """``docs/images/web-<name>.png`` when ``WEB_SCREENSHOTS`` names the folder."""
    folder = os.environ.get("WEB_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"web-{name}.png"), full_page=True)
