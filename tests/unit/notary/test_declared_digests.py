"""Declared versus measured: a digest-only record says its digests are the submitter's word, and the
verifier says which digests it compared and which of those were only declared."""

from __future__ import annotations

from typing import Any

from ipnotary.sdk import ContentDigests, verify_certificate
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.verify import declared_digests
from ipnotary.service.domain.records import ContentFingerprint
from tests.unit.notary.conftest import Api

DATA = b"a contract the holder keeps to itself"


def test_a_fingerprint_without_a_cid_is_declared() -> None:
    fp = fingerprint_bytes(DATA)
    digest_only = ContentFingerprint(size=fp.size, sha256=fp.sha256, sm3=fp.sm3)
    assert digest_only.as_record_content().to_json()["declared"] == ["sha256", "size", "sm3"]
    no_sm3 = ContentFingerprint(size=fp.size, sha256=fp.sha256)
    assert no_sm3.as_record_content().to_json()["declared"] == ["sha256", "size"]
    uploaded = ContentFingerprint(
        size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
    )
    assert "declared" not in uploaded.as_record_content().to_json()


def _certificate(api: Api, headers: dict[str, str], path: str, record_id: str) -> dict[str, Any]:
    view = api.wait_anchored(f"{path}/{record_id}", headers)
    assert view["status"] == "anchored", view
    cert: dict[str, Any] = api.client.get(f"{path}/{record_id}/certificate", headers=headers).json()
    return cert


def test_digest_only_evidence_is_marked_and_the_verifier_says_what_it_compared(api: Api) -> None:
    h = api.principal("declarer", "holder")
    fp = fingerprint_bytes(DATA)
    # The submitter declares an SM3 that is not the file's: nobody here can tell.
    lie = "00" * 32
    r = api.client.post(
        "/v1/evidence", headers=h, json={"sha256": fp.sha256, "size": fp.size, "sm3": lie}
    )
    assert r.status_code == 201, r.text
    record = r.json()["receipt"]["record"]
    assert record["content"]["declared"] == ["sha256", "size", "sm3"]
    cert = _certificate(api, h, "/v1/evidence", r.json()["id"])
    assert cert["record"]["content"]["declared"] == ["sha256", "size", "sm3"]
    policy = api.runtime.trust_policy()

    # A verifier holding only SHA-256 and size compares those two, and is told the SM3 in the
    # certificate is the submitter's word and was not compared.
    result = verify_certificate(
        cert, policy, content=ContentDigests(size=fp.size, sha256=fp.sha256)
    )
    assert result.digests_checked == ("size", "sha256")
    assert any(
        "size, sha256 matched the record, which holds them as declared" in n for n in result.notes
    )
    assert any(
        "the record's sm3, declared by the submitter, could not be compared" in n
        for n in result.notes
    )
    # Without content nothing was compared.
    assert verify_certificate(cert, policy).digests_checked == ()


def test_uploaded_content_is_measured(api: Api) -> None:
    h = api.principal("uploader", "holder")
    r = api.client.post("/v1/evidence", headers=h, files={"file": ("c.txt", DATA + b"!")})
    assert r.status_code == 201, r.text
    assert "declared" not in r.json()["receipt"]["record"]["content"]
    cert = _certificate(api, h, "/v1/evidence", r.json()["id"])
    result = verify_certificate(cert, api.runtime.trust_policy(), content=DATA + b"!")
    assert result.digests_checked == ("size", "sha256", "sm3", "cid", "cid_v1")
    assert not any("declared" in n for n in result.notes)


def test_a_work_registered_by_digest_is_marked_too(api: Api) -> None:
    h = api.principal("work-declarer", "holder")
    work = {
        "title": "T",
        "work_type": "written",
        "authors": [{"name": "A"}],
        "copyright_owner": {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"},
        "completed_on": "2025-01-01",
    }
    r = api.client.post(
        "/v1/works", headers=h, json={"work": work, "content": {"sha256": "3c" * 32, "size": 5}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["receipt"]["record"]["content"]["declared"] == ["sha256", "size"]


def test_records_made_before_the_field_are_read_by_their_missing_cid() -> None:
    """Old certificates keep verifying unchanged (their record, and so their leaf, is what it
    was); the verifier infers what the field would have said from the absent CID."""
    old_digest_only = {"content": {"sha256": "ab" * 32, "size": 3, "sm3": "cd" * 32}}
    assert declared_digests(old_digest_only) == {"sha256", "size", "sm3"}
    old_upload = {"content": {"sha256": "ab" * 32, "size": 3, "cid": "Qm", "cid_v1": "baf"}}
    assert declared_digests(old_upload) == frozenset()
    assert declared_digests({"ciphertext": {}}) == frozenset()
