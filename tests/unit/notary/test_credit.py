"""The IP credit register: entries, classes, repair, erasure and the verifiable public status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from ipnotary.sdk.credit import subject_commitment, verify_credit_opening, verify_credit_status
from ipnotary.sdk.errors import VerificationError
from ipnotary.service.services.credit import sweep_expired
from ipnotary.service.services.principals import create_principal
from ipnotary.service.storage.models import CreditEntry
from tests.unit.notary.conftest import Api

SUBJECT = {"name": "Shady Trading Co", "id_type": "uscc", "id": "91110108551385082Q"}
KEY = "uscc:91110108551385082Q"


def entry(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    base = {
        "subject": SUBJECT,
        "conduct": "dishonest",
        "severity": "general",
        "category": "repeated trademark infringement",
        "description": "sold counterfeit goods",
        "legal_basis": "Trademark Law Art. 57",
        "deciding_authority": "City Market Regulation Bureau",
        "decision_date": (today - timedelta(days=10)).isoformat(),
        "decision_document_sha256": "ab" * 32,
        "publicity_start": (today - timedelta(days=10)).isoformat(),
        "publicity_end": (today + timedelta(days=365)).isoformat(),
    }
    base.update(changes)
    return base


def record(api: Api, body: dict[str, Any], who: str = "bureau") -> dict[str, Any]:
    h = api.principal(who, "credit_authority", "City Market Regulation Bureau")
    r = api.client.post("/v1/credit/entries", json=body, headers=h)
    assert r.status_code == 201, r.text
    out = r.json()
    api.wait_anchored(f"/v1/credit/entries/{out['id']}", h)
    return out


def status(api: Api, subject: str = KEY, **params: Any) -> dict[str, Any]:
    r = api.client.get("/v1/credit/status", params={"subject": subject, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_anchored_record_holds_only_a_commitment(make_api: Callable[..., Api]) -> None:
    api = make_api()
    out = record(api, entry())
    rec = out["receipt"]["record"]
    # Schema 2: the commitments, and the non-personal fields an answer for an earlier time needs
    # once the details are erased.
    assert set(rec) == {
        "id",
        "kind",
        "schema",
        "authority",
        "entry_commitment",
        "subject_commitment",
        "conduct",
        "severity",
        "publicity_start",
        "publicity_end",
        "received_at",
    }
    assert rec["schema"] == 2 and rec["conduct"] == "dishonest" and rec["severity"] == "general"
    assert SUBJECT["id"] not in str(rec) and "counterfeit" not in str(rec)
    assert out["opening"]["commitment"] == rec["entry_commitment"]
    assert subject_commitment(KEY, out["opening"]["subject_salt"]) == rec["subject_commitment"]


def test_status_classes_and_verification(make_api: Callable[..., Api]) -> None:
    api = make_api()
    assert status(api)["class"] == "B"
    record(api, entry(conduct="good", severity=None, category="licensing compliance"))
    assert status(api)["class"] == "A"
    record(api, entry())
    doc = status(api)
    assert doc["class"] == "C"
    verified = verify_credit_status(
        doc, subject=KEY, chain=api.runtime.chain.view(), policy=api.runtime.trust_policy()
    )
    assert verified.chain_checked and [
        e["conduct"] for e in verified.dishonest_entries(KEY, verified.as_of)
    ] == ["dishonest"]
    record(api, entry(severity="serious", category="counterfeiting at scale"))
    assert status(api)["class"] == "D"
    # Before the publicity period the entries are not shown.
    past = status(api, as_of=(datetime.now(UTC) - timedelta(days=30)).isoformat())
    assert past["entries"] == [] and past["class"] == "B"


def test_a_tampered_status_document_fails(make_api: Callable[..., Api]) -> None:
    api = make_api()
    record(api, entry())
    doc = status(api)
    doc["entries"][0]["details"]["category"] = "nothing serious"
    with pytest.raises(VerificationError) as info:
        verify_credit_status(doc)
    assert info.value.step == "signature"
    resigned = api.runtime.issuer.sign({k: v for k, v in doc.items() if k != "signature"})
    with pytest.raises(VerificationError) as info:
        verify_credit_status(resigned)
    assert info.value.step == "opening"  # the commitment on chain does not open to the new details


def test_refusals(make_api: Callable[..., Api]) -> None:
    api = make_api()
    holder = api.principal("holder", "holder")
    assert api.client.post("/v1/credit/entries", json=entry(), headers=holder).status_code == 403
    bad = api.client.post(
        "/v1/credit/entries",
        json=entry(subject={**SUBJECT, "id": "91110108551385082R"}),
        headers=api.principal("bureau", "credit_authority"),
    )
    assert bad.status_code == 422 and "check character" in bad.text
    assert api.client.get("/v1/credit/status", params={"subject": "uscc:123"}).status_code == 422
    assert api.client.get("/v1/credit/status", params={"subject": "nonsense"}).status_code == 422
    no_severity = api.client.post(
        "/v1/credit/entries",
        json=entry(severity=None),
        headers=api.principal("bureau", "credit_authority"),
    )
    assert no_severity.status_code == 422 and "severity" in no_severity.text
    # Repair of an unknown entry.
    r = api.client.post(
        "/v1/credit/entries/ce_nope/repairs", json={"statement": "please"}, headers=holder
    )
    assert r.status_code == 404


def test_repair_erases_personal_data_but_the_commitment_still_proves_the_decision(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    out = record(api, entry())
    entry_id, opening = out["id"], out["opening"]
    bureau = api.principal("bureau", "credit_authority")
    # Only the subject may apply.
    stranger = api.principal("stranger", "holder")
    assert (
        api.client.post(
            f"/v1/credit/entries/{entry_id}/repairs", json={"statement": "x"}, headers=stranger
        ).status_code
        == 403
    )
    with Session(api.runtime.engine) as session:
        subject_key = create_principal(
            session, name="Shady", role="holder", identifier=KEY.lower()
        ).api_key
    subject = {"Authorization": f"Bearer {subject_key}"}
    applied = api.client.post(
        f"/v1/credit/entries/{entry_id}/repairs",
        json={"statement": "we destroyed the stock and paid damages"},
        headers=subject,
    )
    assert applied.status_code == 201 and applied.json()["decision"] == "pending"
    again = api.client.post(
        f"/v1/credit/entries/{entry_id}/repairs", json={"statement": "x"}, headers=subject
    )
    assert again.status_code == 409
    repair_id = applied.json()["id"]
    # Another authority cannot decide.
    other = api.principal("other-bureau", "credit_authority")
    assert (
        api.client.post(
            f"/v1/credit/repairs/{repair_id}/decision",
            json={"decision": "approved", "reason": "ok"},
            headers=other,
        ).status_code
        == 403
    )
    assert (
        api.client.post(
            "/v1/credit/repairs/99999/decision",
            json={"decision": "approved", "reason": "ok"},
            headers=bureau,
        ).status_code
        == 404
    )
    pending = api.client.get("/v1/credit/repairs", headers=bureau).json()
    assert [p["id"] for p in pending] == [repair_id]
    decided = api.client.post(
        f"/v1/credit/repairs/{repair_id}/decision",
        json={"decision": "approved", "reason": "rectified"},
        headers=bureau,
    )
    assert decided.status_code == 200, decided.text
    repair_record = decided.json()["repair_record"]["receipt"]["record"]
    assert repair_record["entry"] == {"id": entry_id, "commitment": opening["commitment"]}

    # Once the repair is recorded (certified), the public status no longer shows the entry.
    api.wait_anchored(f"/v1/credit/repair-records/{repair_record['id']}", bureau)
    doc = status(api)
    assert doc["entries"] == [] and doc["pending"] == [] and doc["class"] == "B"
    assert entry_id not in str(doc)
    with Session(api.runtime.engine) as session:
        row = session.get(CreditEntry, entry_id)
        assert row is not None
        # The details go; the subject and the salt of its commitment stay, so that an answer
        # for a time the entry counted can still prove it (test_an_answer_for_before_a_repair).
        assert row.status == "repaired" and row.details is None and row.salt is None
        assert row.subject_key == KEY and row.subject_salt is not None
    db_bytes = b"".join(p.read_bytes() for p in api.runtime.settings.data_dir.glob("notary.db*"))
    assert b"counterfeit goods" not in db_bytes and b"destroyed the stock" not in db_bytes

    # The authority's kept opening still proves what was decided, against the anchored commitment.
    cert = api.client.get(f"/v1/credit/entries/{entry_id}/certificate", headers=bureau).json()
    verify_credit_opening(cert, opening["details"], opening["salt"], chain=api.runtime.chain.view())
    forged = {**opening["details"], "severity": "serious"}
    with pytest.raises(VerificationError):
        verify_credit_opening(cert, forged, opening["salt"])


def test_expired_entries_are_erased(make_api: Callable[..., Api]) -> None:
    api = make_api()
    today = datetime.now(UTC).date()
    out = record(api, entry(publicity_end=(today + timedelta(days=1)).isoformat()))
    with Session(api.runtime.engine) as session:
        assert sweep_expired(session, now=datetime.now(UTC) + timedelta(days=2)) == 1
        row = session.get(CreditEntry, out["id"])
        assert row is not None
        assert row.status == "expired" and row.details is None and row.salt is None
    # An answer for a time inside the period still counts it, from what its record carries.
    doc = status(api)
    assert doc["class"] == "C" and doc["entries"][0]["erased"] == "expired"
    assert "details" not in doc["entries"][0] and "salt" not in doc["entries"][0]


# "As of T": an entry counts at T only if it is proven
# recorded by T, public on T's date and not repaired by T.


def _verify(api: Api, doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return verify_credit_status(
        doc, subject=KEY, chain=api.runtime.chain.view(), policy=api.runtime.trust_policy()
    )


def _resign(api: Api, doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What a dishonest operator can do: change its answer and sign it again with its own key."""
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    unsigned.update(changes)
    return api.runtime.issuer.sign(unsigned)


def _step(api: Api, doc: dict[str, Any]) -> str:
    with pytest.raises(VerificationError) as info:
        _verify(api, doc)
    return info.value.step


def test_an_entry_whose_publicity_has_ended_is_refused(make_api: Callable[..., Api]) -> None:
    api = make_api()
    today = datetime.now(UTC).date()
    ended = entry(
        publicity_start=(today - timedelta(days=60)).isoformat(),
        decision_date=(today - timedelta(days=60)).isoformat(),
        publicity_end=today.isoformat(),
    )
    r = api.client.post(
        "/v1/credit/entries", json=ended, headers=api.principal("bureau", "credit_authority")
    )
    assert r.status_code == 422 and "would count at no time" in r.text


def test_an_entry_counts_only_from_when_it_is_proven_recorded(make_api: Callable[..., Api]) -> None:
    api = make_api()
    before = datetime.now(UTC) - timedelta(days=1)
    # Public since last month, recorded today.
    record(
        api,
        entry(
            publicity_start=(datetime.now(UTC).date() - timedelta(days=30)).isoformat(),
            decision_date=(datetime.now(UTC).date() - timedelta(days=30)).isoformat(),
        ),
    )
    earlier = status(api, as_of=before.isoformat())
    assert earlier["entries"] == [] and earlier["class"] == "B"
    assert _verify(api, earlier).credit_class == "B"
    now = status(api)
    assert now["class"] == "C" and _verify(api, now).entries[0]["recorded_by"]
    # The operator presenting today's entry as counting yesterday: refused at 'recorded'.
    assert _step(api, _resign(api, now, as_of=earlier["as_of"])) == "recorded"


def test_an_entry_not_certified_yet_is_pending_not_counted(make_api: Callable[..., Api]) -> None:
    api = make_api(run_anchoring_worker=False)
    h = api.principal("bureau", "credit_authority")
    out = api.client.post("/v1/credit/entries", json=entry(), headers=h).json()
    doc = status(api)
    assert doc["entries"] == [] and doc["class"] == "B"
    assert [p["entry_id"] for p in doc["pending"]] == [out["id"]]
    verified = verify_credit_status(doc, subject=KEY)
    assert [(u.entry_id, u.counted) for u in verified.unchecked] == [(out["id"], False)]


def test_status_for_a_time_not_passed_yet_is_refused_at_once(make_api: Callable[..., Api]) -> None:
    api = make_api()
    soon = api.client.get(
        "/v1/credit/status",
        params={"subject": KEY, "as_of": (datetime.now(UTC) + timedelta(seconds=5)).isoformat()},
    )
    assert soon.status_code == 425 and 1 <= int(soon.headers["Retry-After"]) <= 7
    assert soon.json()["code"] == "too_early"
    later = api.client.get(
        "/v1/credit/status",
        params={"subject": KEY, "as_of": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    )
    assert later.status_code == 422 and "future" in later.text


def _subject_headers(api: Api) -> dict[str, str]:
    with Session(api.runtime.engine) as session:
        key = create_principal(session, name="Shady", role="holder", identifier=KEY).api_key
    return {"Authorization": f"Bearer {key}"}


def test_an_answer_for_before_a_repair_still_counts_the_entry(make_api: Callable[..., Api]) -> None:
    api = make_api()
    out = record(api, entry())
    entry_id = out["id"]
    time.sleep(1.1)  # block times are whole seconds: keep T clear of both records' seconds
    t = datetime.now(UTC)
    time.sleep(1.1)
    bureau = api.principal("bureau", "credit_authority")
    applied = api.client.post(
        f"/v1/credit/entries/{entry_id}/repairs",
        json={"statement": "paid"},
        headers=_subject_headers(api),
    ).json()
    decided = api.client.post(
        f"/v1/credit/repairs/{applied['id']}/decision",
        json={"decision": "approved", "reason": "rectified"},
        headers=bureau,
    ).json()
    api.wait_anchored(f"/v1/credit/repair-records/{decided['repair_record']['id']}", bureau)

    then = status(api, as_of=t.isoformat())
    assert then["class"] == "C" and [e["entry_id"] for e in then["entries"]] == [entry_id]
    shown = then["entries"][0]
    assert shown["erased"] == "repaired" and "details" not in shown
    assert shown["repair"]["record_id"] == decided["repair_record"]["id"]
    verified = _verify(api, then)
    assert verified.credit_class == "C" and verified.entries[0]["severity"] == "general"
    assert verified.dishonest_entries(KEY, t)[0]["erased"] == "repaired"
    now = status(api)
    assert now["entries"] == [] and now["class"] == "B" and _verify(api, now).credit_class == "B"

    # Hostile answers, each signed again by the operator's own key:
    # the repair hidden (an erased entry without it, or called expired before its period ended),
    hidden = {k: v for k, v in shown.items() if k != "repair"}
    assert _step(api, _resign(api, then, entries=[hidden])) == "repair"
    assert _step(api, _resign(api, then, entries=[{**hidden, "erased": "expired"}])) == "repair"
    # the repaired entry shown as still counting after its repair,
    assert _step(api, _resign(api, now, entries=[shown], **{"class": "C"})) == "repair"
    # the wrong class, the entry counted twice, the subject salt of someone else.
    assert _step(api, _resign(api, then, **{"class": "B"})) == "class"
    assert _step(api, _resign(api, then, entries=[shown, shown], **{"class": "D"})) == "format"
    other = {**shown, "subject_salt": "00" * 32}
    assert _step(api, _resign(api, then, entries=[other])) == "subject"


def test_the_authority_reads_what_it_decides_and_the_applicant_reads_the_decision(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    out = record(api, entry())
    bureau = api.principal("bureau", "credit_authority")
    subject = _subject_headers(api)
    evidence = ["cd" * 32, "ef" * 32]
    applied = api.client.post(
        f"/v1/credit/entries/{out['id']}/repairs",
        json={"statement": "we paid damages", "evidence_sha256": evidence},
        headers=subject,
    )
    assert applied.status_code == 201, applied.text
    repair_id = applied.json()["id"]
    listed = api.client.get("/v1/credit/repairs", headers=bureau).json()
    assert [(r["id"], r["statement"], r["evidence_sha256"]) for r in listed] == [
        (repair_id, "we paid damages", evidence)
    ]
    api.client.post(
        f"/v1/credit/repairs/{repair_id}/decision",
        json={"decision": "rejected", "reason": "the damages are unpaid"},
        headers=bureau,
    )
    mine = api.client.get(f"/v1/credit/repairs/{repair_id}", headers=subject)
    assert mine.status_code == 200
    assert (mine.json()["decision"], mine.json()["reason"]) == (
        "rejected",
        "the damages are unpaid",
    )
    stranger = api.principal("stranger", "holder")
    assert api.client.get(f"/v1/credit/repairs/{repair_id}", headers=stranger).status_code == 404
    assert api.client.get("/v1/credit/repairs", headers=stranger).status_code == 403


def test_cli_lists_repairs_and_shows_a_decision(
    make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ipnotary.sdk import cli
    from ipnotary.sdk.cli import options
    from ipnotary.sdk.client import NotaryClient

    api = make_api()
    out = record(api, entry())
    api.principal("bureau", "credit_authority")
    subject = _subject_headers(api)
    monkeypatch.setattr(
        options,
        "open_client",
        lambda url, key, policy=None: NotaryClient(
            "http://testserver", key, transport=api.client._transport, policy=policy
        ),
    )
    applied = CliRunner().invoke(
        cli.app,
        [
            "credit",
            "apply-repair",
            out["id"],
            "--statement",
            "paid in full",
            "--evidence-sha256",
            "cd" * 32,
            "--api-key",
            subject["Authorization"].removeprefix("Bearer "),
        ],
    )
    assert applied.exit_code == 0, applied.output
    repair_id = json.loads(applied.output)["id"]
    listed = CliRunner().invoke(cli.app, ["credit", "repairs", "--api-key", api.keys["bureau"]])
    assert listed.exit_code == 0, listed.output
    assert listed.output.split("\t")[:2] == [str(repair_id), out["id"]]
    assert "paid in full" in listed.output and "cd" * 32 in listed.output
    as_json = CliRunner().invoke(
        cli.app, ["credit", "repairs", "--json", "--api-key", api.keys["bureau"]]
    )
    assert json.loads(as_json.output)[0]["evidence_sha256"] == ["cd" * 32]
    shown = CliRunner().invoke(
        cli.app,
        [
            "credit",
            "repair",
            str(repair_id),
            "--api-key",
            subject["Authorization"].removeprefix("Bearer "),
        ],
    )
    assert shown.exit_code == 0 and json.loads(shown.output)["decision"] == "pending"


def test_schema_1_entries_and_version_1_documents_still_verify(
    make_api: Callable[..., Api],
) -> None:
    """An entry recorded before revision 0007 (its record holds only the commitment) counts from
    its details while kept, and from the fields kept beside it once erased (unchecked: they rest
    on the register's signature); a version 1 document is checked by the same rules."""
    from ipnotary.sdk.certificate import format_timestamp
    from ipnotary.sdk.credit import CREDIT_STATUS_MEDIA_TYPE_V1, entry_commitment
    from ipnotary.service.domain.credit import CreditEntryDetails, new_salt
    from ipnotary.service.services.records import accept_record
    from ipnotary.service.storage.models import Principal

    api = make_api()
    bureau = api.principal("bureau", "credit_authority")
    details = CreditEntryDetails.model_validate(entry())
    doc_details, salt = details.model_dump(mode="json"), new_salt()
    commitment = entry_commitment(doc_details, salt)
    with Session(api.runtime.engine) as session:
        authority = session.get(Principal, api.ids["bureau"])
        assert authority is not None
        stored = accept_record(
            session,
            kind="credit_entry",
            owner=authority,
            build_body=lambda rid, at: {
                "id": rid,
                "kind": "credit_entry",
                "schema": 1,
                "authority": {"id": authority.id, "name": authority.name},
                "entry_commitment": commitment,
                "received_at": format_timestamp(at),
            },
            extra_rows=lambda rid: [
                CreditEntry(
                    id=rid,
                    authority_id=authority.id,
                    commitment=commitment,
                    conduct="dishonest",
                    status="active",
                    subject_key=KEY,
                    details=json.dumps(doc_details, sort_keys=True),
                    salt=salt,
                    severity="general",
                    publicity_start=details.publicity_start,
                    publicity_end=details.publicity_end,
                    created_at=datetime.now(UTC),
                )
            ],
        )
        legacy_id = stored.record.id
    api.wait_anchored(f"/v1/credit/entries/{legacy_id}", bureau)
    doc = status(api)
    assert doc["class"] == "C" and _verify(api, doc).entries[0]["category"] == details.category
    v1 = _resign(
        api,
        {k: v for k, v in doc.items() if k != "pending"},
        media_type=CREDIT_STATUS_MEDIA_TYPE_V1,
    )
    assert _verify(api, v1).credit_class == "C"

    time.sleep(1.1)
    t = datetime.now(UTC)
    time.sleep(1.1)
    applied = api.client.post(
        f"/v1/credit/entries/{legacy_id}/repairs",
        json={"statement": "paid"},
        headers=_subject_headers(api),
    ).json()
    decided = api.client.post(
        f"/v1/credit/repairs/{applied['id']}/decision",
        json={"decision": "approved", "reason": "ok"},
        headers=bureau,
    ).json()
    api.wait_anchored(f"/v1/credit/repair-records/{decided['repair_record']['id']}", bureau)
    then = status(api, as_of=t.isoformat())
    assert then["entries"][0]["kept"]["severity"] == "general"
    verified = _verify(api, then)
    assert verified.credit_class == "C"
    assert [(u.entry_id, u.counted) for u in verified.unchecked] == [(legacy_id, True)]
