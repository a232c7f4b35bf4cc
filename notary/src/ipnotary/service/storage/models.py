"""Database tables (SQLModel). Schema changes go through Alembic (``storage/migrations``).

Records are stored with their canonical JSON body, exactly the bytes that were hashed into the
Merkle leaf, so a certificate can always be rebuilt byte for byte.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from ipnotary.sdk.certificate import Anchor

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Batch",
    "BatchStatus",
    "Cosignature",
    "CredentialRevocation",
    "CreditEntry",
    "CreditRepair",
    "KeyGrant",
    "LogTile",
    "Pledge",
    "Principal",
    "Record",
    "TimestampToken",
]

# 64-bit sequence numbers, except on SQLite where only "INTEGER PRIMARY KEY" autoincrements.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class Principal(SQLModel, table=True):
    """A user of the service: a rights holder, notary, arbitrator, platform, authority or admin."""

    __tablename__ = "principal"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    role: str = Field(max_length=32, index=True)
    created_at: datetime
    disabled: bool = False
    # Trade-secret recipients publish encryption keys (JSON: {"hpke": ..., "x25519": ...}).
    encryption_keys: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The subject this principal speaks for ("uscc:9135..."), set by the operator after checking
    # identity; lets a subject apply for credit repair of entries about it.
    identifier: str | None = Field(default=None, max_length=120, index=True)


class ApiKey(SQLModel, table=True):
    """API keys are stored as SHA-256 hashes: they are 256-bit random, so no slow KDF is needed.

    A key answers 401 once ``revoked_at`` or ``expires_at`` has passed; rotating a key revokes it
    and names its successor in ``replaced_by``. A key a principal minted with one of its keys names
    that key in ``parent_id``: it never outlives it and is revoked with it."""

    __tablename__ = "api_key"

    id: str = Field(primary_key=True, max_length=40)
    principal_id: str = Field(foreign_key="principal.id", index=True, max_length=40)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    replaced_by: str | None = Field(default=None, max_length=40)
    parent_id: str | None = Field(default=None, max_length=40, index=True)


class AuditEvent(SQLModel, table=True):
    """One administrative act: who did what to which target, when. Only appended, never changed.

    ``actor_id`` is the principal whose key made the request; acts done on the server host (the
    ``notary principal`` commands) have none and name the operator in ``actor``."""

    __tablename__ = "audit_event"

    seq: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(index=True)
    actor_id: str | None = Field(default=None, max_length=40, index=True)
    actor: str = Field(max_length=300)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(max_length=32)
    target_id: str = Field(max_length=80, index=True)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON


class Record(SQLModel, table=True):
    """One notarised item of any kind; ``body`` is its canonical JSON, the Merkle leaf's input."""

    __tablename__ = "record"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_record_dedup_key"),
        Index("ix_record_owner_seq", "owner_id", "seq"),
        Index("ix_record_pending", "batch_seq", "seq"),
        UniqueConstraint("log_index", name="uq_record_log_index"),
    )

    seq: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    id: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=32, index=True)
    owner_id: str = Field(foreign_key="principal.id", max_length=40)
    dedup_key: str | None = Field(default=None, max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    leaf_hash: str = Field(max_length=64, unique=True)
    content_sha256: str | None = Field(default=None, max_length=64, index=True)
    content_cid: str | None = Field(default=None, max_length=100)
    received_at: datetime
    batch_seq: int | None = Field(default=None, foreign_key="batch.seq")
    # Position in the one append-only log, set when the record's batch is sealed.
    log_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Version 1 only (records sealed before the log existed): position and audit path in the
    # batch's own tree. Log records take their proofs from the log's tiles instead.
    leaf_index: int | None = None
    audit_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class BatchStatus(StrEnum):
    """A batch is sealed into the log, then anchored on the chain (certification is a time,
    ``certified_at``, not a status: witnesses and TSAs answer after the anchor)."""

    sealed = "sealed"
    anchored = "anchored"


class Batch(SQLModel, table=True):
    """Records appended to the log together, and the checkpoint the log reached with them.

    Sealing appends ``size`` leaves at ``log_start`` and signs the checkpoint of the log at
    ``log_size`` leaves, whose root is ``root``; one chain transaction anchors that checkpoint,
    witnesses cosign it and time-stamp authorities stamp it. Batches from before the log (version
    1) have no ``log_size``: ``root`` is then the root of the batch's own tree.
    """

    __tablename__ = "batch"
    # Unique: two sealers that raced from the same log size cannot both commit.
    __table_args__ = (
        UniqueConstraint("log_start", name="uq_batch_log_start"),
        UniqueConstraint("log_size", name="uq_batch_log_size"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    root: str = Field(max_length=64, unique=True)
    size: int
    # VARCHAR(16) as the migrations made it; loaded back as the enum
    status: BatchStatus = Field(
        sa_column=Column(
            SAEnum(
                BatchStatus,
                native_enum=False,
                length=16,
                values_callable=lambda members: [m.value for m in members],
            ),
            nullable=False,
            index=True,
        )
    )
    sealed_at: datetime
    log_start: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    log_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The checkpoint as a C2SP signed note, signed by the log key only (cosignatures are rows).
    checkpoint: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # When the checkpoint had everything a certificate waits for (anchor, witness quorum, tokens).
    certified_at: datetime | None = Field(default=None, index=True)
    anchored_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    chain_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    contract: str | None = Field(default=None, max_length=42)
    chain_batch_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    block_hash: str | None = Field(default=None, max_length=66)
    block_timestamp: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    gas_used: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))

    def anchor(self) -> Anchor | None:
        """The anchor as certificates state it, once the batch is anchored."""
        if (
            self.status != BatchStatus.anchored
            or self.chain_id is None
            or self.contract is None
            or self.chain_batch_id is None
            or self.tx_hash is None
            or self.block_number is None
            or self.block_hash is None
            or self.block_timestamp is None
        ):
            return None
        return Anchor.of_block(
            chain_id=self.chain_id,
            contract=self.contract,
            batch_id=self.chain_batch_id,
            tx_hash=self.tx_hash,
            block_number=self.block_number,
            block_hash=self.block_hash,
            block_timestamp=self.block_timestamp,
        )


class LogTile(SQLModel, table=True):
    """One C2SP tlog-tiles tile of the log: up to 256 concatenated 32-byte hashes at tree height
    8 * level (see ``ipnotary.service.domain.tiles``). Only the rightmost tile of a level ever
    changes."""

    __tablename__ = "log_tile"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Cosignature(SQLModel, table=True):
    """A witness's C2SP tlog-cosignature on a batch's checkpoint, as the witness sent it."""

    __tablename__ = "cosignature"
    __table_args__ = (UniqueConstraint("batch_seq", "witness", name="uq_cosignature_witness"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_seq: int = Field(foreign_key="batch.seq", index=True)
    witness: str = Field(max_length=200)  # the witness key's name
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    signature_line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime


class TimestampToken(SQLModel, table=True):
    """An RFC 3161 time-stamp token over a batch's checkpoint text, from one authority."""

    __tablename__ = "timestamp_token"
    __table_args__ = (UniqueConstraint("batch_seq", "authority", name="uq_timestamp_authority"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_seq: int = Field(foreign_key="batch.seq", index=True)
    authority: str = Field(max_length=500)  # the URL it was requested from
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    gen_time: datetime
    received_at: datetime


class KeyGrant(SQLModel, table=True):
    """A trade secret's data key, HPKE-wrapped to one principal (the holder, or a disclosee).

    Nothing here is secret to the operator's advantage: opening a wrapped key needs the
    recipient's private key, which never reaches the service.
    """

    __tablename__ = "key_grant"
    __table_args__ = (UniqueConstraint("filing_id", "recipient_id", name="uq_key_grant_recipient"),)

    id: int | None = Field(default=None, primary_key=True)
    filing_id: str = Field(foreign_key="record.id", max_length=40, index=True)
    recipient_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    recipient_key_id: str = Field(max_length=64)
    wrapped_key: str = Field(sa_column=Column(Text, nullable=False))
    disclosure_id: str | None = Field(default=None, max_length=40)
    created_at: datetime


class CreditEntry(SQLModel, table=True):
    """The erasable side of a credit entry. Its anchored record holds commitments and the
    non-personal fields (schema 2), never the details.

    ``details`` and ``salt`` open the entry's commitment; both are set to NULL when the entry is
    repaired or its publicity period ends. What an answer for an earlier time needs is kept:
    the subject (``subject_key``, and ``subject_salt`` opening the record's subject commitment),
    conduct, severity and the publicity period. Entries erased before revision 0007 lost their
    subject too and no longer appear in any answer.
    """

    __tablename__ = "credit_entry"

    id: str = Field(primary_key=True, foreign_key="record.id", max_length=40)
    authority_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    commitment: str = Field(max_length=64)
    conduct: str = Field(max_length=16)
    status: str = Field(max_length=16, index=True)  # active -> repaired | expired
    subject_key: str | None = Field(default=None, max_length=120, index=True)
    details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    salt: str | None = Field(default=None, max_length=64)
    publicity_end: date
    created_at: datetime
    closed_at: datetime | None = None
    closing_record_id: str | None = Field(default=None, max_length=40)
    # Revision 0007: NULL only on entries erased before it (schema 1 records; no subject salt).
    severity: str | None = Field(default=None, max_length=16)
    publicity_start: date | None = None
    subject_salt: str | None = Field(default=None, max_length=64)


class CreditRepair(SQLModel, table=True):
    """A subject's application to repair an entry, and the authority's decision.

    ``statement`` may hold personal data: it is erased with the entry's details (on approval, or
    when the entry's publicity ends). ``evidence_sha256`` (a JSON list) names the documents the
    applicant sent, and stays with the decision."""

    __tablename__ = "credit_repair"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(foreign_key="credit_entry.id", max_length=40, index=True)
    applicant_id: str = Field(foreign_key="principal.id", max_length=40)
    statement: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    submitted_at: datetime
    decision: str = Field(max_length=16)  # pending -> approved | rejected
    decided_at: datetime | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    evidence_sha256: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Pledge(SQLModel, table=True):
    """The details behind a PledgeRegistry entry; the chain holds their hashes and the state.

    ``idempotency_key`` (with the SHA-256 of the request it came with) makes a retried
    registration return the first answer, even after the pledge was released."""

    __tablename__ = "pledge"
    __table_args__ = (
        UniqueConstraint("chain_id", "contract", "pledge_id", name="uq_pledge_on_chain"),
        UniqueConstraint("registrar_id", "idempotency_key", name="uq_pledge_idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    contract: str = Field(max_length=42)
    pledge_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    asset_key: str = Field(max_length=140, index=True)
    asset: str = Field(sa_column=Column(Text, nullable=False))  # JSON of PledgeAsset
    # JSON list of every version of the terms, oldest first; the last is current. Old versions
    # are kept so that "as of T" answers can show the terms the chain held then.
    terms: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, index=True)  # active -> released | enforced
    registrar_id: str = Field(foreign_key="principal.id", max_length=40)
    registered_at: datetime
    closed_at: datetime | None = None
    # The registrar's own chain account, which the contract lets change this pledge.
    registrar_account: str | None = Field(default=None, max_length=42)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_sha256: str | None = Field(default=None, max_length=64)
    registration_record_id: str | None = Field(default=None, max_length=40)


class DeploymentFact(SQLModel, table=True):
    """One fact of the deployment's identity (issuer key id, log origin and key, chain id and
    genesis, registry addresses), recorded by the first process that starts in production and
    checked by every later one (``services.deployment``): processes sharing a database can then
    never silently sign with another key or anchor in another registry."""

    __tablename__ = "deployment_fact"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
    recorded_at: datetime


class CredentialRevocation(SQLModel, table=True):
    """A revoked record: its entry in a Bitstring Status List is set (``services.status_lists``).

    Every revocable record has its entry from the start (its place follows from ``record.seq``);
    only revocations are stored, and never undone."""

    __tablename__ = "credential_revocation"
    __table_args__ = (UniqueConstraint("list_id", "status_index", name="uq_revocation_entry"),)

    record_id: str = Field(primary_key=True, foreign_key="record.id", max_length=40)
    list_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    status_index: int
    revoked_at: datetime
    # The anchored record that decided it (a credit repair, a notarial revocation), if any.
    cause_record_id: str | None = Field(default=None, max_length=40)


# The roles' workflows (sharing, notarial acts, cases, complaints) keep their tables in their own
# module; imported here so that every table is on SQLModel.metadata wherever the models are.
# People's accounts for the web app (persons, invitations, sessions) likewise.
from ipnotary.service.storage import accounts as _accounts  # noqa: E402, F401
from ipnotary.service.storage import workflows as _workflows  # noqa: E402, F401
