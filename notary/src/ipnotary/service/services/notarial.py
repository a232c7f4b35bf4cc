"""Notarial acts on the service side: check the notary's signed documents and anchor them.

The notary signs on its own machine (``ipnotary.sdk.attestations``); the service never holds a
notary's private key. It checks that a document is signed by a key the calling notary registered
(with a signature by that key), that every record it covers was shared with that notary (the
holder's application) and is what the document says (leaf hash, kind, applicant), that the
office has not used the certificate number before, and then stores the document whole as an
``attestation``, ``notarial_refusal`` or ``attestation_revocation`` record on the one pipeline. A
revocation also sets the attestation's bit in the credentials' status lists, in the same
transaction (``services.status_lists.revoke``).

Every function takes a session, the acting principal and ``now``, so the API and server-rendered
pages call the same code. :func:`certificate_bundle` assembles a record's certificate with the
attestations on it, for ``ipnotary.sdk.attestations.verify_attestations``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ipnotary.sdk.attestations import (
    BUNDLE_MEDIA_TYPE,
    AttestationDocument,
    AttestedRecord,
    KeyRegistration,
    RefusalDocument,
    RevocationDocument,
    parse_act,
)
from ipnotary.sdk.certificate import AnyCertificate, parse_time
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import Party
from ipnotary.service.domain.notarial import (
    build_attestation_record,
    build_attestation_revocation_record,
    build_notarial_refusal_record,
)
from ipnotary.service.errors import Conflict, InvalidInput, NotFound, NotReady, PermissionDenied
from ipnotary.service.services import status_lists
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.principals import Actor, audit
from ipnotary.service.services.records import StoredRecord, accept_record, certificate_for
from ipnotary.service.services.sharing import grant_access, is_shared_with
from ipnotary.service.storage.models import Principal, Record
from ipnotary.service.storage.workflows import (
    Attestation,
    AttestationSubject,
    NotarialKey,
    RecordAccess,
)

__all__ = [
    "attest",
    "certificate_bundle",
    "keys_of",
    "refuse",
    "register_key",
    "revoke_attestation",
]

# A document signed long before it reaches us, or in the future, is refused: its signed_at is
# the notary's own word, and the log's time should follow it closely.
MAX_SIGNATURE_AGE = timedelta(days=1)
MAX_CLOCK_AHEAD = timedelta(minutes=5)


def _party(principal: Principal) -> Party:
    return Party(id=principal.id, name=principal.name)


def register_key(
    session: Session, *, notary: Principal, document: dict[str, Any], now: datetime
) -> NotarialKey:
    """Register a notary's public key from its self-signed registration; idempotent."""
    try:
        registration = KeyRegistration.model_validate(document)
    except ValueError as exc:
        raise InvalidInput(f"not a notarial key registration: {exc}") from None
    if not registration.signature_valid():
        raise InvalidInput("the registration is not signed by the key it registers")
    if registration.notary.principal_id != notary.id:
        raise InvalidInput(
            f"the registration names principal {registration.notary.principal_id}, but you are "
            f"{notary.id}: make the key file with your own principal id"
        )
    _fresh(registration.signed_at, now)
    existing = session.get(NotarialKey, registration.signer.key_id)
    if existing is not None:
        if existing.principal_id != notary.id:
            raise Conflict("this key is registered by another notary", code="key_taken")
        return existing
    row = NotarialKey(
        key_id=registration.signer.key_id,
        principal_id=notary.id,
        office=registration.office,
        public_key=registration.signer.public_key,
        document=registration.model_dump_json(),
        registered_at=now,
    )
    session.add(row)
    audit(
        session,
        Actor.of(notary),
        "notarial_key.register",
        target_type="notarial_key",
        target_id=row.key_id,
        detail={"office": row.office},
        at=now,
    )
    session.commit()
    return row


def keys_of(session: Session, principal_id: str) -> list[NotarialKey]:
    return list(
        session.exec(
            select(NotarialKey)
            .where(NotarialKey.principal_id == principal_id)
            .order_by(col(NotarialKey.registered_at))
        )
    )


def _fresh(signed_at: str, now: datetime) -> None:
    moment = parse_time(signed_at)
    if moment > now + MAX_CLOCK_AHEAD:
        raise InvalidInput(f"the document is signed at {signed_at}, in the future")
    if moment < now - MAX_SIGNATURE_AGE:
        raise InvalidInput(
            f"the document was signed at {signed_at}, more than a day ago: sign it again"
        )


_Act = TypeVar("_Act", AttestationDocument, RefusalDocument, RevocationDocument)


def _act(document: dict[str, Any], kind: type[_Act], notary: Principal, now: datetime) -> _Act:
    """The signed document, if it is a ``kind`` signed for ``notary`` and signed lately."""
    try:
        doc = parse_act(document)
    except FormatError as exc:
        raise InvalidInput(str(exc)) from None
    if not isinstance(doc, kind):
        raise InvalidInput(f"this route takes a {kind.__name__}, not a {doc.media_type}")
    if not doc.signature_valid():
        raise InvalidInput(
            "the notary's signature does not verify: the document changed after it was signed"
        )
    if doc.notary.principal_id != notary.id:
        raise PermissionDenied(
            f"the document is signed for notary {doc.notary.principal_id}, not for you",
            code="not_your_document",
        )
    _fresh(doc.signed_at, now)
    return doc


def _registered(
    session: Session,
    notary: Principal,
    doc: AttestationDocument | RefusalDocument | RevocationDocument,
) -> NotarialKey:
    row = session.get(NotarialKey, doc.signer.key_id)
    if row is None or row.principal_id != notary.id:
        raise PermissionDenied(
            f"key {doc.signer.key_id} is not one you registered: 'notary notarial key register' "
            "first",
            code="unregistered_notarial_key",
        )
    if row.office != doc.office:
        raise InvalidInput(f"your key is registered for {row.office!r}, not {doc.office!r}")
    return row


def _examined(
    session: Session, notary: Principal, records: list[AttestedRecord], applicant_id: str
) -> list[Record]:
    """The covered records, each shared with ``notary`` by the applicant and as the document
    names it."""
    found = []
    for item in records:
        record = session.exec(select(Record).where(Record.id == item.record_id)).first()
        if record is None:
            raise NotFound(f"no record {item.record_id!r}")
        if record.owner_id != notary.id and not is_shared_with(
            session, record_id=record.id, principal_id=notary.id
        ):
            raise PermissionDenied(
                f"record {record.id} has not been shared with you: its holder applies for "
                "notarisation by sharing it ('notary notarial apply')",
                code="not_shared",
            )
        if record.leaf_hash != item.leaf_hash or record.kind != item.kind:
            raise InvalidInput(
                f"record {record.id} is a {record.kind} with leaf hash {record.leaf_hash}, not "
                f"the {item.kind} with leaf hash {item.leaf_hash} the document names"
            )
        if record.owner_id != applicant_id:
            raise InvalidInput(f"record {record.id} is not the applicant's ({applicant_id})")
        found.append(record)
    if len({r.id for r in found}) != len(found):
        raise InvalidInput("the document names a record twice")
    return found


def attest(
    session: Session, *, notary: Principal, document: dict[str, Any], now: datetime
) -> StoredRecord:
    """Anchor an attestation signed by ``notary``'s registered key; the same document again
    answers with its record."""
    doc = _act(document, AttestationDocument, notary, now)
    _registered(session, notary, doc)
    covered = _examined(session, notary, doc.records, doc.applicant.id)
    taken = session.exec(
        select(Attestation).where(
            Attestation.office == doc.office,
            Attestation.certificate_number == doc.certificate_number,
        )
    ).first()
    if taken is not None:
        existing = _same_document(session, taken.record_id, doc.digest)
        if existing is not None:  # a retry of the same signed document
            return StoredRecord(existing, created=False)
        raise _number_taken(doc)

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_attestation_record(record_id, received_at, notary=_party(notary), document=doc)

    def rows(record_id: str) -> list[Any]:
        return [
            Attestation(
                record_id=record_id,
                notary_id=notary.id,
                office=doc.office,
                certificate_number=doc.certificate_number,
                created_at=now,
            ),
            *(AttestationSubject(attestation_id=record_id, record_id=r.id) for r in covered),
            # The applicant reads the attestations on its records.
            *grant_access(
                session,
                record_id=record_id,
                principal_ids={r.owner_id for r in covered},
                purpose="attestation",
                by=notary.id,
                at=now,
            ),
        ]

    try:
        return accept_record(
            session,
            kind=RecordKind.attestation,
            owner=notary,
            build_body=build,
            now=now,
            extra_rows=rows,
        )
    except IntegrityError:  # another request took the number since the check above
        session.rollback()
        raise _number_taken(doc) from None


def _number_taken(doc: AttestationDocument) -> Conflict:
    return Conflict(
        f"{doc.office} has already used certificate number {doc.certificate_number}",
        code="certificate_number_taken",
    )


def _same_document(session: Session, record_id: str, digest: str) -> Record | None:
    """The record ``record_id`` if it holds the document with this digest."""
    record = session.exec(select(Record).where(Record.id == record_id)).one()
    return record if json.loads(record.body).get("document_sha256") == digest else None


def refuse(
    session: Session, *, notary: Principal, document: dict[str, Any], now: datetime
) -> StoredRecord:
    """Anchor a notary's refusal of an application, with its reasons."""
    doc = _act(document, RefusalDocument, notary, now)
    _registered(session, notary, doc)
    _examined(session, notary, doc.records, doc.applicant.id)
    applicant = session.get(Principal, doc.applicant.id)
    if applicant is None:
        raise NotFound(f"no principal {doc.applicant.id!r}")

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_notarial_refusal_record(
            record_id,
            received_at,
            notary=_party(notary),
            applicant=_party(applicant),
            document=doc,
        )

    def rows(record_id: str) -> list[Any]:
        return grant_access(
            session,
            record_id=record_id,
            principal_ids=[applicant.id],
            purpose="attestation",
            by=notary.id,
            at=now,
        )

    return accept_record(
        session,
        kind=RecordKind.notarial_refusal,
        owner=notary,
        build_body=build,
        dedup=f"notarial_refusal:{doc.digest}",
        now=now,
        extra_rows=rows,
    )


def revoke_attestation(
    session: Session,
    *,
    notary: Principal,
    attestation_id: str,
    document: dict[str, Any],
    now: datetime,
) -> StoredRecord:
    """Anchor the revocation of an attestation by a notary of the office that made it, and set
    the attestation's bit in the status lists in the same transaction."""
    attestation = session.get(Attestation, attestation_id)
    if attestation is None:
        raise NotFound(f"no attestation {attestation_id!r}")
    doc = _act(document, RevocationDocument, notary, now)
    key = _registered(session, notary, doc)
    if key.office != attestation.office:
        raise PermissionDenied(
            f"attestation {attestation_id} was made by {attestation.office!r}; only a notary of "
            "that office revokes it",
            code="not_your_office",
        )
    record = session.exec(select(Record).where(Record.id == attestation_id)).one()
    if (
        doc.attestation.record_id != attestation_id
        or doc.attestation.leaf_hash != record.leaf_hash
        or doc.attestation.certificate_number != attestation.certificate_number
    ):
        raise InvalidInput(f"the revocation names another attestation than {attestation_id}")
    if attestation.revocation_record_id is not None:
        existing = _same_document(session, attestation.revocation_record_id, doc.digest)
        if existing is not None:
            return StoredRecord(existing, created=False)
        raise Conflict(
            f"attestation {attestation_id} was revoked at {attestation.revoked_at}",
            code="already_revoked",
        )
    readers = session.exec(
        select(RecordAccess.principal_id).where(
            RecordAccess.record_id == attestation_id, RecordAccess.purpose == "attestation"
        )
    ).all()

    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_attestation_revocation_record(
            record_id, received_at, notary=_party(notary), document=doc
        )

    def rows(record_id: str) -> list[Any]:
        attestation.revocation_record_id = record_id
        attestation.revoked_at = now
        status_lists.revoke(session, record_id=attestation_id, at=now, cause_record_id=record_id)
        return [
            attestation,
            *grant_access(
                session,
                record_id=record_id,
                principal_ids=readers,
                purpose="attestation",
                by=notary.id,
                at=now,
            ),
        ]

    try:
        return accept_record(
            session,
            kind=RecordKind.attestation_revocation,
            owner=notary,
            build_body=build,
            now=now,
            extra_rows=rows,
        )
    except IntegrityError:  # revoked by another request since the check above
        session.rollback()
        raise Conflict(
            f"attestation {attestation_id} has just been revoked", code="already_revoked"
        ) from None


def certificate_bundle(session: Session, issuer: Issuer, *, record: Record) -> dict[str, Any]:
    """The record's certificate and those of the attestations on it (and their revocations).

    An attestation whose certificate (or whose revocation's) is not ready yet is listed in
    ``pending`` instead: a revoked attestation is never shown without its revocation."""
    own = certificate_for(session, issuer, record)
    rows = session.exec(
        select(Attestation, Record)
        .join(
            AttestationSubject, col(AttestationSubject.attestation_id) == col(Attestation.record_id)
        )
        .join(Record, col(Record.id) == col(Attestation.record_id))
        .where(AttestationSubject.record_id == record.id)
        .order_by(col(Record.seq))
    ).all()
    entries: list[dict[str, Any]] = []
    pending: list[str] = []
    for attestation, att_record in rows:
        try:
            entry: dict[str, Any] = {
                "certificate": _json(certificate_for(session, issuer, att_record))
            }
            if attestation.revocation_record_id is not None:
                revocation = session.exec(
                    select(Record).where(Record.id == attestation.revocation_record_id)
                ).one()
                entry["revocation"] = _json(certificate_for(session, issuer, revocation))
        except NotReady:
            pending.append(att_record.id)
            continue
        entries.append(entry)
    return {
        "media_type": BUNDLE_MEDIA_TYPE,
        "certificate": _json(own),
        "attestations": entries,
        "pending": pending,
    }


def _json(cert: AnyCertificate) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cert.to_json_bytes())
    return document
