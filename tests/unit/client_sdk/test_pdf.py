"""``ipnotary.sdk.pdf``: a PDF certificate verifies alone, and each way of changing one fails at
the step that names what changed.

The PDFs are made here, offline, by the service's renderer and signer from the golden version 2
certificate (``tests/assets/certificates/v2``), so that the SDK is tested against what the service
hands out; the SDK itself reads them with pypdf and checks them with cryptography alone.
``tests/integration/test_certificate_pdf.py`` reads them with poppler and zbar as well.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ipnotary.sdk.certificate import parse_certificate
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.pdf import (
    MAX_PDF_BYTES,
    PdfStep,
    check_pdf_signature,
    is_pdf,
    read_attached_certificate,
    verify_certificate_pdf,
)
from ipnotary.sdk.policy import DocumentSigner as TrustedSigner
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import Verdict
from ipnotary.service.certificates import CertificatePdf, DocumentSigner, ShareLinks
from ipnotary.service.config import Settings
from tests.conftest import REPO

V2 = REPO / "tests" / "assets" / "certificates" / "v2"


@dataclass
class Made:
    pdf: bytes
    certificate: bytes
    policy: TrustPolicy  # the golden policy, naming the PDF signer
    signer: DocumentSigner


def _trusting(policy: TrustPolicy, *certificates: x509.Certificate) -> TrustPolicy:
    signers = [
        TrustedSigner(
            name=f"signer {i}", certificate=c.public_bytes(serialization.Encoding.PEM).decode()
        )
        for i, c in enumerate(certificates)
    ]
    return policy.model_copy(update={"document_signers": signers})


def _self_signed(
    key: ec.EllipticCurvePrivateKey, *, not_before: dt.datetime, not_after: dt.datetime
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ip-notary document signer")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    settings = Settings(data_dir=tmp_path_factory.mktemp("pdf") / "data")
    renderer = CertificatePdf.for_settings(settings, origin="notary.example.cn/log")
    certificate = (V2 / "certificate.json").read_bytes()
    cert = parse_certificate(certificate)
    policy = TrustPolicy.load(V2 / "policy.json")
    pdf = renderer.render(cert, policy).data
    return Made(
        pdf, cert.to_json_bytes(), _trusting(policy, renderer.signer.certificate), renderer.signer
    )


def _signed_without_the_page(signer: DocumentSigner, attachment: bytes | None) -> bytes:
    """A small PDF/A-3b signed by ``signer``, carrying ``attachment`` as certificate.json."""
    from weasyprint import HTML, Attachment

    attachments = (
        [Attachment(string=attachment.decode(), name="certificate.json", relationship="Data")]
        if attachment is not None
        else []
    )
    pdf = HTML(string="<p>certificate</p>").write_pdf(
        pdf_variant="pdf/a-3b", attachments=attachments
    )
    return signer.sign(pdf, reason="test", location="http://127.0.0.1:8000")


def _failure(pdf: bytes, policy: TrustPolicy | None) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_certificate_pdf(pdf, policy)
    return caught.value


def test_the_pdf_alone_verifies_under_a_policy_naming_its_signer(made: Made) -> None:
    verified = verify_certificate_pdf(made.pdf, made.policy)
    assert verified.trusted and verified.certificate.verdict is Verdict.VALID
    assert verified.signature.signer_name == "signer 0"
    assert verified.signature.signer_fingerprint == made.signer.fingerprint
    assert list(verified.signature.steps) == [
        PdfStep.FORMAT, PdfStep.COVERAGE, PdfStep.SIGNATURE, PdfStep.SIGNER
    ]  # fmt: skip
    assert verified.signature.timestamp is None  # no TSA configured: the signer's own time
    assert abs(verified.signature.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=10)
    assert read_attached_certificate(made.pdf) == made.certificate
    assert is_pdf(made.pdf) and not is_pdf(made.certificate)


def test_without_a_policy_it_is_checked_but_trusted_by_nobody(made: Made) -> None:
    verified = verify_certificate_pdf(made.pdf, None)
    assert not verified.trusted and verified.certificate.verdict is Verdict.NOT_TRUSTED
    assert PdfStep.SIGNER not in verified.signature.steps
    assert any("no trust policy" in note for note in verified.signature.notes)


def test_a_policy_without_the_signer_refuses_it_by_name(made: Made) -> None:
    older = made.policy.model_copy(update={"document_signers": []})
    assert "names no PDF document signer" in _failure(made.pdf, older).reason
    stranger = _self_signed(
        ec.generate_private_key(ec.SECP256R1()),
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    failure = _failure(made.pdf, _trusting(made.policy, stranger))
    assert failure.step == PdfStep.SIGNER and made.signer.fingerprint in failure.reason


def test_a_byte_changed_inside_the_signed_range_fails_at_the_signature(made: Made) -> None:
    changed = bytearray(made.pdf)
    changed[len(changed) // 3] ^= 0x01
    failure = _failure(bytes(changed), made.policy)
    assert failure.step == PdfStep.SIGNATURE and "changed after signing" in failure.reason


def test_an_update_appended_after_signing_fails_at_coverage(made: Made) -> None:
    # A well-formed incremental update (a new object and its cross-reference section): readers
    # open it as the next revision; only the signature's coverage tells.
    pdf = made.pdf
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1].decode()
    body = f"\n{size} 0 obj\n<< /Producer (someone else) >>\nendobj\n".encode()
    appended = (
        pdf
        + body
        + (
            f"xref\n{size} 1\n{len(pdf) + 1:010d} 00000 n \ntrailer\n"
            f"<< /Size {size + 1} /Root {root} /Prev {previous} >>\n"
            f"startxref\n{len(pdf) + len(body)}\n%%EOF\n"
        ).encode()
    )
    failure = _failure(appended, made.policy)
    assert failure.step == PdfStep.COVERAGE and "changed after signing" in failure.reason


def test_byte_ranges_moved_off_the_signature_value_fail_at_coverage(made: Made) -> None:
    found = re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]\s*", made.pdf)
    assert found is not None
    a, b, c, d = (int(v) for v in found.groups())
    moved = f"/ByteRange [{a} {b - 1} {c + 1} {d - 1}]".encode()
    moved = moved.ljust(len(found.group(0)))  # same length: every offset stays where it was
    shifted = made.pdf[: found.start()] + moved + made.pdf[found.end() :]
    assert _failure(shifted, made.policy).step == PdfStep.COVERAGE


def test_what_is_not_one_signed_pdf_fails_at_format(made: Made) -> None:
    assert _failure(made.certificate, made.policy).step == PdfStep.FORMAT  # JSON, not a PDF
    assert _failure(b"%PDF-1.7\n garbage", made.policy).step == PdfStep.FORMAT
    from weasyprint import HTML

    unsigned = HTML(string="<p>x</p>").write_pdf(pdf_variant="pdf/a-3b")
    assert "no signature" in _failure(unsigned, made.policy).reason
    too_big = made.pdf + b"\0" * (MAX_PDF_BYTES + 1 - len(made.pdf))
    assert "over the limit" in _failure(too_big, made.policy).reason


def test_a_signer_outside_its_validity_is_refused(made: Made, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = _self_signed(key, not_before=past, not_after=past + dt.timedelta(days=1))
    signer = DocumentSigner(key, expired)
    pdf = _signed_without_the_page(signer, made.certificate)
    failure = _failure(pdf, _trusting(made.policy, expired))
    assert failure.step == PdfStep.SIGNER and "not at the time of signing" in failure.reason


def test_the_attachment_must_be_there_and_is_verified_on_its_own(made: Made) -> None:
    bare = _signed_without_the_page(made.signer, None)
    assert _failure(bare, made.policy).step == PdfStep.ATTACHMENT
    with pytest.raises(FormatError):
        read_attached_certificate(bare)
    # Signed by the trusted signer, yet carrying an altered certificate: the certificate's own
    # signature and leaf hash still catch it (the PDF signer cannot vouch for a record).
    altered = made.certificate.replace(b'"title":"T"', b'"title":"U"')
    assert altered != made.certificate
    failure = _failure(_signed_without_the_page(made.signer, altered), made.policy)
    assert failure.step == "leaf_hash"


def test_the_signature_alone_can_be_checked_from_a_file(made: Made, tmp_path: Path) -> None:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(made.pdf)
    assert check_pdf_signature(path, made.policy).trusted
    links = ShareLinks(b"k" * 32, "http://127.0.0.1:8000")
    assert links.opens("ev_1", links.token("ev_1")) and not links.opens("ev_2", links.token("ev_1"))
