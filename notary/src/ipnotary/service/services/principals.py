"""Principals, their API keys, and the audit log of every administrative act.

A key is shown once, when created, and stored only as its SHA-256. Keys carry 256 random bits, so a
fast hash is enough: there is nothing to brute-force, unlike a password.

A key stops working when it is revoked (:func:`revoke_api_key`), rotated (:func:`rotate_api_key`:
a new key for the same principal, the old one revoked) or past its ``expires_at``. The database
decides; API processes cache a key for at most ``PrincipalCache``'s ttl (5 s) and never past its
expiry, and the process that revokes drops it at once: a revoked key answers 401 everywhere within
5 s, an expired one from its expiry on.

Who may manage which key: an admin any key, any principal its own (:func:`may_manage`). Every
act (a principal created, disabled or enabled, a key issued, revoked or rotated, a registrar's
chain account granted) appends an :class:`~notary.storage.models.AuditEvent` in the same
transaction (:func:`audit`), readable only by admins (:func:`audit_events`).

Keys minted by keys. A principal may mint more keys for itself with one of its keys (issue, or
rotate another of its keys). Such a key is the minting key's child (``ApiKey.parent_id``): it
never outlives its parent (asked for no expiry it gets the parent's; asked for a later one, 422
``key_outlives_parent``) and is revoked with it, and with every ancestor, in the transaction that
revokes them (each audited, ``with_parent`` naming the key revoked first). Otherwise a key that
expires in an hour could mint one that never does, and a stolen key that an admin revoked would
live on in the keys it had minted. Rotating a key revokes it, so its children go with it; its
replacement takes its place (same parent, same bound), unless another of the principal's keys
rotates it, which then is the replacement's parent; a key may not rotate one of its own ancestors
(409 ``key_is_ancestor``: the replacement would be revoked with it). An admin's key minting a key
for another principal, a principal's first key and the operator's keys (``notary principal``) have
no parent: they are an authority's provisioning, audited as such.

A disabled principal (:func:`set_disabled`; ``POST /v1/principals/{id}/disable``, ``notary
principal disable``) answers 401 with every key until it is enabled again; its keys are kept.
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
    "key_of_request",
    "keys_of",
    "may_manage",
    "minting_parent",
    "revoke_api_key",
    "rotate_api_key",
    "set_disabled",
]

_KEY_PREFIX = "nk_"
MAX_AUDIT_PAGE = 500
MAX_KEYS_LISTED = 500
# Deeper than any chain of keys minting keys a person builds, and a bound on the walk up it.
_MAX_KEY_DEPTH = 64


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


def key_of_request(session: Session, key: str | None) -> ApiKey | None:
    """The stored row of the API key a request presented (None without one)."""
    if not key:
        return None
    return session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).first()


def minting_parent(minting_key: ApiKey | None, principal_id: str) -> ApiKey | None:
    """The parent of a key minted for ``principal_id`` by ``minting_key``: that key when it is
    one of the same principal's (a principal minting for itself), else none (provisioning)."""
    if minting_key is not None and minting_key.principal_id == principal_id:
        return minting_key
    return None


def issue_api_key(
    session: Session,
    *,
    principal_id: str,
    actor: Actor,
    expires_at: datetime | None = None,
    replaces: str | None = None,
    parent: ApiKey | None = None,
) -> IssuedKey:
    """Add a key to a principal and audit it (the caller commits). ``parent``: the key that
    minted it (:func:`minting_parent`), which it may not outlive."""
    if session.get(Principal, principal_id) is None:
        raise NotFound(f"no principal {principal_id!r}")
    now = datetime.now(UTC)
    expires_at = _expiry(expires_at, now)
    if parent is not None:
        expires_at = _within_parent(expires_at, parent)
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=new_id("api_key"),
        principal_id=principal_id,
        key_hash=hash_api_key(key),
        created_at=now,
        expires_at=expires_at,
        parent_id=None if parent is None else parent.id,
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
            **({"parent_id": parent.id} if parent is not None else {}),
        },
    )
    return IssuedKey(row, key)


def _within_parent(expires_at: datetime | None, parent: ApiKey) -> datetime | None:
    if parent.expires_at is None:
        return expires_at
    bound = _utc(parent.expires_at)
    if expires_at is None:
        return bound
    if expires_at > bound:
        raise InvalidInput(
            f"the key minting this one (API key {parent.id}) expires at {bound.isoformat()}; a "
            "key it mints cannot outlive it: ask for an earlier expiry, or ask an admin",
            code="key_outlives_parent",
        )
    return expires_at


def _revoke_with_descendants(
    session: Session,
    row: ApiKey,
    *,
    actor: Actor,
    at: datetime,
    reason: str | None = None,
    replaced_by: str | None = None,
) -> None:
    """Revoke ``row`` (if it is not yet) and every key minted from it, directly or not, each
    audited (the caller commits)."""
    if row.revoked_at is None:
        row.revoked_at = at
        if replaced_by is not None:
            row.replaced_by = replaced_by
        session.add(row)
        if replaced_by is None:
            audit(
                session,
                actor,
                "api_key.revoke",
                target_type="api_key",
                target_id=row.id,
                at=at,
                detail={"principal_id": row.principal_id, **({"reason": reason} if reason else {})},
            )
    frontier = [row.id]
    for _ in range(_MAX_KEY_DEPTH):
        if not frontier:
            break
        children = session.exec(select(ApiKey).where(col(ApiKey.parent_id).in_(frontier))).all()
        frontier = [child.id for child in children]
        for child in children:
            if child.revoked_at is not None:
                continue
            child.revoked_at = at
            session.add(child)
            audit(
                session,
                actor,
                "api_key.revoke",
                target_type="api_key",
                target_id=child.id,
                at=at,
                detail={"principal_id": child.principal_id, "with_parent": row.id},
            )


def _ancestors(session: Session, key: ApiKey) -> set[str]:
    found: set[str] = set()
    parent_id = key.parent_id
    while parent_id is not None and parent_id not in found and len(found) < _MAX_KEY_DEPTH:
        found.add(parent_id)
        parent = session.get(ApiKey, parent_id)
        parent_id = None if parent is None else parent.parent_id
    return found


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
    """Revoke a key now, and the keys minted from it (idempotent: a revoked key keeps its first
    revocation time), and commit.

    ``by`` is the requesting principal, checked with :func:`may_manage`; None for the operator.
    """
    row = _key(session, key_id)
    if by is not None:
        may_manage(by, row)
    # Also for a key revoked already: a key minted from it before this rule existed goes now.
    _revoke_with_descendants(session, row, actor=actor, at=datetime.now(UTC), reason=reason)
    session.commit()
    session.refresh(row)
    return row


def rotate_api_key(
    session: Session,
    *,
    key_id: str,
    actor: Actor,
    by: Principal | None = None,
    by_key: ApiKey | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    """A new key for the key's principal; the old key, and the keys minted from it, are revoked
    in the same transaction.

    A key that is already revoked or expired cannot be rotated (409): issue a new key instead.
    ``by_key`` is the key of the request (None for the operator): the replacement's parent when
    it is another key of the same principal (see the module's docstring).
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
    parent = minting_parent(by_key, row.principal_id)
    if parent is not None and parent.id != row.id:
        if row.id in _ancestors(session, parent):
            raise Conflict(
                f"API key {parent.id} was minted from {row.id}: rotating it would revoke this "
                "key and its replacement with it; rotate it with a key it did not mint, or ask an "
                "admin",
                code="key_is_ancestor",
            )
    else:  # the replacement takes the old key's place in the tree
        parent = None if row.parent_id is None else session.get(ApiKey, row.parent_id)
    issued = issue_api_key(
        session,
        principal_id=row.principal_id,
        actor=actor,
        expires_at=expires_at,
        replaces=row.id,
        parent=parent,
    )
    _revoke_with_descendants(session, row, actor=actor, at=now, replaced_by=issued.row.id)
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


def set_disabled(
    session: Session,
    *,
    principal_id: str,
    disabled: bool,
    actor: Actor,
    by: Principal | None = None,
    reason: str | None = None,
) -> Principal:
    """Disable (every key answers 401) or enable a principal, audited, and commit; idempotent.

    ``by`` is the requesting admin (None for the operator), who may not disable itself: the
    operator on the host (``notary principal enable``) would be the only way back.
    """
    row = session.get(Principal, principal_id)
    if row is None:
        raise NotFound(f"no principal {principal_id!r}")
    if disabled and by is not None and by.id == principal_id:
        raise Conflict(
            "an admin cannot disable itself; another admin or the operator can",
            code="cannot_disable_self",
        )
    if row.disabled != disabled:
        row.disabled = disabled
        session.add(row)
        audit(
            session,
            actor,
            "principal.disable" if disabled else "principal.enable",
            target_type="principal",
            target_id=row.id,
            detail={"name": row.name, "role": row.role, **({"reason": reason} if reason else {})},
        )
        session.commit()
        session.refresh(row)
    return row


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
