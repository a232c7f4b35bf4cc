"""Trade-secret filings (the regulation's Art. 26) and their disclosures.

The service never sees a secret: it receives an encrypted container, the holder's wrapped data key
and a salted commitment (``ipnotary.sdk.trade_secret``). The anchored filing record holds the
commitment and the ciphertext's fingerprint, never a digest of the plaintext. A disclosure record
says who disclosed which filing to whom, when, and which wrapped key (by hash) was handed over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    DisclosureRecord,
    Encryption,
    FilingReference,
    Party,
    TradeSecretRecord,
)
from ipnotary.service.domain.records import ContentFingerprint
from ipnotary.service.domain.scalars import Hex64
from ipnotary.service.domain.text import CheckedTextModel

__all__ = ["FilingRequest", "build_disclosure_record", "build_trade_secret_record"]


class FilingRequest(CheckedTextModel):
    """What accompanies the uploaded container (the label is checked as record text)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^ts_[0-9a-f]{32}$")]
    commitment: Hex64
    holder_wrapped_key: dict[str, Any]
    # A short public label ("supplier price formula 2026"); it is anchored and shown to recipients,
    # so it must not give the secret away. Optional.
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


def build_trade_secret_record(
    *,
    record_id: str,
    holder_id: str,
    holder_name: str,
    commitment: str,
    ciphertext: ContentFingerprint,
    container_media_type: str,
    stream_algorithm: str,
    holder_key_id: str,
    label: str | None,
    received_at: datetime,
) -> dict[str, Any]:
    return TradeSecretRecord(
        id=record_id,
        kind=RecordKind.trade_secret,
        schema_version=1,
        holder=Party(id=holder_id, name=holder_name),
        commitment=commitment,
        ciphertext=ciphertext.as_record_content(),
        encryption=Encryption(
            container=container_media_type, stream=stream_algorithm, holder_key_id=holder_key_id
        ),
        **({"label": label} if label else {}),
        received_at=format_timestamp(received_at),
    ).to_json()


def build_disclosure_record(
    *,
    record_id: str,
    holder_id: str,
    holder_name: str,
    filing_id: str,
    commitment: str,
    recipient: dict[str, str],
    wrapped_key_sha256: str,
    received_at: datetime,
) -> dict[str, Any]:
    return DisclosureRecord(
        id=record_id,
        kind=RecordKind.disclosure,
        schema_version=1,
        holder=Party(id=holder_id, name=holder_name),
        filing=FilingReference(id=filing_id, commitment=commitment),
        recipient=recipient,
        wrapped_key_sha256=wrapped_key_sha256,
        received_at=format_timestamp(received_at),
    ).to_json()
