"""Trade-secret filings and disclosures on the service side: checks and bookkeeping only.

Every cryptographic object arrives already made by the holder's SDK; the service checks that the
pieces fit together (the container is bound to this filing id, the wrapped keys name the right
recipients' registered keys) and stores them. It cannot decrypt anything.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlmodel import Session, select

from ipnotary.sdk import trade_secret as ts
from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.errors import DecryptionError, FormatError, VerificationError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import TradeSecretRecord
from ipnotary.service.domain.records import ContentFingerprint, Role, dedup_key, new_id
from ipnotary.service.domain.trade_secrets import (
    FilingRequest,
    build_disclosure_record,
    build_trade_secret_record,
)
from ipnotary.service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ipnotary.service.services.records import StoredRecord, accept_record, typed_body
from ipnotary.service.storage.models import KeyGrant, Principal, Record

__all__ = [
    "DISCLOSEE_ROLES",
    "check_filing",
    "disclose_filing",
    "encryption_key_of",
    "file_trade_secret",
    "set_encryption_key",
    "wrapped_key_for",
]

DISCLOSEE_ROLES = frozenset({Role.arbitrator, Role.notary})


def set_encryption_key(
    session: Session, *, principal: Principal, public_document: dict[str, Any]
) -> str:
    """Register a principal's signed trade-secret key document; returns its encryption key id.

    Only signed documents (version 2) are taken: holders accept a document only if the signing
    key they were given out of band signed it, so an unsigned one would be useless to them.
    """
    try:
        info = ts.check_recipient_document(public_document)
    except (FormatError, VerificationError) as exc:
        raise InvalidInput(f"not a usable recipient key document: {exc}") from exc
    if info.signing_key_id is None:
        raise InvalidInput(
            "the recipient key document is unsigned (version 1); register the signed document "
            "that 'notary keys generate' prints (older key files: 'notary keys upgrade')"
        )
    row = session.get(Principal, principal.id)  # the caller's object may be a cached snapshot
    if row is None:
        raise NotFound(f"no principal {principal.id!r}")
    row.encryption_keys = canonical_json(public_document).decode()
    session.add(row)
    session.commit()
    return info.key_id


def encryption_key_of(principal: Principal) -> dict[str, Any]:
    if not principal.encryption_keys:
        raise NotFound(
            f"principal {principal.id} has registered no encryption key; they must run "
            "'notary keys register' first",
            code="no_encryption_key",
        )
    doc: dict[str, Any] = json.loads(principal.encryption_keys)
    return doc


def _wrapped(
    doc: dict[str, Any], *, filing_id: str, key: ts.RecipientKeyInfo, whose: str
) -> ts.WrappedKey:
    try:
        wrapped = ts.WrappedKey.from_json(doc)
    except FormatError as exc:
        raise InvalidInput(f"{whose} wrapped key: {exc}") from exc
    if wrapped.filing_id != filing_id:
        raise InvalidInput(
            f"{whose} wrapped key is for filing {wrapped.filing_id}, not {filing_id}"
        )
    if wrapped.recipient_key_id != key.key_id:
        raise InvalidInput(
            f"{whose} wrapped key is sealed to key {wrapped.recipient_key_id}, but the registered "
            f"key is {key.key_id}"
        )
    if key.post_quantum and wrapped.suite != ts.SUITE_HYBRID:
        # The SDK never does this; another client that downgrades a post-quantum recipient is
        # refused rather than recorded.
        raise InvalidInput(
            f"{whose} wrapped key uses the classic suite, but the registered key has an "
            "ML-KEM-768 + X25519 key: wrap with the hybrid suite"
        )
    return wrapped


def _taken(session: Session, *, holder: Principal, filing_id: str, dedup: str | None) -> None:
    """Refuse a filing id that names another filing: someone else's, or the holder's own filing
    of other bytes (``dedup`` None: not known yet). A filing id names one container; only a retry
    of the same upload finds its own record again."""
    existing = session.exec(select(Record).where(Record.id == filing_id)).first()
    if existing is None:
        return
    if existing.owner_id != holder.id or existing.kind != RecordKind.trade_secret:
        raise Conflict(f"filing id {filing_id} is taken")
    if dedup is not None and existing.dedup_key != dedup:
        raise _reused(filing_id)


def _reused(filing_id: str) -> Conflict:
    return Conflict(
        f"filing id {filing_id} is already your filing of another container: a filing id names "
        "one container (it is sealed into it); seal the new secret under a new id",
        code="filing_id_reused",
    )


def check_filing(
    session: Session,
    *,
    holder: Principal,
    request: FilingRequest,
    size: int,
    container_head: bytes,
    stored_head: Callable[[str], bytes],
) -> None:
    """What can be refused before the container is committed to the content store: the holder's
    key, the wrapped key, the container's binding to the filing id, and the id itself (a record
    of the holder's with another container under it: ``stored_head(cid)`` reads that one's first
    bytes, which differ for any other sealing, its nonces being fresh)."""
    _holder_key_and_wrap(session, holder, request)
    _container_for(request, container_head)
    existing = session.exec(select(Record).where(Record.id == request.id)).first()
    _taken(session, holder=holder, filing_id=request.id, dedup=None)
    if existing is None:
        return
    body = typed_body(existing, TradeSecretRecord)
    cid = existing.content_cid
    if body.ciphertext.size != size or cid is None or stored_head(cid) != container_head:
        raise _reused(request.id)


def _holder_key_and_wrap(
    session: Session, holder: Principal, request: FilingRequest
) -> tuple[str, ts.WrappedKey]:
    holder_key = ts.check_recipient_document(
        encryption_key_of(session.get(Principal, holder.id) or holder)
    )
    wrapped = _wrapped(
        request.holder_wrapped_key, filing_id=request.id, key=holder_key, whose="the holder's"
    )
    return holder_key.key_id, wrapped


def _container_for(request: FilingRequest, container_head: bytes) -> None:
    try:
        info = ts.inspect_container(io.BytesIO(container_head))
    except (FormatError, DecryptionError, ValueError) as exc:
        raise InvalidInput(f"the uploaded file is not a trade-secret container: {exc}") from exc
    if info.filing_id != request.id:
        raise InvalidInput(f"the container is sealed for filing {info.filing_id}, not {request.id}")


def file_trade_secret(
    session: Session,
    *,
    holder: Principal,
    request: FilingRequest,
    ciphertext: ContentFingerprint,
    container_head: bytes,
) -> StoredRecord:
    """Record a filing whose container is already in the content store.

    ``container_head`` is the container's first bytes: its header must name this filing.
    """
    holder_key_id, wrapped = _holder_key_and_wrap(session, holder, request)
    _container_for(request, container_head)
    dedup = dedup_key(RecordKind.trade_secret, holder.id, ciphertext.sha256)
    _taken(session, holder=holder, filing_id=request.id, dedup=dedup)

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_trade_secret_record(
            record_id=record_id,
            holder_id=holder.id,
            holder_name=holder.name,
            commitment=request.commitment,
            ciphertext=ciphertext,
            container_media_type=ts.CONTAINER_MEDIA_TYPE,
            stream_algorithm=ts.STREAM_ALGORITHM,
            holder_key_id=holder_key_id,
            label=request.label,
            received_at=received_at,
        )

    def grant(record_id: str) -> list[Any]:
        return [
            KeyGrant(
                filing_id=record_id,
                recipient_id=holder.id,
                recipient_key_id=holder_key_id,
                wrapped_key=wrapped.to_bytes().decode(),
                created_at=datetime.now(UTC),
            )
        ]

    try:
        return accept_record(
            session,
            kind=RecordKind.trade_secret,
            owner=holder,
            build_body=build,
            record_id=request.id,
            dedup=dedup,
            content_sha256=ciphertext.sha256,
            content_cid=ciphertext.cid,
            extra_rows=grant,
        )
    except NoResultFound:
        # Two uploads under one id at once: the other one's record took the id (the unique id
        # refused this one) and it is not this container's.
        raise _reused(request.id) from None


def disclose_filing(
    session: Session,
    *,
    holder: Principal,
    filing_id: str,
    recipient_id: str,
    wrapped_key: dict[str, Any],
) -> StoredRecord:
    """Hand a wrapped key to an arbitrator or notary, as an anchored disclosure record."""
    filing = session.exec(
        select(Record).where(Record.id == filing_id, Record.kind == RecordKind.trade_secret)
    ).first()
    if filing is None or filing.owner_id != holder.id:
        raise NotFound(f"no trade-secret filing {filing_id!r} of yours")
    recipient = session.get(Principal, recipient_id)
    if recipient is None or recipient.disabled:
        raise NotFound(f"no principal {recipient_id!r}")
    if recipient.role not in DISCLOSEE_ROLES:
        raise PermissionDenied(
            f"trade secrets are disclosed to arbitrators and notaries; {recipient_id} is a "
            f"{recipient.role}"
        )
    recipient_key = ts.check_recipient_document(encryption_key_of(recipient))
    recipient_key_id = recipient_key.key_id
    wrapped = _wrapped(wrapped_key, filing_id=filing_id, key=recipient_key, whose="the recipient's")
    already = session.exec(
        select(KeyGrant).where(
            KeyGrant.filing_id == filing_id, KeyGrant.recipient_id == recipient_id
        )
    ).first()
    if already is not None and already.disclosure_id is not None:
        record = session.exec(select(Record).where(Record.id == already.disclosure_id)).one()
        return StoredRecord(record, created=False)
    wrapped_bytes = wrapped.to_bytes()
    # The signing key id names the key that vouched for the document the holder sealed to, so
    # the recipient can see in the anchored record that it was theirs.
    recipient_field = {
        "id": recipient.id,
        "name": recipient.name,
        "role": recipient.role,
        "key_id": recipient_key_id,
    }
    if recipient_key.signing_key_id is not None:
        recipient_field["signing_key_id"] = recipient_key.signing_key_id

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_disclosure_record(
            record_id=record_id,
            holder_id=holder.id,
            holder_name=holder.name,
            filing_id=filing_id,
            commitment=typed_body(filing, TradeSecretRecord).commitment,
            recipient=recipient_field,
            wrapped_key_sha256=hashlib.sha256(wrapped_bytes).hexdigest(),
            received_at=received_at,
        )

    def grant(record_id: str) -> list[Any]:
        return [
            KeyGrant(
                filing_id=filing_id,
                recipient_id=recipient.id,
                recipient_key_id=recipient_key_id,
                wrapped_key=wrapped_bytes.decode(),
                disclosure_id=record_id,
                created_at=datetime.now(UTC),
            )
        ]

    return accept_record(
        session,
        kind="disclosure",
        owner=holder,
        build_body=build,
        record_id=new_id("disclosure"),
        extra_rows=grant,
    )


def wrapped_key_for(session: Session, *, filing_id: str, principal: Principal) -> KeyGrant:
    grant = session.exec(
        select(KeyGrant).where(
            KeyGrant.filing_id == filing_id, KeyGrant.recipient_id == principal.id
        )
    ).first()
    if grant is None:
        raise NotFound(f"filing {filing_id!r} has not been disclosed to you")
    return grant
