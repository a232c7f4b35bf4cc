"""The verification page as a person uses it: served by the service at ``/verify``, in Chinese
and English, with the file, the certificate (JSON or PDF) and their trust policy, or with
``?certificate=URL``; and saved to disk, opened from ``file://`` with no network at all.

What the page computes is compared case by case with the Python verifier in
``test_verify_page_agreement.py``; here it is what a person sees and can do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer, new_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "certificates"
V2 = ASSETS / "v2"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The service itself (embedded defaults) on a loopback port."""
    from ipnotary.service.api.app import create_app
    from ipnotary.service.config import Settings

    data = tmp_path_factory.mktemp("service")
    with LiveServer(create_app(Settings(data_dir=data))) as server:
        yield server


def _verify_in_form(page: Page, certificate: Path, policy: Path | None, file: Path | None) -> None:
    page.set_input_files("#certificate", certificate)
    if policy is not None:
        page.set_input_files("#policy", policy)
    if file is not None:
        page.set_input_files("#file", file)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector("#report:not([hidden]) #verdict")


def test_a_golden_certificate_verifies_in_the_served_page(
    browser: Browser, service: LiveServer
) -> None:
    with new_page(browser, locale="en-US") as (page, errors):
        response = page.goto(f"{service.url}/verify")
        assert response is not None and response.ok
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "'unsafe-inline'" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_selector("body[data-ready=true]")
        _verify_in_form(page, V2 / "certificate.json", V2 / "policy.json", V2 / "hello.txt")
        verdict = page.locator("#verdict")
        assert "VALID under your trust policy" in verdict.inner_text()
        assert page.locator(".proven-time strong").inner_text() == "2026-11-27T10:55:22.000000Z"
        statuses = dict(
            zip(
                page.locator("li.step").evaluate_all("els => els.map(e => e.dataset.step)"),
                page.locator("li.step").evaluate_all("els => els.map(e => e.dataset.status)"),
                strict=True,
            )
        )
        assert statuses["content"] == "passed" and statuses["witnesses"] == "passed"
        assert statuses["chain_id"] == "skipped"
        assert not errors, errors
