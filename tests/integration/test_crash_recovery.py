"""``kill -9`` in the middle of 5,000 submissions: every acknowledged receipt is appended to the log
once and anchored exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from ipnotary.chain import AnchorReader
from ipnotary.sdk import NotaryClient, verify_certificate
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.service.storage.db import create_db_engine
from ipnotary.service.storage.models import Record
from tests.integration.conftest import (
    check_database_and_chain_agree,
    check_valid_on_operator_time,
    served_operator_policy,
)
from tests.integration.service_process import DigestSubmitter, ServiceProcess

TOTAL = 5_000
PER_REQUEST = 25


@pytest.mark.slow
def test_kill_9_during_submissions_loses_nothing_and_anchors_once(tmp_path: Path) -> None:
    svc = ServiceProcess(
        tmp_path / "data",
        env={"NOTARY_BATCH_MAX_ITEMS": "400", "NOTARY_BATCH_INTERVAL_SECONDS": "0.3"},
    )
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
        policy = served_operator_policy(svc)
        with NotaryClient(svc.url, key, policy=policy) as client:
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
        assert session.exec(select(func.count()).select_from(Record)).one() == TOTAL
    reader = AnchorReader.from_embedded(svc.data_dir / "chain")
    try:
        # Each acknowledged receipt is one stored record with the leaf hash it promised, at its own
        # place in the one log; the chain holds one checkpoint per batch, no more, no fewer.
        agreed = check_database_and_chain_agree(engine, reader, acknowledged, policy=policy)
    finally:
        reader.close()
        engine.dispose()
    assert len(agreed.records) == TOTAL and len(agreed.batches) > 1
    view = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        for cert in certs:
            result = verify_certificate(cert, policy, chain=view)
            assert result.chain_checked
            check_valid_on_operator_time(result, policy)
    finally:
        view.close()
