"""Revocation of records' credentials: W3C Bitstring Status Lists, one bit per record.

The seam for the workflows that revoke (a credit repair today, a notary revoking an attestation
tomorrow):

* :data:`REVOCABLE_KINDS`: the kinds whose credentials carry a ``credentialStatus``. A kind joins
  by adding its value here; its credentials then name their entry from the first one issued.
* :func:`status_slot`: a revocable record's entry, ``(list, index)``. It follows from the record's
  sequence number (list ``seq // LIST_SIZE``, index ``seq % LIST_SIZE``), so every revocable record
  has its entry from the moment it is stored, two records never share one, and nothing is
  allocated (no counter two processes could race on).
* :func:`revoke`: set the record's entry, in the caller's session and transaction, so that the
  decision (the anchored repair record) and the revocation commit together or not at all.
* :func:`status_list_credential`: the signed ``BitstringStatusListCredential`` of one list, served
  by ``api/routes/credentials.py`` at ``/v1/credentials/status/{list}``.

Only revocations are stored (``credential_revocation``); a revocation is never undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from ipnotary.sdk._status_list import MIN_LIST_BITS
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.vc import issue_status_list_credential
from ipnotary.service.errors import NotFound
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.storage.models import CredentialRevocation, Record

__all__ = [
    "LIST_SIZE",
    "REVOCABLE_KINDS",
    "StatusSlot",
    "is_revoked",
    "revoke",
    "status_list_credential",
    "status_slot",
]

# The specification's minimum list length, which also hides which entry a verifier asked about
# among 131,072 (records of every kind share the lists; only revocable ones are ever set).
LIST_SIZE: Final = MIN_LIST_BITS

REVOCABLE_KINDS: frozenset[str] = frozenset(
    {RecordKind.credit_entry.value, RecordKind.attestation.value}
)
"""Kinds whose credentials can be revoked: a credit entry, by its repair (``services.credit``); a
notarial attestation, by its notary's revocation (``services.notarial``)."""


@dataclass(frozen=True)
class StatusSlot:
    list_id: int
    index: int


def status_slot(record: Record) -> StatusSlot | None:
    """The record's entry in the status lists, or None for a kind that is never revoked."""
    if record.kind not in REVOCABLE_KINDS:
        return None
    assert record.seq is not None  # a stored record
    return StatusSlot(record.seq // LIST_SIZE, record.seq % LIST_SIZE)


def revoke(
    session: Session, *, record_id: str, at: datetime, cause_record_id: str | None = None
) -> None:
    """Revoke the credentials of ``record_id`` (a revocable kind), without committing: the
    caller commits it with the decision that caused it. Revoking twice keeps the first."""
    record = session.exec(select(Record).where(Record.id == record_id)).one_or_none()
    if record is None:
        raise NotFound(f"no record {record_id!r}")
    slot = status_slot(record)
    if slot is None:
        raise ValueError(f"records of kind {record.kind!r} are not revocable")
    if session.get(CredentialRevocation, record_id) is not None:
        return
    session.add(
        CredentialRevocation(
            record_id=record_id,
            list_id=slot.list_id,
            status_index=slot.index,
            revoked_at=at,
            cause_record_id=cause_record_id,
        )
    )


def is_revoked(session: Session, record_id: str) -> bool:
    return session.get(CredentialRevocation, record_id) is not None


def status_list_credential(
    session: Session, issuer: Issuer, *, list_id: int, url: str
) -> dict[str, object]:
    """The signed list ``list_id`` at ``url``; ``NotFound`` for a list no record falls in yet.

    It is valid from its last revocation (or, before any, from its first record), and the same
    bytes until the next revocation: clients and caches may keep it until then."""
    first, last = list_id * LIST_SIZE, (list_id + 1) * LIST_SIZE
    began = session.exec(
        select(func.min(Record.received_at)).where(col(Record.seq) >= first, col(Record.seq) < last)
    ).one()
    if list_id < 0 or began is None:
        raise NotFound(f"no status list {list_id}", code="no_status_list")
    revoked = session.exec(
        select(CredentialRevocation.status_index, CredentialRevocation.revoked_at).where(
            CredentialRevocation.list_id == list_id
        )
    ).all()
    changed = max((at for _, at in revoked), default=began)
    return issue_status_list_credential(
        url,
        (index for index, _ in revoked),
        issuer.signing_key,
        valid_from=changed.replace(tzinfo=changed.tzinfo or UTC),
        size=LIST_SIZE,
    )
