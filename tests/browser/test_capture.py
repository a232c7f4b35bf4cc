"""Web-page capture end to end: the service captures a page of a loopback HTTPS site (test CA,
its own DNS server) in Debian's chromium, and the one anchored record verifies offline; the
package passes py-wacz's own ``wacz validate`` and warcio reads every record of its WARC.

One capture for the module (a browser start and a page load take seconds on two cores); each test
checks one thing a court would ask of it. The refused URL makes no capture at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ipnotary.sdk.capture import verify_capture
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.timestamp import read_token
from tests.browser.capture_site import CHINESE_LINE, CaptureSite, page_html
from tests.browser.conftest import find_chromium, new_page
from tests.conftest import missing_component
from tests.tsa import OpenSSLTimestampAuthority, find_openssl
from tests.unit.notary.conftest import Api, serve
from tests.unit.notary.fakes import FakeChain

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@dataclass
class Captured:
    site: CaptureSite
    api: Api
    answer: dict[str, Any]
    record: dict[str, Any]
    certificate: bytes
    wacz: Path
    policy: TrustPolicy
    seconds: float

    def member(self, name: str) -> bytes:
        with zipfile.ZipFile(self.wacz) as archive:
            return archive.read(name)

    @property
    def provenance(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.member("capture/provenance.json"))
        return value


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaptureSite]:
    with CaptureSite(tmp_path_factory.mktemp("site")) as running:
        yield running


@pytest.fixture(scope="module")
def api(site: CaptureSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    chromium = find_chromium()
    if chromium is None:
        missing_component("chromium not found (apt-get install chromium)")
    openssl = find_openssl()
    if openssl is None:
        missing_component("openssl not found: the capture's clock check needs a TSA")
    tmp = tmp_path_factory.mktemp("capture-service")
    with OpenSSLTimestampAuthority(tmp / "tsa", "ec", openssl=openssl) as tsa:
        yield from serve(
            tmp / "data",
            chain=FakeChain(),
            capture_allow=["127.0.0.1/32"],
            capture_dns_servers=[site.dns],
            capture_ca_file=site.ca_file,
            capture_chromium=chromium,
            capture_timeout_seconds=60,
            tsa_urls=[tsa.url],
            tsa_ca_file=tsa.ca_file,
        )


@pytest.fixture(scope="module")
def captured(site: CaptureSite, api: Api, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    import time

    holder = api.principal("holder", "holder")
    started = time.monotonic()
    reply = api.client.post("/v1/captures", json={"url": site.url("/start")}, headers=holder)
    seconds = time.monotonic() - started
    assert reply.status_code == 201, reply.text
    answer = reply.json()
    path = f"/v1/captures/{answer['id']}"
    view = api.wait_anchored(path, holder, timeout=60)
    assert view["status"] == "anchored", view
    certificate = api.client.get(f"{path}/certificate", headers=holder)
    assert certificate.status_code == 200, certificate.text
    content = api.client.get(f"{path}/content", headers=holder)
    assert content.status_code == 200
    wacz = tmp_path_factory.mktemp("captured") / "capture.wacz"
    wacz.write_bytes(content.content)
    policy = TrustPolicy.from_json(api.client.get("/v1/trust").content)
    return Captured(site, api, answer, view["record"], certificate.content, wacz, policy, seconds)


def test_the_capture_is_one_anchored_record_that_verifies_offline(captured: Captured) -> None:
    result = verify_capture(captured.wacz, captured.certificate, captured.policy)
    assert result.certificate.trusted and result.certificate.content_checked
    assert result.record.id == captured.answer["id"] and result.record.kind == "capture"
    assert result.steps[-4:] == ("wacz_package", "wacz_digests", "wacz_signature", "capture_files")
    names = {f.path for f in result.record.files}
    for expected in (
        "archive/data.warc.gz",
        "capture/screenshot.png",
        "capture/snapshot.pdf",
        "capture/page.mhtml",
        "capture/provenance.json",
        "capture/summary.html",
        "pages/pages.jsonl",
    ):
        assert expected in names
    assert captured.member("capture/snapshot.pdf").startswith(b"%PDF-")
    assert b"Content-Type: multipart/related" in captured.member("capture/page.mhtml")
    summary = captured.member("capture/summary.html").decode()
    assert "网页取证来源摘要" in summary and "Web capture provenance summary" in summary
    print(
        f"\ncapture took {captured.seconds:.1f} s; WACZ {captured.wacz.stat().st_size} bytes",
        file=sys.stderr,
    )


def test_wacz_validate_accepts_the_package_and_warcio_reads_every_record(
    captured: Captured,
) -> None:
    from warcio.archiveiterator import ArchiveIterator

    wacz_tool = shutil.which("wacz") or str(Path(sys.executable).parent / "wacz")
    checked = subprocess.run(
        [wacz_tool, "validate", "-f", str(captured.wacz)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Validation succeeded" in checked.stdout
    types = []
    for record in ArchiveIterator(io.BytesIO(captured.member("archive/data.warc.gz"))):
        record.content_stream().read()  # every record decodes to its end
        types.append(record.rec_type)
    assert types[0] == "warcinfo"
    assert types.count("request") == types.count("response") >= 3  # /start, /page, /logo.png


def test_the_tls_chain_is_the_one_the_server_presented(captured: Captured) -> None:
    expected = [hashlib.sha256(der).hexdigest() for der in captured.site.chain_der]
    (server,) = [s for s in captured.provenance["servers"] if s["host"] == "evidence.test"]
    assert [c["sha256"] for c in server["chain"]] == expected
    assert server["verified"] is True and server["ip"] == "127.0.0.1"
    assert captured.record["tls"][0]["chain_sha256"] == expected


def test_the_warc_holds_the_bytes_the_server_sent(captured: Captured) -> None:
    from warcio.archiveiterator import ArchiveIterator

    bodies = {}
    for record in ArchiveIterator(io.BytesIO(captured.member("archive/data.warc.gz"))):
        if record.rec_type == "response":
            uri = record.rec_headers.get_header("WARC-Target-URI")
            bodies[uri] = (record.content_stream().read(), record.rec_headers)
    for path in ("/page", "/logo.png"):
        body, headers = bodies[captured.site.url(path)]
        assert body == captured.site.sent[path]
        assert headers.get_header("WARC-IP-Address") == "127.0.0.1"


def test_redirects_dns_answers_and_blocked_requests_are_recorded(captured: Captured) -> None:
    site = captured.site
    assert captured.record["redirects"] == [
        {"from": site.url("/start"), "to": site.url("/page"), "status": 302}
    ]
    assert captured.record["final_url"] == site.url("/page")
    blocked = captured.provenance["blocked_requests"]
    internal = [b for b in blocked if b["host"] == "internal.test"]
    assert internal and "127.0.0.2 is in 127.0.0.0/8 (loopback)" in internal[0]["reason"]
    assert captured.record["blocked_requests"] == len(blocked)
    assert site.internal_connections == 0
    answers = {(a["name"], a["type"]): a for a in captured.provenance["dns"]}
    assert answers[("evidence.test", "A")]["addresses"] == ["127.0.0.1"]
    assert answers[("evidence.test", "A")]["nameserver"] == site.dns
    assert answers[("internal.test", "A")]["addresses"] == ["127.0.0.2"]


def test_the_environment_check_is_recorded(captured: Captured) -> None:
    environment = captured.provenance["environment"]
    checks = {c["name"]: c for c in environment["checks"]}
    assert set(checks) == {
        "hosts_file",
        "proxy_settings",
        "clock",
        "dns_servers",
        "browser_extensions",
        "fresh_profile",
    }
    for name in ("clock", "dns_servers", "browser_extensions", "fresh_profile"):
        assert checks[name]["passed"], checks[name]
    assert abs(checks["clock"]["offset_seconds"]) < 2
    assert captured.record["environment"]["checks"] == list(checks)
    software = captured.provenance["software"]
    assert software["browser"].startswith("Chrome/") and len(software["programs"]) >= 2
    assert all(len(p["sha256"]) == 64 for p in software["programs"])
    token = read_token(__import__("base64").b64decode(captured.record["timestamp_token"]))
    assert token.digest.hex() == captured.record["package"]["datapackage_sha256"]


def test_the_screenshot_shows_the_page_and_its_chinese_line(
    captured: Captured, browser: Browser
) -> None:
    from PIL import Image, ImageChops

    shot = Image.open(io.BytesIO(captured.member("capture/screenshot.png"))).convert("L")
    assert shot.size[0] == 1280
    html = page_html(0).decode().split("<img", 1)[0] + "</body></html>"
    with new_page(browser, viewport={"width": 1280, "height": 800}) as (page, _):
        page.set_content(html)
        boxes = {i: page.locator(f"#{i}").bounding_box() for i in ("en", "zh")}
        reference = Image.open(io.BytesIO(page.screenshot())).convert("L")
    for name, box in boxes.items():
        assert box is not None
        region = (
            int(box["x"]),
            int(box["y"]),
            int(box["x"] + box["width"]),
            int(box["y"] + box["height"]),
        )
        mine, theirs = shot.crop(region), reference.crop(region)
        dark = sum(1 for p in mine.tobytes() if p < 128)
        assert dark > 200, f"the {name} line is blank in the capture"
        diff = ImageChops.difference(mine, theirs)
        assert max(diff.tobytes()) < 64, f"the {name} line differs from a reference render"
    assert CHINESE_LINE in captured.member("capture/dom.html").decode()


def test_a_changed_package_does_not_verify(captured: Captured, tmp_path: Path) -> None:
    changed = tmp_path / "changed.wacz"
    with zipfile.ZipFile(captured.wacz) as source, zipfile.ZipFile(changed, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "capture/screenshot.png":
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.writestr(info, data)
    with pytest.raises(VerificationError) as failed:
        verify_capture(changed, captured.certificate, captured.policy)
    assert failed.value.step == "content"


def test_a_url_resolving_to_a_refused_address_makes_no_request(site: CaptureSite, api: Api) -> None:
    holder = api.principal("holder", "holder")
    for url in (
        f"https://internal.test:{site.internal_port}/",
        f"http://127.0.0.2:{site.internal_port}/",
    ):
        reply = api.client.post("/v1/captures", json={"url": url}, headers=holder)
        assert reply.status_code == 422, reply.text
        problem = reply.json()
        assert problem["code"] == "capture_refused"
        assert "127.0.0.2 is in 127.0.0.0/8 (loopback)" in problem["detail"]
    assert site.internal_connections == 0


def test_notary_verify_checks_a_capture_offline(captured: Captured, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ipnotary.sdk.cli import app

    certificate = tmp_path / "capture.cert.json"
    certificate.write_bytes(captured.certificate)
    policy = tmp_path / "policy.json"
    policy.write_bytes(captured.api.client.get("/v1/trust").content)
    result = CliRunner().invoke(
        app, ["verify", str(captured.wacz), str(certificate), "--policy", str(policy), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["valid"] and report["kind"] == "capture"
    assert report["steps"][-1] == "capture_files"
    assert report["capture"]["final_url"] == captured.site.url("/page")


def test_digital_bazaars_verifier_verifies_the_captures_credential(
    captured: Captured, tmp_path: Path
) -> None:
    from ipnotary.sdk import CredentialStatus, verify_credential
    from ipnotary.sdk.vc import CONTEXT_URL
    from tests.vc_verifier import verify_with_digital_bazaar

    holder = {"Authorization": f"Bearer {captured.api.keys['holder']}"}
    path = f"/v1/captures/{captured.answer['id']}/certificate.vc"
    reply = captured.api.client.get(path, headers=holder)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/vc"
    credential = reply.json()
    context = captured.api.client.get("/v1/credentials/contexts/v1").json()
    answer = verify_with_digital_bazaar(
        tmp_path, credential, contexts={CONTEXT_URL: context}, documents={}, expand=True
    )
    assert answer["verified"] is True, answer
    assert answer["expanded"] == {"ok": True, "nodes": 1}, answer
    assert "credentialStatus" not in credential  # a capture is never revoked
    result = verify_credential(credential, captured.policy)
    assert result.certificate.kind == "capture" and result.status is CredentialStatus.NOT_REVOCABLE
