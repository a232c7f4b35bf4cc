"""The verification page as a person uses it: served by the service at ``/verify``, in Chinese
and English, with the file, the certificate (JSON or PDF) and their trust policy, or with
``?certificate=URL``; printed as a report; and saved to disk, opened from ``file://`` with no
network at all.

What the page computes is compared case by case with the Python verifier in
``test_verify_page_agreement.py``; here it is what a person sees and can do.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.conftest import LiveServer, new_page
from tests.conftest import free_port, missing_component

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "certificates"
V2 = ASSETS / "v2"
GOLDEN = V2 / "certificate.json"
POLICY = V2 / "policy.json"
HELLO = V2 / "hello.txt"
TAMPERED = V2 / "hostile" / "record-altered.json"


@dataclass
class Service:
    server: LiveServer
    holder_key: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service itself (embedded defaults, quick batches) on a loopback port, with a holder."""
    from sqlmodel import Session

    from ipnotary.service.api.app import create_app
    from ipnotary.service.config import Settings
    from ipnotary.service.services.principals import create_principal

    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("service"),
        public_url=f"http://127.0.0.1:{port}",
        batch_interval_seconds=0.2,
    )
    app = create_app(settings)
    with LiveServer(app, port=port) as server:
        with Session(app.state.runtime.engine) as session:
            holder = create_principal(session, name="Acme Studio", role="holder")
        yield Service(server, holder.api_key)


def _open(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is None or response.ok, url
    page.wait_for_selector("body[data-ready=true]")


def _verify_in_form(
    page: Page, certificate: Path, policy: Path | None = None, file: Path | None = None
) -> None:
    page.set_input_files("#certificate", certificate)
    if policy is not None:
        page.set_input_files("#policy", policy)
    if file is not None:
        page.set_input_files("#file", file)
    _click_and_wait(page, "#verify")


def _click_and_wait(page: Page, selector: str) -> None:
    """Press a button and wait for the report it brings (not the one already shown)."""
    shown = page.locator("#report").get_attribute("data-run") or "0"
    page.locator(selector).click()
    page.wait_for_selector(f'#report:not([hidden])[data-run="{int(shown) + 1}"] #verdict')


def _steps(page: Page) -> dict[str, str]:
    items = page.locator("li.step")
    return dict(
        zip(
            items.evaluate_all("els => els.map(e => e.dataset.step)"),
            items.evaluate_all("els => els.map(e => e.dataset.status)"),
            strict=True,
        )
    )


def test_a_golden_certificate_verifies_in_the_served_page(
    browser: Browser, service: Service
) -> None:
    with new_page(browser, locale="en-US") as (page, errors):
        response = page.goto(f"{service.url}/verify")
        assert response is not None and response.ok
        csp = response.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "'unsafe-inline'" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_selector("body[data-ready=true]")
        _verify_in_form(page, GOLDEN, POLICY, HELLO)
        assert "VALID under your trust policy" in page.locator("#verdict").inner_text()
        assert page.locator(".proven-time strong").inner_text() == "2026-11-27T10:55:22.000000Z"
        assert "the witness quorum" in page.locator(".proven").inner_text()
        steps = _steps(page)
        assert steps["content"] == "passed" and steps["witnesses"] == "passed"
        assert steps["timestamps"] == "passed" and steps["chain_id"] == "skipped"
        digests = page.locator("table.digests").inner_text()
        assert hashlib.sha256(HELLO.read_bytes()).hexdigest() in digests
        # The verdict is where the reader lands, and is announced.
        assert page.evaluate("document.activeElement.id") == "verdict"
        assert not errors, errors


def test_a_tampered_certificate_names_its_failed_step_in_both_languages(
    browser: Browser, service: Service
) -> None:
    with new_page(browser, locale="zh-CN") as (page, errors):
        _open(page, f"{service.url}/verify")
        # The browser's language is followed until the person chooses.
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("h1").inner_text() == "验证证书"
        _verify_in_form(page, TAMPERED, POLICY, HELLO)
        verdict = page.locator("#verdict").inner_text()
        assert "无效" in verdict and "叶子哈希" in verdict, verdict
        assert "记录已被改动" in page.locator(".reason").inner_text()
        steps = _steps(page)
        assert steps["content"] == "passed" and steps["leaf_hash"] == "failed"
        assert steps["signature"] == "not_run"
        assert "未执行" in page.locator('li[data-step="time"]').inner_text()

        page.get_by_role("button", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "INVALID: step Leaf hash failed" in page.locator("#verdict").inner_text()
        assert "the record was altered" in page.locator(".reason").inner_text()
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("h1").inner_text() == "Verify a certificate", "choice not kept"
        assert not errors, errors


def _luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


_COLOURS = """() => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll('h1, label, .help, .chosen, .lead, button, .verdict,'
    + ' .reason, .badge, .step-message, dt, dd, th, td, .generated')]
    .filter((el) => el.offsetParent !== null && el.textContent.trim())
    .map((el) => [el.className || el.tagName, parse(getComputedStyle(el).color), background(el)]);
}"""


def test_the_page_is_labelled_works_with_the_keyboard_and_keeps_its_contrast(
    browser: Browser, service: Service
) -> None:
    with new_page(browser, locale="en-US") as (page, errors):
        _open(page, f"{service.url}/verify")
        for label in ("The certificate", "Your trust policy", "The file (optional)"):
            assert page.get_by_label(label).get_attribute("type") == "file", label
        assert page.get_by_label("Chain node (optional)").get_attribute("type") == "url"
        # The language buttons are reached and pressed from the keyboard.
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.lang") == "zh"
        page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "验证证书"
        assert page.get_by_role("button", name="中文").get_attribute("aria-pressed") == "true"
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Verify a certificate"
        page.set_input_files("#certificate", TAMPERED)
        page.locator("#verify").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector('#report:not([hidden])[data-run="1"] #verdict')
        assert page.evaluate("document.activeElement.id") == "verdict"
        low = []
        for name, colour, background in page.evaluate(_COLOURS):
            lighter, darker = sorted((_luminance(colour), _luminance(background)), reverse=True)
            ratio = (lighter + 0.05) / (darker + 0.05)
            if ratio < 4.5:
                low.append(f"{name}: {ratio:.2f}")
        assert not low, f"text below a contrast of 4.5:1: {low}"
        assert not errors, errors


def test_the_printed_report_holds_the_verdict_the_digests_and_every_step(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        missing_component("pdftotext (poppler-utils) is needed to read the printed report")
    with new_page(browser, locale="en-US") as (page, errors):
        _open(page, f"{service.url}/verify")
        _verify_in_form(page, GOLDEN, POLICY, HELLO)
        page.emulate_media(media="print")
        assert page.locator("#inputs").is_hidden() and page.locator("#print").is_hidden()
        assert page.locator("#report").is_visible()
        printed = tmp_path / "report.pdf"
        printed.write_bytes(page.pdf(format="A4"))
        assert not errors, errors
    text = subprocess.run(
        [pdftotext, "-layout", str(printed), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "Verification report",
        "VALID under your trust policy",
        "2026-11-27T10:55:22.000000Z",
        "ev_",
        hashlib.sha256(HELLO.read_bytes()).hexdigest(),
        hashlib.sha256(POLICY.read_bytes()).hexdigest(),
        "Inclusion proof",
        "Witnesses",
        "Time-stamps (RFC 3161)",
    ):
        # A long digest may wrap inside its table cell: compare without the white space.
        assert "".join(expected.split()) in "".join(text.split()), expected
    assert "Drop files here" not in text


def test_a_copy_saved_to_disk_verifies_from_file_with_no_network(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    # Saved as a browser saves a page: the document, and its files beside it as it names them.
    saved = tmp_path / "saved"
    (saved / "verify").mkdir(parents=True)
    (saved / "verify.html").write_bytes(httpx.get(f"{service.url}/verify").content)
    for name in ("verify.js", "verify.css"):
        (saved / "verify" / name).write_bytes(httpx.get(f"{service.url}/verify/{name}").content)
    with new_page(browser, locale="en-US", offline=True) as (page, errors):
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        _open(page, (saved / "verify.html").as_uri())
        _verify_in_form(page, GOLDEN, POLICY, HELLO)
        assert "VALID under your trust policy" in page.locator("#verdict").inner_text()
        assert _steps(page)["content"] == "passed"
        assert not errors, errors
    assert all(u.startswith(("file:", "blob:", "data:")) for u in requests), requests


def _weasyprint_pdf(attachments: dict[str, bytes]) -> bytes:
    from weasyprint import HTML, Attachment

    html = "<h1>证书 Certificate</h1><p>The JSON is attached.</p>"
    return bytes(
        HTML(string=html).write_pdf(
            pdf_variant="pdf/a-3b",
            attachments=[
                Attachment(string=data, name=name, relationship="Data")
                for name, data in attachments.items()
            ],
        )
    )


def test_a_pdf_certificate_is_verified_from_the_json_it_carries(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    good = tmp_path / "certificate.pdf"
    good.write_bytes(_weasyprint_pdf({"certificate.json": GOLDEN.read_bytes()}))
    bare = tmp_path / "bare.pdf"
    bare.write_bytes(_weasyprint_pdf({"notes.txt": b"nothing to see"}))
    with new_page(browser, locale="en-US") as (page, errors):
        _open(page, f"{service.url}/verify")
        _verify_in_form(page, good, POLICY, HELLO)
        assert "VALID under your trust policy" in page.locator("#verdict").inner_text()
        inputs = page.locator(".inputs").inner_text()
        assert hashlib.sha256(good.read_bytes()).hexdigest() in inputs
        assert hashlib.sha256(GOLDEN.read_bytes()).hexdigest() in inputs
        _verify_in_form(page, bare, POLICY)
        verdict = page.locator("#verdict").inner_text()
        assert "carries no certificate.json" in verdict and "notes.txt" in verdict, verdict
        assert not errors, errors


def _submit(service: Service, content: bytes) -> tuple[str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {service.holder_key}"}
    answer = httpx.post(
        f"{service.url}/v1/evidence",
        headers=headers,
        files={"file": ("design.psd", content)},
        data={"title": "Logo, final draft 标志定稿"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    record_id = answer.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        certificate = httpx.get(
            f"{service.url}/v1/evidence/{record_id}/certificate", headers=headers, timeout=30
        )
        if certificate.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert certificate.status_code == 200, certificate.text
    return record_id, dict(certificate.headers)


def test_the_service_s_pdf_and_shared_link_verify_in_the_page(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    content = b"the final logo, layered\n" * 1000
    record_id, headers = _submit(service, content)
    shared = headers["x-shared-certificate-url"]
    pdf = httpx.get(
        f"{service.url}/v1/evidence/{record_id}/certificate.pdf",
        headers={"Authorization": f"Bearer {service.holder_key}"},
        timeout=60,
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    (tmp_path / "design.psd").write_bytes(content)
    (tmp_path / "certificate.pdf").write_bytes(pdf.content)
    # Taking the policy from the service is trusting it: fine for a test, not for a court.
    (tmp_path / "policy.json").write_bytes(httpx.get(f"{service.url}/v1/trust").content)
    with new_page(browser, locale="en-US") as (page, errors):
        # What the PDF's QR code opens, with the policy named beside it.
        query = httpx.QueryParams({"certificate": shared, "policy": f"{service.url}/v1/trust"})
        page.goto(f"{service.url}/verify?{query}")
        page.wait_for_selector("body[data-ready=true]")
        assert "VALID under your trust policy" in page.locator("#verdict").inner_text()
        assert record_id in page.locator("#report").inner_text()
        assert "the operator alone" in page.locator(".proven").inner_text()

        _verify_in_form(
            page, tmp_path / "certificate.pdf", tmp_path / "policy.json", tmp_path / "design.psd"
        )
        assert "VALID under your trust policy" in page.locator("#verdict").inner_text()
        assert _steps(page)["content"] == "passed"

        query = httpx.QueryParams({"certificate": f"{shared}&format=pdf"})
        page.goto(f"{service.url}/verify?{query}")
        page.wait_for_selector("body[data-ready=true]")
        assert "NOT TRUSTED" in page.locator("#verdict").inner_text()
        assert not errors, errors


def test_a_certificate_url_that_cannot_be_fetched_is_said_so(
    browser: Browser, service: Service
) -> None:
    with new_page(browser, locale="en-US") as (page, _):
        missing = f"{service.url}/v1/shared/certificates/ev_{'0' * 32}?token=nope"
        page.goto(f"{service.url}/verify?{httpx.QueryParams({'certificate': missing})}")
        page.wait_for_selector("body[data-ready=true]")
        verdict = page.locator("#verdict").inner_text()
        assert "could not fetch" in verdict and "HTTP 404" in verdict, verdict


_HASH_WITH_PROGRESS = """async () => {
  const file = document.getElementById('file').files[0];
  const seen = [];
  const started = performance.now();
  const r = await ipnotary.verify({certificate: '{}', file, onProgress: (f) => seen.push(f)});
  return {digests: r.digests, seen, ms: performance.now() - started};
}"""


def test_hashing_a_large_file_reports_progress_and_matches_the_sdk(
    browser: Browser, service: Service, tmp_path: Path
) -> None:
    from ipnotary.sdk.fingerprint import fingerprint_file

    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        for i in range(48):  # 48 MiB: several slices, a two-level DAG
            f.write(hashlib.shake_128(i.to_bytes(4, "big")).digest(1 << 20))
    expected = fingerprint_file(big)
    with new_page(browser, locale="en-US") as (page, errors):
        _open(page, f"{service.url}/verify")
        page.set_input_files("#file", big)
        result: dict[str, Any] = page.evaluate(_HASH_WITH_PROGRESS)
        # The form shows the same progress while it hashes.
        page.set_input_files("#certificate", GOLDEN)
        page.locator("#verify").click()
        page.wait_for_selector("#progress:not([hidden])")
        assert "Hashing the file" in page.locator("#progress").inner_text()
        page.wait_for_selector('#report:not([hidden])[data-run="1"] #verdict')
        assert _steps(page)["content"] == "failed"
        assert not errors, errors
    assert result["digests"] == {
        "size": expected.size,
        "sha256": expected.sha256,
        "sm3": expected.sm3,
        "cid": expected.cid,
        "cid_v1": expected.cid_v1,
    }
    seen = result["seen"]
    assert seen == sorted(seen) and seen[-1] == 1 and len(seen) > 3, seen
    print(json.dumps({"hash_48_mib_ms": round(result["ms"])}))
