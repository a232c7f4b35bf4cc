"""The people's web app in Chromium, on the real service (embedded chain): each role's main path
end to end, the refusals, both languages, the keyboard, and axe-core on every page.

One service for the module and the session's one browser (``conftest.browser``); each test takes
fresh browser contexts (own cookies and language). Every page is also checked for errors in its
console, which is where Chromium reports what the Content-Security-Policy blocked.
``WEB_SCREENSHOTS=docs/images`` saves the screenshots ``docs/web.md`` shows (:func:`screenshot`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.signing import public_key_to_b64
from tests.browser.conftest import new_page
from tests.browser.web_app import (
    PASSWORD,
    WebService,
    check_accessibility,
    serve_web,
    set_password,
    shot,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

HOLDER_USCC = "91350100M000100Y43"
HOLDER_NAME = "杭州光影文化传媒有限公司"
BANK = {"name": "杭州银行股份有限公司", "id_type": "uscc", "id": "91110108551385082Q"}

# The screenshots of docs/web.md: a 1280x800 window, the page's whole height up to a limit (the
# audit log's hundred events would make one 20,000 pixels tall), in a 256-colour palette, which
# loses nothing visible of text and flat colours and keeps each image well under 150 KB.
SHOT_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SHOT_MAX_HEIGHT = 2400


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebService]:
    yield from serve_web(tmp_path_factory)


def person(web: WebService, label: str, role: str, name: str, email: str) -> str:
    """A person of principal ``label`` with a password set (through the service: the main path
    test sets one through the pages)."""
    from sqlmodel import Session

    from ipnotary.service.services import accounts
    from ipnotary.service.services.principals import Actor

    web.principal(label, role, name)
    with Session(web.runtime.engine) as session:
        issued = accounts.invite_person(
            session, principal_id=web.ids[label], email=email, name="测试员", actor=Actor.operator()
        )
        accounts.accept_invitation(session, token=issued.token, password=PASSWORD)
    return email


def screenshot(page: Page, name: str) -> None:
    """``docs/images/web-<name>.png`` (``web_app.shot``) when ``WEB_SCREENSHOTS`` names the
    folder, at the size docs/web.md shows; the page's own window size is restored after."""
    folder = os.environ.get("WEB_SCREENSHOTS")
    if not folder:
        return
    from PIL import Image

    before = page.viewport_size
    page.set_viewport_size(SHOT_VIEWPORT)
    try:
        shot(page, name)
    finally:
        if before is not None:
            page.set_viewport_size(before)
    path = Path(folder) / f"web-{name}.png"
    with Image.open(path) as taken:
        image = taken.convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, SHOT_MAX_HEIGHT)))
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def visit(page: Page, url: str, what: str) -> None:
    """Open a page, check that it answered and passes axe-core."""
    response = page.goto(url)
    assert response is not None and response.ok, f"{what}: {response.status if response else ''}"
    page.wait_for_selector("body[data-ready=true]")
    check_accessibility(page, what)


def test_an_administrator_invites_a_holder_who_uploads_and_verifies_the_pdf(
    browser: Browser, web: WebService, tmp_path: Path
) -> None:
    admin_link = web.invitation("operator", "ops@notary.example", "周敏", manages_persons=True)
    with new_page(browser, locale="zh-CN") as (page, errors):
        # The first administrator, invited with the operator's API key.
        page.goto(admin_link)
        check_accessibility(page, "invitation (zh)")
        screenshot(page, "invitation")
        set_password(page, admin_link)
        sign_in(page, web.url, "ops@notary.example")
        assert page.url.endswith("/app/admin")
        check_accessibility(page, "admin health (zh)")
        screenshot(page, "admin-health")
        assert page.locator("h1").inner_text() == "平台运行状况"

        visit(page, f"{web.url}/app/admin/principals", "organisations (zh)")
        screenshot(page, "admin-principals")
        page.locator("#name").fill(HOLDER_NAME)
        page.locator("#role").select_option("holder")
        page.locator("#identifier").fill(f"uscc:{HOLDER_USCC}")
        page.get_by_role("button", name="添加").click()
        page.wait_for_selector("#api-key")
        assert page.locator("#api-key").input_value().startswith("nk_")
        check_accessibility(page, "key shown once (zh)")
        page.get_by_role("link", name=f"前往 {HOLDER_NAME}").click()
        page.wait_for_selector("#person-email")
        check_accessibility(page, "organisation (zh)")
        screenshot(page, "principal")
        page.locator("#person-name").fill("李明")
        page.locator("#person-email").fill("li.ming@guangying.example")
        page.get_by_role("button", name="生成邀请链接").click()
        link = page.locator("#invitation-link").input_value()
        assert "/app/invitations/" in link
        check_accessibility(page, "invitation issued (zh)")
        screenshot(page, "invitation-issued")
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url(re.compile(r".*/app/sign-in\?signed_out=1$"))
        assert not errors, errors

    content = b"layered design, final \xe5\xae\x9a\xe7\xa8\xbf\n" * 150_000  # 3.6 MB: a real upload
    design = tmp_path / "设计稿.psd"
    design.write_bytes(content)
    with new_page(browser, locale="zh-CN", accept_downloads=True) as (page, errors):
        set_password(page, link)
        sign_in(page, web.url, "li.ming@guangying.example")
        assert page.url.endswith("/app/records")
        check_accessibility(page, "records, empty (zh)")
        page.get_by_role("link", name="证据存证").first.click()
        page.wait_for_selector("#file")
        check_accessibility(page, "preserve evidence (zh)")
        screenshot(page, "evidence-new")
        page.set_input_files("#file", design)
        page.locator("#title").fill("品牌标志定稿")
        page.locator("#tags").fill("标志, 定稿")
        # The script reports the upload's progress as it goes: record what the bar showed.
        page.evaluate(
            """() => {
              window.__seen = [];
              const bar = document.getElementById('upload-progress');
              new MutationObserver(() => window.__seen.push(bar.value))
                .observe(bar, {attributes: true});
              const box = document.querySelector('[data-upload-progress]');
              new MutationObserver(() => { if (!box.hidden) window.__shown = true; })
                .observe(box, {attributes: true});
            }"""
        )
        with page.expect_navigation(url=re.compile(r".*/app/records/ev_[0-9a-f]{32}$")):
            page.get_by_role("button", name="存证", exact=True).click()
        record_url = page.url
        record_id = record_url.rsplit("/", 1)[1]

        # The record moves on without the page reloading: a mark set now survives.
        page.evaluate("window.__sameDocument = true")
        stages = page.locator("ol.stages")
        assert page.locator('[data-stage="received"]').get_attribute("class") == "stage done"
        check_accessibility(page, "record, waiting (zh)")
        page.wait_for_selector("ol.stages[data-certified=true]", timeout=90_000)
        assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
        assert stages.locator("li.done").count() == 4
        assert "证书可下载" in page.locator("[data-progress-summary]").inner_text()
        assert page.locator("#certificate-heading").is_visible()
        check_accessibility(page, "record, certified (zh)")
        screenshot(page, "record")

        with page.expect_download() as download_info:
            page.get_by_role("link", name=re.compile("下载 PDF 证书")).click()
        pdf = tmp_path / "certificate.pdf"
        download_info.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert download_info.value.suggested_filename == f"{record_id}.certificate.pdf"

        visit(page, f"{web.url}/app/records", "records (zh)")
        assert "品牌标志定稿" in page.locator("table").inner_text()
        screenshot(page, "records")
        assert not errors, errors

    # A judge checks the downloaded PDF on the verification page, with the file and a policy
    # (taken from the service here; a court brings one it assembled out of band).
    policy = tmp_path / "policy.json"
    policy.write_bytes(httpx.get(f"{web.url}/v1/trust", timeout=30).content)
    with new_page(browser, locale="zh-CN") as (page, errors):
        page.goto(f"{web.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#certificate", pdf)
        page.set_input_files("#policy", policy)
        page.set_input_files("#file", design)
        page.locator("#verify").click()
        page.wait_for_selector("#report:not([hidden]) #verdict")
        verdict = page.locator("#verdict").inner_text()
        assert "有效：符合您的信任策略" in verdict and "无效" not in verdict, verdict
        assert record_id in page.locator("#report").inner_text()
        assert hashlib.sha256(content).hexdigest() in page.locator("table.digests").inner_text()
        assert not errors, errors


def _holder_with_key(web: WebService, label: str) -> tuple[str, str]:
    email = person(web, label, "holder", HOLDER_NAME.replace("光影", label[:2]), f"{label}@x.cn")
    return email, web.keys[label]


def _submit(web: WebService, label: str, content: bytes, title: str) -> str:
    answer = httpx.post(
        f"{web.url}/v1/evidence",
        headers=web.headers(label),
        files={"file": ("evidence.txt", content)},
        data={"title": title},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    record_id: str = answer.json()["id"]
    assert web.wait_certified(f"/v1/evidence/{record_id}", label)["status"] == "anchored"
    return record_id


def test_a_notary_opens_a_shared_record_in_the_verification_page(
    browser: Browser, web: WebService
) -> None:
    holder_email, _ = _holder_with_key(web, "share-holder")
    notary_email = person(web, "xihu-notary", "notary", "杭州市西湖公证处", "gz@xihu.example")
    record_id = _submit(web, "share-holder", b"contract scan", "Supply contract 供货合同")
    with new_page(browser, locale="en-US") as (page, errors):
        sign_in(page, web.url, holder_email)
        visit(page, f"{web.url}/app/records/{record_id}", "record, certified (en)")
        page.get_by_label("Notary office or arbitration commission").select_option(
            web.ids["xihu-notary"]
        )
        page.get_by_role("button", name="Share", exact=True).click()
        page.wait_for_selector("text=The record is shared.")
        assert "Shared with 杭州市西湖公证处" in page.locator("#share-heading + ul").inner_text()
        check_accessibility(page, "record, shared (en)")
        assert not errors, errors
    with new_page(browser, locale="en-US") as (page, errors):
        sign_in(page, web.url, notary_email)
        assert page.url.endswith("/app/shared")
        check_accessibility(page, "shared with me (en)")
        screenshot(page, "shared")
        row = page.locator("tr", has_text=record_id)
        assert "Supply contract" in row.inner_text()
        row.get_by_role("link", name=re.compile("Open in the verification page")).click()
        page.wait_for_url(re.compile(r".*/verify\?certificate=.*"))
        page.wait_for_selector("#report:not([hidden]) #verdict")
        # No policy given: the certificate is consistent, and the page says it is not trusted.
        assert "NOT TRUSTED" in page.locator("#verdict").inner_text()
        assert record_id in page.locator("#report").inner_text()
        assert not errors, errors


def test_a_platform_checks_a_claim_finding_by_finding(
    browser: Browser, web: WebService, tmp_path: Path
) -> None:
    web.principal("claim-holder", "holder", HOLDER_NAME, identifier=f"uscc:{HOLDER_USCC}")
    platform_email = person(web, "mall", "platform", "某电商平台有限公司", "ip@mall.example")
    artwork = b"an illustration, first drawn in 2025" * 100
    work = {
        "title": "西湖月色",
        "work_type": "fine_art",
        "authors": [{"name": "李明", "pen_name": "明月"}],
        "copyright_owner": {"name": HOLDER_NAME, "id_type": "uscc", "id": HOLDER_USCC},
        "completed_on": "2025-06-01",
    }
    registered = httpx.post(
        f"{web.url}/v1/works",
        headers=web.headers("claim-holder"),
        files={"file": ("moon.png", artwork)},
        data={"work": json.dumps(work, ensure_ascii=False)},
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    work_id = registered.json()["id"]
    web.wait_certified(f"/v1/works/{work_id}", "claim-holder")
    shared = httpx.get(
        f"{web.url}/v1/works/{work_id}/certificate", headers=web.headers("claim-holder"), timeout=30
    ).headers["x-shared-certificate-url"]
    listing = tmp_path / "listing.png"
    listing.write_bytes(artwork)
    with new_page(browser, locale="zh-CN") as (page, errors):
        sign_in(page, web.url, platform_email)
        assert page.url.endswith("/app/claims")
        check_accessibility(page, "claim check form (zh)")
        page.get_by_label("或本平台的证书分享链接").fill(shared)
        page.get_by_label("名称", exact=True).fill(HOLDER_NAME)
        # in lower case, as a clerk may type it: the check folds it as the registers do
        page.get_by_label("证件号码", exact=True).fill(HOLDER_USCC.lower())
        page.locator("#listing_file").set_input_files(listing)
        page.get_by_label("商品上架日期").fill(datetime.now(UTC).date().isoformat())
        page.get_by_role("button", name="核查投诉").click()
        page.wait_for_selector("#verdict-heading")
        findings = {
            row.locator("th").inner_text(): row.locator(".outcome").inner_text()
            for row in page.locator("tr.finding").all()
        }
        assert findings["投诉人是登记的权利人"] == "通过", findings
        # Registered minutes ago, listed today: not before the listing, so not supported.
        assert findings["登记早于商品上架"] == "未通过", findings
        assert "不成立" in page.locator("#verdict-heading").inner_text()
        assert findings["商品内容完全相同"] == "通过", findings
        assert findings["无人更早登记"] == "通过", findings
        assert "证书真实" in findings
        assert hashlib.sha256(artwork).hexdigest() in page.locator(".verdict").inner_text()
        check_accessibility(page, "claim check verdict (zh)")
        screenshot(page, "claims")
        assert not errors, errors


def test_the_public_finds_a_pledge_by_a_respelled_number_and_a_credit_entry(
    browser: Browser, web: WebService
) -> None:
    registrar = web.principal("registry", "pledge_registrar", "杭州市知识产权质押登记中心")
    bank_key = Ed25519PrivateKey.generate()
    pledge = {
        "asset": {"type": "patent", "registration_number": "ZL201710601862.3", "title": "隔膜"},
        "terms": {
            "pledgor": {"name": HOLDER_NAME, "id_type": "uscc", "id": HOLDER_USCC},
            "pledgee": BANK,
            "secured_amount": "5000000.00",
            "currency": "CNY",
            "term_start": "2026-01-01",
            "term_end": "2028-12-31",
            "contract_sha256": "aa" * 32,
            "valuation_report_sha256": "bb" * 32,
            "pledgee_key": public_key_to_b64(bank_key.public_key()),
        },
    }
    answer = httpx.post(
        f"{web.url}/v1/pledges",
        json=pledge,
        headers={"Authorization": f"Bearer {registrar}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    bureau = web.principal("bureau", "credit_authority", "杭州市市场监督管理局")
    today = datetime.now(UTC).date()
    entry = httpx.post(
        f"{web.url}/v1/credit/entries",
        json={
            "subject": {"name": "某贸易有限公司", "id_type": "uscc", "id": "91110108551385082Q"},
            "conduct": "dishonest",
            "severity": "general",
            "category": "商标侵权",
            "description": "销售假冒注册商标的商品",
            "legal_basis": "《中华人民共和国商标法》第五十七条",
            "deciding_authority": "杭州市市场监督管理局",
            "decision_date": (today - timedelta(days=3)).isoformat(),
            "decision_document_sha256": "ab" * 32,
            "publicity_start": (today - timedelta(days=3)).isoformat(),
            "publicity_end": (today + timedelta(days=365)).isoformat(),
        },
        headers={"Authorization": f"Bearer {bureau}"},
        timeout=30,
    )
    assert entry.status_code == 201, entry.text
    deadline = time.monotonic() + 90
    while (
        httpx.get(
            f"{web.url}/v1/credit/entries/{entry.json()['id']}",
            headers={"Authorization": f"Bearer {bureau}"},
            timeout=30,
        ).json()["status"]
        != "anchored"
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    time.sleep(1.1)  # the block's time is over: an answer for now counts it

    for locale, pledged, number in (
        ("en-US", "Pledged as of", "zl 2017 1060 1862 . 3"),
        # full-width, as typed with a Chinese input method, and a middle dot
        (
            "zh-CN",
            "已出质",
            "\uff3a\uff2c\uff12\uff10\uff11\uff17\uff11\uff10\uff16\uff10\uff11\uff18\uff16\uff12\u00b7\uff13",
        ),
    ):
        with new_page(browser, locale=locale) as (page, errors):
            visit(page, f"{web.url}/app/registers/pledges", f"pledge register ({locale})")
            page.locator("#asset_type").select_option("patent")
            page.locator("#number").fill(number)
            page.locator("form[role=search] button").click()
            page.wait_for_selector("#answer-heading")
            answer_text = page.locator("section.answer").inner_text()
            assert pledged in answer_text, answer_text
            assert "201710601862.3" in answer_text and BANK["name"] in answer_text
            link = page.locator("a[download]", has_text=re.compile("JSON")).get_attribute("href")
            assert link and link.startswith("/v1/pledges/status?")
            signed = httpx.get(f"{web.url}{link}", timeout=30).json()
            assert signed["pledged"] is True and signed["signature"]
            check_accessibility(page, f"pledge answer ({locale})")
            if locale == "zh-CN":
                screenshot(page, "pledges")
            assert not errors, errors

    with new_page(browser, locale="zh-CN") as (page, errors):
        visit(page, f"{web.url}/app/registers/credit", "credit register (zh)")
        page.locator("#id").fill("91110108551385082q")  # lower case: the register folds it
        page.locator("form[role=search] button").click()
        page.wait_for_selector("#answer-heading")
        text = page.locator("section.answer").inner_text()
        assert "C：一条一般失信记录" in text and "销售假冒注册商标的商品" in text, text
        verify_link = page.get_by_role("link", name=re.compile("在验证页面验证此记录的证书"))
        check_accessibility(page, "credit answer (zh)")
        screenshot(page, "credit")
        verify_link.click()
        page.wait_for_selector("#report:not([hidden]) #verdict")
        assert entry.json()["id"] in page.locator("#report").inner_text()
        assert not errors, errors


def test_refusals_a_stranger_a_signed_out_visitor_and_a_forged_form(
    browser: Browser, web: WebService
) -> None:
    owner_email, _ = _holder_with_key(web, "refusal-owner")
    stranger_email, _ = _holder_with_key(web, "refusal-stranger")
    web.principal("refusal-notary", "notary", "某公证处")
    record_id = _submit(web, "refusal-owner", b"secret plans", "Confidential 机密")
    record = f"{web.url}/app/records/{record_id}"

    with new_page(browser, locale="en-US") as (page, errors):
        sign_in(page, web.url, stranger_email)
        response = page.goto(record)
        assert response is not None and response.status == 404
        assert "Nothing was found here, or it is not visible to you." in page.inner_text("main")
        assert "Confidential" not in page.content()
        check_accessibility(page, "refusal page (en)")
        screenshot(page, "refusal-en")
        pdf = page.request.get(f"{record}/certificate.pdf")
        assert pdf.status == 404 and not pdf.body().startswith(b"%PDF")
        errors.console.clear()  # the 404s above are logged by the browser, as they should be

    with new_page(browser, locale="zh-CN") as (page, errors):
        page.goto(f"{web.url}/app/records")
        assert "/app/sign-in?next=/app/records" in page.url
        assert page.locator("h1").inner_text() == "登录"
        for private in ("/app/admin", "/app/claims", "/app/shared", f"/app/records/{record_id}"):
            page.goto(f"{web.url}{private}")
            assert "/app/sign-in?next=" in page.url, private
        page.locator("#email").fill(owner_email)
        page.locator("#password").fill(PASSWORD)
        page.locator("form.form button[type=submit]").click()
        page.wait_for_url(record)  # back to the page asked for
        # A forged form: the share form without its token (as another site would post it).
        page.evaluate(
            """() => document.querySelector('form[action$="/share"] input[name=csrf_token]')
                 .remove()"""
        )
        page.locator("#recipient_id").select_option(web.ids["refusal-notary"])
        with page.expect_response(re.compile(r".*/share$")) as posted:
            page.get_by_role("button", name="分享", exact=True).click()
        assert posted.value.status == 403
        page.wait_for_selector("main .alert-error")
        assert "安全令牌缺失或已过期" in page.inner_text("main")
        check_accessibility(page, "csrf refusal (zh)")
        errors.console.clear()
    shares = httpx.get(
        f"{web.url}/v1/shares?direction=sent", headers=web.headers("refusal-owner"), timeout=30
    )
    assert shares.json() == [], "the forged form shared the record"


def test_the_keyboard_reaches_everything_and_focus_is_visible(
    browser: Browser, web: WebService
) -> None:
    email = person(web, "keyboard", "holder", "键盘测试有限公司", "keys@example.cn")
    with new_page(browser, locale="en-US") as (page, errors):
        page.goto(f"{web.url}/app/sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        assert page.locator(".skip-link").is_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "email"
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        )
        assert outline[0] != "none" and outline[1] >= 2, outline
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/app/records$"))
        # the navigation is reached by Tab, in order, and the language switch works by keyboard
        page.focus(".language-switch")
        page.keyboard.press("Enter")
        page.wait_for_selector("html[lang=zh-CN]")
        assert page.locator("h1").inner_text() == "我的记录"
        assert not errors, errors


def test_every_page_of_every_role_in_both_languages_passes_axe(
    browser: Browser, web: WebService
) -> None:
    accounts = {
        "holder": person(web, "axe-holder", "holder", "全检作品有限公司", "h@axe.cn"),
        "notary": person(web, "axe-notary", "notary", "全检公证处", "n@axe.cn"),
        "platform": person(web, "axe-platform", "platform", "全检平台", "p@axe.cn"),
        "admin": person(web, "axe-admin", "admin", "全检运营", "a@axe.cn"),
    }
    record_id = _submit(web, "axe-holder", b"axe record", "无障碍检查")
    pages: dict[str, list[str]] = {
        "public": [
            "/app",
            "/app/sign-in",
            "/app/registers",
            "/app/registers/credit",
            "/app/registers/pledges",
            "/app/registers/pledges?asset_type=trademark&number=%E7%AC%AC12345678%E5%8F%B7",
            "/app/registers/credit?id_type=uscc&id=91350100M000100Y43",
            "/app/no-such-page",
        ],
        "holder": [
            "/app/records",
            f"/app/records/{record_id}",
            "/app/evidence/new",
            "/app/works/new",
            "/app/trade-secrets",
        ],
        "notary": ["/app/shared"],
        "platform": ["/app/claims"],
        "admin": [
            "/app/admin",
            "/app/admin/principals",
            f"/app/principals/{web.ids['axe-holder']}",
            "/app/admin/audit",
            "/app/admin/audit?action=person.sign_in",
        ],
    }
    seen: dict[str, Any] = {}
    for locale, lang in (("zh-CN", "zh-CN"), ("en-US", "en")):
        for role, paths in pages.items():
            with new_page(browser, locale=locale) as (page, errors):
                if role != "public":
                    sign_in(page, web.url, accounts[role])
                for path in paths:
                    response = page.goto(f"{web.url}{path}")
                    assert response is not None, path
                    page.wait_for_selector("body[data-ready=true]")
                    assert page.locator("html").get_attribute("lang") == lang, path
                    seen[f"{lang} {path}"] = check_accessibility(page, f"{path} ({lang})")
                    if path == "/app" and lang == "zh-CN":
                        screenshot(page, "home")
                    if path == "/app/trade-secrets" and lang == "en":
                        screenshot(page, "trade-secrets-en")
                    if path == "/app/sign-in" and lang == "en":
                        screenshot(page, "sign-in-en")
                    if path == "/app/admin/audit" and lang == "en":
                        screenshot(page, "admin-audit-en")
                    if path == "/app/works/new" and lang == "zh-CN":
                        screenshot(page, "work-new")
                    if path == "/app/registers/pledges" and lang == "en":
                        screenshot(page, "pledges-empty-en")
                errors.console = [e for e in errors.console if "404" not in e]
                assert not errors, errors
    lesser = {key: [v["id"] for v in found] for key, found in seen.items() if found}
    print(f"\naxe: {len(seen)} pages, no serious or critical violation; lesser: {lesser}")
