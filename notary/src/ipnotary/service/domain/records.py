"""Record bodies: what gets hashed into a Merkle leaf, for every kind of notarised item.

Pure rules (no web framework, database or chain). A record body is a JSON object whose canonical
bytes (RFC 8785) are the leaf's input; once built it never changes. Every record carries ``id``,
``kind``, ``schema`` (its version), ``holder`` and ``received_at``; each kind adds its own fields.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from ipnotary.sdk import records as sdk_records
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import EvidenceRecord, Party, RecordContent
from ipnotary.service.domain.scalars import Hex64, JsonDateTime, JsonInt
from ipnotary.service.domain.text import CheckedTextModel, Text

__all__ = [
    "DIGEST_FIELDS",
    "ContentFingerprint",
    "EvidenceMetadata",
    "RecordKind",
    "Role",
    "build_evidence_record",
    "dedup_key",
    "new_id",
]


class Role(StrEnum):
    holder = "holder"
    notary = "notary"
    arbitrator = "arbitrator"
    platform = "platform"
    credit_authority = "credit_authority"
    pledge_registrar = "pledge_registrar"
    # A seller on an e-commerce platform: answers complaints about its own listings
    # (docs/complaints.md).
    seller = "seller"
    admin = "admin"


# Record kinds are declared once, in the SDK (which must read ids without the service); the
# service's other objects with ids add theirs here.
_ID_PREFIX: dict[str, str] = {
    **{kind.value: kind.id_prefix for kind in RecordKind},
    "principal": "prn",
    "api_key": "key",
}


def new_id(kind: RecordKind | str) -> str:
    """A random 128-bit id with a readable prefix (``ev_…``); unguessable, so ids leak nothing."""
    return f"{_ID_PREFIX[kind]}_{secrets.token_hex(16)}"


# What a fingerprint states about the bytes; the CIDs are addresses in our own content store.
DIGEST_FIELDS = ("sha256", "size", "sm3")


class ContentFingerprint(BaseModel):
    """Digests of the content: computed by us on upload, or declared by a digest-only submitter.

    Only bytes the service stored have a CID (it is the content store's address, and every
    digest route refuses a CID), so a fingerprint without one holds the submitter's word, and its
    record field says so: ``declared`` lists the digests nobody here computed.
    """

    model_config = ConfigDict(extra="forbid")

    size: Annotated[JsonInt, Field(ge=0, le=2**53 - 1)]
    sha256: Hex64
    sm3: Hex64 | None = None
    cid: Annotated[str, StringConstraints(max_length=100)] | None = None
    cid_v1: Annotated[str, StringConstraints(max_length=100)] | None = None

    @property
    def declared(self) -> list[str]:
        """The fields the submitter declared and the service never measured, sorted."""
        if self.cid is not None:
            return []
        return sorted(k for k in DIGEST_FIELDS if getattr(self, k) is not None)

    def as_record_content(self) -> RecordContent:
        field = self.model_dump(exclude_none=True)
        if self.declared:
            field["declared"] = self.declared
        return RecordContent(**field)


class EvidenceMetadata(CheckedTextModel):
    """Optional description of an evidence item. Limits are documented in docs/api.md; no field
    may hold invisible formatting characters (``ipnotary.service.domain.text``)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Text, StringConstraints(max_length=300)] | None = None
    description: Annotated[Text, StringConstraints(max_length=10_000)] | None = None
    source_url: Annotated[AnyHttpUrl, Field()] | None = None
    captured_at: JsonDateTime | None = None
    case_reference: Annotated[Text, StringConstraints(max_length=200)] | None = None
    tags: Annotated[
        list[Annotated[Text, StringConstraints(max_length=64)]], Field(max_length=32)
    ] = Field(default_factory=list)

    @field_validator("source_url")
    @classmethod
    def _url_length(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and len(str(value)) > 2048:
            raise ValueError("source_url is longer than 2048 characters")
        return value

    @field_validator("captured_at")
    @classmethod
    def _not_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("captured_at needs a time zone (e.g. 2026-01-31T08:00:00Z)")
        if value > datetime.now(UTC) + timedelta(minutes=5):
            raise ValueError("captured_at is in the future")
        return value

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    def as_record_field(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        if self.source_url:
            out["source_url"] = str(self.source_url)
        if self.captured_at:
            out["captured_at"] = format_timestamp(self.captured_at)
        if self.case_reference:
            out["case_reference"] = self.case_reference
        if self.tags:
            out["tags"] = self.tags
        return out


def dedup_key(kind: RecordKind | str, owner_id: str, sha256: str) -> str:
    """Same content from the same holder is one record of each kind."""
    return f"{RecordKind(kind).value}:{owner_id}:{sha256}"


def build_evidence_record(
    *,
    record_id: str,
    holder_id: str,
    holder_name: str,
    content: ContentFingerprint,
    metadata: EvidenceMetadata,
    received_at: datetime,
) -> dict[str, Any]:
    meta = metadata.as_record_field()
    return EvidenceRecord(
        id=record_id,
        kind=RecordKind.evidence,
        schema_version=1,
        holder=Party(id=holder_id, name=holder_name),
        content=content.as_record_content(),
        **({"metadata": sdk_records.EvidenceMetadata(**meta)} if meta else {}),
        received_at=format_timestamp(received_at),
    ).to_json()
