"""Storing and reading records of any kind; the one pipeline every module (evidence, works,
trade secrets, credit, pledges) feeds.

A record is accepted in one database transaction; the signed receipt is issued only after that
commit, so an acknowledged record is durable. The anchoring worker (``worker.anchoring``) later
puts it in a batch; ``certificate_for`` turns an anchored record into a certificate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.certificate import Anchor, AnyCertificate, record_leaf_hash
from ipnotary.sdk.kinds import RecordKind, RecordStatus
from ipnotary.sdk.note import Checkpoint, parse_note
from ipnotary.sdk.records import DisclosureRecord, parse_record
from ipnotary.service.domain.records import Role, new_id
from ipnotary.service.errors import NotFound, NotReady
from ipnotary.service.services.issuer import Issuer, LogFacts
from ipnotary.service.services.transparency_log import cosigned_checkpoint, inclusion_proof
from ipnotary.service.services.trust import certified_without_attestation
from ipnotary.service.storage.models import (
    Batch,
    BatchStatus,
    Cosignature,
    KeyGrant,
    Principal,
    Record,
    TimestampToken,
)
from ipnotary.service.storage.workflows import RecordAccess

__all__ = [
    "PARTICIPANT_KINDS",
    "READER_ROLES",
    "StoredRecord",
    "accept_record",
    "body_of",
    "certificate_for",
    "get_visible_record",
    "list_owned_records",
    "receipt_for",
    "record_status",
]

# Besides its owner, these roles may read any record (SPEC: notaries and arbitrators verify).
READER_ROLES = frozenset({Role.notary, Role.arbitrator})
MAX_SEQ = 2**63 - 1  # the largest sequence number a 64-bit INTEGER column holds


@dataclass(frozen=True)
class StoredRecord:
    record: Record
    created: bool  # False when the same content from the same holder already had a record


def body_of(record: Record) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(record.body)
    return body


_Body = TypeVar("_Body", bound=BaseModel)


def typed_body(record: Record, kind: type[_Body]) -> _Body:
    """The stored body as the SDK's model of its kind (``ipnotary.sdk.records``); a row of
    another kind is a bug in the caller, not an input error."""
    body = parse_record(body_of(record))
    if not isinstance(body, kind):
        raise TypeError(f"record {record.id} is a {record.kind}, not a {kind.__name__}")
    return body


def _new_record(
    *,
    kind: str,
    owner: Principal,
    record_id: str,
    body: dict[str, Any],
    dedup: str | None,
    content_sha256: str | None,
    content_cid: str | None,
    received_at: datetime,
) -> Record:
    """A record row whose ``body`` is stored as the exact canonical bytes its leaf hashes."""
    return Record(
        id=record_id,
        kind=kind,
        owner_id=owner.id,
        dedup_key=dedup,
        body=canonical_json(body).decode("utf-8"),
        leaf_hash=record_leaf_hash(body).hex(),
        content_sha256=content_sha256,
        content_cid=content_cid,
        received_at=received_at,
    )


def accept_record(
    session: Session,
    *,
    kind: str,
    owner: Principal,
    build_body: Callable[[str, datetime], dict[str, Any]],
    dedup: str | None = None,
    content_sha256: str | None = None,
    content_cid: str | None = None,
    now: datetime | None = None,
    record_id: str | None = None,
    extra_rows: Callable[[str], list[Any]] | None = None,
) -> StoredRecord:
    """Store a new record (or return the existing one with the same ``dedup`` key) and commit.

    ``build_body(record_id, received_at)`` returns the record body; it is hashed here, once.
    ``record_id`` is for kinds whose id the client chose (a trade secret's id is bound into its
    ciphertext). ``extra_rows(record_id)`` returns rows committed in the same transaction.
    """
    if dedup is not None:
        existing = session.exec(select(Record).where(Record.dedup_key == dedup)).first()
        if existing is not None:
            return StoredRecord(existing, created=False)
    received_at = now or datetime.now(UTC)
    record_id = record_id or new_id(kind)
    record = _new_record(
        kind=kind,
        owner=owner,
        record_id=record_id,
        body=build_body(record_id, received_at),
        dedup=dedup,
        content_sha256=content_sha256,
        content_cid=content_cid,
        received_at=received_at,
    )
    session.add(record)
    if extra_rows is not None:
        session.flush()  # the extra rows may refer to the record
        session.add_all(extra_rows(record_id))
    try:
        session.commit()
    except IntegrityError:
        # A concurrent request stored the same content first: answer with that record.
        session.rollback()
        if dedup is None:
            raise
        existing = session.exec(select(Record).where(Record.dedup_key == dedup)).one()
        return StoredRecord(existing, created=False)
    return StoredRecord(record, created=True)


def accept_many(
    session: Session,
    *,
    kind: str,
    owner: Principal,
    items: Sequence[tuple[str | None, Callable[[str, datetime], dict[str, Any]], str | None]],
    now: datetime | None = None,
    _retry: bool = True,
) -> list[StoredRecord]:
    """Accept several records in one transaction: (dedup key, body builder, content sha256) each.

    One commit for the lot is what makes the many-digests request fast; duplicates (within the
    request or with earlier records) resolve to the existing record.
    """
    received_at = now or datetime.now(UTC)
    keys = [k for k, _, _ in items if k is not None]
    existing: dict[str, Record] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for rec in session.exec(select(Record).where(col(Record.dedup_key).in_(chunk))):
            existing[rec.dedup_key or ""] = rec
    out: list[StoredRecord] = []
    fresh: list[Record] = []
    for key, build_body, sha256 in items:
        if key is not None and key in existing:
            out.append(StoredRecord(existing[key], created=False))
            continue
        record_id = new_id(kind)
        record = _new_record(
            kind=kind,
            owner=owner,
            record_id=record_id,
            body=build_body(record_id, received_at),
            dedup=key,
            content_sha256=sha256,
            content_cid=None,
            received_at=received_at,
        )
        if key is not None:
            existing[key] = record
        fresh.append(record)
        out.append(StoredRecord(record, created=True))
    try:
        if fresh:
            # One multi-row INSERT: the ORM's per-object bookkeeping costs more than the SQL here.
            session.execute(insert(Record), [r.model_dump(exclude={"seq"}) for r in fresh])
        session.commit()
    except IntegrityError:
        # Lost a race with a concurrent request for some key: retry once, now seeing its rows.
        session.rollback()
        if not _retry:
            raise
        return accept_many(session, kind=kind, owner=owner, items=items, now=now, _retry=False)
    return out


# Trade secrets and their disclosures are seen by the holder and the named recipients only:
# even a notary or arbitrator needs a disclosure to learn that a filing exists.
_PRIVATE_KINDS = frozenset({RecordKind.trade_secret, RecordKind.disclosure})


def may_see(session: Session, record: Record, viewer: Principal) -> bool:
    if record.owner_id == viewer.id:
        return True
    if record.kind in _PRIVATE_KINDS:
        filing_id = (
            record.id
            if record.kind == RecordKind.trade_secret
            else typed_body(record, DisclosureRecord).filing.id
        )
        grant = session.exec(
            select(KeyGrant).where(
                KeyGrant.filing_id == filing_id, KeyGrant.recipient_id == viewer.id
            )
        ).first()
        return grant is not None and (
            record.kind == RecordKind.trade_secret or grant.disclosure_id == record.id
        )
    if _granted(session, record, viewer):
        return True
    return record.kind not in PARTICIPANT_KINDS and viewer.role in READER_ROLES


# The acts of a case (and of a complaint) are seen by its participants only, each as the act's
# ``record_access`` rows say: not even a notary or arbitrator outside it learns that it exists.
PARTICIPANT_KINDS = frozenset({RecordKind.case_event, RecordKind.complaint_event})


def _granted(session: Session, record: Record, viewer: Principal) -> bool:
    """Whether the record was shared with ``viewer`` (``storage.workflows.RecordAccess``)."""
    row = session.exec(
        select(RecordAccess.id).where(
            RecordAccess.record_id == record.id, RecordAccess.principal_id == viewer.id
        )
    ).first()
    return row is not None


def get_visible_record(session: Session, *, record_id: str, viewer: Principal) -> Record:
    """The record, if ``viewer`` may see it; otherwise NotFound (we do not confirm it exists)."""
    record = session.exec(select(Record).where(Record.id == record_id)).first()
    if record is None or not may_see(session, record, viewer):
        raise NotFound(f"no record {record_id!r} visible to you")
    return record


def list_owned_records(
    session: Session, *, owner: Principal, kind: str | None, after_seq: int | None, limit: int
) -> list[Record]:
    query = select(Record).where(Record.owner_id == owner.id)
    if kind is not None:
        query = query.where(Record.kind == kind)
    if after_seq is not None:
        if after_seq > MAX_SEQ:  # past every record; and the database's integers end there
            return []
        query = query.where(col(Record.seq) > after_seq)
    return list(session.exec(query.order_by(col(Record.seq)).limit(limit)))


def record_status(record: Record, batch: Batch | None, certified_size: int) -> RecordStatus:
    """``anchored`` once a certificate can be fetched (its checkpoint is anchored, witnessed and
    time-stamped as configured), ``batched`` once it is in the log, else ``pending``.

    ``certified_size`` is the newest certified checkpoint's size
    (``progress.certified_log_size``), read once per request.
    """
    if record.log_index is not None:
        return RecordStatus.anchored if record.log_index < certified_size else RecordStatus.batched
    if batch is not None and batch.status == BatchStatus.anchored:
        return RecordStatus.anchored  # a version 1 record
    return RecordStatus.batched if record.batch_seq is not None else RecordStatus.pending


class Stage(StrEnum):
    """What a record's certificate is waiting for, in pipeline order."""

    sealing = "sealing"  # its batch has not closed: it is not in the log yet
    anchoring = "anchoring"  # its checkpoint waits for its chain transaction
    witnesses = "witnesses"  # anchored; the witness quorum has not cosigned yet
    timestamps = "timestamps"  # anchored and cosigned; a time-stamp authority's token is missing
    certifying = "certifying"  # everything is in; the worker marks it certified next round


class CertificationNeeds(Protocol):
    """What a checkpoint waits for before certificates are built on it
    (``worker.anchoring.CertificationRule`` is one)."""

    @property
    def witnesses(self) -> frozenset[str]: ...
    @property
    def cosignatures(self) -> int: ...
    @property
    def authorities(self) -> frozenset[str]: ...
    @property
    def timestamps(self) -> int: ...


def waiting_for(
    session: Session,
    record: Record,
    batch: Batch | None,
    status: RecordStatus,
    needs: CertificationNeeds,
) -> Stage | None:
    """The stage the record's certificate waits for (None once it can be fetched), so that
    someone waiting is told whether the chain, a witness or a TSA holds it up."""
    if status is RecordStatus.anchored:
        return None
    if batch is None:
        return Stage.sealing
    if batch.status != BatchStatus.anchored:
        return Stage.anchoring
    cosigned = session.exec(
        select(func.count())
        .select_from(Cosignature)
        .where(Cosignature.batch_seq == batch.seq, col(Cosignature.witness).in_(needs.witnesses))
    ).one()
    if cosigned < needs.cosignatures:
        return Stage.witnesses
    stamped = session.exec(
        select(func.count())
        .select_from(TimestampToken)
        .where(
            TimestampToken.batch_seq == batch.seq,
            col(TimestampToken.authority).in_(needs.authorities),
        )
    ).one()
    return Stage.timestamps if stamped < needs.timestamps else Stage.certifying


def receipt_for(issuer: Issuer, record: Record) -> dict[str, Any]:
    """The signed receipt document. Rebuilt on demand: Ed25519 is deterministic, so it is
    byte-identical every time."""
    return issuer.receipt_document(body_of(record), record.leaf_hash, record.received_at)


def certificate_for(session: Session, issuer: Issuer, record: Record) -> AnyCertificate:
    """The record's certificate, on the earliest certified checkpoint that includes it."""
    if record.log_index is None:
        if record.audit_path is not None:
            return _certificate_v1(session, issuer, record)
        raise NotReady(
            f"record {record.id} is not in the log yet; batches close every few seconds, "
            "ask again shortly",
            code="not_anchored_yet",
        )
    batch = session.exec(
        select(Batch)
        .where(col(Batch.log_size) > record.log_index, col(Batch.certified_at).is_not(None))
        .order_by(col(Batch.log_size))
        .limit(1)
    ).first()
    if batch is None:
        raise NotReady(
            f"record {record.id} is in the log but its checkpoint is not yet anchored, cosigned "
            "by the witness quorum and time-stamped; ask again shortly",
            code="not_anchored_yet",
        )
    assert batch.log_size is not None and batch.certified_at is not None
    unattested = session.exec(
        select(Batch.seq).where(Batch.seq == batch.seq, certified_without_attestation())
    ).first()
    if unattested is not None and batch.checkpoint is not None:
        # Certified before the deployment had witnesses or TSAs: the certificate it had then.
        # A witness turned on later may cosign the old checkpoint now; its time is not the
        # record's, and the certificate must stay the one its holder already has.
        checkpoint, tokens, cosignatures = batch.checkpoint, [], 0
    else:
        checkpoint = cosigned_checkpoint(session, batch)
        tokens = list(
            session.exec(
                select(TimestampToken.token)
                .where(TimestampToken.batch_seq == batch.seq)
                .order_by(col(TimestampToken.authority))
            )
        )
        cosignatures = session.exec(
            select(func.count()).select_from(Cosignature).where(Cosignature.batch_seq == batch.seq)
        ).one()
    return issuer.certificate(
        record=body_of(record),
        leaf_hash=record.leaf_hash,
        log=LogFacts(
            origin=Checkpoint.parse(parse_note(checkpoint).text).origin,
            leaf_index=record.log_index,
            tree_size=batch.log_size,
            inclusion_proof=inclusion_proof(session, record.log_index, batch.log_size),
            checkpoint=checkpoint,
        ),
        timestamps=[bytes(t) for t in tokens],
        cosignatures=int(cosignatures),
        anchor=_anchor(batch),
        issued_at=batch.certified_at,
    )


def _anchor(batch: Batch) -> Anchor:
    anchor = batch.anchor()
    if anchor is None:
        raise NotReady(f"batch {batch.seq} is not anchored", code="not_anchored_yet")
    return anchor


def _certificate_v1(session: Session, issuer: Issuer, record: Record) -> AnyCertificate:
    """Records anchored in their own batch tree before the log existed keep version 1."""
    batch = session.get(Batch, record.batch_seq) if record.batch_seq is not None else None
    if batch is None or batch.status != BatchStatus.anchored or batch.anchored_at is None:
        raise NotReady(f"record {record.id} is not anchored", code="not_anchored_yet")
    assert record.leaf_index is not None and record.audit_path is not None
    return issuer.certificate_v1(
        record=body_of(record),
        leaf_hash=record.leaf_hash,
        leaf_index=record.leaf_index,
        tree_size=batch.size,
        audit_path=json.loads(record.audit_path),
        root=batch.root,
        anchor=_anchor(batch),
        issued_at=batch.anchored_at,
    )
