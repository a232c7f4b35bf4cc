"""Principals, their API keys, and the audit log of every administrative act.

A key is shown once, when created, and stored only as its SHA-256. Keys carry 256 random bits, so a
fast hash is enough: there is nothing to brute-force, unlike a password.

A key stops working when it is revoked (:func:`revoke_api_key`), rotated (:func:`rotate_api_key`:
a new key for the same principal, the old one revoked) or past its ``expires_at``. The database
decides; API processes cache a key for at most ``PrincipalCache``'s ttl (5 s) and never past its
expiry, and the process that revokes drops it at once: a revoked key answers 401 everywhere within
5 s, an expired one from its expiry on.

Who may manage which key: an admin any key, any principal its own (:func:`may_manage`). Every
act (a principal created, a key issued, revoked or rotated, a registrar's chain account granted)
appends an :class:`~notary.storage.models.AuditEvent` in the same transaction (:func:`audit`),
readable only by admins (:func:`audit_events`).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ipnotary.service.domain.identifiers import parse_subject_key
from ipnotary.service.domain.records import Role, new_id
from ipnotary.service.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from ipnotary.service.storage.models import ApiKey, AuditEvent, Principal

__all__ = [
    "Actor",
    "IssuedKey",
    "NewPrincipal",
    "audit",
    "audit_events",
    "authenticate",
    "authenticate_key",
    "create_api_key",
    "create_principal",
    "hash_api_key",
    "issue_api_key",
    "keys_of",
    "may_manage",
    "revoke_api_key",
    "rotate_api_key",
]

_KEY_PREFIX = "nk_"
MAX_AUDIT_PAGE = 500
MAX_KEYS_LISTED = 500


@dataclass(frozen=True)
class Actor:
    """Who does an administrative act: a principal (by its key), or the operator on the host."""

    principal_id: str | None
    name: str
    role: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.id, f"{principal.id} ({principal.name})", principal.role)

    @classmethod
    def operator(cls) -> Actor:
        """The person running ``notary principal ...`` on the server host (database access)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(None, f"operator {user}@{socket.gethostname()} (notary CLI)", None)

    @classmethod
    def service(cls) -> Actor:
        """The service itself, acting on its own (e.g. granting a registrar its chain account)."""
        return cls(None, "the service", None)


@dataclass(frozen=True)
class NewPrincipal:
    principal: Principal
    api_key: str  # the only time the plaintext key exists outside the caller's hands
    key_id: str


@dataclass(frozen=True)
class IssuedKey:
    """A new key: its id and the plaintext, shown once."""

    row: ApiKey
    api_key: str


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: str,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an audit event to the session; it commits with the act it records."""
    event = AuditEvent(
        at=at or datetime.now(UTC),
        actor_id=actor.principal_id,
        actor=actor.name[:300],
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=None if detail is None else json.dumps(dict(detail), sort_keys=True),
    )
    session.add(event)
    return event


def audit_events(
    session: Session,
    *,
    limit: int = 100,
    after: int | None = None,
    action: str | None = None,
    target_id: str | None = None,
) -> Sequence[AuditEvent]:
    """Audit events oldest first, from sequence number ``after`` (exclusive)."""
    if not 1 <= limit <= MAX_AUDIT_PAGE:
        raise InvalidInput(f"limit is 1 to {MAX_AUDIT_PAGE}")
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if after is not None:
        query = query.where(col(AuditEvent.seq) > after)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    return session.exec(query.limit(limit)).all()


def create_principal(
    session: Session,
    *,
    name: str,
    role: str,
    identifier: str | None = None,
    key_expires_at: datetime | None = None,
    actor: Actor | None = None,
) -> NewPrincipal:
    """``identifier`` ("uscc:9135...") names the subject the principal speaks for, once the operator
    has checked it (used for credit repair applications). ``actor`` defaults to the operator (the
    caller has the database)."""
    actor = actor or Actor.operator()
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a principal's name is 1 to 200 characters")
    try:
        role = Role(role).value
    except ValueError:
        raise InvalidInput(
            f"unknown role {role!r}; choose one of: {', '.join(r.value for r in Role)}"
        ) from None
    if identifier is not None:
        identifier = parse_subject_key(identifier)
    principal = Principal(
        id=new_id("principal"),
        name=name,
        role=role,
        created_at=datetime.now(UTC),
        identifier=identifier,
    )
    session.add(principal)
    session.flush()
    audit(
        session,
        actor,
        "principal.create",
        target_type="principal",
        target_id=principal.id,
        detail={"name": name, "role": role, "identifier": identifier},
    )
    issued = issue_api_key(
        session, principal_id=principal.id, expires_at=key_expires_at, actor=actor
    )
    session.commit()
    session.refresh(principal)
    return NewPrincipal(principal, issued.api_key, issued.row.id)


def create_api_key(session: Session, *, principal_id: str) -> str:
    """Add a key to a principal (the caller commits); returns the plaintext key."""
    return issue_api_key(session, principal_id=principal_id, actor=Actor.operator()).api_key


def issue_api_key(
    session: Session,
    *,
    principal_id: str,
    actor: Actor,
    expires_at: datetime | None = None,
    replaces: str | None = None,
) -> IssuedKey:
    """Add a key to a principal and audit it (the caller commits)."""
    if session.get(Principal, principal_id) is None:
        raise NotFound(f"no principal {principal_id!r}")
    now = datetime.now(UTC)
    expires_at = _expiry(expires_at, now)
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("api_key"),
        principal_id=principal_id,
        key_hash=hash_api_key(key),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    audit(
        session,
        actor,
        "api_key.create",
        target_type="api_key",
        target_id=row.id,
        at=now,
        detail={
            "principal_id": principal_id,
            "expires_at": None if expires_at is None else expires_at.isoformat(),
            **({"replaces": replaces} if replaces else {}),
        },
    )
    return IssuedKey(row, key)


def may_manage(actor: Principal, key: ApiKey) -> None:
    """An admin may manage any key, a principal only its own; raises ``PermissionDenied``."""
    if actor.role != Role.admin.value and key.principal_id != actor.id:
        raise PermissionDenied(
            "only an admin may manage another principal's keys", code="not_your_key"
        )


def keys_of(session: Session, principal_id: str) -> Sequence[ApiKey]:
    """A principal's keys, newest first (hashes included: never show them)."""
    if session.get(Principal, principal_id) is None:
        raise NotFound(f"no principal {principal_id!r}")
    query = select(ApiKey).where(ApiKey.principal_id == principal_id)
    return session.exec(query.order_by(col(ApiKey.created_at).desc()).limit(MAX_KEYS_LISTED)).all()


def _key(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id!r}")
    return row


def revoke_api_key(
    session: Session,
    *,
    key_id: str,
    actor: Actor,
    by: Principal | None = None,
    reason: str | None = None,
) -> ApiKey:
    """Revoke a key now (idempotent: a revoked key keeps its first revocation time) and commit.

    ``by`` is the requesting principal, checked with :func:`may_manage`; None for the operator.
    """
    row = _key(session, key_id)
    if by is not None:
        may_manage(by, row)
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.add(row)
        audit(
            session,
            actor,
            "api_key.revoke",
            target_type="api_key",
            target_id=row.id,
            at=row.revoked_at,
            detail={"principal_id": row.principal_id, **({"reason": reason} if reason else {})},
        )
        session.commit()
        session.refresh(row)
    return row


def rotate_api_key(
    session: Session,
    *,
    key_id: str,
    actor: Actor,
    by: Principal | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """A new key for the key's principal; the old key is revoked in the same transaction.

    A key that is already revoked or expired cannot be rotated (409): issue a new key instead.
    """
    row = _key(session, key_id)
    if by is not None:
        may_manage(by, row)
    now = datetime.now(UTC)
    if row.revoked_at is not None or (row.expires_at is not None and _utc(row.expires_at) <= now):
        raise Conflict(
            f"API key {key_id} is revoked or expired; issue a new key instead",
            code="key_not_active",
        )
    issued = issue_api_key(
        session, principal_id=row.principal_id, actor=actor, expires_at=expires_at, replaces=row.id
    )
    row.revoked_at, row.replaced_by = now, issued.row.id
    session.add(row)
    audit(
        session,
        actor,
        "api_key.rotate",
        target_type="api_key",
        target_id=row.id,
        at=now,
        detail={"principal_id": row.principal_id, "replaced_by": issued.row.id},
    )
    session.commit()
    session.refresh(issued.row)
    return issued


def authenticate(session: Session, key: str | None) -> Principal:
    """The principal of an active key; ``AuthenticationRequired`` (401) for any other."""
    return authenticate_key(session, key)[0]


def authenticate_key(session: Session, key: str | None) -> tuple[Principal, float]:
    """The principal of an active key, and the seconds until the key expires (``inf``: never)."""
    if not key:
        raise AuthenticationRequired(
            "this request needs an API key (header: Authorization: Bearer <key>)"
        )
    if not key.startswith(_KEY_PREFIX) or len(key) > 100:
        raise AuthenticationRequired("the API key is malformed")
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationRequired("unknown or revoked API key")
    seconds_left = math.inf
    if row.expires_at is not None:
        seconds_left = (_utc(row.expires_at) - datetime.now(UTC)).total_seconds()
        if seconds_left <= 0:
            raise AuthenticationRequired("this API key has expired; ask for a new one")
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.disabled:
        raise AuthenticationRequired("this API key's principal is disabled")
    return principal, seconds_left


def _expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone (RFC 3339, e.g. 2027-01-01T00:00:00Z)")
    if expires_at <= now:
        raise InvalidInput("expires_at must lie in the future")
    return expires_at.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for UTC columns on some drivers.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
