"""People's accounts (``services.accounts``): an invitation is used once; a password is set, then
signs in; repeated failures lock the account; sessions end at sign-out, at idle and absolute
expiry, on a new password and when the person is disabled; every act is in the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from ipnotary.service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ipnotary.service.services import accounts
from ipnotary.service.services.principals import Actor
from ipnotary.service.storage.accounts import Person
from ipnotary.service.storage.models import AuditEvent, Principal
from tests.unit.notary.conftest import Api

PASSWORD = "correct horse battery staple"
RULES = accounts.AccountRules(
    idle=timedelta(minutes=30),
    lifetime=timedelta(hours=12),
    max_failures=3,
    lockout=timedelta(minutes=15),
    invitation=timedelta(hours=72),
)


def _session(api: Api) -> Session:
    return Session(api.runtime.engine, expire_on_commit=False)


def _invite(api: Api, label: str, email: str, role: str = "holder") -> accounts.IssuedInvitation:
    api.principal(label, role, name=f"{label} 事务所")
    with _session(api) as s:
        return accounts.invite_person(
            s,
            principal_id=api.ids[label],
            email=email,
            name="王芳",
            actor=Actor.operator(),
            rules=RULES,
        )


def _member(api: Api, label: str, email: str) -> Person:
    invitation = _invite(api, label, email)
    with _session(api) as s:
        return accounts.accept_invitation(s, token=invitation.token, password=PASSWORD)


def _actions(api: Api, target_id: str) -> list[str]:
    with _session(api) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.target_id == target_id)
            .order_by(col(AuditEvent.seq))
        )
        return [e.action for e in rows]


def test_an_invitation_sets_a_password_once_and_the_email_signs_in_in_any_case(api: Api) -> None:
    invitation = _invite(api, "inv-once", "Wang.Fang@Example.COM")
    assert invitation.person.email == "wang.fang@example.com"
    with _session(api) as s:
        accounts.accept_invitation(s, token=invitation.token, password=PASSWORD)
        with pytest.raises(NotFound) as used:
            accounts.accept_invitation(s, token=invitation.token, password=PASSWORD + "x")
        assert used.value.code == "invitation_invalid"
        # full-width letters typed on a Chinese keyboard are the same address
        full_width = "\uff37\uff21\uff2e\uff27.fang@example.com"  # WANG, full-width
        started = accounts.sign_in(s, email=full_width, password=PASSWORD, rules=RULES)
    assert started.principal.id == api.ids["inv-once"]
    person = invitation.person.id
    assert _actions(api, person) == ["person.invite", "person.password_set", "person.sign_in"]


def test_a_password_must_be_long_and_not_the_email(api: Api) -> None:
    invitation = _invite(api, "weak", "weak@example.com")
    with _session(api) as s:
        for bad in ("short", "weak@example.com-and-more"):
            with pytest.raises(InvalidInput) as refused:
                accounts.accept_invitation(s, token=invitation.token, password=bad)
            assert refused.value.code == "weak_password"
        # still usable after the refusals
        accounts.accept_invitation(s, token=invitation.token, password=PASSWORD)


def test_an_expired_or_replaced_invitation_is_refused(api: Api) -> None:
    first = _invite(api, "expiring", "expiring@example.com")
    with _session(api) as s:
        later = datetime.now(UTC) + RULES.invitation + timedelta(seconds=1)
        with pytest.raises(NotFound):
            accounts.accept_invitation(s, token=first.token, password=PASSWORD, now=later)
        second = accounts.invite_person(
            s,
            principal_id=api.ids["expiring"],
            email="expiring@example.com",
            name="王芳",
            actor=Actor.operator(),
        )
        with pytest.raises(NotFound):
            accounts.accept_invitation(s, token=first.token, password=PASSWORD)
        accounts.accept_invitation(s, token=second.token, password=PASSWORD)
    assert "person.reinvite" in _actions(api, first.person.id)


def test_one_email_signs_in_for_one_principal(api: Api) -> None:
    _invite(api, "firm-a", "same@example.com")
    api.principal("firm-b", "holder")
    with _session(api) as s, pytest.raises(Conflict) as taken:
        accounts.invite_person(
            s,
            principal_id=api.ids["firm-b"],
            email="same@example.com",
            name="李四",
            actor=Actor.operator(),
        )
    assert taken.value.code == "email_taken"


def test_repeated_failures_lock_the_account_and_the_refusal_reads_the_same(api: Api) -> None:
    person = _member(api, "locked", "locked@example.com")
    now = datetime.now(UTC)
    with _session(api) as s:
        messages = set()
        for _ in range(RULES.max_failures):
            with pytest.raises(accounts.SignInRefused) as wrong:
                accounts.sign_in(
                    s, email=person.email, password="not the password", rules=RULES, now=now
                )
            messages.add(wrong.value.detail)
        # the right password does not open a locked account, and the answer is the same
        with pytest.raises(accounts.SignInRefused) as locked:
            accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES, now=now)
        with pytest.raises(accounts.SignInRefused) as unknown:
            accounts.sign_in(s, email="nobody@example.com", password=PASSWORD, rules=RULES)
        assert {locked.value.detail, unknown.value.detail} == messages
        # after the lockout it opens again
        after = now + RULES.lockout + timedelta(seconds=1)
        accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES, now=after)
    actions = _actions(api, person.id)
    assert actions.count("person.sign_in_failed") == RULES.max_failures + 1
    assert "person.locked" in actions and actions[-1] == "person.sign_in"
    with _session(api) as s:
        failures = s.exec(
            select(AuditEvent).where(
                AuditEvent.action == "person.sign_in_failed", AuditEvent.target_id == person.id
            )
        ).all()
        reasons = [json.loads(e.detail or "{}")["reason"] for e in failures]
    assert reasons == ["wrong_password"] * RULES.max_failures + ["locked"]
    with _session(api) as s:
        stranger = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "person.sign_in_failed", AuditEvent.target_id == "unknown")
            .order_by(col(AuditEvent.seq).desc())
        ).first()
    assert stranger is not None
    assert json.loads(stranger.detail or "{}") == {
        "email": "nobody@example.com",
        "reason": "unknown_email",
    }


def test_sessions_end_idle_at_their_lifetime_at_sign_out_and_on_a_new_password(
    api: Api,
) -> None:
    person = _member(api, "sessions", "sessions@example.com")
    now = datetime.now(UTC)
    with _session(api) as s:
        started = accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES, now=now)
        assert accounts.resume_session(s, started.token, rules=RULES, now=now) is not None
        # each request moves the idle deadline on, up to the lifetime
        step = now
        while step < now + RULES.lifetime - RULES.idle:
            step += RULES.idle - timedelta(minutes=1)
            assert accounts.resume_session(s, started.token, rules=RULES, now=step) is not None
        assert (
            accounts.resume_session(s, started.token, rules=RULES, now=now + RULES.lifetime) is None
        )

        idle = accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES, now=now)
        late = now + RULES.idle + timedelta(seconds=1)
        assert accounts.resume_session(s, idle.token, rules=RULES, now=late) is None

        out = accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES)
        accounts.sign_out(s, out.token)
        assert accounts.resume_session(s, out.token, rules=RULES) is None

        kept = accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES)
        reset = accounts.invite_person(
            s,
            principal_id=person.principal_id,
            email=person.email,
            name=person.name,
            actor=Actor.operator(),
        )
        accounts.accept_invitation(s, token=reset.token, password=PASSWORD + " anew")
        assert accounts.resume_session(s, kept.token, rules=RULES) is None
        assert accounts.resume_session(s, "forged-token", rules=RULES) is None
    assert "person.sign_out" in _actions(api, person.id)


def test_a_disabled_person_is_signed_out_and_cannot_sign_in(api: Api) -> None:
    person = _member(api, "disabled", "disabled@example.com")
    with _session(api) as s:
        started = accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES)
        accounts.disable_person(s, person_id=person.id, actor=Actor.operator())
        assert accounts.resume_session(s, started.token, rules=RULES) is None
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in(s, email=person.email, password=PASSWORD, rules=RULES)
    assert "person.disable" in _actions(api, person.id)


def test_who_may_manage_a_principals_persons(api: Api) -> None:
    member = _member(api, "team", "member@example.com")
    api.principal("other-team", "holder")
    api.principal("operators", "admin")
    with _session(api) as s:
        team = s.get(Principal, api.ids["team"])
        admins = s.get(Principal, api.ids["operators"])
        assert team is not None and admins is not None
        with pytest.raises(PermissionDenied):
            accounts.may_manage_persons(member, team, team.id)  # not a manager
        member.manages_persons = True
        accounts.may_manage_persons(member, team, team.id)
        with pytest.raises(PermissionDenied):
            accounts.may_manage_persons(member, team, api.ids["other-team"])
        accounts.may_manage_persons(member, admins, api.ids["other-team"])  # an admin's person


def test_an_email_address_is_checked(api: Api) -> None:
    for bad in ("no-at-sign", "a@b", "spaced out@example.com", "a@example.com\u202e"):
        with pytest.raises(InvalidInput):
            accounts.normalise_email(bad)
