"""The web app's pages as a browser meets them, without the browser (``tests/browser/test_web_*``
drives Chromium): the headers, who reaches which page, CSRF, ``next``, the language, uploads as
plain forms, and escaping."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from ipnotary.service.api.web.auth import safe_next
from ipnotary.service.services import accounts
from ipnotary.service.services.principals import Actor
from ipnotary.service.storage.models import AuditEvent, Record
from tests.unit.notary.conftest import Api

PASSWORD = "a long enough pass phrase"


@dataclass
class Browser:
    """A client with its own cookies, signed in as one person."""

    client: TestClient
    principal_id: str

    def token(self, path: str = "/app") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text) or re.search(
            r'name="csrf_token" value="([^"]+)"', page.text
        )
        assert found, page.text[:500]
        return found.group(1)


def person(api: Api, label: str, role: str, **client: Any) -> Browser:
    """A person of principal ``label`` (made on first use), signed in through the pages."""
    api.principal(label, role, name=f"{label} 有限公司")
    with Session(api.runtime.engine) as s:
        issued = accounts.invite_person(
            s,
            principal_id=api.ids[label],
            email=f"{label}@example.com",
            name="张伟",
            actor=Actor.operator(),
        )
        accounts.accept_invitation(s, token=issued.token, password=PASSWORD)
    browser = TestClient(api.client.app, **client)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/app/sign-in").text)
    assert csrf
    answer = browser.post(
        "/app/sign-in",
        data={"csrf_token": csrf.group(1), "email": f"{label}@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    return Browser(browser, api.ids[label])


def upload(browser: Browser, content: bytes, title: str) -> str:
    answer = browser.client.post(
        "/app/evidence",
        data={"csrf_token": browser.token("/app/evidence/new"), "title": title},
        files={"file": ("evidence.bin", content)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    location = answer.headers["location"]
    assert location.startswith("/app/records/ev_")
    return location


@pytest.fixture(scope="module")
def holder(api: Api) -> Browser:
    return person(api, "web-holder", "holder")


def test_every_page_is_sent_with_a_strict_policy_and_no_inline_script(
    api: Api, holder: Browser
) -> None:
    record = upload(holder, b"policy check", "csp")
    pages = [
        "/app/sign-in",
        "/app/registers/credit",
        "/app/registers/pledges",
        "/app/records",
        "/app/evidence/new",
        "/app/works/new",
        "/app/trade-secrets",
        record,
        "/app/no-such-page",
    ]
    for path in pages:
        answer = holder.client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        html = answer.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline script
        assert not re.search(r"\son[a-z]+=", html), path  # no inline handlers
        assert " style=" not in html, path  # no inline style (the policy would block it)
        # nothing from another host: every script, style and image is this service's own
        for src in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html):
            assert src.startswith(("/", "data:")), (path, src)


def test_a_signed_out_visitor_reaches_no_private_page(api: Api, holder: Browser) -> None:
    record = upload(holder, b"private", "private")
    visitor = TestClient(api.client.app)
    for path in [
        "/app/records",
        record,
        f"{record}/certificate.pdf",
        f"{record}/certificate.json",
        "/app/evidence/new",
        "/app/shared",
        "/app/claims",
        "/app/admin",
        "/app/admin/audit",
        f"/app/principals/{holder.principal_id}",
    ]:
        answer = visitor.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/app/sign-in?next=/app/"), path
    progress = visitor.get(f"{record}/progress", headers={"Accept": "application/json"})
    assert progress.status_code == 401 and progress.json()["code"] == "sign_in_needed"


def test_a_holder_cannot_see_another_holders_records(api: Api, holder: Browser) -> None:
    record = upload(holder, b"mine alone", "mine")
    other = person(api, "web-other-holder", "holder")
    for path in [record, f"{record}/progress", f"{record}/certificate.json"]:
        answer = other.client.get(path)
        assert answer.status_code == 404, path
        assert "mine alone" not in answer.text
    assert record.rsplit("/", 1)[1] not in other.client.get("/app/records").text


def test_a_form_without_its_csrf_token_changes_nothing(api: Api, holder: Browser) -> None:
    record = upload(holder, b"to share", "share me")
    notary = api.principal("web-notary-office", "notary")
    del notary
    share = f"{record}/share"
    target = {"recipient_id": api.ids["web-notary-office"]}
    for data, headers in [
        (target, {}),  # no token
        ({**target, "csrf_token": "forged" * 8}, {}),  # a wrong one
        ({**target, "csrf_token": holder.token()}, {"Origin": "https://evil.example"}),
        ({**target, "csrf_token": holder.token()}, {"Origin": "null"}),  # a sandboxed frame
    ]:
        refused = holder.client.post(share, data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, refused.text[:300]
        assert "csrf_refused" in refused.text
    with Session(api.runtime.engine) as s:
        from ipnotary.service.storage.workflows import RecordAccess

        assert s.exec(select(RecordAccess).where(RecordAccess.purpose == "shared")).all() == []
    # the same form with its token works
    done = holder.client.post(
        share, data={**target, "csrf_token": holder.token()}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=shared")
    # a streamed upload without its token is refused and stores nothing
    with Session(api.runtime.engine) as s:
        before = len(s.exec(select(Record.id)).all())
    forged = holder.client.post(
        "/app/evidence", files={"file": ("x.bin", b"forged upload")}, follow_redirects=False
    )
    assert forged.status_code == 403
    with Session(api.runtime.engine) as s:
        assert len(s.exec(select(Record.id)).all()) == before
    # sign-out is a form too
    assert holder.client.post("/app/sign-out", follow_redirects=False).status_code == 403


@pytest.mark.parametrize(
    "hostile",
    [
        "//evil.example/app",
        "https://evil.example/app",
        "/\\evil.example",
        "/app\\..\\x",
        "javascript:alert(1)",
        "/app/../../etc",
        "\t/app",
        "/application",
        "/verify",
        "app/records",
        "/app/records\r\nSet-Cookie: x=1",
    ],
)
def test_next_leads_only_to_our_own_pages(hostile: str) -> None:
    assert safe_next(hostile) == "/app"
    assert safe_next("/app/records?before=10") == "/app/records?before=10"


def test_next_after_sign_in_and_the_language_switch_stay_on_this_site(api: Api) -> None:
    browser = TestClient(api.client.app)
    switched = browser.get("/app/language?to=en&next=//evil.example/x", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/app"
    assert "ipn_lang=en" in switched.headers["set-cookie"]
    assert "Sign in" in browser.get("/app/sign-in").text


def test_the_language_follows_the_browser_until_the_visitor_chooses(api: Api) -> None:
    visitor = TestClient(api.client.app)
    english = visitor.get("/app/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text and ">Sign in<" in english.text
    chinese = visitor.get("/app/sign-in", headers={"Accept-Language": "zh-TW,en;q=0.5"})
    assert '<html lang="zh-CN">' in chinese.text and "登录" in chinese.text
    fallback = visitor.get("/app/sign-in", headers={"Accept-Language": "fr"})
    assert '<html lang="zh-CN">' in fallback.text
    visitor.get("/app/language?to=en&next=/app/sign-in")
    chosen = visitor.get("/app/sign-in", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in chosen.text


def test_the_service_refusal_reads_in_the_readers_language_with_the_apis_status(
    api: Api, holder: Browser
) -> None:
    english = holder.client.get("/app/admin", headers={"Accept-Language": "en"})
    chinese = holder.client.get("/app/admin", headers={"Accept-Language": "zh-CN"})
    assert english.status_code == chinese.status_code == 403
    assert "role does not include this page" in english.text
    assert "您所在机构的角色无权使用此页面" in chinese.text


def test_an_upload_is_escaped_where_it_is_shown_and_never_served_as_a_page(
    api: Api, holder: Browser
) -> None:
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    record = upload(holder, b"<html><script>alert(1)</script></html>", title)
    page = holder.client.get(record).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    # the pages never serve the stored bytes; its certificate is a download, not a document
    wait_certified(holder, record)
    download = holder.client.get(f"{record}/certificate.json")
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"].startswith("application/json")


def wait_certified(browser: Browser, record: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        progress: dict[str, Any] = browser.client.get(f"{record}/progress").json()
        if progress["certified"] or time.monotonic() > deadline:
            return progress
        time.sleep(0.05)


def test_a_plain_form_upload_goes_from_received_to_certified(api: Api, holder: Browser) -> None:
    record = upload(holder, b"no javascript at all", "plain form")
    progress = wait_certified(holder, record)
    assert progress["certified"] and progress["current"] == "certified"
    assert all(stage["done"] and stage["at"] for stage in progress["stages"].values())
    pdf = holder.client.get(f"{record}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    vc = holder.client.get(f"{record}/certificate.vc")
    assert vc.status_code == 200 and b"VerifiableCredential" in vc.content
    page = holder.client.get(record, headers={"Accept-Language": "en"}).text
    assert "/verify?certificate=" in page


def test_a_work_is_registered_from_the_form(api: Api, holder: Browser) -> None:
    answer = holder.client.post(
        "/app/works",
        data={
            "csrf_token": holder.token("/app/works/new"),
            "title": "月光",
            "work_type": "photographic",
            "authors": "李明 / 明月\n王芳",
            "owner_name": "Acme 工作室",
            "owner_id_type": "uscc",
            "owner_id": "91350100M000100Y43",
            "completed_on": "2026-01-02",
        },
        files={"file": ("moonlight.jpg", b"\xff\xd8 a photograph")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    page = holder.client.get(answer.headers["location"]).text
    assert "月光" in page and "明月" in page and "摄影作品" in page
    bad = holder.client.post(
        "/app/works",
        data={"csrf_token": holder.token(), "title": "x", "work_type": "photographic"},
        files={"file": ("x.jpg", b"x")},
        headers={"Accept": "application/json", "Accept-Language": "en"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_sessions_use_host_only_secure_cookies_over_https(api: Api) -> None:
    https = TestClient(api.client.app, base_url="https://testserver")
    page = https.get("/app/sign-in")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-ipn_csrf=") and "Secure" in cookie and "HttpOnly" in cookie
    api.principal("web-https", "holder")
    with Session(api.runtime.engine) as s:
        issued = accounts.invite_person(
            s,
            principal_id=api.ids["web-https"],
            email="https@example.com",
            name="赵六",
            actor=Actor.operator(),
        )
        accounts.accept_invitation(s, token=issued.token, password=PASSWORD)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    signed = https.post(
        "/app/sign-in",
        data={"csrf_token": token.group(1), "email": "https@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    session_cookie = signed.headers["set-cookie"]
    assert session_cookie.startswith("__Host-ipn_session=")
    for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=lax"):
        assert flag in session_cookie
    assert "Domain=" not in session_cookie and "Max-Age" not in session_cookie


def test_wrong_roles_are_refused_as_the_api_refuses_them(api: Api, holder: Browser) -> None:
    platform = person(api, "web-platform", "platform")
    assert platform.client.get("/app/works/new").status_code == 403  # holders register works
    assert holder.client.get("/app/claims").status_code == 403
    assert holder.client.get("/app/shared").status_code == 403
    assert holder.client.get(f"/app/principals/{holder.principal_id}").status_code == 403


def test_an_admin_invites_from_the_page_and_the_log_records_it(api: Api) -> None:
    admin = person(api, "web-admin", "admin")
    api.principal("web-new-office", "notary", name="杭州市公证处")
    office = api.ids["web-new-office"]
    answer = admin.client.post(
        f"/app/principals/{office}/persons",
        data={"csrf_token": admin.token(), "name": "陈静", "email": "chen@notary.example"},
    )
    assert answer.status_code == 201
    link = re.search(r'value="(http[^"]+/app/invitations/[^"]+)"', answer.text)
    assert link
    path = httpx.URL(link.group(1)).path
    newcomer = TestClient(api.client.app)
    form = newcomer.get(path)
    assert form.status_code == 200 and "陈静" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    set_password = newcomer.post(
        path,
        data={"csrf_token": token.group(1), "password": PASSWORD, "password_again": PASSWORD},
        follow_redirects=False,
    )
    assert set_password.status_code == 303
    assert newcomer.get(path).status_code == 404  # used once
    audit = admin.client.get("/app/admin/audit?action=person.invite").text
    assert "chen@notary.example" in audit
    with Session(api.runtime.engine) as s:
        acts = s.exec(
            select(AuditEvent.actor).where(
                AuditEvent.action == "person.invite",
                col(AuditEvent.detail).contains("chen@notary.example"),
            )
        ).all()
    assert acts and "web-admin@example.com" in acts[0]


def test_the_api_invites_the_first_administrator(api: Api) -> None:
    headers = api.principal("web-operator", "admin")
    answer = api.client.post(
        "/v1/persons/invitations",
        json={"principal_id": api.ids["web-operator"], "email": "ops@example.com", "name": "运维"},
        headers=headers,
    )
    assert answer.status_code == 201
    assert "/app/invitations/" in answer.json()["invitation_url"]
    holder_key = api.principal("web-api-holder", "holder")
    refused = api.client.post(
        "/v1/persons/invitations",
        json={"principal_id": api.ids["web-api-holder"], "email": "x@example.com", "name": "x"},
        headers=holder_key,
    )
    assert refused.status_code == 403
