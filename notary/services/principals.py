"""Principals and their API keys.

A key is shown once, when created, and stored only as its SHA-256. Keys carry 256 random bits, so a
fast hash is enough: there is nothing to brute-force, unlike a password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from notary.domain.identifiers import parse_subject_key
from notary.domain.records import Role, new_id
from notary.errors import AuthenticationRequired, InvalidInput, NotFound
from notary.storage.models import ApiKey, Principal

__all__ = ["NewPrincipal", "authenticate", "create_api_key", "create_principal", "hash_api_key"]

_KEY_PREFIX = "nk_"


@dataclass(frozen=True)
class NewPrincipal:
    principal: Principal
    api_key: str  # the only time the plaintext key exists outside the caller's hands


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_principal(
    session: Session, *, name: str, role: str, identifier: str | None = None
) -> NewPrincipal:
    """``identifier`` ("uscc:9135...") names the subject the principal speaks for, once the operator
    has checked it (used for credit repair applications)."""
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
    principal = Principal(id=new_id("principal"), name=name, role=role, created_at=datetime.now(UTC),
                          identifier=identifier)
    session.add(principal)
    session.flush()
    key = create_api_key(session, principal_id=principal.id)
    session.commit()
    session.refresh(principal)
    return NewPrincipal(principal, key)


def create_api_key(session: Session, *, principal_id: str) -> str:
    """Add a key to a principal (the caller commits); returns the plaintext key."""
    if session.get(Principal, principal_id) is None:
        raise NotFound(f"no principal {principal_id!r}")
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            id=new_id("api_key"),
            principal_id=principal_id,
            key_hash=hash_api_key(key),
            created_at=datetime.now(UTC),
        )
    )
    return key


def authenticate(session: Session, key: str | None) -> Principal:
    if not key:
        raise AuthenticationRequired("this request needs an API key (header: Authorization: Bearer <key>)")
    if not key.startswith(_KEY_PREFIX) or len(key) > 100:
        raise AuthenticationRequired("the API key is malformed")
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationRequired("unknown or revoked API key")
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.disabled:
        raise AuthenticationRequired("this API key's principal is disabled")
    return principal
