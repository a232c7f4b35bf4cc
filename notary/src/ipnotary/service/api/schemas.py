"""Request and response bodies of the REST API (the wire shapes; rules live in ``domain``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ipnotary.sdk.certificate import Anchor
from ipnotary.sdk.kinds import RecordStatus
from ipnotary.service.domain.records import ContentFingerprint, EvidenceMetadata
from ipnotary.service.domain.scalars import JsonBool, JsonInt

__all__ = [
    "AnchorInfo",
    "DigestBatchSubmission",
    "DigestSubmission",
    "RecordPage",
    "RecordView",
    "SubmissionResult",
    "SubmissionWarning",
    "VerifyOptions",
    "VerifyRequest",
    "VerifyResponse",
]


class DigestSubmission(ContentFingerprint):
    """Evidence submitted by digest only: the holder keeps the content."""

    metadata: EvidenceMetadata = Field(default_factory=EvidenceMetadata)


# The most NOTARY_MAX_DIGESTS_PER_REQUEST can be; the setting (default 1,000) is checked with 413.
MAX_DIGESTS_PER_REQUEST = 100_000


class DigestBatchSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[
        list[DigestSubmission], Field(min_length=1, max_length=MAX_DIGESTS_PER_REQUEST)
    ]


class AnchorInfo(Anchor):
    """The anchor as certificates state it, and the root it anchored (hex)."""

    root: str


class RecordView(BaseModel):
    id: str
    kind: str
    status: RecordStatus
    leaf_hash: str
    received_at: str
    record: dict[str, Any]
    anchor: AnchorInfo | None = None
    log_index: int | None = Field(default=None, description="position in the log, once sealed")
    has_content: bool
    waiting_for: str | None = Field(
        default=None,
        description="until the certificate can be fetched: what it waits for (sealing, "
        "anchoring, witnesses, timestamps, certifying); null once anchored",
    )


class SubmissionWarning(BaseModel):
    """Something a submission asked for that was not done, and why."""

    code: str = Field(description="`details_not_changed`: the record already existed")
    detail: str
    fields: list[str] = Field(
        default_factory=list, description="the fields it names, as dotted paths in the record"
    )

    @classmethod
    def details_not_changed(cls, fields: list[str]) -> list[SubmissionWarning]:
        """The warning for details sent again for a record that already existed (none if the
        submission stated nothing other than the record holds)."""
        if not fields:
            return []
        return [
            cls(
                code="details_not_changed",
                detail="you had already recorded this content: the record is kept as it was "
                f"first recorded (it is anchored unchanged), so these were not changed: "
                f"{', '.join(fields)}; submit other content to record other details",
                fields=fields,
            )
        ]


class SubmissionResult(BaseModel):
    """Answer to a submission: the record and the signed receipt (our promise to anchor it)."""

    id: str
    created: bool = Field(description="false when the same content from you was already recorded")
    status: str
    receipt: dict[str, Any]
    warnings: list[SubmissionWarning] = Field(
        default_factory=list,
        description="what was not done; with `created: false`, the details sent that differ from "
        "the record, which stays as first recorded (`details_not_changed`)",
    )


class RecordPage(BaseModel):
    items: list[RecordView]
    next_cursor: str | None


class VerifyOptions(BaseModel):
    """Everything of a verify request but the certificate (which the SDK's parser reads)."""

    model_config = ConfigDict(extra="forbid")

    content: ContentFingerprint | None = Field(
        default=None, description="fingerprint of the file to compare with the record"
    )
    check_chain: JsonBool = True
    min_confirmations: Annotated[JsonInt, Field(ge=1, le=1000)] = 1


class VerifyRequest(VerifyOptions):
    """The documented shape of ``POST /v1/verify`` (the route reads the certificate raw)."""

    certificate: dict[str, Any] = Field(
        description="the certificate as issued: at most 256 KiB, nesting 32, no key twice"
    )


class VerifyResponse(BaseModel):
    valid: bool
    failed_step: str | None = None
    reason: str | None = None
    steps: list[str]
    record_id: str | None = None
    proven_time: str | None = Field(default=None, description="existed by then, per time_source")
    time_source: str | None = Field(
        default=None, description="witnesses, timestamp_authority, chain or operator"
    )
    witnesses: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    anchored_at: str | None = None
    chain_id: int | None = None
    contract: str | None = None
    block_number: int | None = None
    confirmations: int | None = None
    issuer_key_id: str | None = None
