"""People's accounts: persons within a principal, invited by a one-time link, signing in with a
password to a session. API keys (``services.principals``) stay for programs.

Start with :func:`invite_person` (an admin, or a person who manages the principal's persons),
:func:`accept_invitation` (the person sets a password), :func:`sign_in`, :func:`resume_session`
(every request of a signed-in browser) and :func:`sign_out`.

- A person acts as its principal, with the principal's role: every authorization rule of the API
  applies unchanged to what the person can do.
- Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile) and rehashed on
  sign-in when the profile changes; an unknown email costs the same hash, so timing does not tell
  who has an account.
- After :attr:`AccountRules.max_failures` consecutive failures the account is locked for
  :attr:`AccountRules.lockout`; the refusal reads the same as a wrong password, so it confirms no
  account either.
- Sessions end at sign-out, after :attr:`AccountRules.idle` without a request, at
  :attr:`AccountRules.lifetime` after sign-in, when the person sets a new password, or when the
  person, or its principal, is disabled.
- Every invitation, password set, sign-in (and failed one), lockout, sign-out and disabling is
  an :class:`~ipnotary.service.storage.models.AuditEvent` in the same transaction, in the audit
  log that already records principals and keys (``services.principals.audit``).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, select

from ipnotary.service.domain.records import Role
from ipnotary.service.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from ipnotary.service.services.principals import Actor, audit
from ipnotary.service.storage.accounts import Invitation, Person, WebSession
from ipnotary.service.storage.models import Principal

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "AccountRules",
    "IssuedInvitation",
    "SignInRefused",
    "SignedIn",
    "StartedSession",
    "accept_invitation",
    "disable_person",
    "invitation_person",
    "invite_person",
    "may_manage_persons",
    "normalise_email",
    "person_actor",
    "persons_of",
    "resume_session",
    "sign_in",
    "sign_out",
]

MIN_PASSWORD_LENGTH = 12
# argon2 hashes any length, but a megabyte password would make every sign-in attempt a DoS.
MAX_PASSWORD_LENGTH = 256
MAX_PERSONS_LISTED = 500
# A session's last request is written at most this often: a page polling a record's progress
# every second must not turn every poll into a database write.
_SEEN_GRANULARITY = timedelta(seconds=60)

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, 64 MiB, p=4)
# What an unknown email is checked against, so that it costs what a known one does.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class SignInRefused(AuthenticationRequired):
    """A wrong email or password, or a locked or disabled account: one message for all, so that
    the answer does not say which accounts exist."""

    code = "sign_in_refused"


@dataclass(frozen=True)
class AccountRules:
    """How long sessions and invitations last, and when repeated failures lock an account."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    invitation: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class IssuedInvitation:
    person: Person
    token: str  # the only time it exists outside the hash: put it in the link, once
    expires_at: datetime


@dataclass(frozen=True)
class StartedSession:
    token: str  # the cookie's value; stored only as its hash
    csrf_token: str
    person: Person
    principal: Principal


@dataclass(frozen=True)
class SignedIn:
    """A request's signed-in person, its principal and its session's CSRF token."""

    person: Person
    principal: Principal
    csrf_token: str
    session_hash: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for UTC columns.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def normalise_email(email: str) -> str:
    """The sign-in name as stored: NFKC (full-width letters typed on a Chinese keyboard read as
    ASCII), trimmed, case-folded; refused unless it looks like ``local@domain``."""
    text = unicodedata.normalize("NFKC", email).strip().casefold()
    local, at, domain = text.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(text) > 254
        or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in text)
    ):
        raise InvalidInput("an email address looks like name@example.com", code="invalid_email")
    return text


def person_actor(person: Person, principal: Principal) -> Actor:
    """The audit log's actor for what a signed-in person does: the principal (whose role it
    acts with) and the person by email."""
    return Actor(
        principal.id, f"{person.email} for {principal.id} ({principal.name}), web", principal.role
    )


def may_manage_persons(actor: Person, actor_principal: Principal, principal_id: str) -> None:
    """An admin's persons manage every principal's persons; a person marked ``manages_persons``
    those of its own principal. Raises ``PermissionDenied``."""
    if actor_principal.role == Role.admin.value:
        return
    if actor.manages_persons and actor.principal_id == principal_id:
        return
    raise PermissionDenied(
        "only an admin, or a person who manages this principal's persons, may do this",
        code="not_your_persons",
    )


def invite_person(
    session: Session,
    *,
    principal_id: str,
    email: str,
    name: str,
    actor: Actor,
    manages_persons: bool = False,
    rules: AccountRules | None = None,
    now: datetime | None = None,
) -> IssuedInvitation:
    """A one-time link for a new person of ``principal_id``, or a fresh one for a person it
    already has (a forgotten password: earlier links stop working, the password is replaced
    when the new one is used). The caller checked ``may_manage_persons``; this commits."""
    rules = rules or AccountRules()
    now = now or datetime.now(UTC)
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise NotFound(f"no principal {principal_id!r}")
    if principal.disabled:
        raise Conflict(f"principal {principal_id} is disabled", code="principal_disabled")
    email = normalise_email(email)
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > 200:
        raise InvalidInput("a person's name is 1 to 200 characters", code="invalid_name")
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is None:
        person = Person(
            id=f"psn_{secrets.token_hex(16)}",
            principal_id=principal_id,
            email=email,
            name=name,
            manages_persons=manages_persons,
            created_at=now,
            created_by=actor.name[:300],
        )
        session.add(person)
        session.flush()
        action = "person.invite"
    elif person.principal_id != principal_id:
        # One sign-in name, one principal: the same person acting for two firms has two accounts.
        raise Conflict("this email already signs in for another principal", code="email_taken")
    else:
        if person.disabled_at is not None:
            raise Conflict("this person is disabled", code="person_disabled")
        person.name, person.manages_persons = name, manages_persons
        session.add(person)
        action = "person.reinvite"
    for old in session.exec(
        select(Invitation).where(
            Invitation.person_id == person.id,
            col(Invitation.used_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    ):
        old.revoked_at = now
        session.add(old)
    token = secrets.token_urlsafe(32)
    expires_at = now + rules.invitation
    session.add(
        Invitation(
            token_hash=_hash_token(token),
            person_id=person.id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    audit(
        session,
        actor,
        action,
        target_type="person",
        target_id=person.id,
        at=now,
        detail={
            "principal_id": principal_id,
            "email": email,
            "manages_persons": manages_persons,
            "expires_at": expires_at.isoformat(),
        },
    )
    session.commit()
    session.refresh(person)
    return IssuedInvitation(person, token, expires_at)


def _open_invitation(session: Session, token: str, now: datetime) -> tuple[Invitation, Person]:
    invitation = session.get(Invitation, _hash_token(token)) if len(token) <= 100 else None
    person = session.get(Person, invitation.person_id) if invitation is not None else None
    if (
        invitation is None
        or person is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or _utc(invitation.expires_at) <= now
        or person.disabled_at is not None
    ):
        # One answer for all: a link that was used, replaced, expired or never made.
        raise NotFound(
            "this invitation link is not valid (used, replaced or expired): ask for a new one",
            code="invitation_invalid",
        )
    return invitation, person


def invitation_person(session: Session, token: str, *, now: datetime | None = None) -> Person:
    """Whose invitation ``token`` is, while it can still be used (``NotFound`` otherwise)."""
    return _open_invitation(session, token, now or datetime.now(UTC))[1]


def check_password(password: str, person: Person) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password has at most {MAX_PASSWORD_LENGTH} characters", code="weak_password"
        )
    folded = password.casefold()
    if person.email in folded or folded in person.email:
        raise InvalidInput("the password may not contain the email address", code="weak_password")


def accept_invitation(
    session: Session, *, token: str, password: str, now: datetime | None = None
) -> Person:
    """Set the invited person's password, use up the link, end the person's other sessions
    (a reset replaces whatever a thief knew) and commit."""
    now = now or datetime.now(UTC)
    invitation, person = _open_invitation(session, token, now)
    check_password(password, person)
    principal = session.get(Principal, person.principal_id)
    assert principal is not None  # a foreign key
    person.password_hash = _HASHER.hash(password)
    person.password_set_at = now
    person.failed_sign_ins, person.locked_until = 0, None
    invitation.used_at = now
    session.add_all([person, invitation])
    ended = _end_sessions(session, person.id, now)
    audit(
        session,
        person_actor(person, principal),
        "person.password_set",
        target_type="person",
        target_id=person.id,
        at=now,
        detail={"sessions_ended": ended},
    )
    session.commit()
    session.refresh(person)
    return person


def _end_sessions(session: Session, person_id: str, now: datetime) -> int:
    ended = 0
    for row in session.exec(
        select(WebSession).where(
            WebSession.person_id == person_id, col(WebSession.ended_at).is_(None)
        )
    ):
        row.ended_at = now
        session.add(row)
        ended += 1
    return ended


_REFUSED = (
    "the email or password is wrong, or the account is locked after repeated failures "
    "(try again later) or disabled"
)


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    rules: AccountRules | None = None,
    now: datetime | None = None,
) -> StartedSession:
    """A new session for the person, or ``SignInRefused``; either way audited and committed."""
    rules = rules or AccountRules()
    now = now or datetime.now(UTC)
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    password = password[: MAX_PASSWORD_LENGTH + 1]
    person = session.exec(select(Person).where(Person.email == email)).first() if email else None
    principal = session.get(Principal, person.principal_id) if person is not None else None
    if person is None or principal is None:
        _verify(_DUMMY_HASH, password)
        audit(
            session,
            Actor(None, "an unknown visitor, web"),
            "person.sign_in_failed",
            target_type="person",
            target_id="unknown",
            at=now,
            detail={"email": email[:254] or None, "reason": "unknown_email"},
        )
        session.commit()
        raise SignInRefused(_REFUSED)
    actor = person_actor(person, principal)
    locked = person.locked_until is not None and _utc(person.locked_until) > now
    reason = None
    if person.disabled_at is not None or principal.disabled:
        reason = "disabled"
    elif locked:
        reason = "locked"
    elif person.password_hash is None:
        reason = "no_password"
    # The hash is computed whatever the reason, so a locked account answers as slowly as a
    # wrong password does.
    matches = _verify(person.password_hash or _DUMMY_HASH, password)
    if reason is None and not matches:
        reason = "wrong_password"
    if reason is not None:
        if reason == "wrong_password":
            person.failed_sign_ins += 1
            if person.failed_sign_ins >= rules.max_failures:
                person.locked_until = now + rules.lockout
                person.failed_sign_ins = 0
                audit(
                    session,
                    Actor(None, "the service"),
                    "person.locked",
                    target_type="person",
                    target_id=person.id,
                    at=now,
                    detail={"until": person.locked_until.isoformat(), "after": rules.max_failures},
                )
            session.add(person)
        audit(
            session,
            actor,
            "person.sign_in_failed",
            target_type="person",
            target_id=person.id,
            at=now,
            detail={"reason": reason},
        )
        session.commit()
        raise SignInRefused(_REFUSED)
    assert person.password_hash is not None
    if _HASHER.check_needs_rehash(person.password_hash):
        person.password_hash = _HASHER.hash(password)
    person.failed_sign_ins, person.locked_until, person.last_sign_in_at = 0, None, now
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(person)
    session.add(
        WebSession(
            token_hash=_hash_token(token),
            person_id=person.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=now + rules.idle,
            expires_at=now + rules.lifetime,
        )
    )
    audit(
        session,
        actor,
        "person.sign_in",
        target_type="person",
        target_id=person.id,
        at=now,
        detail={"expires_at": (now + rules.lifetime).isoformat()},
    )
    session.commit()
    session.refresh(person)
    return StartedSession(token, csrf, person, principal)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def resume_session(
    session: Session,
    token: str | None,
    *,
    rules: AccountRules | None = None,
    now: datetime | None = None,
) -> SignedIn | None:
    """The signed-in person of a session cookie, or None for no, an unknown, an ended or an
    expired session (or a person or principal disabled since). Moves the idle deadline on."""
    if not token or len(token) > 100:
        return None
    rules = rules or AccountRules()
    now = now or datetime.now(UTC)
    row = session.get(WebSession, _hash_token(token))
    if row is None or row.ended_at is not None:
        return None
    if _utc(row.idle_expires_at) <= now or _utc(row.expires_at) <= now:
        return None
    person = session.get(Person, row.person_id)
    principal = session.get(Principal, person.principal_id) if person is not None else None
    if person is None or principal is None or person.disabled_at is not None or principal.disabled:
        return None
    if now - _utc(row.last_seen_at) >= _SEEN_GRANULARITY:
        row.last_seen_at = now
        row.idle_expires_at = min(_utc(row.expires_at), now + rules.idle)
        session.add(row)
        session.commit()
    return SignedIn(person, principal, row.csrf_token, row.token_hash)


def sign_out(session: Session, token: str | None, *, now: datetime | None = None) -> None:
    """End the session of ``token`` (nothing for an unknown or ended one) and commit."""
    if not token or len(token) > 100:
        return
    now = now or datetime.now(UTC)
    row = session.get(WebSession, _hash_token(token))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = now
    session.add(row)
    person = session.get(Person, row.person_id)
    principal = session.get(Principal, person.principal_id) if person is not None else None
    if person is not None and principal is not None:
        audit(
            session,
            person_actor(person, principal),
            "person.sign_out",
            target_type="person",
            target_id=person.id,
            at=now,
        )
    session.commit()


def disable_person(
    session: Session, *, person_id: str, actor: Actor, now: datetime | None = None
) -> Person:
    """Disable a person (idempotent): no sign-in, every session and open invitation ended.
    The caller checked ``may_manage_persons``; this commits."""
    now = now or datetime.now(UTC)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    if person.disabled_at is None:
        person.disabled_at = now
        session.add(person)
        ended = _end_sessions(session, person.id, now)
        for invitation in session.exec(
            select(Invitation).where(
                Invitation.person_id == person.id, col(Invitation.used_at).is_(None)
            )
        ):
            invitation.revoked_at = invitation.revoked_at or now
            session.add(invitation)
        audit(
            session,
            actor,
            "person.disable",
            target_type="person",
            target_id=person.id,
            at=now,
            detail={"principal_id": person.principal_id, "sessions_ended": ended},
        )
        session.commit()
        session.refresh(person)
    return person


def persons_of(session: Session, principal_id: str) -> Sequence[Person]:
    """A principal's persons, oldest first (password hashes included: never show them)."""
    query = select(Person).where(Person.principal_id == principal_id)
    return session.exec(query.order_by(col(Person.created_at)).limit(MAX_PERSONS_LISTED)).all()
