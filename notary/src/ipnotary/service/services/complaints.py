"""E-commerce complaints (Art. 13; E-Commerce Law Arts. 42-45): notice, measures or rejection,
forwarding, the seller's declaration, the window, the holder's complaint or lawsuit, lifting,
publication, and the complaint's timeline.

Every step is a ``complaint_event`` record on the one pipeline; the complaint's own log
(``complaint_log``) gives each its place (``seq``) and the previous step's leaf hash, and a primary
key keeps two steps from taking the same place (the loser retries). ``complaint_listing`` holds
each listing's state, the step due next and by when (what the overdue list reads); the rules that
move a listing are the SDK's (``ipnotary.sdk.complaints.apply_step``), so the verifier replays the
same ones. Who reads a step is decided when it is taken (``record_access``, purpose
``complaint``; ``complaint_event`` is participants-only): the holder and the platform read every
step except a declaration not yet forwarded to the holder; a seller reads the steps about its own
listings once the platform restricted or forwarded them. Anyone else is told the complaint does not
exist (404 ``no_complaint``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.complaints import TIMELINE_MEDIA_TYPE, ListingState, StepRefused, apply_step
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    ComplaintAction,
    ComplaintActor,
    ComplaintDeclaration,
    ComplaintDue,
    ComplaintForwarding,
    ComplaintListingEntry,
    ComplaintNotice,
    ComplaintReference,
    ComplaintRight,
    ComplaintRulesInForce,
    CoveredRecord,
    Party,
)
from ipnotary.service.domain.complaints import (
    DEFAULT_RULES,
    ActionIn,
    DeclarationIn,
    ForwardingIn,
    LiftingIn,
    MeasureIn,
    NoticeIn,
    RejectionIn,
    RulesIn,
    Step,
    build_complaint_event_record,
    new_complaint_id,
)
from ipnotary.service.domain.identifiers import mask_identifier
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.records import StoredRecord, accept_record, body_of, certificate_for
from ipnotary.service.services.sharing import grant_access
from ipnotary.service.storage.models import Principal, Record
from ipnotary.service.storage.workflows import (
    Complaint,
    ComplaintListing,
    ComplaintLogEntry,
    ComplaintRules,
    RecordAccess,
)

__all__ = [
    "declare",
    "file_notice",
    "forward",
    "get_complaint",
    "lift",
    "list_complaints",
    "notify_action",
    "public_register",
    "publish",
    "reject",
    "rules_of",
    "set_rules",
    "take_measures",
    "timeline",
]

_RETRIES = 5
MAX_LISTED = 500
# Records a party may rely on as evidence: not trade secrets (disclosed, never exhibited) nor the
# workflows' own acts.
_NOT_EVIDENCE = frozenset(
    {
        RecordKind.trade_secret,
        RecordKind.disclosure,
        RecordKind.case_event,
        RecordKind.complaint_event,
    }
)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their zone; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _not_found(complaint_id: str) -> NotFound:
    # The same answer for a complaint that does not exist and one the caller is not party to.
    return NotFound(f"no complaint {complaint_id!r}", code="no_complaint")


# --- rules --------------------------------------------------------------------------------------


def rules_of(session: Session, platform_id: str) -> dict[str, int]:
    row = session.get(ComplaintRules, platform_id)
    if row is None:
        return dict(DEFAULT_RULES)
    return {
        "decision_hours": row.decision_hours,
        "forward_hours": row.forward_hours,
        "window_days": row.window_days,
        "lift_hours": row.lift_hours,
    }


def set_rules(
    session: Session, *, platform: Principal, rules: RulesIn, now: datetime
) -> dict[str, int]:
    """A platform's limits for notices from now on; a notice keeps those it arrived under."""
    row = session.get(ComplaintRules, platform.id) or ComplaintRules(
        platform_id=platform.id, updated_at=now, **DEFAULT_RULES
    )
    row.decision_hours, row.forward_hours = rules.decision_hours, rules.forward_hours
    row.window_days, row.lift_hours = rules.window_days, rules.lift_hours
    row.updated_at = now
    session.add(row)
    session.commit()
    return rules_of(session, platform.id)


# --- who is in a complaint ----------------------------------------------------------------------


def _seller_sees(session: Session, complaint_id: str, seller_id: str) -> bool:
    row = session.exec(
        select(RecordAccess.id)
        .join(ComplaintLogEntry, col(ComplaintLogEntry.record_id) == col(RecordAccess.record_id))
        .where(
            ComplaintLogEntry.complaint_id == complaint_id, RecordAccess.principal_id == seller_id
        )
    ).first()
    return row is not None


def _participation(session: Session, complaint_id: str, viewer: Principal) -> tuple[Complaint, str]:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise _not_found(complaint_id)
    if viewer.id == complaint.holder_id:
        return complaint, "holder"
    if viewer.id == complaint.platform_id:
        return complaint, "platform"
    if viewer.role == Role.seller.value and _seller_sees(session, complaint.id, viewer.id):
        return complaint, "seller"
    raise _not_found(complaint_id)


def _listings(
    session: Session, complaint_id: str, indices: Iterable[int] | None = None
) -> list[ComplaintListing]:
    query = select(ComplaintListing).where(ComplaintListing.complaint_id == complaint_id)
    if indices is not None:
        query = query.where(col(ComplaintListing.idx).in_(list(indices)))
    return list(session.exec(query.order_by(col(ComplaintListing.idx))))


def _notice_event(session: Session, complaint_id: str) -> Record:
    first = session.exec(
        select(ComplaintLogEntry).where(
            ComplaintLogEntry.complaint_id == complaint_id, ComplaintLogEntry.seq == 1
        )
    ).one()
    return session.exec(select(Record).where(Record.id == first.record_id)).one()


def _rules_in_force(session: Session, complaint_id: str) -> dict[str, int]:
    rules: dict[str, int] = body_of(_notice_event(session, complaint_id))["rules"]
    return rules


def _reference(session: Session, complaint: Complaint) -> ComplaintReference:
    platform = session.get(Principal, complaint.platform_id)
    holder = session.get(Principal, complaint.holder_id)
    assert platform is not None and holder is not None
    return ComplaintReference(
        id=complaint.id,
        platform=Party(id=platform.id, name=platform.name),
        holder=Party(id=holder.id, name=holder.name),
    )


def _only(capacity: str, wanted: str, what: str) -> None:
    if capacity != wanted:
        raise PermissionDenied(f"only the {wanted} may {what}", code=f"{wanted}_only")


# --- appending a step ---------------------------------------------------------------------------


def _evidence(session: Session, owner: Principal, record_ids: Iterable[str]) -> list[Record]:
    found = []
    for record_id in record_ids:
        record = session.exec(select(Record).where(Record.id == record_id)).first()
        if record is None or record.owner_id != owner.id:
            raise NotFound(f"no record {record_id!r} of yours")
        if record.kind in _NOT_EVIDENCE:
            raise InvalidInput(f"a {record.kind} record is not evidence a complaint can rely on")
        found.append(record)
    return found


def _covered(record: Record) -> CoveredRecord:
    return CoveredRecord(record_id=record.id, kind=record.kind, leaf_hash=record.leaf_hash)


def _append(
    session: Session,
    *,
    complaint: Complaint,
    actor: Principal,
    capacity: str,
    step: Step,
    now: datetime,
    listings: list[int],
    readers: set[str],
    fields: dict[str, Any],
    extra_rows: Callable[[str], list[Any]] = lambda _: [],
    seq: int | None = None,
) -> StoredRecord:
    """Append a step to the complaint's log with who may read it and the rows it changes, in one
    transaction; retried when another step took the same place."""
    reference = _reference(session, complaint)
    who = ComplaintActor(id=actor.id, name=actor.name, capacity=capacity)  # type: ignore[arg-type]
    for _ in range(_RETRIES):
        if seq is None:
            last = session.exec(
                select(ComplaintLogEntry)
                .where(ComplaintLogEntry.complaint_id == complaint.id)
                .order_by(col(ComplaintLogEntry.seq).desc())
                .limit(1)
            ).first()
            place, previous = (1, None) if last is None else (last.seq + 1, last.leaf_hash)
        else:
            place, previous = seq, None

        def build(record_id: str, received_at: datetime) -> dict[str, Any]:
            return build_complaint_event_record(
                record_id,
                received_at,
                complaint=reference,
                seq=place,  # noqa: B023 - used within this iteration
                previous=previous,  # noqa: B023
                actor=who,
                step=step,
                listings=listings,
                **fields,
            )

        def rows(record_id: str) -> list[Any]:
            record = session.exec(select(Record).where(Record.id == record_id)).one()
            return [
                *extra_rows(record_id),
                ComplaintLogEntry(
                    complaint_id=complaint.id,
                    seq=place,  # noqa: B023
                    record_id=record_id,
                    leaf_hash=record.leaf_hash,
                ),
                *grant_access(
                    session,
                    record_id=record_id,
                    principal_ids=readers - {actor.id},
                    purpose="complaint",
                    by=actor.id,
                    at=now,
                ),
            ]

        try:
            return accept_record(
                session,
                kind=RecordKind.complaint_event,
                owner=actor,
                build_body=build,
                now=now,
                extra_rows=rows,
            )
        except IntegrityError:
            session.rollback()
            if seq is not None:
                raise
    raise Conflict(
        "the complaint is busy: other steps kept taking its next place; try again",
        code="complaint_busy",
    )


def _move(
    session: Session,
    complaint: Complaint,
    indices: list[int],
    step: str,
    now: datetime,
    measure: str | None = None,
) -> list[ComplaintListing]:
    """The listings after ``step``, or 409 with the rules' code; nothing is written here."""
    rows = _listings(session, complaint.id, indices)
    if len(rows) != len(indices):
        missing = sorted(set(indices) - {r.idx for r in rows})
        raise NotFound(f"the notice has no listing {missing}", code="no_listing")
    rules = _rules_in_force(session, complaint.id)
    for row in rows:
        state = ListingState(
            row.idx,
            state=row.state,
            window_ends_at=_aware(row.window_ends_at),
            next_step=row.next_step,
            next_party=row.next_party,
            due_at=_aware(row.due_at),
        )
        try:
            apply_step(state, step, at=now, rules=rules, measure=measure)
        except StepRefused as exc:
            raise Conflict(exc.detail, code=exc.code) from None
        row.state, row.window_ends_at = state.state, state.window_ends_at
        row.next_step, row.next_party, row.due_at = state.next_step, state.next_party, state.due_at
    return rows


def _due(rows: list[ComplaintListing]) -> ComplaintDue | None:
    row = rows[0]
    if row.next_step is None or row.next_party is None:
        return None
    return ComplaintDue(
        step=row.next_step,
        party=row.next_party,  # type: ignore[arg-type]
        by=None if row.due_at is None else format_timestamp(row.due_at),
    )


def _sellers_of(rows: Iterable[ComplaintListing]) -> set[str]:
    return {r.seller_id for r in rows if r.seller_id is not None}


def _grants(
    session: Session, records: Iterable[Record], readers: set[str], by: str, now: datetime
) -> list[Any]:
    out: list[Any] = []
    for record in records:
        out += grant_access(
            session,
            record_id=record.id,
            principal_ids=readers - {record.owner_id},
            purpose="complaint",
            by=by,
            at=now,
        )
    return out


# --- the steps ----------------------------------------------------------------------------------


def file_notice(
    session: Session, *, holder: Principal, notice: NoticeIn, now: datetime
) -> tuple[Complaint, StoredRecord]:
    platform = session.get(Principal, notice.platform_id)
    if platform is None or platform.disabled or platform.role != Role.platform.value:
        raise InvalidInput(f"{notice.platform_id} is no platform: a notice goes to a platform")
    for listing in notice.listings:
        if listing.seller_id is not None:
            seller = session.get(Principal, listing.seller_id)
            if seller is None or seller.role != Role.seller.value:
                raise InvalidInput(f"{listing.seller_id} is no seller")
    evidence = _evidence(session, holder, notice.evidence)
    work = None
    if notice.right.work_record_id is not None:
        (work,) = _evidence(session, holder, [notice.right.work_record_id])
        if work.kind != RecordKind.work:
            raise InvalidInput(f"{work.id} is a {work.kind} record, not a registered work")
    rules = rules_of(session, platform.id)
    complaint = Complaint(
        id=new_complaint_id(), platform_id=platform.id, holder_id=holder.id, created_at=now
    )
    right: dict[str, Any] = {"type": notice.right.type, "title": notice.right.title}
    if notice.right.registration_number is not None:
        right["registration_number"] = notice.right.registration_number
    if work is not None:
        right["work"] = _covered(work)
    entries = []
    for index, listing in enumerate(notice.listings):
        entry: dict[str, Any] = {"index": index, "url": listing.url}
        if listing.seller_id is not None:
            entry["seller_id"] = listing.seller_id
        entries.append(ComplaintListingEntry(**entry))
    state = ListingState(0)
    apply_step(state, "filed", at=now, rules=rules)
    rows = [
        ComplaintListing(
            complaint_id=complaint.id,
            idx=index,
            url=listing.url,
            seller_id=listing.seller_id,
            state=state.state,
            next_step=state.next_step,
            next_party=state.next_party,
            due_at=state.due_at,
        )
        for index, listing in enumerate(notice.listings)
    ]
    session.add(complaint)
    session.flush()
    stored = _append(
        session,
        complaint=complaint,
        actor=holder,
        capacity="holder",
        step="filed",
        now=now,
        listings=list(range(len(rows))),
        readers={platform.id},
        fields={
            "notice": ComplaintNotice(
                holder=notice.holder.as_record(),
                right=ComplaintRight(**right),
                listings=entries,
                evidence=[_covered(r) for r in evidence],
                good_faith=notice.good_faith,
            ),
            "rules": ComplaintRulesInForce(**rules),
            "due": _due(rows),
        },
        extra_rows=lambda _: [
            *rows,
            *_grants(
                session, [*evidence, *([work] if work else [])], {platform.id}, holder.id, now
            ),
        ],
        seq=1,
    )
    return complaint, stored


def _decision(
    session: Session,
    complaint_id: str,
    actor: Principal,
    step: Step,
    indices: list[int],
    now: datetime,
    fields: dict[str, Any],
    measure: str | None = None,
) -> StoredRecord:
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "platform", "decide on a notice")
    rows = _move(session, complaint, indices, step, now, measure)
    readers = {complaint.holder_id, complaint.platform_id}
    if step == "measures_taken":  # the statement of reasons is owed to the seller (DSA Art. 17)
        readers |= _sellers_of(rows)
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step=step,
        now=now,
        listings=indices,
        readers=readers,
        fields={**fields, "due": _due(rows)},
        extra_rows=lambda _: list(rows),
    )


def take_measures(
    session: Session, *, complaint_id: str, actor: Principal, body: MeasureIn, now: datetime
) -> StoredRecord:
    return _decision(
        session,
        complaint_id,
        actor,
        "measures_taken",
        body.listings,
        now,
        {"measure": body.measure, "reasons": body.reasons.as_record()},
        measure=body.measure,
    )


def reject(
    session: Session, *, complaint_id: str, actor: Principal, body: RejectionIn, now: datetime
) -> StoredRecord:
    return _decision(
        session,
        complaint_id,
        actor,
        "rejected",
        body.listings,
        now,
        {"reasons": body.reasons.as_record()},
    )


def _event(session: Session, complaint_id: str, step: str, index: int) -> Record:
    """The latest step of ``step`` about listing ``index``."""
    for record in session.exec(
        select(Record)
        .join(ComplaintLogEntry, col(ComplaintLogEntry.record_id) == col(Record.id))
        .where(ComplaintLogEntry.complaint_id == complaint_id)
        .order_by(col(ComplaintLogEntry.seq).desc())
    ):
        body = body_of(record)
        if body["step"] == step and index in body["listings"]:
            return record
    raise NotFound(f"no {step} step about listing {index}")


def forward(
    session: Session, *, complaint_id: str, actor: Principal, body: ForwardingIn, now: datetime
) -> StoredRecord:
    """Forward the notice to the listings' sellers, or their declaration to the holder."""
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "platform", "forward a notice or declaration")
    if body.document == "notice":
        return _forward_notice(session, complaint, actor, body, now)
    # The rules first: a listing with no declaration is refused as out of order (409).
    rows = _move(session, complaint, body.listings, "declaration_forwarded", now)
    declarations = {_event(session, complaint.id, "declared", r.idx).id for r in rows}
    if len(declarations) != 1:
        raise InvalidInput("forward one declaration at a time: these listings have several")
    declared = session.exec(select(Record).where(Record.id == declarations.pop())).one()
    holder = session.get(Principal, complaint.holder_id)
    assert holder is not None
    evidence = [
        session.exec(select(Record).where(Record.id == e["record_id"])).one()
        for e in body_of(declared)["declaration"]["evidence"]
    ]
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step="declaration_forwarded",
        now=now,
        listings=body.listings,
        readers={complaint.holder_id, complaint.platform_id, *_sellers_of(rows)},
        fields={
            "forwarded": ComplaintForwarding(
                document="declaration",
                event_id=declared.id,
                to=[Party(id=holder.id, name=holder.name)],
            ),
            "window_ends_at": rows[0].window_ends_at,
            "due": _due(rows),
        },
        extra_rows=lambda _: [
            *rows,
            *_grants(session, [declared, *evidence], {complaint.holder_id}, actor.id, now),
        ],
    )


def _forward_notice(
    session: Session, complaint: Complaint, actor: Principal, body: ForwardingIn, now: datetime
) -> StoredRecord:
    current = _listings(session, complaint.id, body.listings)
    if body.seller_id is not None:
        seller = session.get(Principal, body.seller_id)
        if seller is None or seller.disabled or seller.role != Role.seller.value:
            raise InvalidInput(f"{body.seller_id} is no seller")
    for row in current:
        if row.seller_id is None and body.seller_id is None:
            raise InvalidInput(f"listing {row.idx} names no seller: give its seller_id")
        if row.seller_id is not None and body.seller_id not in (None, row.seller_id):
            raise Conflict(
                f"listing {row.idx} is {row.seller_id}'s, not {body.seller_id}'s",
                code="seller_mismatch",
            )
    rows = _move(session, complaint, body.listings, "notice_forwarded", now)
    for row in rows:
        row.seller_id = row.seller_id or body.seller_id
    sellers = {
        seller_id: session.get(Principal, seller_id) for seller_id in sorted(_sellers_of(rows))
    }
    notice = _notice_event(session, complaint.id)
    notice_body = body_of(notice)["notice"]
    relied_on = [e["record_id"] for e in notice_body["evidence"]]
    if "work" in notice_body["right"]:
        relied_on.append(notice_body["right"]["work"]["record_id"])
    evidence = [session.exec(select(Record).where(Record.id == r)).one() for r in relied_on]
    to = [Party(id=p.id, name=p.name) for p in sellers.values() if p is not None]
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity="platform",
        step="notice_forwarded",
        now=now,
        listings=body.listings,
        readers={complaint.holder_id, complaint.platform_id, *sellers},
        fields={
            "forwarded": ComplaintForwarding(document="notice", event_id=notice.id, to=to),
            "sellers": {
                str(r.idx): Party(id=p.id, name=p.name)
                for r in rows
                if r.seller_id and (p := sellers.get(r.seller_id)) is not None
            },
            "due": _due(rows),
        },
        extra_rows=lambda _: [
            *rows,
            *_grants(session, [notice, *evidence], set(sellers), actor.id, now),
        ],
    )


def declare(
    session: Session, *, complaint_id: str, actor: Principal, body: DeclarationIn, now: datetime
) -> StoredRecord:
    """A seller's declaration of non-infringement about its own listings."""
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "seller", "declare non-infringement")
    for row in _listings(session, complaint.id, body.listings):
        if row.seller_id != actor.id:
            raise PermissionDenied(
                f"listing {row.idx} is not yours: a seller answers for its own listings only",
                code="not_your_listing",
            )
    evidence = _evidence(session, actor, body.evidence)
    rows = _move(session, complaint, body.listings, "declared", now)
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step="declared",
        now=now,
        listings=body.listings,
        readers={complaint.platform_id},
        fields={
            "declaration": ComplaintDeclaration(
                seller=body.seller.as_record(),
                statement=body.statement,
                evidence=[_covered(r) for r in evidence],
            ),
            "due": _due(rows),
        },
        extra_rows=lambda _: [
            *rows,
            *_grants(session, evidence, {complaint.platform_id}, actor.id, now),
        ],
    )


def notify_action(
    session: Session, *, complaint_id: str, actor: Principal, body: ActionIn, now: datetime
) -> StoredRecord:
    """The holder's notice, within the window, that it complained to an authority or sued."""
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "holder", "notify a complaint or lawsuit")
    evidence = _evidence(session, actor, body.evidence)
    rows = _move(session, complaint, body.listings, "action_notified", now)
    readers = {complaint.holder_id, complaint.platform_id, *_sellers_of(rows)}
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step="action_notified",
        now=now,
        listings=body.listings,
        readers=readers,
        fields={
            "action": ComplaintAction(
                type=body.type,
                addressee=body.addressee,
                reference=body.reference,
                filed_on=body.filed_on.isoformat(),
                evidence=[_covered(r) for r in evidence],
            )
        },
        extra_rows=lambda _: [*rows, *_grants(session, evidence, readers, actor.id, now)],
    )


def lift(
    session: Session, *, complaint_id: str, actor: Principal, body: LiftingIn, now: datetime
) -> StoredRecord:
    """Lift the measures: after the window with no complaint or lawsuit notified, or on the
    outcome of one (409 ``window_open`` before the window's end)."""
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "platform", "lift measures")
    rows = _move(session, complaint, body.listings, "measures_lifted", now)
    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step="measures_lifted",
        now=now,
        listings=body.listings,
        readers={complaint.holder_id, complaint.platform_id, *_sellers_of(rows)},
        fields={"note": body.note},
        extra_rows=lambda _: list(rows),
    )


def publish(
    session: Session, *, complaint_id: str, actor: Principal, now: datetime
) -> StoredRecord:
    """Publish the notice, declarations and outcomes in the public register (Art. 44)."""
    complaint, capacity = _participation(session, complaint_id, actor)
    _only(capacity, "platform", "publish a complaint")
    if complaint.published_at is not None:
        raise Conflict("the complaint is already published", code="already_published")
    rows = _listings(session, complaint.id)

    def extra(_: str) -> list[Any]:
        complaint.published_at = now
        return [complaint]

    return _append(
        session,
        complaint=complaint,
        actor=actor,
        capacity=capacity,
        step="published",
        now=now,
        listings=[],
        readers={complaint.holder_id, complaint.platform_id, *_sellers_of(rows)},
        fields={},
        extra_rows=extra,
    )


# --- reading ------------------------------------------------------------------------------------


def _listing_view(row: ComplaintListing, now: datetime) -> dict[str, Any]:
    due = _aware(row.due_at)
    return {
        "index": row.idx,
        "url": row.url,
        "seller_id": row.seller_id,
        "state": row.state,
        "next_step": row.next_step,
        "next_party": row.next_party,
        "due_at": None if due is None else format_timestamp(due),
        "overdue": due is not None and due < now,
        "window_ends_at": None
        if row.window_ends_at is None
        else format_timestamp(_aware(row.window_ends_at) or row.window_ends_at),
    }


def _visible_listings(
    session: Session, complaint: Complaint, capacity: str, viewer: Principal
) -> list[ComplaintListing]:
    rows = _listings(session, complaint.id)
    return [r for r in rows if capacity != "seller" or r.seller_id == viewer.id]


def _summary(
    session: Session, complaint: Complaint, capacity: str, viewer: Principal, now: datetime
) -> dict[str, Any]:
    listings = [
        _listing_view(r, now) for r in _visible_listings(session, complaint, capacity, viewer)
    ]
    states: dict[str, int] = {}
    for listing in listings:
        states[listing["state"]] = states.get(listing["state"], 0) + 1
    return {
        "id": complaint.id,
        "capacity": capacity,
        "platform_id": complaint.platform_id,
        "holder_id": complaint.holder_id,
        "created_at": format_timestamp(_aware(complaint.created_at) or complaint.created_at),
        "published": complaint.published_at is not None,
        "states": states,
        "overdue": [
            {k: x[k] for k in ("index", "next_step", "next_party", "due_at")}
            for x in listings
            if x["overdue"]
        ],
    }


def list_complaints(
    session: Session, *, viewer: Principal, overdue: bool, now: datetime
) -> list[dict[str, Any]]:
    """The complaints the viewer is party to; ``overdue``: only those with a step past its due
    time (for a platform, the list of what it owes)."""
    query = select(Complaint).where(
        (col(Complaint.holder_id) == viewer.id) | (col(Complaint.platform_id) == viewer.id)
    )
    if viewer.role == Role.seller.value:
        query = select(Complaint).where(
            col(Complaint.id).in_(
                select(ComplaintListing.complaint_id).where(ComplaintListing.seller_id == viewer.id)
            )
        )
    if overdue:
        query = query.where(
            col(Complaint.id).in_(
                select(ComplaintListing.complaint_id).where(
                    col(ComplaintListing.due_at).is_not(None), col(ComplaintListing.due_at) < now
                )
            )
        )
    out = []
    for complaint in session.exec(
        query.order_by(col(Complaint.created_at).desc()).limit(MAX_LISTED)
    ):
        try:
            _, capacity = _participation(session, complaint.id, viewer)
        except NotFound:
            continue
        summary = _summary(session, complaint, capacity, viewer, now)
        if not overdue or summary["overdue"]:
            out.append(summary)
    return out


def _visible_steps(
    session: Session, complaint: Complaint, viewer: Principal, capacity: str
) -> list[tuple[ComplaintLogEntry, Record, bool]]:
    """Every step in order, with whether the viewer may read it."""
    granted = set(
        session.exec(
            select(RecordAccess.record_id)
            .join(
                ComplaintLogEntry, col(ComplaintLogEntry.record_id) == col(RecordAccess.record_id)
            )
            .where(
                ComplaintLogEntry.complaint_id == complaint.id,
                RecordAccess.principal_id == viewer.id,
            )
        )
    )
    return [
        (entry, record, record.owner_id == viewer.id or record.id in granted)
        for entry, record in session.exec(
            select(ComplaintLogEntry, Record)
            .join(Record, col(Record.id) == col(ComplaintLogEntry.record_id))
            .where(ComplaintLogEntry.complaint_id == complaint.id)
            .order_by(col(ComplaintLogEntry.seq))
        )
    ]


def get_complaint(
    session: Session, *, complaint_id: str, viewer: Principal, now: datetime
) -> dict[str, Any]:
    complaint, capacity = _participation(session, complaint_id, viewer)
    steps = []
    measures: dict[int, str] = {}
    for entry, record, visible in _visible_steps(session, complaint, viewer, capacity):
        if not visible:
            continue
        body = body_of(record)
        if body["step"] == "measures_taken":
            measures.update(dict.fromkeys(body["listings"], body["measure"]))
        steps.append(
            {
                "seq": entry.seq,
                "record_id": record.id,
                "step": body["step"],
                "actor": body["actor"],
                "listings": body["listings"],
                "due": body.get("due"),
                "received_at": body["received_at"],
            }
        )
    listings = [
        {**_listing_view(r, now), "measure": measures.get(r.idx)}
        for r in _visible_listings(session, complaint, capacity, viewer)
    ]
    return {
        **_summary(session, complaint, capacity, viewer, now),
        "rules": _rules_in_force(session, complaint.id),
        "listings": listings,
        "steps": steps,
    }


def timeline(
    session: Session, issuer: Issuer, *, complaint_id: str, viewer: Principal, now: datetime
) -> dict[str, Any]:
    """The complaint's timeline as the viewer may read it, every step with its certificate, signed
    (``ipnotary.sdk.complaints.verify_complaint_timeline``). ``NotReady`` (409) while a step is
    not certified yet."""
    complaint, capacity = _participation(session, complaint_id, viewer)
    reference = _reference(session, complaint)
    events, withheld = [], []
    full = capacity != "seller"
    for entry, record, visible in _visible_steps(session, complaint, viewer, capacity):
        if not (full or visible):
            withheld.append(entry.seq)
            continue
        events.append(
            {
                "seq": entry.seq,
                "record_id": record.id,
                "step": body_of(record)["step"],
                "leaf_hash": record.leaf_hash,
                "certificate": json.loads(certificate_for(session, issuer, record).to_json_bytes()),
            }
        )
    listings = []
    for row in _visible_listings(session, complaint, capacity, viewer):
        item: dict[str, Any] = {"index": row.idx, "url": row.url, "state": row.state}
        if row.seller_id is not None:
            item["seller_id"] = row.seller_id
        if row.window_ends_at is not None:
            item["window_ends_at"] = format_timestamp(_aware(row.window_ends_at) or now)
        if row.next_step is not None and row.next_party is not None:
            due = _aware(row.due_at)
            item["due"] = {"step": row.next_step, "party": row.next_party}
            if due is not None:
                item["due"]["by"] = format_timestamp(due)
        listings.append(item)
    unsigned = {
        "media_type": TIMELINE_MEDIA_TYPE,
        "complaint": reference.model_dump(mode="json"),
        "copy": {"for": capacity, "principal": {"id": viewer.id, "name": viewer.name}},
        "exported_at": format_timestamp(now),
        "log_size": len(events) + len(withheld),
        "events": events,
        "withheld": withheld,
        "listings": listings,
        "issuer": {"key_id": issuer.key_id, "public_key": issuer.public_key_b64},
    }
    return issuer.sign(unsigned)


def public_register(
    session: Session, *, platform_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Published complaints (Art. 44): the notice, the declarations and each listing's outcome,
    identity numbers masked; no key needed."""
    query = select(Complaint).where(col(Complaint.published_at).is_not(None))
    if platform_id is not None:
        query = query.where(Complaint.platform_id == platform_id)
    out = []
    for complaint in session.exec(query.order_by(col(Complaint.published_at).desc()).limit(limit)):
        notice = body_of(_notice_event(session, complaint.id))
        declarations = []
        measures: dict[int, str] = {}
        for record in session.exec(
            select(Record)
            .join(ComplaintLogEntry, col(ComplaintLogEntry.record_id) == col(Record.id))
            .where(ComplaintLogEntry.complaint_id == complaint.id)
            .order_by(col(ComplaintLogEntry.seq))
        ):
            body = body_of(record)
            if body["step"] == "measures_taken":
                measures.update(dict.fromkeys(body["listings"], body["measure"]))
            if body["step"] == "declared":
                seller = body["declaration"]["seller"]
                declarations.append(
                    {
                        "listings": body["listings"],
                        "seller": {
                            **seller,
                            "id": mask_identifier(seller["id_type"], seller["id"]),
                        },
                        "statement": body["declaration"]["statement"],
                        "received_at": body["received_at"],
                    }
                )
        holder = notice["notice"]["holder"]
        out.append(
            {
                "id": complaint.id,
                "platform": notice["complaint"]["platform"],
                "holder": {**holder, "id": mask_identifier(holder["id_type"], holder["id"])},
                "right": {k: v for k, v in notice["notice"]["right"].items() if k != "work"},
                "filed_at": notice["received_at"],
                "published_at": format_timestamp(
                    _aware(complaint.published_at) or complaint.created_at
                ),
                "listings": [
                    {
                        "index": r.idx,
                        "url": r.url,
                        "state": r.state,
                        "measure": measures.get(r.idx),
                    }
                    for r in _listings(session, complaint.id)
                ],
                "declarations": declarations,
            }
        )
    return out
