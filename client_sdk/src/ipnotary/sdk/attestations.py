"""Notarial attestations (the regulation's Art. 11): a notary signs, with its own Ed25519 key, that
records of the log are what a statement says; anyone verifies it under their trust policy.

The notary's key never leaves the notary's machine (:class:`NotarialKey`, a 0600 file): this
module builds and signs the documents, the service only checks and stores them, and each is
anchored in the log as a record of its own kind (``attestation``, ``notarial_refusal``,
``attestation_revocation``), so a notarial act is witnessed, time-stamped and anchored like the
evidence it is about. Three signed documents, each with a versioned media type and an Ed25519
signature over the RFC 8785 canonical JSON of everything but ``signature``:

* :class:`AttestationDocument`: office, notary, certificate number (unique per office), the
  statement attested (from :class:`Template` or the notary's own words), the records it covers by
  leaf hash, the notarial date;
* :class:`RefusalDocument`: an application refused, with the reasons;
* :class:`RevocationDocument`: an attestation withdrawn, with the reason.

A record's *certificate bundle* (:data:`BUNDLE_MEDIA_TYPE`) is its certificate and the
certificates of the attestations on it (and of their revocations). :func:`verify_attestations`
checks it: the record's certificate (``verify_certificate``), then for each attestation, in
order, the steps of :class:`AttestationStep`; it reports each as ``valid`` ("notarised by ...
on ...") or ``revoked`` (when, and why). Trust is an argument: the notary keys are the policy's
(``TrustPolicy.notaries``), each trusted within its validity window.

Start with :func:`verify_attestations`; notaries start with :meth:`NotarialKey.generate` and
:func:`sign_attestation`.
"""

# The Chinese statements keep their own, full-width punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import (
    AnyCertificate,
    Timestamp,
    format_timestamp,
    parse_certificate,
    parse_time,
)
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.policy import NotaryKey, TrustPolicy
from ipnotary.sdk.records import (
    AttestationRecord,
    AttestationRevocationRecord,
    parse_record,
)
from ipnotary.sdk.signing import (
    b64decode,
    b64encode,
    key_id,
    public_key_from_b64,
    public_key_to_b64,
    sign_document,
    signature_is_valid,
)
from ipnotary.sdk.verify import ChainView, TimeSource, VerificationResult, verify_certificate

if TYPE_CHECKING:
    from ipnotary.sdk.client import NotaryClient

__all__ = [
    "ATTESTATION_MEDIA_TYPE",
    "BUNDLE_MEDIA_TYPE",
    "KEY_FILE_MEDIA_TYPE",
    "KEY_REGISTRATION_MEDIA_TYPE",
    "REFUSAL_MEDIA_TYPE",
    "REVOCATION_MEDIA_TYPE",
    "AttestationDocument",
    "AttestationFinding",
    "AttestationStep",
    "AttestedRecord",
    "BundleResult",
    "KeyRegistration",
    "NotarialClient",
    "NotarialKey",
    "RefusalDocument",
    "RevocationDocument",
    "Template",
    "parse_act",
    "sign_attestation",
    "sign_refusal",
    "sign_revocation",
    "statement_text",
    "verify_attestations",
]

ATTESTATION_MEDIA_TYPE: Final = "application/vnd.ipnotary.notarial-attestation+json;version=1"
REFUSAL_MEDIA_TYPE: Final = "application/vnd.ipnotary.notarial-refusal+json;version=1"
REVOCATION_MEDIA_TYPE: Final = "application/vnd.ipnotary.notarial-revocation+json;version=1"
KEY_REGISTRATION_MEDIA_TYPE: Final = "application/vnd.ipnotary.notarial-key+json;version=1"
KEY_FILE_MEDIA_TYPE: Final = "application/vnd.ipnotary.notarial-private-key+json;version=1"
BUNDLE_MEDIA_TYPE: Final = "application/vnd.ipnotary.certificate-bundle+json;version=1"

# Limits, so that a hostile document cannot exhaust a verifier.
MAX_ACT_BYTES = 48 * 1024  # a signed act; its record (which holds it) must stay under 64 KiB
MAX_BUNDLE_BYTES = 8 * 1024 * 1024
MAX_ATTESTATIONS = 64
MAX_RECORDS = 100  # records one attestation covers
MAX_STATEMENT_CHARS = 8000

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[0-9a-f]{32}$")]
PrincipalId = Annotated[str, StringConstraints(pattern=r"^prn_[0-9a-f]{32}$")]
B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=128)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Template(StrEnum):
    """The common statements a notary attests; ``custom`` takes the notary's own words."""

    evidence_preservation = "evidence_preservation"
    web_capture_authenticity = "web_capture_authenticity"
    file_content_at_time = "file_content_at_time"
    custom = "custom"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NotaryName(_Strict):
    name: Name
    principal_id: PrincipalId


class Applicant(_Strict):
    id: PrincipalId
    name: Name


class AttestedRecord(_Strict):
    """A record as the notary examined it: by leaf hash (what the log holds), with the content's
    SHA-256 and the proven time the notary's verifier found, where it had them."""

    record_id: RecordId
    kind: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    leaf_hash: Hex64
    sha256: Hex64 | None = None
    proven_time: Timestamp | None = None


class Statement(_Strict):
    # a JSON string read as the enum (strict mode would take only the enum itself)
    template: Annotated[Template, Field(strict=False)]
    zh: Annotated[str, StringConstraints(min_length=1, max_length=MAX_STATEMENT_CHARS)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=MAX_STATEMENT_CHARS)]


class Signer(_Strict):
    public_key: B64
    key_id: Hex64


class ActSignature(_Strict):
    alg: Literal["Ed25519"]
    value: B64


class _Signed(_Strict):
    """A document signed by its ``signer``: Ed25519 over the canonical JSON of all but
    ``signature``."""

    signer: Signer
    signature: ActSignature

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        return document

    def unsigned(self) -> dict[str, Any]:
        body = self.to_json()
        del body["signature"]
        return body

    @property
    def digest(self) -> str:
        """SHA-256 of the document's canonical JSON, as its record states it."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()

    def signature_valid(self) -> bool:
        """Whether ``signer`` signed exactly this document and ``key_id`` names that key."""
        try:
            public = public_key_from_b64(self.signer.public_key)
        except FormatError:
            return False
        return key_id(public) == self.signer.key_id and signature_is_valid(
            public, self.unsigned(), self.signature.value
        )


class _SignedAct(_Signed):
    """What every notarial act carries: the office and notary, the notarial date, when it was
    signed."""

    office: Name
    notary: NotaryName
    date: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    signed_at: Timestamp


class AttestationDocument(_SignedAct):
    media_type: Literal["application/vnd.ipnotary.notarial-attestation+json;version=1"]
    certificate_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    statement: Statement
    applicant: Applicant
    records: Annotated[list[AttestedRecord], Field(min_length=1, max_length=MAX_RECORDS)]


class RefusalDocument(_SignedAct):
    media_type: Literal["application/vnd.ipnotary.notarial-refusal+json;version=1"]
    applicant: Applicant
    records: Annotated[list[AttestedRecord], Field(min_length=1, max_length=MAX_RECORDS)]
    reasons: Annotated[list[Line], Field(min_length=1, max_length=20)]


class RevokedAttestation(_Strict):
    record_id: RecordId
    leaf_hash: Hex64
    certificate_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class RevocationDocument(_SignedAct):
    media_type: Literal["application/vnd.ipnotary.notarial-revocation+json;version=1"]
    attestation: RevokedAttestation
    reason: Line


class KeyRegistration(_Signed):
    """A notary's public key, signed by itself: proof that whoever registers it holds the key."""

    media_type: Literal["application/vnd.ipnotary.notarial-key+json;version=1"]
    office: Name
    notary: NotaryName
    signed_at: Timestamp


AnyAct = AttestationDocument | RefusalDocument | RevocationDocument
_ACTS: dict[str, type[AttestationDocument] | type[RefusalDocument] | type[RevocationDocument]] = {
    ATTESTATION_MEDIA_TYPE: AttestationDocument,
    REFUSAL_MEDIA_TYPE: RefusalDocument,
    REVOCATION_MEDIA_TYPE: RevocationDocument,
}


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(document)"
    return f"{where}: {first['msg']}"


def parse_act(data: bytes | str | Mapping[str, Any]) -> AnyAct:
    """A signed notarial act of any of the three media types; :class:`FormatError` for anything
    else (the signature is checked by the caller: :meth:`signature_valid`)."""
    raw = (
        dict(data)
        if isinstance(data, Mapping)
        else parse_json(data, max_bytes=MAX_ACT_BYTES, what="notarial act")
    )
    if not isinstance(raw, dict):
        raise FormatError("a notarial act is a JSON object")
    if len(canonical_json(raw)) > MAX_ACT_BYTES:
        raise FormatError(f"a notarial act is at most {MAX_ACT_BYTES} bytes")
    model = _ACTS.get(str(raw.get("media_type")))
    if model is None:
        raise FormatError(
            f"not a notarial act: media_type {raw.get('media_type')!r}, expected one of "
            + ", ".join(sorted(_ACTS))
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise FormatError(f"malformed notarial act: {_validation_message(exc)}") from None


# --- the notary's key ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotarialKey:
    """A notary's signing key and whom it speaks for. Kept in a 0600 file on the notary's machine;
    the service sees the public key only."""

    office: str
    notary: str
    principal_id: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, *, office: str, notary: str, principal_id: str) -> NotarialKey:
        return cls(office, notary, principal_id, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> str:
        return public_key_to_b64(self.private_key.public_key())

    @property
    def key_id(self) -> str:
        return key_id(self.private_key.public_key())

    def policy_entry(self, *, not_before: str | None = None) -> NotaryKey:
        """The entry a verifier adds to its trust policy, once it has this key from the office
        itself (out of band)."""
        return NotaryKey(
            office=self.office, name=self.notary, public_key=self.public_key, not_before=not_before
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the key file, readable by its owner only; never overwrites an existing file."""
        raw = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        document = {
            "media_type": KEY_FILE_MEDIA_TYPE,
            "office": self.office,
            "notary": self.notary,
            "principal_id": self.principal_id,
            "private_key": b64encode(raw),
            "public_key": self.public_key,
        }
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False, indent=2)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NotarialKey:
        try:
            raw = parse_json(Path(path).read_bytes(), max_bytes=16 * 1024, what="notarial key")
        except OSError as exc:
            raise FormatError(f"cannot read the notarial key file {path}: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("media_type") != KEY_FILE_MEDIA_TYPE:
            raise FormatError(f"{path} is not a notarial key file ('notary notarial key generate')")
        try:
            secret = b64decode(str(raw["private_key"]))
            key = Ed25519PrivateKey.from_private_bytes(secret)
            loaded = cls(str(raw["office"]), str(raw["notary"]), str(raw["principal_id"]), key)
        except (KeyError, ValueError) as exc:
            raise FormatError(f"{path} is not a usable notarial key file: {exc}") from exc
        if loaded.public_key != raw.get("public_key"):
            raise FormatError(f"{path}: the public key does not belong to the private key")
        return loaded

    def _signed(self, body: dict[str, Any], now: datetime | None) -> dict[str, Any]:
        body = {
            **body,
            "signed_at": format_timestamp(now or datetime.now(UTC)),
            "signer": {"public_key": self.public_key, "key_id": self.key_id},
        }
        return {
            **body,
            "signature": {"alg": "Ed25519", "value": sign_document(self.private_key, body)},
        }

    def _act(self) -> dict[str, Any]:
        return {
            "office": self.office,
            "notary": {"name": self.notary, "principal_id": self.principal_id},
        }

    def registration(self, *, now: datetime | None = None) -> KeyRegistration:
        """The document that registers this key with the service."""
        body = {"media_type": KEY_REGISTRATION_MEDIA_TYPE, **self._act()}
        return KeyRegistration.model_validate(self._signed(body, now))


# --- statements ---------------------------------------------------------------------------------


def _record_lines(records: Sequence[AttestedRecord]) -> tuple[str, str]:
    zh, en = [], []
    for n, r in enumerate(records, 1):
        digest = f"，SHA-256 {r.sha256}" if r.sha256 else ""
        digest_en = f", SHA-256 {r.sha256}" if r.sha256 else ""
        when = f"，至迟于 {r.proven_time} 已存在" if r.proven_time else ""
        when_en = f", in existence by {r.proven_time}" if r.proven_time else ""
        zh.append(f"{n}. 记录 {r.record_id}（叶哈希 {r.leaf_hash}{digest}{when}）")
        en.append(f"{n}. record {r.record_id} (leaf hash {r.leaf_hash}{digest_en}{when_en})")
    return "\n".join(zh), "\n".join(en)


_TEMPLATES: Mapping[Template, tuple[str, str]] = {
    Template.evidence_preservation: (
        "兹证明：申请人{applicant}通过本平台保全的下列电子数据，经本公证处审查，其数字指纹与保全时"
        "记入日志的一致，自保全之时起未被篡改：\n{records}",
        "This is to certify that the electronic data below, preserved by the applicant "
        "{applicant} through this platform, has been examined by this office: its digital "
        "fingerprints are those logged when it was preserved, and it has not been altered since:"
        "\n{records}",
    ),
    Template.web_capture_authenticity: (
        "兹证明：下列网页取证记录系申请人{applicant}于记录所载时间通过本平台取得，经本公证处审查，"
        "其所载内容与取证时该网页所示一致，取证过程未被篡改：\n{records}",
        "This is to certify that the web-page capture records below were made by the applicant "
        "{applicant} through this platform at the times they state, and that this office has "
        "examined them: what they hold is what the page showed when it was captured, and the "
        "capture has not been altered:\n{records}",
    ),
    Template.file_content_at_time: (
        "兹证明：下列文件的内容（以其数字指纹标识）至迟于所载时间已经存在，经本公证处审查与日志记录"
        "一致，申请人为{applicant}：\n{records}",
        "This is to certify that the files below, identified by their digital fingerprints, "
        "existed with this content by the times stated, as this office examined against the "
        "log; the applicant is {applicant}:\n{records}",
    ),
}


def statement_text(
    template: Template,
    *,
    applicant: str,
    records: Sequence[AttestedRecord],
    zh: str | None = None,
    en: str | None = None,
) -> Statement:
    """The statement attested: a template's words filled with the applicant and the records, or
    (``custom``) the notary's own ``zh`` and ``en`` text."""
    if template is Template.custom:
        if not zh or not en:
            raise ValueError("a custom statement needs its Chinese and English text")
        return Statement(template=template, zh=zh, en=en)
    if zh or en:
        raise ValueError(f"template {template.value} has its own words; use 'custom' for yours")
    lines_zh, lines_en = _record_lines(records)
    text_zh, text_en = _TEMPLATES[template]
    return Statement(
        template=template,
        zh=text_zh.format(applicant=applicant, records=lines_zh),
        en=text_en.format(applicant=applicant, records=lines_en),
    )


def sign_attestation(
    key: NotarialKey,
    *,
    certificate_number: str,
    statement: Statement,
    applicant: Applicant,
    records: Sequence[AttestedRecord],
    on: date,
    now: datetime | None = None,
) -> AttestationDocument:
    body = {
        "media_type": ATTESTATION_MEDIA_TYPE,
        **key._act(),
        "certificate_number": certificate_number,
        "statement": statement.model_dump(mode="json"),
        "applicant": applicant.model_dump(mode="json"),
        "records": [r.model_dump(mode="json", exclude_none=True) for r in records],
        "date": on.isoformat(),
    }
    return AttestationDocument.model_validate(key._signed(body, now))


def sign_refusal(
    key: NotarialKey,
    *,
    applicant: Applicant,
    records: Sequence[AttestedRecord],
    reasons: Sequence[str],
    on: date,
    now: datetime | None = None,
) -> RefusalDocument:
    body = {
        "media_type": REFUSAL_MEDIA_TYPE,
        **key._act(),
        "applicant": applicant.model_dump(mode="json"),
        "records": [r.model_dump(mode="json", exclude_none=True) for r in records],
        "reasons": list(reasons),
        "date": on.isoformat(),
    }
    return RefusalDocument.model_validate(key._signed(body, now))


def sign_revocation(
    key: NotarialKey,
    *,
    attestation: RevokedAttestation,
    reason: str,
    on: date,
    now: datetime | None = None,
) -> RevocationDocument:
    body = {
        "media_type": REVOCATION_MEDIA_TYPE,
        **key._act(),
        "attestation": attestation.model_dump(mode="json"),
        "reason": reason,
        "date": on.isoformat(),
    }
    return RevocationDocument.model_validate(key._signed(body, now))


# --- verifying a record's bundle ----------------------------------------------------------------


class AttestationStep(StrEnum):
    """The checks of each attestation in a bundle, in order (the record's own certificate is
    checked first, with ``verify_certificate``'s steps)."""

    BUNDLE_FORMAT = "bundle_format"
    ATTESTATION_CERTIFICATE = "attestation_certificate"  # its own certificate, under the policy
    ATTESTATION_RECORD = "attestation_record"  # the record holds this document, field for field
    NOTARY_SIGNATURE = "notary_signature"  # the document's Ed25519 signature
    NOTARY_KEY = "notary_key"  # a policy notary key of that office, valid at signing and logging
    COVERS = "covers"  # the attestation names the record's leaf hash
    REVOCATION_CERTIFICATE = "revocation_certificate"
    REVOCATION_RECORD = "revocation_record"
    REVOCATION_SIGNATURE = "revocation_signature"
    REVOCATION_KEY = "revocation_key"  # a policy notary key of the same office
    REVOCATION_REFERENCE = "revocation_reference"  # it names this attestation


@dataclass(frozen=True)
class AttestationFinding:
    """One attestation on the record, as verified: ``valid`` or ``revoked``."""

    attestation_id: str
    status: Literal["valid", "revoked"]
    office: str
    notary: str
    certificate_number: str
    template: str
    statement_zh: str
    statement_en: str
    date: str
    signed_at: datetime
    key_id: str
    proven_time: datetime  # the attestation existed by then (its certificate's proven time)
    time_source: TimeSource
    revoked_at: datetime | None = None  # the revocation existed by then
    revocation_date: str | None = None
    revocation_reason: str | None = None

    def summary(self) -> str:
        said = (
            f"notarised by {self.notary} of {self.office} on {self.date} "
            f"(No. {self.certificate_number})"
        )
        if self.status == "revoked":
            return (
                f"REVOKED: {said}; revoked on {self.revocation_date} "
                f"(in the log by {format_timestamp(self.revoked_at or self.proven_time)}): "
                f"{self.revocation_reason}"
            )
        return said


@dataclass(frozen=True)
class BundleResult:
    record: VerificationResult
    attestations: tuple[AttestationFinding, ...]
    pending: tuple[str, ...]  # attestations on the record whose certificates are not ready yet

    @property
    def notarised(self) -> bool:
        """At least one attestation stands, and none was revoked."""
        return bool(self.attestations) and all(a.status == "valid" for a in self.attestations)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate: dict[str, Any]
    revocation: dict[str, Any] | None = None


class _Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_type: Literal["application/vnd.ipnotary.certificate-bundle+json;version=1"]
    certificate: dict[str, Any]
    attestations: Annotated[list[_Entry], Field(max_length=MAX_ATTESTATIONS)]
    pending: Annotated[list[str], Field(max_length=MAX_ATTESTATIONS)] = Field(default_factory=list)


def _fail(step: AttestationStep, message: str) -> VerificationError:
    return VerificationError(step, message)


def _certified(
    raw: Mapping[str, Any],
    policy: TrustPolicy,
    step: AttestationStep,
    what: str,
    chain: ChainView | None,
    now: datetime | None,
) -> tuple[AnyCertificate, VerificationResult]:
    try:
        cert = parse_certificate(dict(raw))
        return cert, verify_certificate(cert, policy, chain=chain, now=now)
    except FormatError as exc:
        raise _fail(step, f"{what}: {exc}") from None
    except VerificationError as exc:
        raise _fail(step, f"{what}: failed at step '{exc.step}': {exc.reason}") from None


def _policy_key(
    policy: TrustPolicy,
    act: AttestationDocument | RevocationDocument,
    proven: datetime,
    step: AttestationStep,
    what: str,
) -> NotaryKey:
    trusted = policy.notary(act.signer.key_id)
    if trusted is None:
        raise _fail(
            step,
            f"{what} is signed by key {act.signer.key_id}, which your policy lists "
            "for no notary office",
        )
    if trusted.office != act.office:
        raise _fail(
            step,
            f"{what} names office {act.office!r}, but your policy lists its key for "
            f"{trusted.office!r}",
        )
    signed_at = parse_time(act.signed_at)
    skew = timedelta(seconds=policy.max_clock_skew_seconds)
    if not trusted.covers(signed_at):
        raise _fail(
            step,
            f"{what} was signed at {act.signed_at}, outside the key's validity "
            "window in your policy",
        )
    if signed_at > proven + skew:
        raise _fail(
            step,
            f"{what} says it was signed at {act.signed_at}, after it was proven to "
            f"be in the log ({format_timestamp(proven)})",
        )
    # A key's holder can write any signed_at: a signature the log first saw after the key's
    # window closed could have been made with a retired (or stolen) key.
    if trusted.not_after is not None and proven - skew > parse_time(trusted.not_after):
        raise _fail(
            step,
            f"{what} reached the log at {format_timestamp(proven)}, after the key's "
            f"window closed ({trusted.not_after})",
        )
    return trusted


def verify_attestations(
    bundle: bytes | str | Mapping[str, Any],
    policy: TrustPolicy,
    *,
    chain: ChainView | None = None,
    now: datetime | None = None,
) -> BundleResult:
    """Verify a record's certificate bundle under ``policy``: the record's certificate, then every
    attestation on it (:class:`AttestationStep`). Raises ``VerificationError`` at the first
    failed step; a revoked attestation is not a failure of the bundle but a finding with status
    ``revoked`` (and :attr:`BundleResult.notarised` is then false)."""
    if not isinstance(policy, TrustPolicy):
        raise TypeError(
            "verify_attestations needs your trust policy: notary keys are trusted only "
            "as your policy lists them"
        )
    try:
        raw = (
            dict(bundle)
            if isinstance(bundle, Mapping)
            else parse_json(bundle, max_bytes=MAX_BUNDLE_BYTES, what="certificate bundle")
        )
        parsed = _Bundle.model_validate(raw)
    except FormatError as exc:
        raise _fail(AttestationStep.BUNDLE_FORMAT, str(exc)) from None
    except ValidationError as exc:
        raise _fail(AttestationStep.BUNDLE_FORMAT, _validation_message(exc)) from None
    record = verify_certificate(parsed.certificate, policy, chain=chain, now=now)
    findings = []
    for n, entry in enumerate(parsed.attestations, 1):
        findings.append(_attestation(entry, n, record, policy, chain, now))
    return BundleResult(record, tuple(findings), tuple(parsed.pending))


def _attestation(
    entry: _Entry,
    n: int,
    record: VerificationResult,
    policy: TrustPolicy,
    chain: ChainView | None,
    now: datetime | None,
) -> AttestationFinding:
    what = f"attestation {n}"
    cert, result = _certified(
        entry.certificate, policy, AttestationStep.ATTESTATION_CERTIFICATE, what, chain, now
    )
    body = parse_record(cert.record)
    if not isinstance(body, AttestationRecord):
        raise _fail(
            AttestationStep.ATTESTATION_RECORD,
            f"{what}'s certificate is of a {cert.kind} record, not an attestation",
        )
    try:
        doc = parse_act(body.document)
    except FormatError as exc:
        raise _fail(AttestationStep.ATTESTATION_RECORD, f"{what}: {exc}") from None
    if not isinstance(doc, AttestationDocument):
        raise _fail(AttestationStep.ATTESTATION_RECORD, f"{what} holds a {doc.media_type}")
    leaves = [r.leaf_hash for r in doc.records]
    if (
        body.document_sha256 != doc.digest
        or body.office != doc.office
        or body.certificate_number != doc.certificate_number
        or body.statement_template != doc.statement.template.value
        or [c.leaf_hash for c in body.covers] != leaves
    ):
        raise _fail(
            AttestationStep.ATTESTATION_RECORD,
            f"{what}: the record's fields differ from the signed document it holds",
        )
    what = f"attestation {n} (No. {doc.certificate_number})"
    if not doc.signature_valid():
        raise _fail(
            AttestationStep.NOTARY_SIGNATURE,
            f"{what}: the notary's signature does not "
            "verify: the document was changed after it was signed, or not signed by "
            "this key",
        )
    _policy_key(policy, doc, result.proven_time, AttestationStep.NOTARY_KEY, what)
    if record.leaf_hash not in leaves:
        raise _fail(
            AttestationStep.COVERS,
            f"{what} covers leaf hashes {', '.join(leaves)}, not "
            f"this record's ({record.leaf_hash})",
        )
    found = AttestationFinding(
        attestation_id=body.id,
        status="valid",
        office=doc.office,
        notary=doc.notary.name,
        certificate_number=doc.certificate_number,
        template=doc.statement.template.value,
        statement_zh=doc.statement.zh,
        statement_en=doc.statement.en,
        date=doc.date,
        signed_at=parse_time(doc.signed_at),
        key_id=doc.signer.key_id,
        proven_time=result.proven_time,
        time_source=result.time_source,
    )
    if entry.revocation is None:
        return found
    return _revoked(entry.revocation, found, cert.leaf_hash, policy, chain, now, what)


def _revoked(
    raw: Mapping[str, Any],
    found: AttestationFinding,
    leaf: str,
    policy: TrustPolicy,
    chain: ChainView | None,
    now: datetime | None,
    what: str,
) -> AttestationFinding:
    cert, result = _certified(
        raw, policy, AttestationStep.REVOCATION_CERTIFICATE, f"the revocation of {what}", chain, now
    )
    body = parse_record(cert.record)
    if not isinstance(body, AttestationRevocationRecord):
        raise _fail(
            AttestationStep.REVOCATION_RECORD, f"the revocation of {what} is a {cert.kind} record"
        )
    try:
        doc = parse_act(body.document)
    except FormatError as exc:
        raise _fail(AttestationStep.REVOCATION_RECORD, f"the revocation of {what}: {exc}") from None
    if (
        not isinstance(doc, RevocationDocument)
        or body.document_sha256 != doc.digest
        or body.attestation.leaf_hash != doc.attestation.leaf_hash
        or body.office != doc.office
    ):
        raise _fail(
            AttestationStep.REVOCATION_RECORD,
            f"the revocation of {what}: the record's "
            "fields differ from the signed document it holds",
        )
    if not doc.signature_valid():
        raise _fail(
            AttestationStep.REVOCATION_SIGNATURE,
            f"the revocation of {what}: the notary's signature does not verify",
        )
    _policy_key(
        policy, doc, result.proven_time, AttestationStep.REVOCATION_KEY, f"the revocation of {what}"
    )
    if doc.office != found.office:
        raise _fail(
            AttestationStep.REVOCATION_KEY,
            f"the revocation of {what} comes from "
            f"{doc.office!r}, not from the attesting office {found.office!r}",
        )
    if (
        doc.attestation.leaf_hash != leaf
        or doc.attestation.record_id != found.attestation_id
        or doc.attestation.certificate_number != found.certificate_number
    ):
        raise _fail(
            AttestationStep.REVOCATION_REFERENCE,
            f"the revocation given for {what} "
            f"revokes another attestation ({doc.attestation.record_id})",
        )
    return AttestationFinding(
        **{
            **found.__dict__,
            "status": "revoked",
            "revoked_at": result.proven_time,
            "revocation_date": doc.date,
            "revocation_reason": doc.reason,
        }
    )


# --- the client side ----------------------------------------------------------------------------


class NotarialClient:
    """The notarial workflow over a :class:`~ipnotary.sdk.client.NotaryClient`
    (``client.notarial``): applications (records shared with a notary), attestations, refusals,
    revocations and bundles. Every document is signed here, with the notary's own key."""

    def __init__(self, client: NotaryClient) -> None:
        self._client = client

    def register_key(self, key: NotarialKey) -> dict[str, Any]:
        """Register the notary's public key (with a signature by that key)."""
        doc = key.registration().to_json()
        return dict(self._client._json("PUT", "/v1/notarial/keys", json=doc))

    def keys(self, principal_id: str) -> list[dict[str, Any]]:
        """The keys a notary registered (what the service says: check them with the office)."""
        return list(
            self._client._json("GET", "/v1/notarial/keys", params={"principal_id": principal_id})
        )

    def share(self, record_id: str, recipient_id: str) -> dict[str, Any]:
        """Share one of your records with a notary or an arbitrator: an application to notarise
        it, or so that they may examine it."""
        body = {"record_id": record_id, "recipient_id": recipient_id}
        return dict(self._client._json("POST", "/v1/shares", json=body))

    def shares(self, *, received: bool = True) -> list[dict[str, Any]]:
        """Records shared with you (``received``), or that you shared."""
        params = {"direction": "received" if received else "sent"}
        return list(self._client._json("GET", "/v1/shares", params=params))

    def examine(self, record_id: str) -> AttestedRecord:
        """A record as the notary attests it: its leaf hash and content digest, and, once
        anchored, the proven time of its certificate, verified under the client's policy."""
        view = self._client.get(record_id)
        content = view["record"].get("content") or {}
        proven = None
        if view.get("status") == "anchored":
            cert = self._client.certificate(record_id)
            result = verify_certificate(cert, self._client.policy)
            proven = format_timestamp(result.proven_time)
        return AttestedRecord(
            record_id=view["id"],
            kind=view["kind"],
            leaf_hash=view["leaf_hash"],
            sha256=content.get("sha256") if isinstance(content, dict) else None,
            proven_time=proven,
        )

    def attest(
        self,
        key: NotarialKey,
        record_ids: Sequence[str],
        *,
        certificate_number: str,
        template: Template,
        on: date | None = None,
        zh: str | None = None,
        en: str | None = None,
    ) -> tuple[AttestationDocument, dict[str, Any]]:
        """Examine the records, sign the attestation and submit it; the signed document and the
        service's answer (its record id and receipt)."""
        records = [self.examine(r) for r in record_ids]
        applicant = self._applicant(record_ids[0])
        statement = statement_text(
            template, applicant=applicant.name, records=records, zh=zh, en=en
        )
        doc = sign_attestation(
            key,
            certificate_number=certificate_number,
            statement=statement,
            applicant=applicant,
            records=records,
            on=on or datetime.now(UTC).date(),
        )
        answer = self._client._json("POST", "/v1/attestations", json={"document": doc.to_json()})
        self._client._submission(answer)  # the receipt is checked before it is kept
        return doc, dict(answer)

    def refuse(
        self,
        key: NotarialKey,
        record_ids: Sequence[str],
        *,
        reasons: Sequence[str],
        on: date | None = None,
    ) -> tuple[RefusalDocument, dict[str, Any]]:
        records = [self.examine(r) for r in record_ids]
        doc = sign_refusal(
            key,
            applicant=self._applicant(record_ids[0]),
            records=records,
            reasons=reasons,
            on=on or datetime.now(UTC).date(),
        )
        answer = self._client._json(
            "POST", "/v1/notarial-refusals", json={"document": doc.to_json()}
        )
        self._client._submission(answer)
        return doc, dict(answer)

    def revoke(
        self, key: NotarialKey, attestation_id: str, *, reason: str, on: date | None = None
    ) -> tuple[RevocationDocument, dict[str, Any]]:
        view = self._client.get(attestation_id)
        body = parse_record(view["record"])
        if not isinstance(body, AttestationRecord):
            raise FormatError(f"{attestation_id} is not an attestation")
        doc = sign_revocation(
            key,
            attestation=RevokedAttestation(
                record_id=body.id,
                leaf_hash=view["leaf_hash"],
                certificate_number=body.certificate_number,
            ),
            reason=reason,
            on=on or datetime.now(UTC).date(),
        )
        answer = self._client._json(
            "POST",
            f"/v1/attestations/{attestation_id}/revocation",
            json={"document": doc.to_json()},
        )
        self._client._submission(answer)
        return doc, dict(answer)

    def bundle(self, record_id: str) -> dict[str, Any]:
        """The record's certificate bundle (verify it with :func:`verify_attestations`)."""
        return dict(self._client._json("GET", f"/v1/notarial/bundles/{record_id}"))

    def _applicant(self, record_id: str) -> Applicant:
        view = self._client.get(record_id)
        holder = view["record"].get("holder")
        if not isinstance(holder, dict):
            raise FormatError(f"record {record_id} names no holder to be the applicant")
        return Applicant(id=str(holder["id"]), name=str(holder["name"]))
