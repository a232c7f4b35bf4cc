"""Notarial attestations end to end on the real service: a holder shares a record, a notary signs
with its own key, the bundle verifies under a policy that lists the office's key, and verifies as
revoked once the notary revokes it; what a holder or an unshared notary may not do is refused."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.attestations import (
    AttestationStep,
    NotarialClient,
    NotarialKey,
    Template,
    verify_attestations,
)
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.errors import APIError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.service.services import status_lists
from tests.unit.notary.conftest import Api

OFFICE = "Hangzhou Notary Office"


@dataclass
class Office:
    key: NotarialKey
    notary: NotarialClient
    holder: NotaryClient
    holder_id: str
    notary_id: str

    def policy(self, **entry: Any) -> TrustPolicy:
        """The service's suggested policy with this office's key added, as a verifier would."""
        base = json.loads(self.holder.trust_policy().to_json_bytes())
        base["notaries"] = [
            {**self.key.policy_entry().model_dump(mode="json", exclude_none=True), **entry}
        ]
        return TrustPolicy.from_json(base)


def _client(api: Api, label: str, role: str, name: str) -> NotaryClient:
    api.principal(label, role, name)
    return NotaryClient(
        "http://testserver",
        api.keys[label],
        transport=api.client._transport,
        policy=api.runtime.trust_policy(),
    )


@pytest.fixture(scope="module")
def office(api: Api) -> Iterator[Office]:
    holder = _client(api, "na-holder", "holder", "Acme Studio Ltd")
    notary = _client(api, "na-notary", "notary", "Wang Fang")
    key = NotarialKey.generate(office=OFFICE, notary="Wang Fang", principal_id=api.ids["na-notary"])
    NotarialClient(notary).register_key(key)
    yield Office(key, NotarialClient(notary), holder, api.ids["na-holder"], api.ids["na-notary"])
    holder.close()
    notary.close()


def _anchored_evidence(api: Api, office: Office, content: bytes) -> str:
    sub = office.holder.submit_digest(sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    _wait(api, f"/v1/evidence/{sub.id}", "na-holder")
    return sub.id


def _auth(api: Api, label: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.keys[label]}"}


def _wait(api: Api, path: str, label: str) -> None:
    view = api.wait_anchored(path, _auth(api, label))
    assert view["status"] == "anchored", view


def test_a_holder_cannot_notarise(api: Api, office: Office) -> None:
    record = _anchored_evidence(api, office, b"a holder's own file")
    holder_key = NotarialKey.generate(office=OFFICE, notary="Acme", principal_id=office.holder_id)
    with pytest.raises(APIError) as refused:
        NotarialClient(office.holder).attest(
            holder_key,
            [record],
            certificate_number="(2026) self-made",
            template=Template.custom,
            zh="自证",
            en="self-certified",
        )
    assert refused.value.status == 403 and "notary" in refused.value.detail


def test_a_notary_cannot_attest_a_record_not_shared_with_it(api: Api, office: Office) -> None:
    record = _anchored_evidence(api, office, b"never shared with the notary")
    with pytest.raises(APIError) as refused:
        office.notary.attest(
            office.key,
            [record],
            certificate_number="(2026) unshared",
            template=Template.evidence_preservation,
        )
    assert refused.value.status == 403 and refused.value.code == "not_shared"
    # and an unregistered key of the notary's own is refused, even for a shared record
    NotarialClient(office.holder).share(record, office.notary_id)
    other = NotarialKey.generate(office=OFFICE, notary="Wang Fang", principal_id=office.notary_id)
    with pytest.raises(APIError) as unregistered:
        office.notary.attest(
            other,
            [record],
            certificate_number="(2026) other key",
            template=Template.evidence_preservation,
        )
    assert unregistered.value.code == "unregistered_notarial_key"


def test_a_notarised_record_verifies_and_then_verifies_as_revoked(api: Api, office: Office) -> None:
    record = _anchored_evidence(api, office, b"the logo, final draft")
    NotarialClient(office.holder).share(record, office.notary_id)
    assert [s["record_id"] for s in office.notary.shares()].count(record) == 1

    doc, answer = office.notary.attest(
        office.key,
        [record],
        certificate_number="(2026)浙杭证字第1号",
        template=Template.evidence_preservation,
        on=date(2026, 12, 7),
    )
    assert answer["created"] and "Acme Studio Ltd" in doc.statement.zh
    _wait(api, f"/v1/attestations/{answer['id']}", "na-notary")
    # The same number again from this office is refused; the same document again is one record.
    with pytest.raises(APIError) as taken:
        office.notary.attest(
            office.key,
            [record],
            certificate_number="(2026)浙杭证字第1号",
            template=Template.file_content_at_time,
        )
    assert taken.value.status == 409 and taken.value.code == "certificate_number_taken"

    bundle = NotarialClient(office.holder).bundle(record)  # the holder reads it too
    policy = office.policy()
    result = verify_attestations(bundle, policy)
    assert result.notarised and result.record.record_id == record
    [finding] = result.attestations
    assert finding.status == "valid" and finding.certificate_number == "(2026)浙杭证字第1号"
    assert finding.summary() == (
        f"notarised by Wang Fang of {OFFICE} on 2026-12-07 (No. (2026)浙杭证字第1号)"
    )

    # Under a policy that does not list the office's key, or lists it for a window that had
    # closed when the notary signed, the attestation does not verify.
    bare = TrustPolicy.from_json(json.loads(office.holder.trust_policy().to_json_bytes()))
    with pytest.raises(VerificationError) as unknown:
        verify_attestations(bundle, bare)
    assert unknown.value.step == AttestationStep.NOTARY_KEY
    closed = format_timestamp(finding.signed_at - timedelta(days=1))
    with pytest.raises(VerificationError) as expired:
        verify_attestations(bundle, office.policy(not_after=closed))
    assert expired.value.step == AttestationStep.NOTARY_KEY

    # Any change to the signed statement breaks the record's leaf (its certificate), and a
    # document re-signed by another key fails at the notary's key.
    tampered = copy.deepcopy(bundle)
    tampered["attestations"][0]["certificate"]["record"]["document"]["statement"]["en"] += "!"
    with pytest.raises(VerificationError) as changed:
        verify_attestations(tampered, policy)
    assert changed.value.step == AttestationStep.ATTESTATION_CERTIFICATE

    _, revoked = office.notary.revoke(
        office.key,
        answer["id"],
        reason="the applicant's identity documents were forged",
        on=date(2026, 12, 8),
    )
    _wait(api, f"/v1/attestation-revocations/{revoked['id']}", "na-notary")
    with Session(api.runtime.engine) as session:
        assert status_lists.is_revoked(session, answer["id"])  # its credential's status bit
    after = verify_attestations(NotarialClient(office.holder).bundle(record), policy)
    assert not after.notarised
    [gone] = after.attestations
    assert gone.status == "revoked" and gone.revocation_date == "2026-12-08"
    assert gone.revocation_reason == "the applicant's identity documents were forged"
    assert gone.revoked_at is not None and gone.revoked_at >= gone.proven_time
    assert gone.summary().startswith("REVOKED: notarised by Wang Fang")
    with pytest.raises(APIError) as twice:
        office.notary.revoke(office.key, answer["id"], reason="again")
    assert twice.value.code == "already_revoked"


def test_a_refusal_is_anchored_with_its_reasons_and_shown_to_the_applicant(
    api: Api, office: Office
) -> None:
    record = _anchored_evidence(api, office, b"a capture made on the applicant's own laptop")
    NotarialClient(office.holder).share(record, office.notary_id)
    _, answer = office.notary.refuse(
        office.key, [record], reasons=["the capture was not made in a clean environment"]
    )
    view = office.holder.get(answer["id"])  # the applicant sees the refusal
    assert view["kind"] == "notarial_refusal"
    assert view["record"]["document"]["reasons"] == [
        "the capture was not made in a clean environment"
    ]
    assert view["record"]["applicant"]["id"] == office.holder_id


def test_sharing_goes_to_notaries_and_arbitrators_only(api: Api, office: Office) -> None:
    record = _anchored_evidence(api, office, b"shared with a platform by mistake")
    api.principal("na-platform", "platform")
    with pytest.raises(APIError) as refused:
        NotarialClient(office.holder).share(record, api.ids["na-platform"])
    assert refused.value.status == 403 and refused.value.code == "not_a_share_recipient"
    with pytest.raises(APIError) as not_yours:
        office.notary.share(record, office.notary_id)
    assert not_yours.value.status == 404


def test_the_notarial_commands_attest_verify_and_revoke(
    api: Api, office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ipnotary.sdk.cli import app, options

    def client(url: str, key: str | None, policy: Any = None) -> NotaryClient:
        return NotaryClient(url, key, transport=api.client._transport, policy=policy)

    monkeypatch.setattr(options, "open_client", client)
    runner = CliRunner()

    def notary(*args: str, label: str = "na-cli-notary") -> Any:
        return runner.invoke(
            app, [*args, "--url", "http://testserver", "--api-key", api.keys[label]]
        )

    api.principal("na-cli-notary", "notary", "Li Ming")
    made = notary(
        "notarial",
        "key",
        "generate",
        "--office",
        "Xihu Notary Office",
        "--notary",
        "Li Ming",
        "-o",
        str(tmp_path / "n.key"),
    )
    assert made.exit_code == 0, made.output
    public = json.loads(made.stdout)
    assert public["principal_id"] == api.ids["na-cli-notary"]
    assert (tmp_path / "n.key").stat().st_mode & 0o777 == 0o600
    assert notary("notarial", "key", "register", "--key", str(tmp_path / "n.key")).exit_code == 0

    record = _anchored_evidence(api, office, b"notarised from the command line")
    applied = notary(
        "notarial", "apply", record, "--to", api.ids["na-cli-notary"], label="na-holder"
    )
    assert applied.exit_code == 0, applied.output
    attested = notary(
        "notarial",
        "attest",
        record,
        "--key",
        str(tmp_path / "n.key"),
        "--number",
        "(2026)西湖证字第7号",
        "--template",
        "file_content_at_time",
    )
    assert attested.exit_code == 0, attested.output
    attestation = json.loads(attested.stdout)["id"]
    _wait(api, f"/v1/attestations/{attestation}", "na-cli-notary")
    bundle = tmp_path / "b.json"
    saved = notary(
        "notarial", "bundle", record, "-o", str(bundle), "--wait", "30", label="na-holder"
    )
    assert saved.exit_code == 0, saved.output

    policy = tmp_path / "policy.json"
    policy.write_bytes(api.runtime.trust_policy().to_json_bytes())
    trusted = runner.invoke(
        app,
        [
            "notarial",
            "trust",
            str(policy),
            "--office",
            "Xihu Notary Office",
            "--public-key",
            public["policy_entry"]["public_key"],
            "-o",
            str(policy),
        ],
    )
    assert trusted.exit_code == 0, trusted.output
    valid = runner.invoke(app, ["notarial", "verify", str(bundle), "--policy", str(policy)])
    assert valid.exit_code == 0 and "notarised by Li Ming of Xihu Notary Office" in valid.stdout
    untrusted = runner.invoke(app, ["notarial", "verify", str(bundle)])
    assert untrusted.exit_code == 4

    revoked = notary(
        "notarial",
        "revoke",
        attestation,
        "--key",
        str(tmp_path / "n.key"),
        "--reason",
        "issued in error",
    )
    assert revoked.exit_code == 0, revoked.output
    _wait(api, f"/v1/attestation-revocations/{json.loads(revoked.stdout)['id']}", "na-cli-notary")
    notary("notarial", "bundle", record, "-o", str(bundle), "--wait", "30", label="na-holder")
    after = runner.invoke(app, ["notarial", "verify", str(bundle), "--policy", str(policy)])
    assert after.exit_code == 1 and "REVOKED" in after.stdout and "issued in error" in after.stdout
