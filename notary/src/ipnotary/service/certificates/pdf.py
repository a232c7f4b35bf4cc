"""The printable certificate: one record's JSON certificate as a bilingual A4 PDF/A-3b page, with
the JSON attached, a QR code to the verification page, and the issuer's PAdES signature.

Start at :meth:`CertificatePdf.render`. It

1. checks the certificate under the service's own published policy (``verify_certificate``) and
   builds a :class:`CertificateView` from it: the record, the digests, the proven time and its
   sources, the witnesses that cosigned, the TSA tokens, the chain anchor, the issuer;
2. renders ``templates/certificate.html.j2`` (Jinja2, autoescaped: every value comes from a record
   someone wrote) and turns it into PDF/A-3b with WeasyPrint, Noto CJK embedded, the certificate
   attached as ``certificate.json`` (AFRelationship ``Data``) so that the PDF alone is enough;
3. signs it (``document_signer``), time-stamped where TSAs are configured.

What the page shows is a presentation; the attached certificate is the evidence, and
``ipnotary.sdk.pdf`` verifies both the attachment and the signature without the service.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import jinja2

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.certificate import AnyCertificate, Certificate, parse_time
from ipnotary.sdk.note import parse_note
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.timestamp import read_token
from ipnotary.sdk.verify import TimeSource, VerificationResult, verify_certificate
from ipnotary.service.adapters.keys import KEY_MISSING
from ipnotary.service.certificates.document_signer import DocumentSigner
from ipnotary.service.certificates.sharing import ShareLinks
from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError

__all__ = ["ATTACHMENT_NAME", "CertificatePdf", "CertificateView", "RenderedPdf", "Row"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

ATTACHMENT_NAME = "certificate.json"
BEIJING = timezone(timedelta(hours=8), "CST")
# A record field longer than this is cut on the page (the attachment keeps it whole).
MAX_SHOWN_CHARS = 400

KIND_NAMES: Mapping[str, tuple[str, str]] = {
    "evidence": ("电子数据存证", "evidence preservation"),
    "work": ("作品登记", "copyright work registration"),
    "trade_secret": ("商业秘密存证", "a trade-secret filing"),
    "disclosure": ("商业秘密披露", "a trade-secret disclosure"),
    "credit_entry": ("信用记录", "a credit record"),
    "credit_repair": ("信用修复", "a credit repair"),
    "pledge_event": ("知识产权质押登记", "an IP pledge registration"),
}

TIME_SOURCES: Mapping[TimeSource, tuple[str, str]] = {
    TimeSource.WITNESSES: ("见证人法定多数联署", "cosigned by the witness quorum"),
    TimeSource.TIMESTAMP_AUTHORITY: ("可信时间戳机构", "an RFC 3161 time-stamp authority"),
    TimeSource.CHAIN: ("受信区块链的区块时间", "the block time of a trusted chain"),
    # Chinese text keeps its own punctuation (full-width), here and below.
    TimeSource.OPERATOR: ("仅运营方（无独立来源）", "the operator alone (no independent source)"),  # noqa: RUF001
}


@dataclass(frozen=True)
class Row:
    zh: str
    en: str
    value: str
    mono: bool = False
    note: str = ""


@dataclass(frozen=True)
class Names:
    zh: str
    en: str


@dataclass(frozen=True)
class Moment:
    utc: str
    beijing: str

    @classmethod
    def of(cls, moment: datetime) -> Moment:
        return cls(
            utc=moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            beijing=moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        )

    def __str__(self) -> str:
        return f"{self.utc} (北京时间 {self.beijing})"


@dataclass(frozen=True)
class Evidence:
    zh: str
    en: str
    time: str
    detail: str


@dataclass(frozen=True)
class Cosigner:
    name: str
    time: str


@dataclass(frozen=True)
class Token:
    authority: str
    time: str


@dataclass(frozen=True)
class CertificateView:
    """Everything the page shows, as text (the template only lays it out)."""

    record_id: str
    kind: Names
    issuer_name: str
    record_rows: list[Row]
    digest_rows: list[Row]
    proven_time: Moment
    time_source: Names
    time_evidence: list[Evidence]
    witnesses: list[Cosigner]
    timestamps: list[Token]
    anchor_rows: list[Row]
    issuer_rows: list[Row]
    notice: str | None
    certificate_url: str
    verification_url: str
    qr_data_uri: str


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    render_seconds: float  # HTML to PDF/A (WeasyPrint)
    sign_seconds: float  # PAdES signature, with the TSA's round trip where one is configured
    timings: dict[str, float] = field(default_factory=dict)


class CertificatePdf:
    """Renders and signs PDF certificates; one at a time (WeasyPrint and its fonts are not shared
    between threads safely, and on two cores a second render would only wait for the first).

    A production process whose key files predate PDFs runs without a signer or a share secret
    (``missing`` says which file): everything else serves, and PDFs and shared links answer that
    ``notary deploy`` creates them, rather than the process refusing to start after an upgrade.
    """

    def __init__(
        self,
        *,
        signer: DocumentSigner | None,
        links: ShareLinks | None,
        issuer_name: str,
        timestamp_urls: Sequence[str] = (),
        tsa_timeout_seconds: float = 10.0,
        missing: str = "",
    ) -> None:
        self._signer = signer
        self._links = links
        self.missing = missing
        self.issuer_name = issuer_name
        self._tsa_urls = tuple(timestamp_urls)
        self._tsa_timeout = tsa_timeout_seconds
        self._lock = threading.Lock()
        self._templates = jinja2.Environment(
            loader=jinja2.PackageLoader("ipnotary.service.certificates", "templates"),
            autoescape=True,  # every value is someone's text: never markup
            undefined=jinja2.StrictUndefined,  # a misspelt field fails here, not on paper
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        origin: str,
        issuer_name: str = "ip-notary",
        create: bool = True,
    ) -> CertificatePdf:
        """This deployment's renderer. Loads the document-signing key and certificate and the
        share secret, creating them where keys are created (``create``; never in production)."""
        problems: list[str] = []
        signer = _unless_missing(
            lambda: DocumentSigner.load(settings, name=issuer_name, origin=origin, create=create),
            problems,
        )
        links = _unless_missing(
            lambda: ShareLinks.load(settings, settings.resolved_public_url, create=create),
            problems,
        )
        return cls(
            signer=signer,
            links=links,
            issuer_name=issuer_name,
            timestamp_urls=settings.tsa_urls,
            tsa_timeout_seconds=settings.tsa_timeout_seconds,
            missing="; ".join(problems),
        )

    @property
    def signer(self) -> DocumentSigner:
        if self._signer is None:
            raise ConfigurationError(self.missing, code="pdf_keys_missing")
        return self._signer

    @property
    def links(self) -> ShareLinks:
        if self._links is None:
            raise ConfigurationError(self.missing, code="pdf_keys_missing")
        return self._links

    def shared_url(self, record_id: str) -> str | None:
        """The record's shared link, or None while this process has no share secret."""
        return self._links.certificate_url(record_id) if self._links is not None else None

    def view(self, cert: AnyCertificate, policy: TrustPolicy | None) -> CertificateView:
        result = verify_certificate(cert, policy)
        return build_view(
            cert,
            result,
            policy=policy,
            issuer_name=self.issuer_name,
            links=self.links,
            signer=self.signer,
        )

    def html(self, view: CertificateView) -> str:
        return self._templates.get_template("certificate.html.j2").render(view=view)

    def render(self, cert: AnyCertificate, policy: TrustPolicy | None) -> RenderedPdf:
        from weasyprint import HTML, Attachment

        view = self.view(cert, policy)
        page = self.html(view)
        with self._lock:
            started = time.perf_counter()
            document = HTML(string=page).write_pdf(
                pdf_variant="pdf/a-3b",
                attachments=[
                    Attachment(
                        string=cert.to_json_bytes().decode("utf-8"),
                        name=ATTACHMENT_NAME,
                        description=f"{cert.media_type} of {cert.record_id}",
                        relationship="Data",
                    )
                ],
            )
            rendered = time.perf_counter()
            signed = self.signer.sign(
                document,
                timestamp_urls=self._tsa_urls,
                timeout=self._tsa_timeout,
                reason=f"{KIND_NAMES.get(cert.kind, ('存证', ''))[0]}证书 / certificate of "
                f"{cert.record_id}",
                location=self.links.public_url,
            )
            done = time.perf_counter()
        log.info(
            "rendered the PDF certificate of %s: %d bytes, %.0f ms render, %.0f ms sign",
            cert.record_id,
            len(signed),
            (rendered - started) * 1000,
            (done - rendered) * 1000,
        )
        return RenderedPdf(signed, rendered - started, done - rendered)

    def render_page(
        self, page: str, *, attachments: Sequence[tuple[str, bytes, str]], reason: str
    ) -> bytes:
        """Another document of ours (an arbitration case's evidence index) as PDF/A-3b, each
        ``(name, bytes, description)`` attached as a Data file, signed by the key that signs
        certificates; rendered under the same lock (one WeasyPrint render at a time)."""
        from weasyprint import HTML, Attachment

        with self._lock:
            document = HTML(string=page).write_pdf(
                pdf_variant="pdf/a-3b",
                attachments=[
                    Attachment(
                        string=data.decode("utf-8"),
                        name=name,
                        description=description,
                        relationship="Data",
                    )
                    for name, data, description in attachments
                ],
            )
            signed: bytes = self.signer.sign(
                document,
                timestamp_urls=self._tsa_urls,
                timeout=self._tsa_timeout,
                reason=reason,
                location=self.links.public_url,
            )
        return signed


def _unless_missing(load: Callable[[], _T], problems: list[str]) -> _T | None:
    try:
        return load()
    except ConfigurationError as exc:
        # Keys made before PDFs existed, and none to be made here: everything else still serves.
        if exc.code not in ("production_settings_missing", KEY_MISSING):
            raise
        log.warning("PDF certificates and shared links are off: %s", exc.detail)
        problems.append(exc.detail)
        return None


def build_view(
    cert: AnyCertificate,
    result: VerificationResult,
    *,
    policy: TrustPolicy | None,
    issuer_name: str,
    links: ShareLinks,
    signer: DocumentSigner,
) -> CertificateView:
    import segno

    record = cert.record
    kind = KIND_NAMES.get(cert.kind, (cert.kind, cert.kind))
    verification_url = links.verification_url(cert.record_id)
    # Error correction M: a printed code still reads with a crease or a stamp across it.
    qr = segno.make(verification_url, error="m")
    source = TIME_SOURCES[result.time_source]
    return CertificateView(
        record_id=cert.record_id,
        kind=Names(*kind),
        issuer_name=issuer_name,
        record_rows=record_rows(record),
        digest_rows=[
            *digest_rows(record),
            Row("日志叶哈希", "Log leaf hash", cert.leaf_hash, True),
        ],
        proven_time=Moment.of(result.proven_time),
        time_source=Names(*source),
        time_evidence=[
            Evidence(
                TIME_SOURCES[e.source][0],
                TIME_SOURCES[e.source][1],
                Moment.of(e.time).utc,
                e.detail,
            )
            for e in sorted(result.time_evidence, key=lambda e: e.time)
        ],
        witnesses=cosigners(cert, policy),
        timestamps=tokens(cert),
        anchor_rows=anchor_rows(cert),
        issuer_rows=[
            Row("签发方", "Issuer", cert.issuer.name or issuer_name),
            Row("签发时间", "Issued at", str(Moment.of(parse_time(cert.issued_at)))),
            Row("签发密钥 (Ed25519)", "Issuer key id", cert.issuer.key_id, True),
            *(
                [
                    Row("日志", "Log", cert.log.origin, True),
                    Row(
                        "日志位置",
                        "Position in the log",
                        f"叶序号 leaf index {cert.log.leaf_index} · "
                        f"日志大小 tree size {cert.log.tree_size}",
                    ),
                ]
                if isinstance(cert, Certificate)
                else []
            ),
            Row(
                "PDF 签名证书",
                "PDF signing certificate (SHA-256)",
                signer.fingerprint,
                True,
                note=signer.certificate.subject.rfc4514_string(),
            ),
        ],
        notice=getattr(cert, "notice", None),
        certificate_url=links.certificate_url(cert.record_id),
        verification_url=verification_url,
        qr_data_uri=qr.svg_data_uri(scale=4, border=2, dark="#000", light="#fff"),
    )


# --- the record, per kind -------------------------------------------------------------------


def _party(value: Any) -> str:
    if isinstance(value, Mapping):
        name = value.get("name")
        ident = value.get("id")
        if name and ident:
            return f"{name} ({ident})"
        if name or ident:
            return str(name or ident)
    return _compact(value)


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else canonical_json(value).decode("utf-8")
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


_PARTIES = (
    ("holder", "持有人", "Holder"),
    ("authority", "认定机关", "Deciding authority"),
    ("registrar", "登记机关", "Registrar"),
    ("recipient", "接收方", "Recipient"),
)
_DIGEST_FIELDS = ("commitment", "entry_commitment", "subject_commitment")
# Fields shown in rows of their own; the rest of the record follows under its own names.
_SHOWN = {
    "id", "kind", "schema", "received_at", "content", "ciphertext", "metadata", "work",
    *(key for key, _, _ in _PARTIES), *_DIGEST_FIELDS,
}  # fmt: skip


def record_rows(record: Mapping[str, Any]) -> list[Row]:
    kind = str(record.get("kind", ""))
    names = KIND_NAMES.get(kind, (kind, kind))
    rows = [
        Row("记录编号", "Record ID", str(record.get("id", "")), True, note=f"{names[0]} · {kind}")
    ]
    metadata = record.get("metadata") or {}
    work = record.get("work") or {}
    if isinstance(work, Mapping) and work.get("title"):
        rows.append(Row("作品名称", "Title", _compact(work["title"])))
    elif isinstance(metadata, Mapping) and metadata.get("title"):
        rows.append(Row("标题", "Title", _compact(metadata["title"])))
    for key, zh, en in _PARTIES:
        if key in record:
            rows.append(Row(zh, en, _party(record[key])))
    if isinstance(work, Mapping) and work:
        rows.extend(_work_rows(work))
    if isinstance(metadata, Mapping):
        for key, zh, en in (
            ("description", "说明", "Description"),
            ("source_url", "来源网址", "Source URL"),
            ("captured_at", "采集时间", "Captured at"),
            ("case_reference", "案件编号", "Case reference"),
        ):
            if metadata.get(key):
                rows.append(Row(zh, en, _compact(metadata[key]), key == "source_url"))
        if metadata.get("tags"):
            rows.append(Row("标签", "Tags", ", ".join(str(t) for t in metadata["tags"])))
    rows.append(Row("受理时间", "Received at", _moment(record.get("received_at"))))
    for key, value in record.items():
        if key in _SHOWN:
            continue
        rows.append(Row("其他字段", key, _compact(value), not isinstance(value, str)))
    return rows


def _work_rows(work: Mapping[str, Any]) -> Iterable[Row]:
    kind = str(work.get("work_type", ""))
    if work.get("work_type_detail"):
        kind = f"{kind} ({work['work_type_detail']})"
    if kind:
        yield Row("作品类型", "Type of work", kind)
    authors = work.get("authors") or []
    if authors:
        yield Row(
            "作者",
            "Authors",
            "; ".join(
                f"{a.get('name', '')}"
                + (f" (笔名 pen name: {a['pen_name']})" if a.get("pen_name") else "")
                for a in authors
                if isinstance(a, Mapping)
            ),
        )
    if work.get("copyright_owner"):
        yield Row("著作权人", "Copyright owner", _party(work["copyright_owner"]))
    if work.get("completed_on"):
        yield Row("创作完成日期", "Completed on", str(work["completed_on"]))
    publication = work.get("first_publication")
    if isinstance(publication, Mapping):
        yield Row(
            "首次发表",
            "First published",
            f"{publication.get('date', '')}, {publication.get('place', '')}",
        )


def digest_rows(record: Mapping[str, Any]) -> list[Row]:
    rows: list[Row] = []
    # The content's own digests, or for a trade secret those of its ciphertext (never plaintext).
    for key, zh, en in (("content", "", ""), ("ciphertext", "密文 ", "ciphertext ")):
        content = record.get(key)
        if not isinstance(content, Mapping):
            continue
        declared = set(content.get("declared") or [])
        for name, label_zh, label_en in (
            ("size", "大小", "size (bytes)"),
            ("sha256", "SHA-256", ""),
            ("sm3", "SM3", "GM/T 0004"),
            ("cid", "CID v0", "IPFS"),
            ("cid_v1", "CID v1", "IPFS"),
        ):
            if content.get(name) is None:
                continue
            note = (
                "提交者声明，服务未测量 · declared by the submitter, not measured"  # noqa: RUF001
                if name in declared
                else ""
            )
            rows.append(Row(zh + label_zh, (en + label_en).strip(), str(content[name]), True, note))
    for source in (record, record.get("filing"), record.get("entry")):
        if not isinstance(source, Mapping):
            continue
        for key in _DIGEST_FIELDS:
            if isinstance(source.get(key), str):
                rows.append(Row("承诺值", key.replace("_", " "), source[key], True))
    return rows


def _moment(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(Moment.of(parse_time(value)))
        except ValueError:
            return value
    return _compact(value)


# --- the proof's parties ---------------------------------------------------------------------


def cosigners(cert: AnyCertificate, policy: TrustPolicy | None) -> list[Cosigner]:
    """The policy's witnesses whose cosignature on the checkpoint verifies, with their times."""
    if not isinstance(cert, Certificate) or policy is None:
        return []
    note = parse_note(cert.log.checkpoint)
    found = []
    for witness in policy.witnesses.members:
        for sig in note.signatures:
            if witness.verifier.matches(sig):
                stamp = witness.verifier.verify(note.text, sig)
                if stamp is not None:
                    found.append((stamp, witness.name))
                break
    return [
        Cosigner(name, Moment.of(datetime.fromtimestamp(t, UTC)).utc) for t, name in sorted(found)
    ]


def tokens(cert: AnyCertificate) -> list[Token]:
    if not isinstance(cert, Certificate):
        return []
    shown = []
    for field_ in cert.timestamps:
        info = read_token(base64.b64decode(field_.token))
        shown.append(Token(info.tsa_name or "(unnamed TSA)", Moment.of(info.gen_time).utc))
    return shown


def anchor_rows(cert: AnyCertificate) -> list[Row]:
    anchor = cert.anchor
    return [
        Row("链标识", "Chain id", str(anchor.chain_id)),
        Row("存证合约", "Registry contract", anchor.contract, True),
        Row("批次", "Batch", str(anchor.batch_id)),
        Row("交易哈希", "Transaction", anchor.tx_hash, True),
        Row("区块", "Block", f"{anchor.block_number} · {anchor.block_hash}", True),
        Row(
            "区块时间",
            "Block time",
            str(Moment.of(datetime.fromtimestamp(anchor.block_timestamp, UTC))),
        ),
    ]
