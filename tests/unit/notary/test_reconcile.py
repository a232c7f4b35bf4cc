"""``notary reconcile`` in process: a database that lost rows, or was restored from an older copy,
is compared with the chain, the witnesses and the holders' receipts, and names what it lost.

The real restores (PostgreSQL continuous archiving and a plain ``pg_dump``) are in
``tests/integration/test_backup_pitr.py``, and the command beside a running service in
``tests/integration/service/test_reconcile_command.py``; here the in-memory chain
(``tests/unit/notary/fakes.py``) and SQLite stand in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from ipnotary.sdk.note import CosignatureSigner
from ipnotary.sdk.verify import verify_certificate
from ipnotary.service.services import reconcile as rc
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.storage.db import create_db_engine
from ipnotary.service.storage.models import Record
from tests.unit.notary.conftest import Api


def _submit(api: Api, holder: dict[str, str], start: int, count: int) -> list[dict[str, Any]]:
    items = [{"sha256": f"{0xBAC0 + i:064x}", "size": i} for i in range(start, start + count)]
    answer = api.client.post("/v1/evidence/digests", json={"items": items}, headers=holder)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _wait_anchored(api: Api, holder: dict[str, str], subs: list[dict[str, Any]]) -> None:
    for sub in subs:
        assert api.wait_anchored(f"/v1/evidence/{sub['id']}", holder)["status"] == "anchored"


def _receipts(tmp: Path, subs: list[dict[str, Any]]) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    for sub in subs:  # what a holder keeps: the submission answer, receipt inside
        (tmp / f"{sub['id']}.json").write_text(json.dumps(sub))
    return tmp


def _issuer_keys(api: Api) -> dict[str, str]:
    issuer = api.runtime.issuer
    return {issuer.key_id: issuer.public_key_b64}


def _copy_database(api: Api, target: Path) -> Engine:
    """What a plain dump is: the database as it was at one moment, restored elsewhere."""
    source = sqlite3.connect(api.runtime.settings.data_dir / "notary.db")
    copy = sqlite3.connect(target)
    source.backup(copy)
    source.close()
    copy.close()
    return create_db_engine(f"sqlite:///{target}")


@pytest.fixture
def service(make_api: Callable[..., Api]) -> Iterator[Api]:
    yield make_api()


def test_an_intact_database_accounts_for_everything(service: Api, tmp_path: Path) -> None:
    h = service.principal("rc-holder", "holder")
    subs = _submit(service, h, 0, 12) + _submit(service, h, 12, 8)
    _wait_anchored(service, h, subs)
    anchors = service.runtime.chain.client()
    with Session(service.runtime.engine) as session:
        report = rc.reconcile(session, anchors)
        assert report.ok, report.problems
        assert report.database_log_size == report.anchored_size == 20
        findings = rc.check_receipts(
            session,
            rc.load_receipts(_receipts(tmp_path / "r", subs)),
            issuer_keys=_issuer_keys(service),
            report=report,
            anchored=rc.read_anchored_checkpoints(anchors),
        )
    assert {f.outcome for f in findings} == {rc.ReceiptOutcome.present}


def test_lost_record_rows_are_named_and_given_back_by_their_receipts(
    service: Api, tmp_path: Path
) -> None:
    h = service.principal("rc-holder", "holder")
    subs = _submit(service, h, 0, 20)
    _wait_anchored(service, h, subs)
    lost = [s["id"] for s in subs[5:9]]
    engine = service.runtime.engine
    with Session(engine) as session:
        indices = sorted(
            r.log_index
            for r in session.exec(select(Record).where(col(Record.id).in_(lost)))
            if r.log_index is not None
        )
        session.execute(delete(Record).where(col(Record.id).in_(lost)))
        session.commit()
    for rid in lost:
        assert service.client.get(f"/v1/evidence/{rid}", headers=h).status_code == 404

    receipts = _receipts(tmp_path / "r", subs)
    forger = Issuer(Ed25519PrivateKey.generate())
    forged = forger.receipt_document(
        {**subs[0]["receipt"]["record"], "id": "ev_" + "0" * 32}, "0" * 64, _now()
    )
    (receipts / "forged.json").write_text(json.dumps(forged))
    tampered = json.loads(json.dumps(subs[1]["receipt"]))
    tampered["record"]["content"]["size"] += 1
    (receipts / "tampered.json").write_text(json.dumps(tampered))

    anchors = service.runtime.chain.client()
    with Session(engine) as session:
        report = rc.reconcile(session, anchors)
        assert not report.ok
        [missing] = report.problems
        assert missing.code == "records_missing" and missing.details["count"] == 4
        assert [list(r) for r in missing.details["ranges"]] == _ranges(indices)
        assert report.lost is None  # the log itself is whole: only rows are missing
        anchored = rc.read_anchored_checkpoints(anchors)
        findings = {
            Path(f.source).stem: f
            for f in rc.check_receipts(
                session,
                rc.load_receipts(receipts),
                issuer_keys=_issuer_keys(service),
                report=report,
                anchored=anchored,
            )
        }
        assert findings["forged"].outcome is rc.ReceiptOutcome.not_ours
        assert findings["tampered"].outcome is rc.ReceiptOutcome.invalid
        assert {rid: findings[rid].outcome for rid in lost} == dict.fromkeys(
            lost, rc.ReceiptOutcome.restorable
        )
        assert sorted(findings[rid].log_index for rid in lost) == indices  # type: ignore[type-var]

        restored = rc.check_receipts(
            session,
            rc.load_receipts(receipts),
            issuer_keys=_issuer_keys(service),
            report=report,
            anchored=anchored,
            restore=True,
        )
        assert sum(f.outcome is rc.ReceiptOutcome.restored for f in restored) == 4
        assert rc.reconcile(session, anchors).ok

    policy = service.runtime.trust_policy()
    for sub in subs[5:9]:
        rid = sub["id"]
        assert service.client.get(f"/v1/evidence/{rid}", headers=h).json()["status"] == "anchored"
        # The same receipt as before, byte for byte (Ed25519 is deterministic), and a certificate.
        assert service.client.get(f"/v1/evidence/{rid}/receipt", headers=h).json() == sub["receipt"]
        cert = service.client.get(f"/v1/evidence/{rid}/certificate", headers=h)
        assert cert.status_code == 200, cert.text
        verify_certificate(cert.json(), policy, chain=service.runtime.chain.view())


def test_an_older_copy_names_the_anchored_batches_and_entries_it_lost(
    service: Api, tmp_path: Path
) -> None:
    h = service.principal("rc-holder", "holder")
    before = _submit(service, h, 0, 10)
    _wait_anchored(service, h, before)
    restored_engine = _copy_database(service, tmp_path / "dump.db")
    after = _submit(service, h, 10, 7)
    _wait_anchored(service, h, after)
    after += _submit(service, h, 17, 5)
    _wait_anchored(service, h, after)

    anchors = service.runtime.chain.client()
    anchored = rc.read_anchored_checkpoints(anchors)
    try:
        with Session(restored_engine) as session:
            report = rc.reconcile(session, anchors)
            assert not report.ok
            assert report.database_log_size == 10 and report.anchored_size == 22
            assert report.lost == rc.LogRange(10, 22)
            missing = [p for p in report.problems if p.code == "anchored_batch_missing"]
            # Every checkpoint anchored after the copy is named, with its chain batch id.
            assert sorted(p.details["batch_id"] for p in missing) == [
                cp.batch_id for cp in anchored if cp.tree_size > 10
            ]
            assert all(p.details.get("tx_hash", "").startswith("0x") for p in missing)
            findings = rc.check_receipts(
                session,
                rc.load_receipts(_receipts(tmp_path / "r", before + after)),
                issuer_keys=_issuer_keys(service),
                report=report,
                anchored=anchored,
            )
            by_id = {f.record_id: f.outcome for f in findings}
            assert {by_id[s["id"]] for s in before} == {rc.ReceiptOutcome.present}
            assert {by_id[s["id"]] for s in after} == {rc.ReceiptOutcome.lost}
    finally:
        restored_engine.dispose()


def test_records_never_sealed_are_accepted_again_from_their_receipts(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_api(run_anchoring_worker=False)
    h = api.principal("rc-holder", "holder")
    kept = _submit(api, h, 0, 3)
    restored_engine = _copy_database(api, tmp_path / "dump.db")
    later = _submit(api, h, 3, 4)
    try:
        with Session(restored_engine) as session:
            report = rc.reconcile(session, api.runtime.chain.client())
            assert report.ok and report.pending_records == 3
            findings = rc.check_receipts(
                session,
                rc.load_receipts(_receipts(tmp_path / "r", kept + later)),
                issuer_keys=_issuer_keys(api),
                report=report,
                anchored=[],
                restore=True,
            )
            by_id = {f.record_id: f.outcome for f in findings}
            assert {by_id[s["id"]] for s in later} == {rc.ReceiptOutcome.restored}
            rows = {r.id: r for r in session.exec(select(Record))}
            assert len(rows) == 7
            for sub in later:  # exactly what was receipted, still pending, to be anchored
                row = rows[sub["id"]]
                assert row.batch_seq is None and row.leaf_hash == sub["receipt"]["leaf_hash"]
                assert json.loads(row.body) == sub["receipt"]["record"]
    finally:
        restored_engine.dispose()


def test_a_witness_that_saw_more_of_the_log_reveals_lost_entries(service: Api) -> None:
    h = service.principal("rc-holder", "holder")
    _wait_anchored(service, h, _submit(service, h, 0, 4))

    def witness(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/w/add-checkpoint"
        assert request.content.startswith(b"old 4\n\n")  # the database's own newest checkpoint
        return httpx.Response(409, text="9\n", headers={"content-type": "text/x.tlog.size"})

    vkey = CosignatureSigner("witness.example/w", Ed25519PrivateKey.generate()).vkey()
    with (
        Session(service.runtime.engine) as session,
        httpx.Client(transport=httpx.MockTransport(witness)) as client,
    ):
        report = rc.reconcile(
            session,
            service.runtime.chain.client(),
            witnesses=[("https://witness.example/w", vkey)],
            http=client,
        )
    assert not report.ok
    assert [p.code for p in report.problems] == ["witness_ahead"]
    assert report.lost == rc.LogRange(4, 9)
    assert report.witnesses[0].size == 9


def _ranges(indices: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return out


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
