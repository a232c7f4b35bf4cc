"""Tables of people's accounts (``services.accounts``): persons within a principal, their
one-time invitations, and their signed-in sessions.

A person acts as the principal it belongs to (an office, a firm, a platform), with that
principal's role; API keys stay for programs. Secrets are stored only as hashes: a password as
its argon2id hash, an invitation's and a session's token as their SHA-256 (both are 256 random
bits, like an API key, so a fast hash suffices).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

__all__ = ["Invitation", "Person", "WebSession"]


class Person(SQLModel, table=True):
    """Someone who signs in to the web app, for ``principal_id``.

    ``email`` is the sign-in name, stored case-folded (unique). ``password_hash`` stays None until
    the person follows an invitation. ``manages_persons``: may invite and disable the principal's
    other persons (an admin's persons may do so for every principal). ``failed_sign_ins`` counts
    consecutive failures; at the limit the account is locked until ``locked_until``."""

    __tablename__ = "person"

    id: str = Field(primary_key=True, max_length=40)
    principal_id: str = Field(foreign_key="principal.id", max_length=40, index=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    manages_persons: bool = False
    password_hash: str | None = Field(default=None, max_length=200)
    password_set_at: datetime | None = None
    created_at: datetime
    created_by: str = Field(max_length=300)
    disabled_at: datetime | None = None
    failed_sign_ins: int = 0
    locked_until: datetime | None = None
    last_sign_in_at: datetime | None = None


class Invitation(SQLModel, table=True):
    """A one-time link that lets a person set a password; used once, or void at ``expires_at``,
    or when a newer invitation for the same person is made."""

    __tablename__ = "invitation"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=40, index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds the token; the row its SHA-256 and the per-session
    CSRF token every form carries. Void once ``ended_at`` is set (sign-out, a new password, the
    person disabled), after ``idle_expires_at`` without a request, or at ``expires_at``."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=40, index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
