"""Certificates and receipts: the documents the service hands out and anyone can verify.

Start with :class:`Certificate` (version 2). A certificate is self-contained: the record, its RFC
9162 inclusion proof in the platform's one append-only log, the log's checkpoint as a C2SP signed
note carrying the witnesses' cosignatures, RFC 3161 time-stamp tokens over that checkpoint, where
the checkpoint sits on chain, and the issuer's Ed25519 signature over the RFC 8785 canonical JSON
of everything else. :class:`CertificateV1` (one tree per batch, no log, no witnesses) is kept so
that version 1 certificates keep verifying; :func:`parse_certificate` reads either.
``docs/certificate.md`` specifies both.

Models are strict (unknown fields are refused, every string has a pattern or a length limit) so a
document either parses into something the verifier understands or fails at the ``format`` step.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.merkle import leaf_hash
from ipnotary.sdk.records import RecordBody, parse_record

__all__ = [
    "CERTIFICATE_MEDIA_TYPE",
    "CERTIFICATE_V1_MEDIA_TYPE",
    "MAX_CERTIFICATE_BYTES",
    "MAX_RECORD_BYTES",
    "MAX_UNIX_SECONDS",
    "RECEIPT_MEDIA_TYPE",
    "Anchor",
    "AnyCertificate",
    "Certificate",
    "CertificateV1",
    "InclusionProof",
    "Issuer",
    "LogProof",
    "Receipt",
    "TimestampTokenField",
    "format_timestamp",
    "parse_certificate",
    "parse_time",
    "record_leaf_hash",
]

CERTIFICATE_MEDIA_TYPE = "application/vnd.ipnotary.certificate+json;version=2"
CERTIFICATE_V1_MEDIA_TYPE = "application/vnd.ipnotary.certificate+json;version=1"
RECEIPT_MEDIA_TYPE = "application/vnd.ipnotary.receipt+json;version=1"

# Limits, to keep a hostile document from exhausting a verifier (see docs/certificate.md).
MAX_CERTIFICATE_BYTES = 256 * 1024
MAX_RECORD_BYTES = 64 * 1024
MAX_AUDIT_PATH = 64
MAX_CHECKPOINT_CHARS = 16 * 1024  # origin, size, root and up to ~40 signature lines
MAX_TIMESTAMP_TOKENS = 8
MAX_TOKEN_B64_CHARS = 24 * 1024

Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Hex0x32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=256)]
# The last second Python's datetime can hold (9999-12-31T23:59:59Z): a Unix time beyond it is no
# time a verifier can compare, so a document that states one is refused where it is read.
MAX_UNIX_SECONDS = 253_402_300_799


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: the one timestamp form in our documents."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    """The inverse of :func:`format_timestamp` (any RFC 3339 UTC form our documents carry).

    ``ValueError`` for text that is no time, including one whose offset moves it outside the
    years 1 to 9999 (``datetime`` raises ``OverflowError`` there, which callers that refuse bad
    input with ``except ValueError`` would let escape)."""
    try:
        return datetime.fromisoformat(value).astimezone(UTC)  # Python 3.11 reads the "Z" itself
    except OverflowError as exc:
        raise ValueError(f"{value[:40]!r} is outside the years 1 to 9999: {exc}") from exc


def _a_time(value: str) -> str:
    # The pattern admits month 13, 30 February, hour 24 and year 0; a later step that parses the
    # field would raise in the middle of a verification instead of refusing it at ``format``.
    parse_time(value)
    return value


def _decodable_base64(value: str) -> str:
    # As the verifier decodes it (``base64.b64decode``): the pattern admits text with a character
    # too many or missing padding, which would raise binascii.Error at step ``timestamps``.
    try:
        base64.b64decode(value)
    except binascii.Error as exc:
        raise ValueError(f"not decodable base64: {exc}") from exc
    return value


# [0-9], not \d: pydantic-core's \d takes any script's digits, which fromisoformat then refuses
# (a ValueError in the middle of a verification instead of a refusal at ``format``).
Timestamp = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
    ),
    AfterValidator(_a_time),
]
Uint63 = Annotated[int, Field(ge=0, le=2**53 - 1)]  # JCS numbers are exact only to 2^53
UnixSeconds = Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)]


def record_leaf_hash(record: dict[str, Any]) -> bytes:
    """The Merkle leaf of a record: RFC 9162 leaf hash of its canonical JSON."""
    data = canonical_json(record)
    if len(data) > MAX_RECORD_BYTES:
        raise FormatError(f"record is {len(data)} bytes canonical; the limit is {MAX_RECORD_BYTES}")
    return leaf_hash(data)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class InclusionProof(_Strict):
    """Version 1: RFC 9162 inclusion proof of the record's leaf in its batch's own tree."""

    hash_alg: Literal["sha256"]
    leaf_index: Uint63
    tree_size: Annotated[int, Field(ge=1, le=2**32)]
    audit_path: Annotated[list[Hex32], Field(max_length=MAX_AUDIT_PATH)]
    root: Hex32


class Anchor(_Strict):
    """Where the root was recorded on chain (version 2: the checkpoint's root and tree size)."""

    chain_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    contract: Address
    batch_id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    tx_hash: Hex0x32
    block_number: Uint63
    block_hash: Hex0x32
    block_timestamp: UnixSeconds
    block_time: Timestamp

    @classmethod
    def of_block(
        cls,
        *,
        chain_id: int,
        contract: str,
        batch_id: int,
        tx_hash: str,
        block_number: int,
        block_hash: str,
        block_timestamp: int,
    ) -> Anchor:
        """The anchor as a certificate states it, from what the chain reported: hashes in lower
        case and the block's time in both forms (a verifier checks that they agree)."""
        return cls(
            chain_id=chain_id,
            contract=contract,
            batch_id=batch_id,
            tx_hash=tx_hash.lower(),
            block_number=block_number,
            block_hash=block_hash.lower(),
            block_timestamp=block_timestamp,
            block_time=format_timestamp(datetime.fromtimestamp(block_timestamp, UTC)),
        )


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
        """The JSON that the signature covers: the document without its ``signature``.

        Optional fields the document did not carry stay absent (``exclude_unset``): the
        signature covers the document as written, not our model's defaults."""
        return self.model_dump(mode="json", exclude={"signature"}, exclude_unset=True)

    def to_json_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", exclude_unset=True))

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


class _CertificateBase(_Signed):
    record: dict[str, Any]
    leaf_hash: Hex32
    anchor: Anchor
    issued_at: Timestamp

    @property
    def record_id(self) -> str:
        return str(self.record.get("id", ""))

    @property
    def kind(self) -> str:
        return str(self.record.get("kind", ""))

    def body(self) -> RecordBody:
        """The record, typed by its kind (:class:`FormatError` for a body that is not one of
        ours, e.g. from a newer version of the service)."""
        return parse_record(self.record)


class CertificateV1(_CertificateBase):
    """Version 1: a record in a batch whose own root is anchored on chain, signed by the issuer.

    Nothing but the operator vouches for its time; verifiers report it as such.
    """

    version: ClassVar[int] = 1
    media_type: Literal["application/vnd.ipnotary.certificate+json;version=1"]
    proof: InclusionProof

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> CertificateV1:
        certificate: CertificateV1 = cls._parse(data, "certificate", MAX_CERTIFICATE_BYTES)
        return certificate


Origin = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s+]+$")]


class LogProof(_Strict):
    """The record's place in the one append-only log, and the checkpoint that proves it.

    ``checkpoint`` is the C2SP signed note of the log at ``tree_size`` leaves: the log's
    signature and the witnesses' timestamped cosignatures (tlog-cosignature). The inclusion proof
    leads from the record's leaf at ``leaf_index`` to the checkpoint's root.
    """

    origin: Origin
    leaf_index: Uint63
    tree_size: Annotated[int, Field(ge=1, le=2**53 - 1)]
    inclusion_proof: Annotated[list[Hex32], Field(max_length=MAX_AUDIT_PATH)]
    checkpoint: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHECKPOINT_CHARS)]


class TimestampTokenField(_Strict):
    """An RFC 3161 time-stamp token (DER, standard base64) over SHA-256 of the checkpoint's
    note text."""

    token: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9+/]+={0,2}$", max_length=MAX_TOKEN_B64_CHARS),
        AfterValidator(_decodable_base64),
    ]


class Certificate(_CertificateBase):
    """Version 2: a record in the platform's one log, at a witnessed, time-stamped and anchored
    checkpoint, signed by the issuer."""

    version: ClassVar[int] = 2
    media_type: Literal["application/vnd.ipnotary.certificate+json;version=2"]
    log: LogProof
    timestamps: Annotated[list[TimestampTokenField], Field(max_length=MAX_TIMESTAMP_TOKENS)]
    # Said by the issuer when nobody but itself vouches for this certificate's time.
    notice: Annotated[str, StringConstraints(max_length=500)] | None = None

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> Certificate:
        certificate: Certificate = cls._parse(data, "certificate", MAX_CERTIFICATE_BYTES)
        return certificate


AnyCertificate = Certificate | CertificateV1


def parse_certificate(data: bytes | str | dict[str, Any]) -> AnyCertificate:
    """A certificate of any version we know; ``FormatError`` for anything else."""
    raw = (
        data
        if isinstance(data, dict)
        else parse_json(data, max_bytes=MAX_CERTIFICATE_BYTES, what="certificate")
    )
    if not isinstance(raw, dict):
        raise FormatError("a certificate is a JSON object")
    media_type = raw.get("media_type")
    if media_type == CERTIFICATE_MEDIA_TYPE:
        return Certificate.from_json(raw)
    if media_type == CERTIFICATE_V1_MEDIA_TYPE:
        return CertificateV1.from_json(raw)
    raise FormatError(
        f"not a certificate of a version this verifier knows (media_type {str(media_type)[:80]!r}; "
        f"known: {CERTIFICATE_MEDIA_TYPE}, {CERTIFICATE_V1_MEDIA_TYPE})"
    )
