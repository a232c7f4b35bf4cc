"""The body of each kind of record, typed: exactly what is hashed into the log's leaf.

One model per :class:`~ipnotary.sdk.kinds.RecordKind`, beside it in the SDK because the service
builds bodies with them (``ipnotary.service.domain``) and every reader parses them with them: the
verifier's content check, the claim check, the credit and pledge checks. A body is built once and
never changes; :meth:`RecordBody.to_json` gives the JSON object that is canonicalised and hashed,
with exactly the fields that were set (a field set to ``None`` is written as ``null``; one never
set is absent), so parsing a stored body and writing it again gives the same bytes.

Parsing is strict about types and refuses fields a kind does not have: :func:`parse_record` raises
:class:`~ipnotary.sdk.errors.FormatError` for a body that is not one of ours. The models say what a
body *is*; the rules for what a holder may submit (text rules, identifier check characters, dates
not in the future) are the service's, applied before a body is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordKind

__all__ = [
    "AttestationRecord",
    "AttestationRevocationRecord",
    "Author",
    "CaptureRecord",
    "CaseEventRecord",
    "ComplaintEventRecord",
    "CoveredRecord",
    "CreditEntryRecord",
    "CreditRepairRecord",
    "DisclosureRecord",
    "EvidenceMetadata",
    "EvidenceRecord",
    "IdentifiedParty",
    "NotarialRefusalRecord",
    "Party",
    "PledgeEventRecord",
    "PledgeTransaction",
    "PriorRegistration",
    "RecordBody",
    "RecordContent",
    "TradeSecretRecord",
    "WorkFields",
    "WorkRecord",
    "content_of",
    "parse_record",
]


class _Body(BaseModel):
    # strict: a body's numbers are JSON numbers and its strings JSON strings, nothing coerced
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON object as anchored: the fields that were set, by their wire names."""
        body: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return body


class Party(_Body):
    """A principal of the service, as it was named when the record was made."""

    id: str
    name: str


class IdentifiedParty(_Body):
    """A person or organisation by a typed identifier (``uscc``, ``resident_id`` ...)."""

    name: str
    id_type: str
    id: str


class RecordContent(_Body):
    """The fingerprint of the bytes a record is about (or, for a trade secret, its ciphertext).

    Only bytes the service stored have CIDs; ``declared`` names the digests a digest-only
    submitter stated and the service never measured."""

    size: Annotated[int, Field(ge=0, le=2**53 - 1)]
    sha256: str
    sm3: str | None = None
    cid: str | None = None
    cid_v1: str | None = None
    declared: list[str] | None = None


class EvidenceMetadata(_Body):
    title: str | None = None
    description: str | None = None
    source_url: str | None = None
    captured_at: str | None = None
    case_reference: str | None = None
    tags: list[str] | None = None


class EvidenceRecord(_Body):
    id: str
    kind: Literal[RecordKind.evidence]
    schema_version: Literal[1] = Field(alias="schema")
    holder: Party
    content: RecordContent
    metadata: EvidenceMetadata | None = None
    received_at: str


class Author(_Body):
    name: str
    pen_name: str | None = None


class Publication(_Body):
    date: str
    place: str


class WorkFields(_Body):
    """What the holder declared about a copyright work."""

    title: str
    work_type: str
    work_type_detail: str | None = None
    authors: list[Author]
    copyright_owner: IdentifiedParty
    completed_on: str
    first_publication: Publication | None = None


class PriorRegistration(_Body):
    """An earlier registration of the same content by another holder, known when this one was
    accepted."""

    id: str
    received_at: str
    copyright_owner: str  # the owner's name as registered


class WorkRecord(_Body):
    id: str
    kind: Literal[RecordKind.work]
    schema_version: Literal[1] = Field(alias="schema")
    holder: Party
    work: WorkFields
    content: RecordContent
    prior_registrations: list[PriorRegistration] | None = None
    received_at: str


class Encryption(_Body):
    container: str
    stream: str
    holder_key_id: str


class TradeSecretRecord(_Body):
    id: str
    kind: Literal[RecordKind.trade_secret]
    schema_version: Literal[1] = Field(alias="schema")
    holder: Party
    commitment: str
    ciphertext: RecordContent
    encryption: Encryption
    label: str | None = None
    received_at: str


class FilingReference(_Body):
    id: str
    commitment: str


class DisclosureRecord(_Body):
    id: str
    kind: Literal[RecordKind.disclosure]
    schema_version: Literal[1] = Field(alias="schema")
    holder: Party
    filing: FilingReference
    recipient: dict[str, str]
    wrapped_key_sha256: str
    received_at: str


class CreditEntryRecord(_Body):
    """Schema 2 states the non-personal fields in the clear beside the commitments; schema 1
    (before the register answered for past times) held only the entry's commitment."""

    id: str
    kind: Literal[RecordKind.credit_entry]
    schema_version: Literal[1, 2] = Field(alias="schema")
    authority: dict[str, str]
    entry_commitment: str
    subject_commitment: str | None = None
    conduct: str | None = None
    severity: str | None = None
    publicity_start: str | None = None
    publicity_end: str | None = None
    received_at: str


class EntryReference(_Body):
    id: str
    commitment: str


class CreditRepairRecord(_Body):
    id: str
    kind: Literal[RecordKind.credit_repair]
    schema_version: Literal[1] = Field(alias="schema")
    authority: dict[str, str]
    entry: EntryReference
    decision: Literal["repaired"]
    received_at: str


class PledgeTransaction(_Body):
    """The mined ``PledgeRegistry`` transaction a pledge event records."""

    chain_id: int
    contract: str
    pledge_id: int
    tx_hash: str
    block_number: int
    block_timestamp: int


class PledgeEventRecord(_Body):
    """One ``PledgeRegistry`` transaction and the details behind its hashes. ``terms``,
    ``party``, ``consent`` and ``ownership`` are documents of their own, checked by
    ``ipnotary.sdk.pledges`` against the chain's digests."""

    id: str
    kind: Literal[RecordKind.pledge_event]
    schema_version: Literal[1] = Field(alias="schema")
    registrar: dict[str, str]
    action: str
    asset: dict[str, str]
    pledge: PledgeTransaction
    terms: dict[str, Any] | None = None
    party: dict[str, Any] | None = None
    consent: dict[str, Any] | None = None
    consent_digest: str | None = None
    ownership: dict[str, Any] | None = None
    received_at: str


# --- notarial acts ------------------------------------------------------------------------------


class CoveredRecord(_Body):
    """A record a notarial act or a case or complaint step refers to, by its leaf hash."""

    record_id: str
    kind: str
    leaf_hash: str


class AttestationRecord(_Body):
    """A notarial attestation: the document the notary signed with its own key
    (``ipnotary.sdk.attestations``), kept whole, and what it says, for lookups."""

    id: str
    kind: Literal[RecordKind.attestation]
    schema_version: Literal[1] = Field(alias="schema")
    notary: Party
    office: str
    certificate_number: str
    statement_template: str
    covers: list[CoveredRecord]
    document: dict[str, Any]
    document_sha256: str
    received_at: str


class NotarialRefusalRecord(_Body):
    """A notary's refusal, with reasons, of an application to notarise records."""

    id: str
    kind: Literal[RecordKind.notarial_refusal]
    schema_version: Literal[1] = Field(alias="schema")
    notary: Party
    office: str
    applicant: Party
    covers: list[CoveredRecord]
    document: dict[str, Any]
    document_sha256: str
    received_at: str


class AttestationReference(_Body):
    id: str
    leaf_hash: str
    certificate_number: str


class AttestationRevocationRecord(_Body):
    """A notary's revocation of an attestation, with its reason."""

    id: str
    kind: Literal[RecordKind.attestation_revocation]
    schema_version: Literal[1] = Field(alias="schema")
    notary: Party
    office: str
    attestation: AttestationReference
    document: dict[str, Any]
    document_sha256: str
    received_at: str


class CaptureFile(_Body):
    """A file inside the capture's WACZ, as anchored."""

    path: str
    sha256: str
    size: Annotated[int, Field(ge=0, le=2**53 - 1)]


class CapturePackage(_Body):
    """The WACZ's manifest and signature: the digest of ``datapackage.json``, the anonymous WACZ
    signature's public key (base64 SubjectPublicKeyInfo) and the ``created`` it signed."""

    format: Literal["wacz"]
    wacz_version: str
    datapackage_sha256: str
    signing_key: str
    created: str


class CaptureServer(_Body):
    """A server the browser reached: its name, port and the address the capture connected to."""

    host: str
    port: int
    ip: str


class CaptureRedirect(_Body):
    from_url: str = Field(alias="from")
    to: str
    status: int


class CaptureTls(_Body):
    """An origin's certificate chain as the browser was shown it (SHA-256 of each DER, leaf
    first) and whether it verified for the host at capture time."""

    origin: str
    chain_sha256: list[str]
    verified: bool


class CaptureEnvironment(_Body):
    """The clean-environment check: passed only if every check did; the failed ones named."""

    clean: bool
    checks: list[str]
    failed: list[str]


class CaptureRecord(_Body):
    """A web-page capture: the WACZ (``content``) and what a court asks of it at a glance; the
    full provenance is ``capture/provenance.json`` inside the WACZ, anchored in ``files``."""

    id: str
    kind: Literal[RecordKind.capture]
    schema_version: Literal[1] = Field(alias="schema")
    holder: Party
    url: str
    final_url: str
    title: str | None = None
    status: int | None = None
    captured_at: str
    content: RecordContent
    package: CapturePackage
    files: list[CaptureFile]
    servers: list[CaptureServer]
    redirects: list[CaptureRedirect] | None = None
    tls: list[CaptureTls] | None = None
    blocked_requests: Annotated[int, Field(ge=0)]
    environment: CaptureEnvironment
    browser: str
    timestamp_token: str | None = None  # RFC 3161, base64 DER, over SHA-256 of datapackage.json
    received_at: str


# --- arbitration cases --------------------------------------------------------------------------


class CaseReference(_Body):
    id: str
    commission: str
    number: str


class CaseActor(_Body):
    """Who acted in a case, and in which capacity (``administrator``, ``arbitrator``, ``party``)."""

    id: str
    name: str
    capacity: str


class CaseParty(_Body):
    """A party to a case: its label (claimant, respondent), its typed identifier and, once
    invited, the principal that acts for it."""

    label: str
    name: str
    id_type: str
    id: str
    principal_id: str | None = None


class CaseSubmission(_Body):
    """What a submission put before the tribunal: an exhibit (a record's certificate), a statement
    (a document), or a trade-secret disclosure to a member of the tribunal."""

    number: Annotated[int, Field(ge=1, le=2**53 - 1)]
    type: Literal["exhibit", "statement", "disclosure"]
    title: str
    record: CoveredRecord | None = None
    sha256: str | None = None
    size: Annotated[int, Field(ge=0, le=2**53 - 1)] | None = None
    filename: str | None = None
    filing_id: str | None = None
    recipient_id: str | None = None


class CaseShare(_Body):
    """The tribunal's sharing of a submission with every party."""

    number: Annotated[int, Field(ge=1, le=2**53 - 1)]
    event_id: str


class CaseEventRecord(_Body):
    """One act in an arbitration case. ``seq`` counts the case's acts from 1 and ``previous`` is
    the leaf hash of the act before it, so the case's own log can be checked for gaps."""

    id: str
    kind: Literal[RecordKind.case_event]
    schema_version: Literal[1] = Field(alias="schema")
    case: CaseReference
    seq: Annotated[int, Field(ge=1, le=2**53 - 1)]
    previous: str | None
    actor: CaseActor
    act: Literal["opened", "invited", "submitted", "shared", "closed"]
    parties: list[CaseParty] | None = None
    tribunal: list[Party] | None = None
    party: CaseParty | None = None
    submission: CaseSubmission | None = None
    shared: CaseShare | None = None
    note: str | None = None
    received_at: str


# --- e-commerce complaints ----------------------------------------------------------------------


class ComplaintReference(_Body):
    id: str
    platform: Party
    holder: Party


class ComplaintActor(_Body):
    """Who took a step, and as what (``holder``, ``platform``, ``seller``)."""

    id: str
    name: str
    capacity: Literal["holder", "platform", "seller"]


class ComplaintRulesInForce(_Body):
    """The platform's time limits when the notice arrived; they govern the whole complaint."""

    decision_hours: Annotated[int, Field(ge=1, le=10_000)]
    forward_hours: Annotated[int, Field(ge=1, le=10_000)]
    window_days: Annotated[int, Field(ge=1, le=365)]
    lift_hours: Annotated[int, Field(ge=1, le=10_000)]


class ComplaintRight(_Body):
    """The right a notice relies on: a work registered here (``work``), or a copyright, patent or
    trademark by its registration number."""

    type: Literal["copyright", "patent", "trademark"]
    title: str
    registration_number: str | None = None
    work: CoveredRecord | None = None


class ComplaintListingEntry(_Body):
    index: Annotated[int, Field(ge=0, le=10_000)]
    url: str
    seller_id: str | None = None


class ComplaintNotice(_Body):
    """A rights holder's notice (E-Commerce Law Art. 42): who it is, the right, the listings, the
    prima facie evidence (records by leaf hash) and the statement of good faith."""

    holder: IdentifiedParty
    right: ComplaintRight
    listings: list[ComplaintListingEntry]
    evidence: list[CoveredRecord]
    good_faith: str


class StatementOfReasons(_Body):
    """Why the platform restricted a listing or did not (the fields of EU DSA Art. 17)."""

    restriction: str | None = None  # what was restricted, its scope and duration
    facts: str
    ground: str
    automated: bool
    redress: str


class ComplaintForwarding(_Body):
    """A document the platform forwarded: the notice (to sellers) or a declaration (to the
    holder), by the step that made it."""

    document: Literal["notice", "declaration"]
    event_id: str
    to: list[Party]


class ComplaintDeclaration(_Body):
    """A seller's declaration of non-infringement (Art. 43) and its own evidence."""

    seller: IdentifiedParty
    statement: str
    evidence: list[CoveredRecord]


class ComplaintAction(_Body):
    """The holder's notice that it complained to an authority or sued (Art. 43, within the
    window): to whom, the reference it was given, when it filed, and its proof."""

    type: Literal["authority_complaint", "lawsuit"]
    addressee: str
    reference: str
    filed_on: str
    evidence: list[CoveredRecord]


class ComplaintDue(_Body):
    """The step due next on the listings a step touched, by whom, and by when (None: no limit)."""

    step: str
    party: Literal["holder", "platform", "seller"]
    by: str | None = None


class ComplaintEventRecord(_Body):
    """One step of an e-commerce complaint. ``seq`` counts the complaint's steps from 1 and
    ``previous`` is the leaf hash of the step before it, as for a case's acts; ``listings`` are
    the indices (into the notice) of the listings the step is about."""

    id: str
    kind: Literal[RecordKind.complaint_event]
    schema_version: Literal[1] = Field(alias="schema")
    complaint: ComplaintReference
    seq: Annotated[int, Field(ge=1, le=2**53 - 1)]
    previous: str | None
    actor: ComplaintActor
    step: Literal[
        "filed",
        "measures_taken",
        "rejected",
        "notice_forwarded",
        "declared",
        "declaration_forwarded",
        "action_notified",
        "measures_lifted",
        "published",
    ]
    listings: list[Annotated[int, Field(ge=0, le=10_000)]]
    notice: ComplaintNotice | None = None
    rules: ComplaintRulesInForce | None = None
    measure: Literal["delete", "block", "disconnect", "stop_transactions"] | None = None
    reasons: StatementOfReasons | None = None
    forwarded: ComplaintForwarding | None = None
    sellers: dict[str, Party] | None = None  # listing index -> the seller it was forwarded to
    declaration: ComplaintDeclaration | None = None
    window_ends_at: str | None = None
    action: ComplaintAction | None = None
    note: str | None = None
    due: ComplaintDue | None = None
    received_at: str


RecordBody = Annotated[
    EvidenceRecord
    | CaptureRecord
    | WorkRecord
    | TradeSecretRecord
    | DisclosureRecord
    | CreditEntryRecord
    | CreditRepairRecord
    | PledgeEventRecord
    | AttestationRecord
    | NotarialRefusalRecord
    | AttestationRevocationRecord
    | CaseEventRecord
    | ComplaintEventRecord,
    Field(discriminator="kind"),
]
_RECORD: TypeAdapter[RecordBody] = TypeAdapter(RecordBody)


def parse_record(body: Mapping[str, Any]) -> RecordBody:
    """The typed body of a record; :class:`FormatError` naming the first field that is not
    what its kind says."""
    try:
        return _RECORD.validate_python(dict(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the record"
        raise FormatError(f"not a record of ours: {where}: {first['msg']}") from None


def content_of(body: RecordBody) -> RecordContent | None:
    """The fingerprint of the bytes the service stores for a record (a trade secret's is its
    ciphertext's), or None for kinds that have none."""
    if isinstance(body, EvidenceRecord | WorkRecord | CaptureRecord):
        return body.content
    if isinstance(body, TradeSecretRecord):
        return body.ciphertext
    return None
