"""The IP credit register: entries, classes, repair, erasure and the verifiable public status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from client_sdk.credit import verify_credit_opening, verify_credit_status
from client_sdk.errors import VerificationError
from notary.services.credit import sweep_expired
from notary.services.principals import create_principal
from notary.storage.models import CreditEntry

SUBJECT = {"name": "Shady Trading Co", "id_type": "uscc", "id": "91110108551385082Q"}
KEY = "uscc:91110108551385082Q"


def entry(**changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    base = {
        "subject": SUBJECT, "conduct": "dishonest", "severity": "general",
        "category": "repeated trademark infringement", "description": "sold counterfeit goods",
        "legal_basis": "Trademark Law Art. 57", "deciding_authority": "City Market Regulation Bureau",
        "decision_date": (today - timedelta(days=10)).isoformat(),
        "decision_document_sha256": "ab" * 32,
        "publicity_start": (today - timedelta(days=10)).isoformat(),
        "publicity_end": (today + timedelta(days=365)).isoformat(),
    }
    base.update(changes)
    return base


def record(api, body: dict[str, Any], who: str = "bureau") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    h = api.principal(who, "credit_authority", "City Market Regulation Bureau")
    r = api.client.post("/v1/credit/entries", json=body, headers=h)
    assert r.status_code == 201, r.text
    out = r.json()
    api.wait_anchored(f"/v1/credit/entries/{out['id']}", h)
    return out


def status(api, subject: str = KEY, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = api.client.get("/v1/credit/status", params={"subject": subject, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_anchored_record_holds_only_a_commitment(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    out = record(api, entry())
    rec = out["receipt"]["record"]
    assert set(rec) == {"id", "kind", "schema", "authority", "entry_commitment", "received_at"}
    assert SUBJECT["id"] not in str(rec) and "counterfeit" not in str(rec)
    assert out["opening"]["commitment"] == rec["entry_commitment"]


def test_status_classes_and_verification(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    assert status(api)["class"] == "B"
    record(api, entry(conduct="good", severity=None, category="licensing compliance"))
    assert status(api)["class"] == "A"
    record(api, entry())
    doc = status(api)
    assert doc["class"] == "C"
    verified = verify_credit_status(doc, subject=KEY, chain=api.runtime.chain.view(),
                                    policy=api.runtime.trust_policy())
    assert verified.chain_checked and [e["conduct"] for e in verified.dishonest_entries(KEY, verified.as_of)] == ["dishonest"]
    record(api, entry(severity="serious", category="counterfeiting at scale"))
    assert status(api)["class"] == "D"
    # Before the publicity period the entries are not shown.
    past = status(api, as_of=(datetime.now(UTC) - timedelta(days=30)).isoformat())
    assert past["entries"] == [] and past["class"] == "B"


def test_a_tampered_status_document_fails(make_api) -> None:  # type: ignore[no-untyped-def]
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


def test_refusals(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    holder = api.principal("holder", "holder")
    assert api.client.post("/v1/credit/entries", json=entry(), headers=holder).status_code == 403
    bad = api.client.post("/v1/credit/entries", json=entry(subject={**SUBJECT, "id": "91110108551385082R"}),
                          headers=api.principal("bureau", "credit_authority"))
    assert bad.status_code == 422 and "check character" in bad.text
    assert api.client.get("/v1/credit/status", params={"subject": "uscc:123"}).status_code == 422
    assert api.client.get("/v1/credit/status", params={"subject": "nonsense"}).status_code == 422
    no_severity = api.client.post("/v1/credit/entries", json=entry(severity=None),
                                  headers=api.principal("bureau", "credit_authority"))
    assert no_severity.status_code == 422 and "severity" in no_severity.text
    # Repair of an unknown entry.
    r = api.client.post("/v1/credit/entries/ce_nope/repairs", json={"statement": "please"}, headers=holder)
    assert r.status_code == 404


def test_repair_erases_personal_data_but_the_commitment_still_proves_the_decision(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    out = record(api, entry())
    entry_id, opening = out["id"], out["opening"]
    bureau = api.principal("bureau", "credit_authority")
    # Only the subject may apply.
    stranger = api.principal("stranger", "holder")
    assert api.client.post(f"/v1/credit/entries/{entry_id}/repairs", json={"statement": "x"},
                           headers=stranger).status_code == 403
    with Session(api.runtime.engine) as session:
        subject_key = create_principal(session, name="Shady", role="holder", identifier=KEY.lower()).api_key
    subject = {"Authorization": f"Bearer {subject_key}"}
    applied = api.client.post(f"/v1/credit/entries/{entry_id}/repairs",
                              json={"statement": "we destroyed the stock and paid damages"}, headers=subject)
    assert applied.status_code == 201 and applied.json()["decision"] == "pending"
    again = api.client.post(f"/v1/credit/entries/{entry_id}/repairs", json={"statement": "x"}, headers=subject)
    assert again.status_code == 409
    repair_id = applied.json()["id"]
    # Another authority cannot decide.
    other = api.principal("other-bureau", "credit_authority")
    assert api.client.post(f"/v1/credit/repairs/{repair_id}/decision",
                           json={"decision": "approved", "reason": "ok"}, headers=other).status_code == 403
    assert api.client.post("/v1/credit/repairs/99999/decision",
                           json={"decision": "approved", "reason": "ok"}, headers=bureau).status_code == 404
    pending = api.client.get("/v1/credit/repairs", headers=bureau).json()
    assert [p["id"] for p in pending] == [repair_id]
    decided = api.client.post(f"/v1/credit/repairs/{repair_id}/decision",
                              json={"decision": "approved", "reason": "rectified"}, headers=bureau)
    assert decided.status_code == 200, decided.text
    repair_record = decided.json()["repair_record"]["receipt"]["record"]
    assert repair_record["entry"] == {"id": entry_id, "commitment": opening["commitment"]}

    # Public status no longer shows it, nor anything about it.
    doc = status(api)
    assert doc["entries"] == [] and doc["class"] == "B"
    with Session(api.runtime.engine) as session:
        row = session.get(CreditEntry, entry_id)
        assert row.status == "repaired" and row.details is None and row.salt is None and row.subject_key is None
    db_bytes = b"".join(p.read_bytes() for p in api.runtime.settings.data_dir.glob("notary.db*"))
    assert b"counterfeit goods" not in db_bytes and b"destroyed the stock" not in db_bytes

    # The authority's kept opening still proves what was decided, against the anchored commitment.
    cert = api.client.get(f"/v1/credit/entries/{entry_id}/certificate", headers=bureau).json()
    verify_credit_opening(cert, opening["details"], opening["salt"], chain=api.runtime.chain.view())
    forged = {**opening["details"], "severity": "serious"}
    with pytest.raises(VerificationError):
        verify_credit_opening(cert, forged, opening["salt"])


def test_expired_entries_are_erased(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api()
    today = datetime.now(UTC).date()
    out = record(api, entry(publicity_end=(today + timedelta(days=1)).isoformat()))
    with Session(api.runtime.engine) as session:
        assert sweep_expired(session, now=datetime.now(UTC) + timedelta(days=2)) == 1
        row = session.get(CreditEntry, out["id"])
        assert row.status == "expired" and row.details is None and row.subject_key is None
    # Already out of the public answer, even before the sweep erased it.
    assert status(api, as_of=(datetime.now(UTC) + timedelta(days=2)).isoformat())["entries"] == []
