"""Record bodies of notarial acts: an attestation, a refusal, a revocation.

Each holds the notary's signed document whole (``ipnotary.sdk.attestations``), so its certificate
carries the signature a verifier checks under its own policy, and beside it the fields the
service looks things up by (office, certificate number, the leaf hashes covered). Pure rules: the
documents arrive parsed and signature-checked by the SDK's models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ipnotary.sdk.attestations import AttestationDocument, RefusalDocument, RevocationDocument
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    AttestationRecord,
    AttestationReference,
    AttestationRevocationRecord,
    CoveredRecord,
    NotarialRefusalRecord,
    Party,
)

__all__ = [
    "build_attestation_record",
    "build_attestation_revocation_record",
    "build_notarial_refusal_record",
]


def _covers(doc: AttestationDocument | RefusalDocument) -> list[CoveredRecord]:
    return [
        CoveredRecord(record_id=r.record_id, kind=r.kind, leaf_hash=r.leaf_hash)
        for r in doc.records
    ]


def build_attestation_record(
    record_id: str, received_at: datetime, *, notary: Party, document: AttestationDocument
) -> dict[str, Any]:
    return AttestationRecord(
        id=record_id,
        kind=RecordKind.attestation,
        schema_version=1,
        notary=notary,
        office=document.office,
        certificate_number=document.certificate_number,
        statement_template=document.statement.template.value,
        covers=_covers(document),
        document=document.to_json(),
        document_sha256=document.digest,
        received_at=format_timestamp(received_at),
    ).to_json()


def build_notarial_refusal_record(
    record_id: str,
    received_at: datetime,
    *,
    notary: Party,
    applicant: Party,
    document: RefusalDocument,
) -> dict[str, Any]:
    return NotarialRefusalRecord(
        id=record_id,
        kind=RecordKind.notarial_refusal,
        schema_version=1,
        notary=notary,
        office=document.office,
        applicant=applicant,
        covers=_covers(document),
        document=document.to_json(),
        document_sha256=document.digest,
        received_at=format_timestamp(received_at),
    ).to_json()


def build_attestation_revocation_record(
    record_id: str, received_at: datetime, *, notary: Party, document: RevocationDocument
) -> dict[str, Any]:
    return AttestationRevocationRecord(
        id=record_id,
        kind=RecordKind.attestation_revocation,
        schema_version=1,
        notary=notary,
        office=document.office,
        attestation=AttestationReference(
            id=document.attestation.record_id,
            leaf_hash=document.attestation.leaf_hash,
            certificate_number=document.attestation.certificate_number,
        ),
        document=document.to_json(),
        document_sha256=document.digest,
        received_at=format_timestamp(received_at),
    ).to_json()
