"""Who besides its owner may read a record: a holder shares it with a notary (an application to
notarise it) or an arbitrator, and the workflows grant their participants the acts they take part
in (``storage.workflows.RecordAccess``; ``services.records.may_see`` reads it).

A share is not an anchored record: it decides who may read, and is in the audit log. What is
done with a shared record (an attestation, a refusal) is anchored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from ipnotary.sdk.kinds import RecordKind
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import InvalidInput, NotFound, PermissionDenied
from ipnotary.service.services.principals import Actor, audit
from ipnotary.service.storage.models import Principal, Record
from ipnotary.service.storage.workflows import RecordAccess

__all__ = [
    "SHARE_RECIPIENT_ROLES",
    "Share",
    "grant_access",
    "is_shared_with",
    "list_shares",
    "share_record",
]

SHARE_RECIPIENT_ROLES = frozenset({Role.notary.value, Role.arbitrator.value})
# Kinds with their own way of being opened to someone: a trade secret is disclosed (a wrapped key,
# anchored).
_NOT_SHAREABLE = frozenset({RecordKind.trade_secret, RecordKind.disclosure})
MAX_SHARES_LISTED = 500


@dataclass(frozen=True)
class Share:
    record_id: str
    kind: str
    owner_id: str
    owner_name: str
    recipient_id: str
    recipient_name: str
    shared_at: datetime


def grant_access(
    session: Session,
    *,
    record_id: str,
    principal_ids: Iterable[str],
    purpose: str,
    by: str | None,
    at: datetime,
) -> list[RecordAccess]:
    """Rows letting each principal read the record (the caller adds them to its transaction);
    none for a principal who already has one for this purpose."""
    wanted = set(principal_ids)
    if not wanted:
        return []
    have = set(
        session.exec(
            select(RecordAccess.principal_id).where(
                RecordAccess.record_id == record_id,
                RecordAccess.purpose == purpose,
                col(RecordAccess.principal_id).in_(wanted),
            )
        )
    )
    return [
        RecordAccess(
            record_id=record_id, principal_id=p, purpose=purpose, granted_by=by, granted_at=at
        )
        for p in sorted(wanted - have)
    ]


def is_shared_with(session: Session, *, record_id: str, principal_id: str) -> bool:
    row = session.exec(
        select(RecordAccess.id).where(
            RecordAccess.record_id == record_id,
            RecordAccess.principal_id == principal_id,
            RecordAccess.purpose == "shared",
        )
    ).first()
    return row is not None


def share_record(
    session: Session, *, owner: Principal, record_id: str, recipient_id: str, now: datetime
) -> Share:
    """Share ``owner``'s record with a notary or an arbitrator, and commit. Sharing twice is one
    share."""
    record = session.exec(select(Record).where(Record.id == record_id)).first()
    if record is None or record.owner_id != owner.id:
        raise NotFound(f"no record {record_id!r} of yours")
    if record.kind in _NOT_SHAREABLE:
        raise InvalidInput(
            f"a {record.kind} record is not shared this way"
            + (
                ": disclose the filing instead ('notary secret disclose')"
                if record.kind in (RecordKind.trade_secret, RecordKind.disclosure)
                else ""
            )
        )
    recipient = session.get(Principal, recipient_id)
    if recipient is None or recipient.disabled:
        raise NotFound(f"no principal {recipient_id!r}")
    if recipient.role not in SHARE_RECIPIENT_ROLES:
        raise PermissionDenied(
            f"records are shared with notaries and arbitrators; {recipient_id} is a "
            f"{recipient.role}",
            code="not_a_share_recipient",
        )
    rows = grant_access(
        session,
        record_id=record.id,
        principal_ids=[recipient.id],
        purpose="shared",
        by=owner.id,
        at=now,
    )
    if rows:
        session.add_all(rows)
        audit(
            session,
            Actor.of(owner),
            "record.share",
            target_type="record",
            target_id=record.id,
            detail={"recipient_id": recipient.id},
            at=now,
        )
        session.commit()
    shared_at = rows[0].granted_at if rows else _shared_at(session, record.id, recipient.id)
    return Share(
        record.id, record.kind, owner.id, owner.name, recipient.id, recipient.name, shared_at
    )


def _shared_at(session: Session, record_id: str, recipient_id: str) -> datetime:
    return session.exec(
        select(RecordAccess.granted_at).where(
            RecordAccess.record_id == record_id,
            RecordAccess.principal_id == recipient_id,
            RecordAccess.purpose == "shared",
        )
    ).one()


def list_shares(session: Session, *, principal: Principal, received: bool) -> list[Share]:
    """Records shared with ``principal`` (``received``), or that it shared, newest first."""
    query = (
        select(RecordAccess, Record)
        .join(Record, col(Record.id) == col(RecordAccess.record_id))
        .where(RecordAccess.purpose == "shared")
    )
    if received:
        query = query.where(RecordAccess.principal_id == principal.id)
    else:
        query = query.where(Record.owner_id == principal.id)
    rows = session.exec(
        query.order_by(col(RecordAccess.granted_at).desc()).limit(MAX_SHARES_LISTED)
    ).all()
    names = {
        p.id: p.name
        for p in session.exec(
            select(Principal).where(
                col(Principal.id).in_(
                    {a.principal_id for a, _ in rows} | {r.owner_id for _, r in rows}
                )
            )
        )
    }
    return [
        Share(
            r.id,
            r.kind,
            r.owner_id,
            names.get(r.owner_id, ""),
            a.principal_id,
            names.get(a.principal_id, ""),
            a.granted_at,
        )
        for a, r in rows
    ]
