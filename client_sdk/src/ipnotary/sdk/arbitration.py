"""Arbitration cases (the regulation's Art. 10): a case's bundle, checked offline with one call.

A case is a sequence of acts (``case_event`` records, each anchored in the one log): opened,
party invited, submission made (an exhibit: a record's certificate; a statement: a document; a
trade-secret disclosure to a member of the tribunal), submission shared with the parties,
closed. Each act names its case, its place in the case (``seq``) and the leaf hash of the act
before it (``previous``), so the case's own log can be checked for gaps and forks.

The service exports a case as one ZIP (:data:`BUNDLE_MEDIA_TYPE`)::

    manifest.json                      the case, its acts, every submission: digest, submitter,
                                       time, files; signed by the service's issuer key
    log/0001-ae_….json                 each act's certificate, in order
    exhibits/001/certificate.json      an exhibit: the record's certificate
    exhibits/001/content/<name>        ... and its bytes, where the service holds them
    exhibits/002/<name>                a statement: the document
    disclosed/003/disclosure.json      (the tribunal's copy only) the disclosure's certificate,
    disclosed/003/filing.json          the filing's certificate,
    disclosed/003/container.ipnts      the ciphertext, and each wrapped key disclosed
    disclosed/003/keys/<prn>.json      to a member of the tribunal

The tribunal's copy holds every act; a party's copy holds what the party may see (its own
submissions and what the tribunal shared) and lists the acts it leaves out (``withheld``) by
number, so a gap is never silent. :func:`verify_case_bundle` checks all of it under the
verifier's trust policy (:class:`CaseStep`, in order) and names the exhibit and file that fail.
:class:`CasesClient` drives a case through the service.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipnotary.sdk.canonical import parse_json
from ipnotary.sdk.certificate import AnyCertificate, parse_certificate, parse_time
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import (
    CaseEventRecord,
    DisclosureRecord,
    TradeSecretRecord,
    parse_record,
)
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid
from ipnotary.sdk.verify import (
    ChainView,
    ContentDigests,
    TimeSource,
    VerificationResult,
    check_content,
    verify_certificate,
)

if TYPE_CHECKING:
    from ipnotary.sdk.client import NotaryClient

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "MANIFEST_MEDIA_TYPE",
    "CaseBundleResult",
    "CaseStep",
    "CasesClient",
    "ExhibitFinding",
    "Manifest",
    "verify_case_bundle",
]

BUNDLE_MEDIA_TYPE: Final = "application/vnd.ipnotary.case-bundle+zip;version=1"
MANIFEST_MEDIA_TYPE: Final = "application/vnd.ipnotary.case-manifest+json;version=1"
MANIFEST_NAME: Final = "manifest.json"

# Limits, so that a hostile ZIP cannot exhaust a verifier: entries, the manifest, each member
# and all of them uncompressed (a ZIP states sizes it need not honour: reads stop at the limit).
MAX_ENTRIES = 20_000
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
MAX_CERTIFICATE_FILE_BYTES = 512 * 1024
MAX_MEMBER_BYTES = 8 * 1024**3
MAX_TOTAL_BYTES = 32 * 1024**3
_CHUNK = 1 << 20


class CaseStep(StrEnum):
    """The checks of a case bundle, in order."""

    BUNDLE_FORMAT = "bundle_format"  # a ZIP within limits, safe names, a manifest that parses
    MANIFEST_SIGNATURE = "manifest_signature"  # signed by an issuer key the policy trusts
    CASE_LOG = "case_log"  # every act's certificate verifies; the acts chain without gaps
    EXHIBIT = "exhibit"  # every submission: its act, its certificate and its bytes
    DISCLOSURE = "disclosure"  # (tribunal's copy) the disclosure, filing and ciphertext
    COMPLETENESS = (
        "completeness"  # every submission in the log is in the manifest, no file is extra
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ManifestParty(_Strict):
    label: str
    name: str
    id_type: str
    id: str
    principal_id: str | None = None


class ManifestMember(_Strict):
    id: str
    name: str


class ManifestCase(_Strict):
    id: str
    commission: str
    number: str
    parties: list[ManifestParty]
    tribunal: list[ManifestMember]


class ManifestCopy(_Strict):
    made_for: Literal["tribunal", "party"] = Field(alias="for")
    principal: ManifestMember


class ManifestAct(_Strict):
    seq: Annotated[int, Field(ge=1)]
    record_id: str
    act: str
    leaf_hash: str
    file: str


class ManifestRecordRef(_Strict):
    record_id: str
    kind: str
    leaf_hash: str


class ManifestSubmitter(_Strict):
    id: str
    name: str
    capacity: str


class ManifestExhibit(_Strict):
    number: Annotated[int, Field(ge=1)]
    type: Literal["exhibit", "statement", "disclosure"]
    title: str
    submitter: ManifestSubmitter
    submitted_at: str
    event: str
    shared: bool
    sha256: str | None = None
    size: int | None = None
    record: ManifestRecordRef | None = None
    filing_id: str | None = None
    recipient_id: str | None = None
    files: dict[str, str] = Field(default_factory=dict)


class ManifestIssuer(_Strict):
    key_id: str
    public_key: str


class ManifestSignature(_Strict):
    alg: Literal["Ed25519"]
    value: str


class Manifest(_Strict):
    """``manifest.json``: what the bundle holds and where, signed by the service."""

    media_type: Literal["application/vnd.ipnotary.case-manifest+json;version=1"]
    bundle_media_type: Literal["application/vnd.ipnotary.case-bundle+zip;version=1"]
    case: ManifestCase
    copy_for: ManifestCopy = Field(alias="copy")
    exported_at: str
    log_size: Annotated[int, Field(ge=1)]
    log: list[ManifestAct]
    withheld: list[int]
    exhibits: list[ManifestExhibit]
    issuer: ManifestIssuer
    signature: ManifestSignature

    def unsigned(self) -> dict[str, Any]:
        body: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        del body["signature"]
        return body


@dataclass(frozen=True)
class ExhibitFinding:
    number: int
    type: str
    title: str
    submitter: str
    submitted_at: datetime  # when the service received the submission
    proven_time: datetime  # the submission existed by then (its act's certificate)
    time_source: TimeSource
    sha256: str | None
    files: tuple[str, ...]
    record_proven_time: datetime | None = None  # an exhibit's record existed by then


@dataclass(frozen=True)
class CaseBundleResult:
    case_id: str
    commission: str
    number: str
    copy_for: str
    acts: int
    withheld: tuple[int, ...]
    exhibits: tuple[ExhibitFinding, ...]
    files_checked: int
    bytes_checked: int


def _fail(step: CaseStep, message: str) -> VerificationError:
    return VerificationError(step, message)


class _Zip:
    """The ZIP's members by name, read within the limits."""

    def __init__(self, source: bytes | str | os.PathLike[str] | BinaryIO) -> None:
        try:
            handle: Any = io.BytesIO(source) if isinstance(source, bytes) else source
            self.zip = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError) as exc:
            raise _fail(CaseStep.BUNDLE_FORMAT, f"not a ZIP archive: {exc}") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _fail(CaseStep.BUNDLE_FORMAT, f"more than {MAX_ENTRIES} entries")
        self.members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            path = PurePosixPath(name)
            if (
                not name
                or name.startswith("/")
                or "\\" in name
                or ".." in path.parts
                or info.is_dir()
            ):
                raise _fail(CaseStep.BUNDLE_FORMAT, f"entry {name!r} is not a plain relative file")
            if name in self.members:
                raise _fail(CaseStep.BUNDLE_FORMAT, f"entry {name!r} appears twice")
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                raise _fail(CaseStep.BUNDLE_FORMAT, "the bundle is larger than its limits")
            self.members[name] = info
        self.read_bytes = 0
        self.read_files = 0

    def read(self, name: str, limit: int, step: CaseStep, what: str) -> bytes:
        if name not in self.members:
            raise _fail(step, f"{what}: {name} is missing from the bundle")
        with self.zip.open(self.members[name]) as member:
            data = member.read(limit + 1)
        if len(data) > limit:
            raise _fail(step, f"{what}: {name} is over its limit of {limit} bytes")
        self.read_bytes += len(data)
        self.read_files += 1
        return data

    def digest(self, name: str, step: CaseStep, what: str) -> tuple[str, int]:
        """SHA-256 and size of a member, streamed."""
        if name not in self.members:
            raise _fail(step, f"{what}: {name} is missing from the bundle")
        sha, size = hashlib.sha256(), 0
        try:
            with self.zip.open(self.members[name]) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > MAX_MEMBER_BYTES:
                        raise _fail(step, f"{what}: {name} is over its limit")
                    sha.update(chunk)
        except (zipfile.BadZipFile, OSError) as exc:  # a CRC error: its bytes were changed
            raise _fail(step, f"{what}: {name} cannot be read whole ({exc})") from None
        self.read_bytes += size
        self.read_files += 1
        return sha.hexdigest(), size


def _certificate(
    archive: _Zip,
    name: str,
    policy: TrustPolicy,
    step: CaseStep,
    what: str,
    chain: ChainView | None,
    now: datetime | None,
) -> tuple[AnyCertificate, VerificationResult]:
    raw = archive.read(name, MAX_CERTIFICATE_FILE_BYTES, step, what)
    try:
        cert = parse_certificate(raw)
        return cert, verify_certificate(cert, policy, chain=chain, now=now)
    except FormatError as exc:
        raise _fail(step, f"{what} ({name}): {exc}") from None
    except VerificationError as exc:
        raise _fail(step, f"{what} ({name}): failed at step '{exc.step}': {exc.reason}") from None


def verify_case_bundle(
    bundle: bytes | str | os.PathLike[str] | BinaryIO,
    policy: TrustPolicy,
    *,
    chain: ChainView | None = None,
    now: datetime | None = None,
) -> CaseBundleResult:
    """Check a case bundle offline under ``policy`` (:class:`CaseStep`, in order); raises
    ``VerificationError`` naming the step, and for an exhibit its number, title and file."""
    if not isinstance(policy, TrustPolicy):
        raise TypeError("verify_case_bundle needs your trust policy")
    archive = _Zip(bundle)
    raw = archive.read(MANIFEST_NAME, MAX_MANIFEST_BYTES, CaseStep.BUNDLE_FORMAT, "the manifest")
    try:
        manifest = Manifest.model_validate(
            parse_json(raw, max_bytes=MAX_MANIFEST_BYTES, what="case manifest")
        )
    except FormatError as exc:
        raise _fail(CaseStep.BUNDLE_FORMAT, str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(CaseStep.BUNDLE_FORMAT, f"manifest: {where}: {first['msg']}") from None
    _check_signature(manifest, policy)
    events, results = _check_log(archive, manifest, policy, chain, now)
    findings = [
        _check_exhibit(archive, manifest, item, events, results, policy, chain, now)
        for item in manifest.exhibits
    ]
    _check_complete(archive, manifest, events)
    return CaseBundleResult(
        case_id=manifest.case.id,
        commission=manifest.case.commission,
        number=manifest.case.number,
        copy_for=manifest.copy_for.made_for,
        acts=len(manifest.log),
        withheld=tuple(manifest.withheld),
        exhibits=tuple(findings),
        files_checked=archive.read_files,
        bytes_checked=archive.read_bytes,
    )


def _check_signature(manifest: Manifest, policy: TrustPolicy) -> None:
    try:
        public = public_key_from_b64(manifest.issuer.public_key)
    except FormatError as exc:
        raise _fail(CaseStep.MANIFEST_SIGNATURE, f"the issuer key is unusable: {exc}") from None
    if key_id(public) != manifest.issuer.key_id:
        raise _fail(CaseStep.MANIFEST_SIGNATURE, "key_id does not name the issuer key")
    if not signature_is_valid(public, manifest.unsigned(), manifest.signature.value):
        raise _fail(
            CaseStep.MANIFEST_SIGNATURE,
            "the manifest's signature does not verify: the manifest was changed after export",
        )
    trusted = policy.issuer(manifest.issuer.key_id)
    if trusted is None:
        raise _fail(
            CaseStep.MANIFEST_SIGNATURE,
            f"the manifest is signed by key {manifest.issuer.key_id}, which your policy does "
            "not list",
        )
    try:
        exported = parse_time(manifest.exported_at)
    except ValueError as exc:
        raise _fail(CaseStep.MANIFEST_SIGNATURE, f"exported_at: {exc}") from None
    if not trusted.covers(exported):
        raise _fail(
            CaseStep.MANIFEST_SIGNATURE, "the issuer key was not valid when the case was exported"
        )


def _check_log(
    archive: _Zip,
    manifest: Manifest,
    policy: TrustPolicy,
    chain: ChainView | None,
    now: datetime | None,
) -> tuple[dict[str, CaseEventRecord], dict[str, VerificationResult]]:
    step = CaseStep.CASE_LOG
    seqs = [a.seq for a in manifest.log]
    if seqs != sorted(set(seqs)):
        raise _fail(step, "the acts are not listed once each, in order")
    if sorted(set(seqs) | set(manifest.withheld)) != list(range(1, manifest.log_size + 1)) or (
        set(seqs) & set(manifest.withheld)
    ):
        raise _fail(
            step,
            f"the acts listed and withheld are not the case's acts 1 to {manifest.log_size}: "
            "an act is missing without being declared withheld",
        )
    if manifest.copy_for.made_for == "tribunal" and manifest.withheld:
        raise _fail(step, "the tribunal's copy withholds acts")
    if not seqs or seqs[0] != 1:
        raise _fail(step, "the case's opening (act 1) is missing")
    events: dict[str, CaseEventRecord] = {}
    results: dict[str, VerificationResult] = {}
    by_seq: dict[int, tuple[CaseEventRecord, str]] = {}
    for entry in manifest.log:
        what = f"act {entry.seq} ({entry.act})"
        cert, result = _certificate(archive, entry.file, policy, step, what, chain, now)
        body = parse_record(cert.record)
        if not isinstance(body, CaseEventRecord):
            raise _fail(step, f"{what}: {entry.file} is a certificate of a {cert.kind} record")
        if (
            body.id != entry.record_id
            or body.seq != entry.seq
            or body.act != entry.act
            or cert.leaf_hash != entry.leaf_hash
        ):
            raise _fail(step, f"{what}: the manifest does not describe the act its file holds")
        if (body.case.id, body.case.commission, body.case.number) != (
            manifest.case.id,
            manifest.case.commission,
            manifest.case.number,
        ):
            raise _fail(step, f"{what} belongs to another case ({body.case.number})")
        before = by_seq.get(entry.seq - 1)
        if entry.seq == 1 and body.previous is not None:
            raise _fail(step, "the opening names an act before it")
        if before is not None and body.previous != before[1]:
            raise _fail(step, f"{what} does not follow act {entry.seq - 1}: the case log forked")
        by_seq[entry.seq] = (body, cert.leaf_hash)
        events[body.id] = body
        results[body.id] = result
    opening = by_seq[1][0]
    parties = [p.model_dump(mode="json", exclude_none=True) for p in opening.parties or []]
    stated = [p.model_dump(mode="json", exclude_none=True) for p in manifest.case.parties]
    invited = {
        e.party.label: e.party.principal_id
        for e, _ in by_seq.values()
        if e.act == "invited" and e.party is not None
    }
    for party in parties:
        if party["label"] in invited:
            party["principal_id"] = invited[party["label"]]
    tribunal = [m.model_dump(mode="json") for m in opening.tribunal or []]
    if parties != stated or tribunal != [m.model_dump(mode="json") for m in manifest.case.tribunal]:
        raise _fail(
            step, "the manifest's parties or tribunal are not those the case was opened with"
        )
    return events, results


def _check_exhibit(
    archive: _Zip,
    manifest: Manifest,
    item: ManifestExhibit,
    events: Mapping[str, CaseEventRecord],
    results: Mapping[str, VerificationResult],
    policy: TrustPolicy,
    chain: ChainView | None,
    now: datetime | None,
) -> ExhibitFinding:
    what = f"exhibit {item.number} ({item.title!r})"
    step = CaseStep.EXHIBIT
    event = events.get(item.event)
    if event is None or event.act != "submitted" or event.submission is None:
        raise _fail(step, f"{what}: its submission ({item.event}) is not an act in this bundle")
    sub = event.submission
    record = sub.record.model_dump(mode="json") if sub.record is not None else None
    listed = item.record.model_dump(mode="json") if item.record is not None else None
    if (
        sub.number != item.number
        or sub.type != item.type
        or sub.title != item.title
        or sub.sha256 != item.sha256
        or sub.size != item.size
        or record != listed
        or event.actor.id != item.submitter.id
    ):
        raise _fail(step, f"{what}: the manifest does not describe what was submitted")
    record_time = None
    if item.type == "exhibit":
        cert_file = item.files.get("certificate")
        if cert_file is None or sub.record is None:
            raise _fail(step, f"{what}: no certificate in the bundle")
        cert, result = _certificate(
            archive, cert_file, policy, step, f"{what}, its certificate", chain, now
        )
        if cert.leaf_hash != sub.record.leaf_hash or cert.record_id != sub.record.record_id:
            raise _fail(step, f"{what}: {cert_file} is the certificate of another record")
        record_time = result.proven_time
        content = item.files.get("content")
        if content is not None:
            sha, size = archive.digest(content, step, what)
            try:
                check_content(cert.record, ContentDigests(size=size, sha256=sha))
            except VerificationError as exc:
                raise _fail(step, f"{what}: {content}: {exc.reason}") from None
    elif item.type == "statement":
        document = item.files.get("document")
        if document is None:
            raise _fail(step, f"{what}: the statement's document is not in the bundle")
        sha, size = archive.digest(document, step, what)
        if (sha, size) != (sub.sha256, sub.size):
            raise _fail(
                step,
                f"{what}: {document} has SHA-256 {sha} ({size} bytes), but {sub.sha256} "
                f"({sub.size} bytes) was submitted: the file was changed",
            )
    else:
        _check_disclosure(archive, manifest, item, what, policy, chain, now)
    result = results[event.id]
    return ExhibitFinding(
        number=item.number,
        type=item.type,
        title=item.title,
        submitter=f"{event.actor.name} ({event.actor.capacity})",
        submitted_at=parse_time(event.received_at),
        proven_time=result.proven_time,
        time_source=result.time_source,
        sha256=item.sha256,
        files=tuple(item.files.values()),
        record_proven_time=record_time,
    )


def _check_disclosure(
    archive: _Zip,
    manifest: Manifest,
    item: ManifestExhibit,
    what: str,
    policy: TrustPolicy,
    chain: ChainView | None,
    now: datetime | None,
) -> None:
    step = CaseStep.DISCLOSURE
    if manifest.copy_for.made_for != "tribunal":
        if any(name.startswith("disclosed/") for name in item.files.values()):
            raise _fail(step, f"{what}: a party's copy holds disclosed material")
        return
    for part in ("disclosure", "filing", "container"):
        if part not in item.files:
            raise _fail(step, f"{what}: the tribunal's copy has no {part}")
    disclosure, _ = _certificate(
        archive, item.files["disclosure"], policy, step, f"{what}, the disclosure", chain, now
    )
    filing, _ = _certificate(
        archive, item.files["filing"], policy, step, f"{what}, the filing", chain, now
    )
    told = parse_record(disclosure.record)
    filed = parse_record(filing.record)
    if (
        not isinstance(told, DisclosureRecord)
        or not isinstance(filed, TradeSecretRecord)
        or item.record is None
        or told.id != item.record.record_id
        or told.filing.id != filed.id
        or filed.id != item.filing_id
        or told.filing.commitment != filed.commitment
    ):
        raise _fail(step, f"{what}: the disclosure and filing do not belong together")
    sha, size = archive.digest(item.files["container"], step, what)
    if (sha, size) != (filed.ciphertext.sha256, filed.ciphertext.size):
        raise _fail(
            step,
            f"{what}: {item.files['container']} is not the ciphertext that was filed "
            f"(SHA-256 {sha})",
        )
    for name, path in item.files.items():
        if name.startswith("key:"):
            key = archive.read(path, 64 * 1024, step, what)
            if told.recipient.get("id") == name.removeprefix("key:") and (
                hashlib.sha256(key).hexdigest() != told.wrapped_key_sha256
            ):
                raise _fail(step, f"{what}: {path} is not the wrapped key that was disclosed")


def _check_complete(
    archive: _Zip, manifest: Manifest, events: Mapping[str, CaseEventRecord]
) -> None:
    step = CaseStep.COMPLETENESS
    submitted = {
        e.submission.number for e in events.values() if e.act == "submitted" and e.submission
    }
    listed = {x.number for x in manifest.exhibits}
    if submitted != listed:
        missing = sorted(submitted - listed) or sorted(listed - submitted)
        raise _fail(
            step,
            f"submissions {missing} are in the log but not in the manifest, or the other way round",
        )
    named = {MANIFEST_NAME, *(a.file for a in manifest.log)}
    for item in manifest.exhibits:
        named.update(item.files.values())
    extra = sorted(set(archive.members) - named)
    if extra:
        raise _fail(
            step, f"the bundle holds files its manifest does not name: {', '.join(extra[:5])}"
        )


# --- the client side ----------------------------------------------------------------------------


class CasesClient:
    """A case through the service, over a :class:`~ipnotary.sdk.client.NotaryClient`: open it,
    invite parties, submit exhibits, statements and disclosures, share, close, export."""

    def __init__(self, client: NotaryClient) -> None:
        self._client = client

    def open(
        self,
        *,
        commission: str,
        case_number: str,
        parties: Sequence[Mapping[str, Any]],
        tribunal: Sequence[str],
    ) -> dict[str, Any]:
        """Open a case (an arbitrator, or the commission's secretary as one): its parties
        (``label``, ``name``, ``id_type``, ``id``) and the tribunal's principal ids."""
        body = {
            "commission": commission,
            "case_number": case_number,
            "parties": [dict(p) for p in parties],
            "tribunal": list(tribunal),
        }
        return dict(self._client._json("POST", "/v1/arbitration/cases", json=body))

    def cases(self) -> list[dict[str, Any]]:
        return list(self._client._json("GET", "/v1/arbitration/cases"))

    def case(self, case_id: str) -> dict[str, Any]:
        return dict(self._client._json("GET", f"/v1/arbitration/cases/{case_id}"))

    def invite(self, case_id: str, label: str, principal_id: str) -> dict[str, Any]:
        """Bind the party ``label`` (as the opening names it) to the principal that acts for it."""
        return dict(
            self._client._json(
                "POST",
                f"/v1/arbitration/cases/{case_id}/invitations",
                json={"label": label, "principal_id": principal_id},
            )
        )

    def submit_exhibit(self, case_id: str, record_id: str, *, title: str) -> dict[str, Any]:
        """Put one of your records before the tribunal, as an exhibit (its certificate)."""
        body = {"record_id": record_id, "title": title}
        return dict(
            self._client._json("POST", f"/v1/arbitration/cases/{case_id}/exhibits", json=body)
        )

    def submit_statement(
        self, case_id: str, path: str | os.PathLike[str], *, title: str
    ) -> dict[str, Any]:
        """Submit a statement (a document, stored and anchored by its digest)."""
        with open(path, "rb") as fh:
            return dict(
                self._client._json(
                    "POST",
                    f"/v1/arbitration/cases/{case_id}/statements",
                    data={"statement": json.dumps({"title": title})},
                    files={"file": (Path(path).name, fh, "application/octet-stream")},
                )
            )

    def submit_disclosure(self, case_id: str, disclosure_id: str, *, title: str) -> dict[str, Any]:
        """Put a trade-secret disclosure you made to a member of the tribunal before it (the
        tribunal's copy of the bundle then holds the ciphertext and the member's wrapped key)."""
        body = {"disclosure_id": disclosure_id, "title": title}
        return dict(
            self._client._json("POST", f"/v1/arbitration/cases/{case_id}/disclosures", json=body)
        )

    def share(self, case_id: str, number: int) -> dict[str, Any]:
        """(The tribunal) show submission ``number`` to every party."""
        return dict(
            self._client._json(
                "POST", f"/v1/arbitration/cases/{case_id}/submissions/{int(number)}/share"
            )
        )

    def close(self, case_id: str, *, note: str) -> dict[str, Any]:
        return dict(
            self._client._json(
                "POST", f"/v1/arbitration/cases/{case_id}/closing", json={"note": note}
            )
        )

    def export(self, case_id: str, destination: str | os.PathLike[str]) -> Path:
        """Save the case's bundle (the tribunal's copy for the tribunal, your copy for a party)."""
        return self._download(f"/v1/arbitration/cases/{case_id}/bundle.zip", destination)

    def evidence_index(self, case_id: str, destination: str | os.PathLike[str]) -> Path:
        """Save the evidence index as a PDF (page numbers, a linked and bookmarked index)."""
        return self._download(f"/v1/arbitration/cases/{case_id}/index.pdf", destination)

    def _download(self, path: str, destination: str | os.PathLike[str]) -> Path:
        response = self._client._request("GET", path)
        target = Path(destination)
        target.write_bytes(response.content)
        return target


def manifest_of(bundle: bytes | str | os.PathLike[str] | BinaryIO) -> dict[str, Any]:
    """The manifest of a bundle, unverified (for display; :func:`verify_case_bundle` checks it)."""
    archive = _Zip(bundle)
    raw = archive.read(MANIFEST_NAME, MAX_MANIFEST_BYTES, CaseStep.BUNDLE_FORMAT, "the manifest")
    document: dict[str, Any] = json.loads(raw)
    return document
