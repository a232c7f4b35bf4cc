"""Certificate v1 and receipt v1: the documents the service hands out and anyone can verify.

Start with :class:`Certificate`. A certificate is self-contained: the record that was anchored, its
RFC 9162 inclusion proof, where the batch root sits on chain, and the issuer's Ed25519 signature over
the RFC 8785 canonical JSON of everything else. ``docs/certificate.md`` specifies the format.

Models are strict (unknown fields are refused, every string has a pattern or a length limit) so a
document either parses into something the verifier understands or fails at the ``format`` step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from client_sdk.canonical import canonical_json, parse_json
from client_sdk.errors import FormatError
from client_sdk.merkle import leaf_hash

__all__ = [
    "CERTIFICATE_MEDIA_TYPE",
    "MAX_CERTIFICATE_BYTES",
    "MAX_RECORD_BYTES",
    "RECEIPT_MEDIA_TYPE",
    "Anchor",
    "Certificate",
    "InclusionProof",
    "Issuer",
    "Receipt",
    "format_timestamp",
    "record_leaf_hash",
]

CERTIFICATE_MEDIA_TYPE = "application/vnd.ipnotary.certificate+json;version=1"
RECEIPT_MEDIA_TYPE = "application/vnd.ipnotary.receipt+json;version=1"

# Limits, to keep a hostile document from exhausting a verifier (see docs/certificate.md).
MAX_CERTIFICATE_BYTES = 256 * 1024
MAX_RECORD_BYTES = 64 * 1024
MAX_AUDIT_PATH = 64

Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Hex0x32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=256)]
Timestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
]
Uint63 = Annotated[int, Field(ge=0, le=2**53 - 1)]  # JCS numbers are exact only to 2^53


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: the one timestamp form in our documents."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_leaf_hash(record: dict[str, Any]) -> bytes:
    """The Merkle leaf of a record: RFC 9162 leaf hash of its canonical JSON."""
    data = canonical_json(record)
    if len(data) > MAX_RECORD_BYTES:
        raise FormatError(f"record is {len(data)} bytes canonical; the limit is {MAX_RECORD_BYTES}")
    return leaf_hash(data)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class InclusionProof(_Strict):
    """RFC 9162 inclusion proof of the record's leaf in the anchored batch."""

    hash_alg: Literal["sha256"]
    leaf_index: Uint63
    tree_size: Annotated[int, Field(ge=1, le=2**32)]
    audit_path: Annotated[list[Hex32], Field(max_length=MAX_AUDIT_PATH)]
    root: Hex32


class Anchor(_Strict):
    """Where the batch root was recorded on chain."""

    chain_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    contract: Address
    batch_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    tx_hash: Hex0x32
    block_number: Uint63
    block_hash: Hex0x32
    block_timestamp: Uint63
    block_time: Timestamp

    @field_validator("block_time")
    @classmethod
    def _parseable(cls, value: str) -> str:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value


class Issuer(_Strict):
    """The service key that signed the document; ``key_id`` is SHA-256 of the raw public key."""

    key_id: Hex32
    public_key: B64
    name: Annotated[str, StringConstraints(max_length=200)] = ""


class Signature(_Strict):
    alg: Literal["Ed25519"]
    value: B64


class _Signed(_Strict):
    issuer: Issuer
    signature: Signature

    def unsigned_body(self) -> dict[str, Any]:
        """The JSON that the signature covers: the document without its ``signature``."""
        return self.model_dump(mode="json", exclude={"signature"})

    def to_json_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def _parse(cls, data: bytes | str | dict[str, Any], what: str, max_bytes: int) -> Any:
        raw = data if isinstance(data, dict) else parse_json(data, max_bytes=max_bytes, what=what)
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise FormatError(f"{what} is malformed: {problems}") from exc


class Receipt(_Signed):
    """Signed at once on submission: the service promises to anchor this exact record."""

    media_type: Literal["application/vnd.ipnotary.receipt+json;version=1"]
    record: dict[str, Any]
    leaf_hash: Hex32
    status: Literal["pending"]
    issued_at: Timestamp

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> Receipt:
        receipt: Receipt = cls._parse(data, "receipt", MAX_CERTIFICATE_BYTES)
        return receipt


class Certificate(_Signed):
    """A record, proven included in a batch whose root is anchored on chain, signed by the issuer."""

    media_type: Literal["application/vnd.ipnotary.certificate+json;version=1"]
    record: dict[str, Any]
    leaf_hash: Hex32
    proof: InclusionProof
    anchor: Anchor
    issued_at: Timestamp

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> Certificate:
        certificate: Certificate = cls._parse(data, "certificate", MAX_CERTIFICATE_BYTES)
        return certificate

    @property
    def record_id(self) -> str:
        return str(self.record.get("id", ""))

    @property
    def kind(self) -> str:
        return str(self.record.get("kind", ""))
