"""The typed record bodies: every kind the service builds parses back to the same bytes, golden
certificates' records parse, and a body that is not one of ours is refused naming the field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.records import (
    CreditEntryRecord,
    EvidenceRecord,
    TradeSecretRecord,
    WorkRecord,
    content_of,
    parse_record,
)
from ipnotary.service.domain.credit import (
    CreditEntryDetails,
    build_credit_entry_record,
    build_credit_repair_record,
)
from ipnotary.service.domain.pledges import PledgeAsset, build_pledge_event_record
from ipnotary.service.domain.records import (
    ContentFingerprint,
    EvidenceMetadata,
    build_evidence_record,
)
from ipnotary.service.domain.trade_secrets import (
    build_disclosure_record,
    build_trade_secret_record,
)
from ipnotary.service.domain.works import PriorRegistration, WorkDetails, build_work_record

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "certificates"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FP = fingerprint_bytes(b"the work itself")
UPLOADED = ContentFingerprint(
    size=FP.size, sha256=FP.sha256, sm3=FP.sm3, cid=FP.cid, cid_v1=FP.cid_v1
)
OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"}
HOLDER = {"holder_id": "prn_1", "holder_name": "Acme Studio Ltd"}


def _bodies() -> dict[str, dict[str, Any]]:
    work = WorkDetails.model_validate(
        {
            "title": "Logo",
            "work_type": "fine_art",
            "authors": [{"name": "张三", "pen_name": "San"}],
            "copyright_owner": OWNER,
            "completed_on": "2026-01-02",
            "first_publication": {"date": "2026-02-03", "place": "Fuzhou"},
        }
    )
    entry = CreditEntryDetails.model_validate(
        {
            "subject": OWNER,
            "conduct": "good",
            "category": "licensing compliance",
            "description": "licensed on time",
            "legal_basis": "Art. 34",
            "deciding_authority": "IP Office",
            "decision_date": "2026-03-01",
            "decision_document_sha256": "ab" * 32,
            "publicity_start": "2026-03-01",
            "publicity_end": "2027-03-01",
        }
    )
    return {
        "evidence": build_evidence_record(
            record_id="ev_1",
            **HOLDER,
            content=UPLOADED,
            metadata=EvidenceMetadata(title="Screenshot", tags=["b", "a"]),
            received_at=NOW,
        ),
        "evidence without metadata": build_evidence_record(
            record_id="ev_2",
            **HOLDER,
            content=ContentFingerprint(size=3, sha256="cd" * 32),
            metadata=EvidenceMetadata(),
            received_at=NOW,
        ),
        "work": build_work_record(
            record_id="wk_1",
            **HOLDER,
            details=work,
            content=UPLOADED,
            prior=[PriorRegistration(id="wk_0", received_at="x", copyright_owner="Other")],
            received_at=NOW,
        ),
        "trade_secret": build_trade_secret_record(
            record_id="ts_1",
            **HOLDER,
            commitment="ee" * 32,
            ciphertext=UPLOADED,
            container_media_type="application/vnd.ipnotary.sealed+tink",
            stream_algorithm="AES256_GCM_HKDF_1MB",
            holder_key_id="ff" * 32,
            label=None,
            received_at=NOW,
        ),
        "disclosure": build_disclosure_record(
            record_id="ds_1",
            **HOLDER,
            filing_id="ts_1",
            commitment="ee" * 32,
            recipient={"id": "prn_2", "name": "Arbitration Commission", "key_id": "aa" * 32},
            wrapped_key_sha256="bb" * 32,
            received_at=NOW,
        ),
        "credit_entry": build_credit_entry_record(
            "ce_1",
            NOW,
            authority={"id": "prn_3", "name": "IP Office"},
            details=entry,
            commitment="11" * 32,
            subject_commitment="22" * 32,
        ),
        "credit_repair": build_credit_repair_record(
            "cr_1",
            NOW,
            authority={"id": "prn_3", "name": "IP Office"},
            entry_id="ce_1",
            commitment="11" * 32,
        ),
        "pledge_event": build_pledge_event_record(
            "pe_1",
            NOW,
            registrar={"id": "prn_4", "name": "Registry", "account": "0x" + "12" * 20},
            action="registered",
            asset=PledgeAsset(type="trademark", registration_number="第12345678号"),
            transaction={
                "chain_id": 1337,
                "contract": "0x" + "34" * 20,
                "pledge_id": 1,
                "tx_hash": "0x" + "56" * 32,
                "block_number": 9,
                "block_timestamp": 1_800_000_000,
            },
            terms={"secured_amount": "1000.00"},
            ownership={"checked": False, "reason": "registered elsewhere"},
        ),
    }


@pytest.mark.parametrize("name", sorted(_bodies()))
def test_every_body_the_service_builds_parses_back_to_the_same_bytes(name: str) -> None:
    body = _bodies()[name]
    typed = parse_record(body)
    assert typed.kind == body["kind"] and typed.id == body["id"]
    assert canonical_json(typed.to_json()) == canonical_json(body)


def test_what_is_absent_stays_absent_and_a_stated_null_stays_null() -> None:
    bodies = _bodies()
    assert "metadata" not in bodies["evidence without metadata"]
    assert bodies["evidence"]["metadata"]["tags"] == ["a", "b"]
    # a good-conduct entry states that it has no severity; a filing without a label omits it
    assert bodies["credit_entry"]["severity"] is None
    assert "label" not in bodies["trade_secret"]
    assert bodies["pledge_event"]["asset"]["registration_number"] == "12345678"


def test_golden_certificates_records_parse() -> None:
    for path in sorted(ASSETS.glob("v*/certificate.json")):
        record = json.loads(path.read_text("utf-8"))["record"]
        typed = parse_record(record)
        assert isinstance(typed, EvidenceRecord), path
        assert canonical_json(typed.to_json()) == canonical_json(record)


def test_typed_readers_see_the_fields_of_their_kind() -> None:
    bodies = _bodies()
    work = parse_record(bodies["work"])
    assert isinstance(work, WorkRecord)
    assert work.work.copyright_owner.id == OWNER["id"]
    assert [p.id for p in work.prior_registrations or []] == ["wk_0"]
    secret = parse_record(bodies["trade_secret"])
    assert isinstance(secret, TradeSecretRecord)
    assert content_of(secret) == secret.ciphertext  # what the store holds is the ciphertext
    entry = parse_record(bodies["credit_entry"])
    assert isinstance(entry, CreditEntryRecord) and entry.schema_version == 2
    assert content_of(entry) is None
    assert date.fromisoformat(entry.publicity_end or "") == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "novel"}, "the record"),
        ({"content": {"size": "15", "sha256": "ab" * 32}}, "content.size"),
        ({"holder": {"id": "prn_1"}}, "holder.name"),
        ({"surprise": True}, "surprise"),
        ({"schema": 7}, "schema"),
    ],
)
def test_a_body_that_is_not_ours_is_refused_naming_the_field(
    change: dict[str, Any], named: str
) -> None:
    body = {**_bodies()["evidence"], **change}
    with pytest.raises(FormatError, match="not a record of ours") as caught:
        parse_record(body)
    assert named in str(caught.value)
