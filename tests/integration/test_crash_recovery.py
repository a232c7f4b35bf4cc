"""``kill -9`` in the middle of 5,000 submissions: every acknowledged receipt is anchored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from chain import AnchorReader
from client_sdk import NotaryClient, verify_certificate
from notary.storage.db import create_db_engine
from notary.storage.models import Batch, Record
from tests.integration.service_process import DigestSubmitter, ServiceProcess

TOTAL = 5_000
PER_REQUEST = 25


@pytest.mark.slow
def test_kill_9_during_submissions_loses_nothing_and_anchors_once(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path / "data", env={"NOTARY_BATCH_MAX_ITEMS": "400",
                                                 "NOTARY_BATCH_INTERVAL_SECONDS": "0.3"})
    key = svc.create_principal("Crash Test Ltd", "holder")
    submitter = DigestSubmitter(svc, key, total=TOTAL, per_request=PER_REQUEST)
    acknowledged = submitter.acknowledged
    svc.start()
    kills = 0
    submitter.start()
    try:
        for threshold in (TOTAL // 3, 2 * TOTAL // 3):
            submitter.wait_for(threshold)
            svc.kill()
            kills += 1
            time.sleep(0.5)
            svc.start()
        submitter.join()
        assert len(acknowledged) == TOTAL
        with NotaryClient(svc.url, key) as client:
            deadline = time.monotonic() + 300
            while client.ready()["pending_records"] > 0 and time.monotonic() < deadline:
                time.sleep(0.5)
            # Certificates of a sample (all are checked through the database below).
            sample = sorted(acknowledged)[:: TOTAL // 50]
            for rid in sample:
                client.wait_anchored(rid, timeout=120)
            certs = [client.certificate(rid) for rid in sample]
    finally:
        svc.stop()
    assert kills == 2

    engine = create_db_engine(f"sqlite:///{svc.data_dir / 'notary.db'}")
    with Session(engine) as session:
        records = {r.id: r for r in session.exec(select(Record))}
        batches = session.exec(select(Batch)).all()
        assert session.exec(select(func.count()).select_from(Record)).one() == TOTAL
    engine.dispose()
    # Each acknowledged receipt is one stored record with the leaf hash it promised.
    assert {rid: records[rid].leaf_hash for rid in acknowledged} == acknowledged
    assert all(r.batch_seq is not None for r in records.values())
    assert all(b.status == "anchored" for b in batches)
    assert sum(b.size for b in batches) == TOTAL

    reader = AnchorReader.from_embedded(svc.data_dir / "chain")
    try:
        # Exactly once: the chain holds one batch per database batch, no more, no fewer.
        assert reader.batch_count() == len(batches)
        assert sorted(b.chain_batch_id for b in batches) == list(range(1, len(batches) + 1))
        for b in batches:
            on_chain = reader.find_root(bytes.fromhex(b.root))
            assert on_chain is not None and on_chain.batch_id == b.chain_batch_id
            assert on_chain.leaf_count == b.size
    finally:
        reader.close()
    for cert in certs:
        verify_certificate(cert)
