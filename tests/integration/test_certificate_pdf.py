"""The PDF certificate read back as a person's tools read it, never through our own renderer.

One deployment for the module: the service as a process, one ``notary witness`` (another party's
process) and an ``openssl ts`` TSA, so that the page has witnesses, tokens and a signature time to
show. A holder preserves a file with a Chinese title and registers a work; each PDF is fetched
once. Then poppler's ``pdftotext`` reads the page in both languages, ``pdftoppm`` and zbar's
``zbarimg`` decode the QR code (which opens the shared certificate, without an API key),
``pdfdetach`` extracts the attached certificate (which verifies), poppler's ``pdfsig`` accepts the
signature and refuses the file changed after signing, ``pdfinfo`` shows the PDF/A-3b claim, and
the SDK verifies the PDF alone, and says which step fails when it does not.

Without poppler or zbar the tests skip (and fail under ``CI=true``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ipnotary.sdk import NotaryClient, RecordKind, TrustPolicy, Verdict, verify_certificate
from ipnotary.sdk.certificate import parse_certificate
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.pdf import PdfStep, read_attached_certificate, verify_certificate_pdf
from ipnotary.sdk.policy import DocumentSigner, TimestampAuthority
from tests.conftest import missing_component
from tests.integration.conftest import record_measurement
from tests.integration.service_process import ServiceProcess
from tests.integration.torchwood import NotaryWitness
from tests.integration.witnessed import Deployment, court_policy, log_identity
from tests.tsa import OpenSSLTimestampAuthority, require_openssl

TITLE = "外观设计 最终稿"  # "industrial design, final draft"
AUTHOR = "李华"


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_component(f"{name} (Debian package {package}) reads the PDF as a person would")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@dataclass
class Fetched:
    record_id: str
    kind: RecordKind
    pdf: bytes
    path: Path
    certificate: bytes  # the JSON certificate from /certificate, with the holder's key
    headers: httpx.Headers  # the PDF's
    json_headers: httpx.Headers  # the JSON certificate's


@dataclass
class Setup:
    service: ServiceProcess
    policy: TrustPolicy  # the court's: witness and TSA from them, the rest from the operator
    evidence: Fetched
    work: Fetched
    workdir: Path
    key: str  # the holder's
    design: Path  # the file the evidence preserves


def fetch(client: NotaryClient, record_id: str, kind: RecordKind, workdir: Path) -> Fetched:
    client.wait_anchored(record_id, kind=kind, timeout=90, poll=0.2)
    as_json = client._request("GET", f"{kind.record_path(record_id)}/certificate")
    started = time.perf_counter()
    response = client._request("GET", f"{kind.record_path(record_id)}/certificate.pdf")
    elapsed = time.perf_counter() - started
    record_measurement(
        f"PDF certificate of a {kind.value}: {len(response.content) / 1024:.0f} KiB, "
        f"{elapsed * 1000:.0f} ms to render, sign and time-stamp"
    )
    path = workdir / f"{record_id}.pdf"
    path.write_bytes(response.content)
    return Fetched(
        record_id, kind, response.content, path, as_json.content, response.headers, as_json.headers
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    for name, package in (
        ("pdftotext", "poppler-utils"),
        ("pdfsig", "poppler-utils"),
        ("zbarimg", "zbar-tools"),
    ):
        tool(name, package)
    root = tmp_path_factory.mktemp("pdf")
    data_dir = root / "service"
    origin, log_vkey = log_identity(data_dir)
    tsa = OpenSSLTimestampAuthority(root / "tsa", "ec", openssl=require_openssl())
    witness = NotaryWitness.create(root / "witness", name="notary-office.test/witness")
    deployment = Deployment(data_dir, [witness], quorum=1, tsa=tsa)
    try:
        witness.add_log(origin, log_vkey)
        service = deployment.start()
        key = service.create_principal("Acme Studio", "holder")
        served = httpx.get(f"{service.url}/v1/trust", timeout=10).json()
        policy = court_policy(
            origin=origin,
            log_vkey=log_vkey,
            issuer_public_key=served["issuers"][0]["public_key"],
            witnesses=[witness],
            quorum=1,
            tsa=tsa,
            # The PDF signer's certificate, compared out of band like the issuer key.
            document_signers=[DocumentSigner.model_validate(served["document_signers"][0])],
        )
        design = root / "design.svg"
        design.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='9'/></svg>\n")
        with NotaryClient(service.url, key) as client:
            evidence = client.submit_file(design, metadata={"title": TITLE, "tags": ["外观"]})
            work = client.register_work(
                b"a painting, as a PNG would be" * 50,
                {
                    "title": "江上月色 Moonlight over the river",
                    "work_type": "fine_art",
                    "authors": [{"name": AUTHOR}, {"name": "Anna Berg", "pen_name": "A.B."}],
                    "copyright_owner": {
                        "name": "Acme",
                        "id_type": "uscc",
                        "id": "91350100M000100Y43",
                    },
                    "completed_on": "2025-03-01",
                },
            )
            yield Setup(
                service=service,
                policy=policy,
                evidence=fetch(client, evidence.id, RecordKind.evidence, root),
                work=fetch(client, work.id, RecordKind.work, root),
                workdir=root,
                key=key,
                design=design,
            )
    finally:
        deployment.stop()
        witness.close()
        tsa.close()


def page_text(path: Path) -> str:
    done = run(tool("pdftotext", "poppler-utils"), "-layout", str(path), "-")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_page_reads_in_chinese_and_english_with_what_the_certificate_proves(
    setup: Setup,
) -> None:
    text = page_text(setup.evidence.path)
    lines = [line.strip() for line in text.splitlines()]
    assert "电子数据存证证书" in lines  # the title, a Chinese line
    assert "Certificate of evidence preservation" in lines  # and its English line
    cert = parse_certificate(setup.evidence.certificate)
    record = cert.record
    for shown in (
        TITLE,
        record["id"],
        "Acme Studio",  # the holder
        record["content"]["sha256"],
        record["content"]["sm3"],
        record["content"]["cid"],
        record["content"]["cid_v1"],
        "notary-office.test/witness",  # the witness that cosigned
        "Test TSA (ec)",  # the TSA that stamped
        cert.anchor.tx_hash,
        cert.anchor.contract,
        cert.issuer.key_id,
    ):
        assert shown in text.replace("\n", " "), shown
    # The proven time is the earliest trusted source's, as our verifier finds it.
    result = verify_certificate(cert, setup.policy)
    assert result.proven_time.strftime("%Y-%m-%d %H:%M:%S UTC") in text
    fonts = run(tool("pdffonts", "poppler-utils"), str(setup.evidence.path)).stdout
    assert re.search(r"Noto-Sans-CJK-SC\s.*\byes\b", fonts), fonts  # embedded, not boxes


def test_a_work_shows_its_authors_and_owner(setup: Setup) -> None:
    text = page_text(setup.work.path)
    assert "作品登记证书" in text and "Certificate of copyright work registration" in text
    assert AUTHOR in text and "Anna Berg (笔名 pen name: A.B.)" in text
    assert "江上月色 Moonlight over the river" in text and "Acme" in text


def test_every_kind_serves_its_certificate_as_pdf(setup: Setup) -> None:
    paths = httpx.get(f"{setup.service.url}/openapi.json", timeout=10).json()["paths"]
    for kind in RecordKind:
        operation = paths[f"{kind.api_path}/{{record_id}}/certificate.pdf"]["get"]
        assert "application/pdf" in operation["responses"]["200"]["content"], kind


def test_the_qr_code_opens_the_shared_certificate_without_a_key(setup: Setup) -> None:
    png = setup.workdir / "page"
    done = run(
        tool("pdftoppm", "poppler-utils"),
        "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
        str(setup.evidence.path), str(png),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    decoded = run(tool("zbarimg", "zbar-tools"), "--quiet", "--raw", f"{png}.png")
    assert decoded.returncode == 0, decoded.stderr
    link = decoded.stdout.strip()
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == setup.service.url  # NOTARY_PUBLIC_URL's default
    assert parts.path == "/verify"
    shared = parse_qs(parts.query)["certificate"][0]
    # The same link the certificate routes give the holder, and the one printed under the code.
    assert shared == setup.evidence.headers["x-shared-certificate-url"]
    assert shared in page_text(setup.evidence.path).replace("\n", "")
    assert urlsplit(shared).path == f"/v1/shared/certificates/{setup.evidence.record_id}"

    anyone = httpx.get(shared, timeout=30)  # no API key
    assert anyone.status_code == 200
    assert anyone.headers["content-type"].startswith("application/vnd.ipnotary.certificate+json")
    assert anyone.content == setup.evidence.certificate
    as_pdf = httpx.get(shared + "&format=pdf", timeout=60)
    assert as_pdf.status_code == 200 and as_pdf.content.startswith(b"%PDF-")
    assert read_attached_certificate(as_pdf.content) == setup.evidence.certificate

    # The token opens that one certificate: not another record's, and not with a changed token.
    token = parse_qs(urlsplit(shared).query)["token"][0]
    other = f"{setup.service.url}/v1/shared/certificates/{setup.work.record_id}"
    wrong = httpx.get(other, params={"token": token}, timeout=10)
    forged = httpx.get(shared.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")))
    unknown = httpx.get(
        f"{setup.service.url}/v1/shared/certificates/ev_{'0' * 32}", params={"token": token}
    )
    for refused in (wrong, forged, unknown):
        assert refused.status_code == 404
        assert refused.json()["code"] == "not_shared"
    assert wrong.json()["detail"] == unknown.json()["detail"]  # nothing to tell them apart


def test_the_attachment_is_the_certificate_and_verifies(setup: Setup) -> None:
    pdfdetach = tool("pdfdetach", "poppler-utils")
    listing = run(pdfdetach, "-list", str(setup.evidence.path)).stdout
    assert "1 embedded files" in listing and "certificate.json" in listing
    saved = setup.workdir / "attached.json"
    done = run(pdfdetach, "-save", "1", "-o", str(saved), str(setup.evidence.path))
    assert done.returncode == 0, done.stderr
    assert saved.read_bytes() == setup.evidence.certificate
    result = verify_certificate(saved.read_bytes(), setup.policy)
    assert result.verdict is Verdict.VALID and result.record_id == setup.evidence.record_id


def test_pdfsig_accepts_the_signature(setup: Setup) -> None:
    report = run(tool("pdfsig", "poppler-utils"), "-nocert", str(setup.evidence.path)).stdout
    assert report.count("Signature #") == 1
    assert "Signer Certificate Common Name: ip-notary document signer" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report
    assert "Signature Validation: Signature is Valid." in report


def _appended_update(pdf: bytes) -> bytes:
    """An unsigned incremental update: a new object and a cross-reference section for it."""
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    body = f"\n{size} 0 obj\n<< /Producer (someone else) >>\nendobj\n".encode()
    xref = len(pdf) + len(body)
    tail = (
        f"xref\n{size} 1\n{len(pdf) + 1:010d} 00000 n \ntrailer\n"
        f"<< /Size {size + 1} /Root {root.decode()} /Info {size} 0 R /Prev {previous} >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return pdf + body + tail


def _flipped(pdf: bytes) -> bytes:
    """One bit changed inside the first signed range, in the page's content."""
    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01
    return bytes(changed)


def test_pdfsig_and_the_sdk_refuse_a_pdf_changed_after_signing(setup: Setup) -> None:
    pdfsig = tool("pdfsig", "poppler-utils")
    for name, changed, poppler_says, step in (
        ("flipped", _flipped(setup.evidence.pdf), "Digest Mismatch", PdfStep.SIGNATURE),
        ("appended", _appended_update(setup.evidence.pdf), "Not total document signed",
         PdfStep.COVERAGE),
    ):  # fmt: skip
        path = setup.workdir / f"{name}.pdf"
        path.write_bytes(changed)
        report = run(pdfsig, "-nocert", str(path)).stdout
        assert poppler_says in report, (name, report)
        with pytest.raises(VerificationError) as caught:
            verify_certificate_pdf(changed, setup.policy)
        assert caught.value.step == step, (name, caught.value)
    # The appended update reads as a valid PDF to poppler: only the signature tells.
    assert (
        run(tool("pdfinfo", "poppler-utils"), str(setup.workdir / "appended.pdf")).returncode == 0
    )


def test_the_file_claims_pdf_a_3b(setup: Setup) -> None:
    pdfinfo = tool("pdfinfo", "poppler-utils")
    info = run(pdfinfo, str(setup.evidence.path)).stdout
    assert re.search(r"PDF version:\s+1\.7", info), info  # PDF/A-3 is PDF 1.7
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    xmp = run(pdfinfo, "-meta", str(setup.evidence.path)).stdout
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)


def test_the_sdk_verifies_the_pdf_alone(setup: Setup) -> None:
    verified = verify_certificate_pdf(setup.evidence.path, setup.policy)
    assert verified.trusted and verified.certificate.verdict is Verdict.VALID
    assert verified.certificate.record_id == setup.evidence.record_id
    signature = verified.signature
    assert signature.signer_name == setup.policy.document_signers[0].name
    # Time-stamped by the policy's TSA, at the moment the service answered.
    assert signature.timestamp is not None and signature.timestamp_authority is not None
    assert abs((signature.timestamp - signature.signed_at).total_seconds()) < 60
    assert list(signature.steps) == [
        PdfStep.FORMAT, PdfStep.COVERAGE, PdfStep.SIGNATURE, PdfStep.TIMESTAMP, PdfStep.SIGNER
    ]  # fmt: skip
    # Under a policy that trusts another PDF signer, the signature is refused by name.
    stranger = DocumentSigner(name="someone else", certificate=_other_pem())
    with pytest.raises(VerificationError) as caught:
        verify_certificate_pdf(
            setup.evidence.pdf, setup.policy.model_copy(update={"document_signers": [stranger]})
        )
    assert caught.value.step == PdfStep.SIGNER


def _other_pem() -> str:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ip-notary document signer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_holder_gets_the_shared_link_with_every_certificate(setup: Setup) -> None:
    for fetched in (setup.evidence, setup.work):
        assert fetched.headers["content-type"] == "application/pdf"
        for headers in (fetched.headers, fetched.json_headers):
            link = headers["x-shared-certificate-url"]
            shared = json.loads(httpx.get(link, timeout=30).content)
            assert shared["record"]["id"] == fetched.record_id


NOTARY_CLI = (sys.executable, "-c", "from ipnotary.sdk.cli import main; main()")


def notary(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env.update({"NOTARY_URL": setup.service.url, "NOTARY_API_KEY": setup.key})
    return subprocess.run(
        [*NOTARY_CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_cli_downloads_the_pdf_and_verifies_it_alone(setup: Setup) -> None:
    saved = setup.workdir / "from-cli.pdf"
    done = notary(setup, "certificate", setup.evidence.record_id, "--pdf", "-o", str(saved))
    assert done.returncode == 0, done.stderr
    assert "anyone with this link can open it" in done.stderr
    assert read_attached_certificate(saved.read_bytes()) == setup.evidence.certificate
    policy = setup.workdir / "court-policy.json"
    policy.write_bytes(setup.policy.to_json_bytes())

    checked = notary(setup, "verify", str(setup.design), str(saved), "--policy", str(policy))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "VALID" in checked.stdout and "pdf signed by" in checked.stdout
    report = json.loads(
        notary(setup, "verify", str(saved), "--policy", str(policy), "--json").stdout
    )
    assert report["valid"] and report["pdf"]["signer_trusted"]
    assert report["pdf"]["timestamp"] is not None
    assert report["record_id"] == setup.evidence.record_id

    # No policy: self-consistent, trusted by nobody (exit 4); changed after signing: INVALID (1).
    assert notary(setup, "verify", str(saved)).returncode == 4
    changed = setup.workdir / "changed.pdf"
    changed.write_bytes(_appended_update(saved.read_bytes()))
    refused = notary(setup, "verify", str(changed), "--policy", str(policy), "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["failed_step"] == "pdf_coverage"


def test_a_time_stamp_from_a_tsa_the_policy_does_not_trust_is_noted_not_counted(
    setup: Setup,
) -> None:
    elsewhere = TimestampAuthority(name="another TSA", certificates=[_other_pem()])
    # Without the service's TSA the certificate's own tokens do not count either: the witness
    # quorum still proves its time.
    policy = setup.policy.model_copy(update={"timestamp_authorities": [elsewhere]})
    verified = verify_certificate_pdf(setup.evidence.pdf, policy)
    assert verified.signature.timestamp is None
    assert PdfStep.TIMESTAMP not in verified.signature.steps
    assert any("not from a TSA the policy trusts" in n for n in verified.signature.notes)
