"""Arbitration cases (the regulation's Art. 10): opening, invitations, submissions, sharing,
closing and the case's bundle.

Every act is a ``case_event`` record on the one pipeline; the case's own log (``case_log``)
gives each its place (``seq``) and the leaf hash of the act before it, and a primary key keeps
two acts from taking the same place (the loser retries). Who sees an act is decided when it is
made, as ``record_access`` rows (``services.records.may_see`` reads them; ``case_event`` is a
participants-only kind): the tribunal side (the case's administrator and arbitrators) sees
everything; a party sees the opening, invitations, sharing and closing, its own submissions,
the tribunal's, and what the tribunal shared; anyone else sees nothing, and is told the case does
not exist (404), exactly as for a case id nobody opened.

Every function takes a session, the acting principal and ``now``: the API and server-rendered
pages call the same code. :func:`export_bundle` writes the case's ZIP
(``ipnotary.sdk.arbitration`` reads and verifies it).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.arbitration import BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MANIFEST_NAME
from ipnotary.sdk.certificate import AnyCertificate, format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    CaseActor,
    CaseParty,
    CaseReference,
    CaseShare,
    CaseSubmission,
    CoveredRecord,
    DisclosureRecord,
    Party,
    content_of,
    parse_record,
)
from ipnotary.service.domain.arbitration import (
    Act,
    CaseOpening,
    build_case_event_record,
    new_case_id,
)
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.records import (
    StoredRecord,
    accept_record,
    body_of,
    certificate_for,
    may_see,
)
from ipnotary.service.services.sharing import grant_access
from ipnotary.service.storage.content import ContentStore
from ipnotary.service.storage.models import KeyGrant, Principal, Record
from ipnotary.service.storage.workflows import ArbitrationCase, CaseLogEntry, CaseMember
from ipnotary.service.storage.workflows import CaseSubmission as SubmissionRow

__all__ = [
    "PARTY_ROLES",
    "CaseView",
    "Statement",
    "close_case",
    "export_bundle",
    "get_case",
    "invite_party",
    "list_cases",
    "open_case",
    "share_submission",
    "statement_content",
    "submit_disclosure",
    "submit_exhibit",
    "submit_statement",
]

PARTY_ROLES = frozenset({Role.holder.value, Role.platform.value, Role.seller.value})
TRIBUNAL_SIDE = frozenset({"administrator", "arbitrator"})
# Records whose certificate a party may put before the tribunal: not a trade secret (disclosed,
# not exhibited), nor the acts of a case or complaint.
_NOT_EXHIBITS = frozenset({RecordKind.trade_secret, RecordKind.disclosure, RecordKind.case_event})
_RETRIES = 5  # acts racing for the same place in the case's log: the loser takes the next one
MAX_CASES_LISTED = 500


@dataclass(frozen=True)
class Statement:
    cid: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class CaseView:
    """A case as one member sees it."""

    case: ArbitrationCase
    capacity: str
    parties: list[dict[str, Any]]
    tribunal: list[dict[str, str]]
    submissions: list[dict[str, Any]]
    acts: list[dict[str, Any]]


def _not_found(case_id: str) -> NotFound:
    # The same answer for a case that does not exist and one the caller is not in.
    return NotFound(f"no case {case_id!r}", code="no_case")


def _membership(
    session: Session, case_id: str, principal: Principal
) -> tuple[ArbitrationCase, CaseMember]:
    case = session.get(ArbitrationCase, case_id)
    member = session.exec(
        select(CaseMember).where(
            CaseMember.case_id == case_id, CaseMember.principal_id == principal.id
        )
    ).first()
    if case is None or member is None:
        raise _not_found(case_id)
    return case, member


def _members(session: Session, case_id: str) -> list[CaseMember]:
    return list(session.exec(select(CaseMember).where(CaseMember.case_id == case_id)))


def _tribunal_side(members: Iterable[CaseMember]) -> set[str]:
    return {m.principal_id for m in members if m.capacity in TRIBUNAL_SIDE}


def _reference(case: ArbitrationCase) -> CaseReference:
    return CaseReference(id=case.id, commission=case.commission, number=case.case_number)


def _actor(principal: Principal, member: CaseMember) -> CaseActor:
    capacity = "party" if member.capacity == "party" else member.capacity
    return CaseActor(id=principal.id, name=principal.name, capacity=capacity)


def _opening(session: Session, case_id: str) -> Record:
    first = session.exec(
        select(CaseLogEntry).where(CaseLogEntry.case_id == case_id, CaseLogEntry.seq == 1)
    ).one()
    return session.exec(select(Record).where(Record.id == first.record_id)).one()


def _append(
    session: Session,
    *,
    case: ArbitrationCase,
    actor: Principal,
    capacity: CaseActor,
    act: Act,
    now: datetime,
    visible_to: Callable[[], set[str]],
    fields: Callable[[], dict[str, Any]] = dict,
    extra_rows: Callable[[str], list[Any]] = lambda _: [],
) -> StoredRecord:
    """Append an act to the case's log: its record, its place, who may read it, and the rows it
    brings, in one transaction; retried when another act took the same place."""
    for _ in range(_RETRIES):
        last = session.exec(
            select(CaseLogEntry)
            .where(CaseLogEntry.case_id == case.id)
            .order_by(col(CaseLogEntry.seq).desc())
            .limit(1)
        ).first()
        try:
            return _append_at(
                session,
                case=case,
                actor=actor,
                capacity=capacity,
                act=act,
                now=now,
                seq=1 if last is None else last.seq + 1,
                previous=None if last is None else last.leaf_hash,
                values=fields(),
                readers=visible_to() - {actor.id},
                extra_rows=extra_rows,
            )
        except IntegrityError:
            session.rollback()
    raise Conflict(
        "the case is busy: other acts kept taking its next place; try again", code="case_busy"
    )


def _append_at(
    session: Session,
    *,
    case: ArbitrationCase,
    actor: Principal,
    capacity: CaseActor,
    act: Act,
    now: datetime,
    seq: int,
    previous: str | None,
    values: dict[str, Any],
    readers: set[str],
    extra_rows: Callable[[str], list[Any]],
) -> StoredRecord:
    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_case_event_record(
            record_id,
            received_at,
            case=_reference(case),
            seq=seq,
            previous=previous,
            actor=capacity,
            act=act,
            **values,
        )

    def rows(record_id: str) -> list[Any]:
        record = session.exec(select(Record).where(Record.id == record_id)).one()
        return [
            CaseLogEntry(case_id=case.id, seq=seq, record_id=record_id, leaf_hash=record.leaf_hash),
            *grant_access(
                session,
                record_id=record_id,
                principal_ids=readers,
                purpose="case",
                by=actor.id,
                at=now,
            ),
            *extra_rows(record_id),
        ]

    return accept_record(
        session, kind=RecordKind.case_event, owner=actor, build_body=build, now=now, extra_rows=rows
    )


def open_case(
    session: Session, *, opener: Principal, opening: CaseOpening, now: datetime
) -> tuple[ArbitrationCase, StoredRecord]:
    """Open a case; its opener administers it (and sits in the tribunal if it names itself)."""
    if (
        session.exec(
            select(ArbitrationCase).where(
                ArbitrationCase.commission == opening.commission,
                ArbitrationCase.case_number == opening.case_number,
            )
        ).first()
        is not None
    ):
        raise Conflict(
            f"{opening.commission} already has a case {opening.case_number}",
            code="case_number_taken",
        )
    tribunal = []
    for principal_id in opening.tribunal:
        member = session.get(Principal, principal_id)
        if member is None or member.disabled or member.role != Role.arbitrator.value:
            raise InvalidInput(f"{principal_id} is no arbitrator: the tribunal is of arbitrators")
        tribunal.append(member)
    for party in opening.parties:
        if party.principal_id is not None:
            _party_principal(session, party.principal_id)
    case = ArbitrationCase(
        id=new_case_id(),
        commission=opening.commission,
        case_number=opening.case_number,
        opened_by=opener.id,
        created_at=now,
    )
    members = [
        CaseMember(
            case_id=case.id,
            principal_id=opener.id,
            capacity="arbitrator" if opener.id in opening.tribunal else "administrator",
            joined_at=now,
        ),
        *(
            CaseMember(case_id=case.id, principal_id=m.id, capacity="arbitrator", joined_at=now)
            for m in tribunal
            if m.id != opener.id
        ),
        *(
            CaseMember(
                case_id=case.id,
                principal_id=p.principal_id,
                capacity="party",
                party_index=n,
                joined_at=now,
            )
            for n, p in enumerate(opening.parties)
            if p.principal_id is not None
        ),
    ]
    try:
        stored = _append_at(
            session,
            case=case,
            actor=opener,
            capacity=_actor(opener, members[0]),
            act="opened",
            now=now,
            seq=1,
            previous=None,
            values={
                "parties": [p.as_record() for p in opening.parties],
                "tribunal": [Party(id=m.id, name=m.name) for m in tribunal],
            },
            readers={m.principal_id for m in members} - {opener.id},
            extra_rows=lambda _: [case, *members],
        )
    except IntegrityError:  # another request opened the same number since the check above
        session.rollback()
        raise Conflict(
            f"{opening.commission} already has a case {opening.case_number}",
            code="case_number_taken",
        ) from None
    return case, stored


def _party_principal(session: Session, principal_id: str) -> Principal:
    principal = session.get(Principal, principal_id)
    if principal is None or principal.disabled:
        raise NotFound(f"no principal {principal_id!r}")
    if principal.role not in PARTY_ROLES:
        raise InvalidInput(
            f"{principal_id} is a {principal.role}; a party acts through a holder, platform or "
            "seller principal"
        )
    return principal


def list_cases(session: Session, *, viewer: Principal) -> list[tuple[ArbitrationCase, str]]:
    rows = session.exec(
        select(ArbitrationCase, CaseMember.capacity)
        .join(CaseMember, col(CaseMember.case_id) == col(ArbitrationCase.id))
        .where(CaseMember.principal_id == viewer.id)
        .order_by(col(ArbitrationCase.created_at).desc())
        .limit(MAX_CASES_LISTED)
    ).all()
    return [(case, capacity) for case, capacity in rows]


def _parties(session: Session, case: ArbitrationCase) -> list[dict[str, Any]]:
    """The opening's parties, each with the principal an invitation bound to it."""
    opening = parse_record(body_of(_opening(session, case.id)))
    parties = [
        p.model_dump(mode="json", exclude_none=True)
        for p in getattr(opening, "parties", None) or []
    ]
    for member in _members(session, case.id):
        if member.party_index is not None:
            parties[member.party_index]["principal_id"] = member.principal_id
    return parties


def get_case(session: Session, *, case_id: str, viewer: Principal) -> CaseView:
    case, member = _membership(session, case_id, viewer)
    opening = parse_record(body_of(_opening(session, case.id)))
    acts = []
    for entry, record in session.exec(
        select(CaseLogEntry, Record)
        .join(Record, col(Record.id) == col(CaseLogEntry.record_id))
        .where(CaseLogEntry.case_id == case.id)
        .order_by(col(CaseLogEntry.seq))
    ):
        if may_see(session, record, viewer):
            body = body_of(record)
            acts.append(
                {
                    "seq": entry.seq,
                    "record_id": record.id,
                    "act": body["act"],
                    "actor": body["actor"],
                    "received_at": body["received_at"],
                }
            )
    seen = {a["record_id"] for a in acts}
    submissions = [
        _submission_view(s)
        for s in session.exec(
            select(SubmissionRow)
            .where(SubmissionRow.case_id == case.id)
            .order_by(col(SubmissionRow.number))
        )
        if s.event_record_id in seen
    ]
    tribunal = [p.model_dump(mode="json") for p in getattr(opening, "tribunal", None) or []]
    return CaseView(case, member.capacity, _parties(session, case), tribunal, submissions, acts)


def _submission_view(row: SubmissionRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "type": row.type,
        "title": row.title,
        "event_id": row.event_record_id,
        "submitter_id": row.submitter_id,
        "submitted_at": format_timestamp(row.submitted_at),
        "record_id": row.exhibit_record_id or row.disclosure_id,
        "shared": row.shared,
    }


def invite_party(
    session: Session,
    *,
    case_id: str,
    actor: Principal,
    label: str,
    principal_id: str,
    now: datetime,
) -> StoredRecord:
    """Bind party ``label`` to the principal that acts for it; it then sees the case's public acts
    so far and what is shared from now on."""
    case, member = _membership(session, case_id, actor)
    _tribunal_only(member, "invite a party")
    _open(case)
    parties = _parties(session, case)
    index = next((n for n, p in enumerate(parties) if p["label"] == label), None)
    if index is None:
        raise NotFound(f"case {case.case_number} has no party {label!r}")
    if "principal_id" in parties[index]:
        raise Conflict(
            f"party {label!r} already acts through {parties[index]['principal_id']}",
            code="already_invited",
        )
    invitee = _party_principal(session, principal_id)
    if any(m.principal_id == invitee.id for m in _members(session, case.id)):
        raise Conflict(f"{invitee.id} is already in this case", code="already_a_member")
    party = CaseParty(**{**parties[index], "principal_id": invitee.id})
    new_member = CaseMember(
        case_id=case.id, principal_id=invitee.id, capacity="party", party_index=index, joined_at=now
    )

    def earlier(record_id: str) -> list[Any]:
        # What every party sees of the case so far: its public acts and the shared submissions.
        public = [
            r.id
            for r in session.exec(
                select(Record)
                .join(CaseLogEntry, col(CaseLogEntry.record_id) == col(Record.id))
                .where(CaseLogEntry.case_id == case.id)
            )
            if body_of(r)["act"] in ("opened", "invited", "shared", "closed")
        ]
        shared = session.exec(
            select(SubmissionRow).where(
                SubmissionRow.case_id == case.id, col(SubmissionRow.shared).is_(True)
            )
        ).all()
        readable = (
            public
            + [s.event_record_id for s in shared]
            + [s.exhibit_record_id for s in shared if s.exhibit_record_id]
        )
        rows: list[Any] = [new_member]
        for rid in readable:
            rows += grant_access(
                session,
                record_id=rid,
                principal_ids=[invitee.id],
                purpose="case",
                by=actor.id,
                at=now,
            )
        return rows

    return _append(
        session,
        case=case,
        actor=actor,
        capacity=_actor(actor, member),
        act="invited",
        now=now,
        visible_to=lambda: {m.principal_id for m in _members(session, case.id)} | {invitee.id},
        fields=lambda: {"party": party},
        extra_rows=earlier,
    )


def _tribunal_only(member: CaseMember, what: str) -> None:
    if member.capacity not in TRIBUNAL_SIDE:
        raise PermissionDenied(f"only the tribunal may {what}", code="tribunal_only")


def _open(case: ArbitrationCase) -> None:
    if case.closed_at is not None:
        raise Conflict(
            f"case {case.case_number} was closed at {format_timestamp(case.closed_at)}",
            code="case_closed",
        )


def _next_number(session: Session, case_id: str) -> int:
    top = session.exec(
        select(func.max(SubmissionRow.number)).where(SubmissionRow.case_id == case_id)
    ).one()
    return int(top or 0) + 1


def _submit(
    session: Session,
    *,
    case: ArbitrationCase,
    member: CaseMember,
    actor: Principal,
    now: datetime,
    submission: Callable[[int], CaseSubmission],
    row: Callable[[int, str], SubmissionRow],
    readable: Sequence[str] = (),
) -> StoredRecord:
    """A submission: visible to its submitter and the tribunal side, or to everyone when the
    tribunal itself submits (its orders and documents are for the parties)."""
    _open(case)
    members = _members(session, case.id)
    everyone = member.capacity in TRIBUNAL_SIDE
    readers = (
        {m.principal_id for m in members} if everyone else _tribunal_side(members) | {actor.id}
    )
    number = _next_number(session, case.id)

    def extra(record_id: str) -> list[Any]:
        rows: list[Any] = [row(number, record_id)]
        for rid in readable:
            rows += grant_access(
                session,
                record_id=rid,
                principal_ids=readers - {actor.id},
                purpose="case",
                by=actor.id,
                at=now,
            )
        return rows

    return _append(
        session,
        case=case,
        actor=actor,
        capacity=_actor(actor, member),
        act="submitted",
        now=now,
        visible_to=lambda: readers,
        fields=lambda: {"submission": submission(number)},
        extra_rows=extra,
    )


def submit_exhibit(
    session: Session, *, case_id: str, actor: Principal, record_id: str, title: str, now: datetime
) -> StoredRecord:
    """Put the certificate of one of the actor's records before the tribunal."""
    case, member = _membership(session, case_id, actor)
    record = session.exec(select(Record).where(Record.id == record_id)).first()
    if record is None or record.owner_id != actor.id:
        raise NotFound(f"no record {record_id!r} of yours")
    if record.kind in _NOT_EXHIBITS:
        hint = (
            ": submit a disclosure to the tribunal instead"
            if record.kind in (RecordKind.trade_secret, RecordKind.disclosure)
            else ""
        )
        raise InvalidInput(f"a {record.kind} record is not an exhibit{hint}")
    content = content_of(parse_record(body_of(record)))
    everyone = member.capacity in TRIBUNAL_SIDE

    def submission(number: int) -> CaseSubmission:
        fields: dict[str, Any] = {
            "number": number,
            "type": "exhibit",
            "title": title,
            "record": CoveredRecord(
                record_id=record.id, kind=record.kind, leaf_hash=record.leaf_hash
            ),
        }
        if content is not None:
            fields |= {"sha256": content.sha256, "size": content.size}
        return CaseSubmission(**fields)

    def row(number: int, event_id: str) -> SubmissionRow:
        return SubmissionRow(
            case_id=case.id,
            number=number,
            event_record_id=event_id,
            submitter_id=actor.id,
            type="exhibit",
            title=title,
            exhibit_record_id=record.id,
            submitted_at=now,
            shared=everyone,
        )

    return _submit(
        session,
        case=case,
        member=member,
        actor=actor,
        now=now,
        submission=submission,
        row=row,
        readable=[record.id],
    )


def submit_statement(
    session: Session,
    *,
    case_id: str,
    actor: Principal,
    title: str,
    document: Statement,
    now: datetime,
) -> StoredRecord:
    """A statement: a document already in the content store, anchored by its digest."""
    case, member = _membership(session, case_id, actor)
    everyone = member.capacity in TRIBUNAL_SIDE

    def submission(number: int) -> CaseSubmission:
        return CaseSubmission(
            number=number,
            type="statement",
            title=title,
            sha256=document.sha256,
            size=document.size,
            filename=document.filename,
        )

    def row(number: int, event_id: str) -> SubmissionRow:
        return SubmissionRow(
            case_id=case.id,
            number=number,
            event_record_id=event_id,
            submitter_id=actor.id,
            type="statement",
            title=title,
            content_cid=document.cid,
            filename=document.filename,
            submitted_at=now,
            shared=everyone,
        )

    return _submit(
        session, case=case, member=member, actor=actor, now=now, submission=submission, row=row
    )


def submit_disclosure(
    session: Session,
    *,
    case_id: str,
    actor: Principal,
    disclosure_id: str,
    title: str,
    now: datetime,
) -> StoredRecord:
    """Put a trade-secret disclosure the actor made to a member of this tribunal before it."""
    case, member = _membership(session, case_id, actor)
    record = session.exec(
        select(Record).where(Record.id == disclosure_id, Record.kind == RecordKind.disclosure)
    ).first()
    if record is None or record.owner_id != actor.id:
        raise NotFound(f"no disclosure {disclosure_id!r} of yours")
    body = parse_record(body_of(record))
    assert isinstance(body, DisclosureRecord)
    recipient = body.recipient.get("id", "")
    if recipient not in _tribunal_side(_members(session, case.id)):
        raise InvalidInput(
            f"disclosure {disclosure_id} was made to {recipient}, who does not sit in this "
            "tribunal: disclose the filing to a member of it ('notary secret disclose')"
        )

    def submission(number: int) -> CaseSubmission:
        return CaseSubmission(
            number=number,
            type="disclosure",
            title=title,
            record=CoveredRecord(record_id=record.id, kind=record.kind, leaf_hash=record.leaf_hash),
            filing_id=body.filing.id,
            recipient_id=recipient,
        )

    def row(number: int, event_id: str) -> SubmissionRow:
        return SubmissionRow(
            case_id=case.id,
            number=number,
            event_record_id=event_id,
            submitter_id=actor.id,
            type="disclosure",
            title=title,
            disclosure_id=record.id,
            submitted_at=now,
            shared=False,
        )

    return _submit(
        session, case=case, member=member, actor=actor, now=now, submission=submission, row=row
    )


def share_submission(
    session: Session, *, case_id: str, actor: Principal, number: int, now: datetime
) -> StoredRecord:
    """(The tribunal) show a submission to every party: the act is anchored, and each party may
    read the submission and, for an exhibit, its record from then on."""
    case, member = _membership(session, case_id, actor)
    _tribunal_only(member, "share a submission")
    _open(case)
    row = session.exec(
        select(SubmissionRow).where(
            SubmissionRow.case_id == case.id, SubmissionRow.number == number
        )
    ).first()
    if row is None:
        raise NotFound(f"case {case.case_number} has no submission {number}")
    if row.type == "disclosure":
        raise InvalidInput("a trade-secret disclosure is for the tribunal and is never shared")
    if row.shared:
        raise Conflict(f"submission {number} is already shared", code="already_shared")
    members = _members(session, case.id)
    everyone = {m.principal_id for m in members}

    def extra(record_id: str) -> list[Any]:
        row.shared = True
        rows: list[Any] = [row]
        for rid in [
            row.event_record_id,
            *([row.exhibit_record_id] if row.exhibit_record_id else []),
        ]:
            rows += grant_access(
                session, record_id=rid, principal_ids=everyone, purpose="case", by=actor.id, at=now
            )
        return rows

    return _append(
        session,
        case=case,
        actor=actor,
        capacity=_actor(actor, member),
        act="shared",
        now=now,
        visible_to=lambda: everyone,
        fields=lambda: {"shared": CaseShare(number=number, event_id=row.event_record_id)},
        extra_rows=extra,
    )


def close_case(
    session: Session, *, case_id: str, actor: Principal, note: str, now: datetime
) -> StoredRecord:
    case, member = _membership(session, case_id, actor)
    _tribunal_only(member, "close the case")
    _open(case)

    def extra(record_id: str) -> list[Any]:
        case.closed_at = now
        return [case]

    return _append(
        session,
        case=case,
        actor=actor,
        capacity=_actor(actor, member),
        act="closed",
        now=now,
        visible_to=lambda: {m.principal_id for m in _members(session, case.id)},
        fields=lambda: {"note": note},
        extra_rows=extra,
    )


def statement_content(
    session: Session, *, case_id: str, viewer: Principal, number: int
) -> Statement:
    case, _ = _membership(session, case_id, viewer)
    row = session.exec(
        select(SubmissionRow).where(
            SubmissionRow.case_id == case.id, SubmissionRow.number == number
        )
    ).first()
    event = (
        None
        if row is None
        else session.exec(select(Record).where(Record.id == row.event_record_id)).one()
    )
    if (
        row is None
        or event is None
        or row.type != "statement"
        or not may_see(session, event, viewer)
    ):
        raise NotFound(f"no statement {number} in case {case.case_number} visible to you")
    submission = body_of(event)["submission"]
    assert row.content_cid is not None and row.filename is not None
    return Statement(row.content_cid, row.filename, submission["sha256"], submission["size"])


# --- the bundle ---------------------------------------------------------------------------------


def _safe_name(name: str, fallback: str) -> str:
    """A file name that stays one name inside the ZIP."""
    leaf = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(c for c in leaf if c.isprintable() and c not in '/:*?"<>|').strip(". ")
    return cleaned[:120] or fallback


def _cert_json(cert: AnyCertificate) -> bytes:
    return cert.to_json_bytes()


def export_bundle(
    session: Session,
    issuer: Issuer,
    content: ContentStore,
    *,
    case_id: str,
    viewer: Principal,
    out: BinaryIO,
    now: datetime,
) -> dict[str, Any]:
    """Write the case's bundle, as ``viewer`` may have it, to ``out``; returns its manifest.

    The tribunal side gets the tribunal's copy (every act, the disclosed material); a party its
    own (what it may read, the rest listed as withheld). ``NotReady`` (409) while an act or an
    exhibit's record is not certified yet."""
    case, member = _membership(session, case_id, viewer)
    tribunal_copy = member.capacity in TRIBUNAL_SIDE
    entries = session.exec(
        select(CaseLogEntry, Record)
        .join(Record, col(Record.id) == col(CaseLogEntry.record_id))
        .where(CaseLogEntry.case_id == case.id)
        .order_by(col(CaseLogEntry.seq))
    ).all()
    opening = parse_record(body_of(entries[0][1]))
    log: list[dict[str, Any]] = []
    withheld: list[int] = []
    files: list[tuple[str, bytes | str]] = []  # a name and its bytes, or the CID of its content
    visible: set[str] = set()
    for entry, record in entries:
        if not tribunal_copy and not may_see(session, record, viewer):
            withheld.append(entry.seq)
            continue
        name = f"log/{entry.seq:04d}-{record.id}.json"
        files.append((name, _cert_json(certificate_for(session, issuer, record))))
        log.append(
            {
                "seq": entry.seq,
                "record_id": record.id,
                "act": body_of(record)["act"],
                "leaf_hash": record.leaf_hash,
                "file": name,
            }
        )
        visible.add(record.id)
    exhibits = []
    rows = session.exec(
        select(SubmissionRow)
        .where(SubmissionRow.case_id == case.id)
        .order_by(col(SubmissionRow.number))
    ).all()
    for row in rows:
        if row.event_record_id not in visible:
            continue
        event = body_of(next(r for _, r in entries if r.id == row.event_record_id))
        sub = event["submission"]
        folder = f"exhibits/{row.number:03d}"
        item: dict[str, Any] = {
            "number": row.number,
            "type": row.type,
            "title": row.title,
            "submitter": event["actor"],
            "submitted_at": event["received_at"],
            "event": row.event_record_id,
            "shared": row.shared,
            **{
                k: sub[k]
                for k in ("sha256", "size", "record", "filing_id", "recipient_id")
                if k in sub
            },
            "files": {},
        }
        if row.type == "exhibit" and row.exhibit_record_id is not None:
            record = session.exec(select(Record).where(Record.id == row.exhibit_record_id)).one()
            item["files"]["certificate"] = f"{folder}/certificate.json"
            files.append(
                (item["files"]["certificate"], _cert_json(certificate_for(session, issuer, record)))
            )
            if record.content_cid is not None:
                item["files"]["content"] = f"{folder}/content/{record.id}.bin"
                files.append((item["files"]["content"], record.content_cid))
        elif row.type == "statement" and row.content_cid is not None:
            item["files"]["document"] = (
                f"{folder}/{_safe_name(row.filename or '', 'statement.bin')}"
            )
            files.append((item["files"]["document"], row.content_cid))
        elif row.type == "disclosure" and tribunal_copy and row.disclosure_id is not None:
            _disclosed(session, issuer, row, item, files)
        exhibits.append(item)
    parties = _parties(session, case)
    unsigned = {
        "media_type": MANIFEST_MEDIA_TYPE,
        "bundle_media_type": BUNDLE_MEDIA_TYPE,
        "case": {
            "id": case.id,
            "commission": case.commission,
            "number": case.case_number,
            "parties": parties,
            "tribunal": [
                p.model_dump(mode="json") for p in getattr(opening, "tribunal", None) or []
            ],
        },
        "copy": {
            "for": "tribunal" if tribunal_copy else "party",
            "principal": {"id": viewer.id, "name": viewer.name},
        },
        "exported_at": format_timestamp(now),
        "log_size": len(entries),
        "log": log,
        "withheld": withheld,
        "exhibits": exhibits,
        "issuer": {"key_id": issuer.key_id, "public_key": issuer.public_key_b64},
    }
    manifest = issuer.sign(unsigned)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr(
            MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
        )
        for name, data in files:
            if isinstance(data, bytes):
                archive.writestr(name, data)
                continue
            with archive.open(_stored(name, now), "w", force_zip64=True) as target:
                for chunk in content.open(data):  # streamed: an exhibit may be gigabytes
                    target.write(chunk)
    return manifest


def _stored(name: str, now: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # content is stored as is: often compressed already
    return info


def _disclosed(
    session: Session,
    issuer: Issuer,
    row: SubmissionRow,
    item: dict[str, Any],
    files: list[tuple[str, bytes | str]],
) -> None:
    """The disclosed material, for the tribunal's copy: the disclosure's and the filing's
    certificates, the ciphertext and the key wrapped to the member it was disclosed to."""
    folder = f"disclosed/{row.number:03d}"
    disclosure = session.exec(select(Record).where(Record.id == row.disclosure_id)).one()
    body = parse_record(body_of(disclosure))
    assert isinstance(body, DisclosureRecord)
    filing = session.exec(select(Record).where(Record.id == body.filing.id)).one()
    item["files"]["disclosure"] = f"{folder}/disclosure.json"
    item["files"]["filing"] = f"{folder}/filing.json"
    files.append(
        (item["files"]["disclosure"], _cert_json(certificate_for(session, issuer, disclosure)))
    )
    files.append((item["files"]["filing"], _cert_json(certificate_for(session, issuer, filing))))
    if filing.content_cid is not None:
        item["files"]["container"] = f"{folder}/container.ipnts"
        files.append((item["files"]["container"], filing.content_cid))
    for grant in session.exec(select(KeyGrant).where(KeyGrant.disclosure_id == disclosure.id)):
        name = f"{folder}/keys/{grant.recipient_id}.json"
        item["files"][f"key:{grant.recipient_id}"] = name
        files.append((name, grant.wrapped_key.encode()))
