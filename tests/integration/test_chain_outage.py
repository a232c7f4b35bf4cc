"""A chain node outage: receipts keep coming, readiness names the chain, anchoring resumes once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from eth_account import Account
from sqlmodel import Session, select

from chain import AnchorReader
from client_sdk import NotaryClient, verify_certificate
from notary.storage.db import create_db_engine
from notary.storage.models import Batch
from tests.integration.chain_backends import NodeBackend, free_port, start_geth
from tests.integration.service_process import ServiceProcess


def _ready(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = httpx.get(f"{url}/readyz", timeout=30)
    return r.status_code, r.json()


def test_node_down_then_back(tmp_path: Path) -> None:
    port = free_port()
    node = start_geth(tmp_path, http_port=port)
    account = Account.create()
    NodeBackend(tmp_path / "fund", node.url).fund(account.address, 10**20)
    svc = ServiceProcess(tmp_path / "data", env={
        "NOTARY_CHAIN_BACKEND": "rpc", "NOTARY_CHAIN_RPC_URL": node.url,
        "NOTARY_CHAIN_PRIVATE_KEY": account.key.hex(), "NOTARY_CHAIN_TIMEOUT_SECONDS": "20",
    })
    key = svc.create_principal("Outage Ltd", "holder")
    svc.start()
    try:
        with NotaryClient(svc.url, key) as client:
            first = client.submit_digest(sha256="01" * 32, size=1)
            client.wait_anchored(first.id, timeout=60)
            assert _ready(svc.url)[0] == 200

            node.stop()
            during = [client.submit_digest(sha256=f"{i:064x}", size=i) for i in range(2, 12)]
            assert all(s.created for s in during)  # receipts keep coming while the chain is down
            deadline = time.monotonic() + 60
            status, body = _ready(svc.url)
            while "chain" not in body["down"] and time.monotonic() < deadline:
                time.sleep(1)
                status, body = _ready(svc.url)
            assert status == 503 and "chain" in body["down"], body
            assert body["pending_records"] >= 1

            node = start_geth(tmp_path, http_port=port)  # same data directory, same port
            for sub in during:
                client.wait_anchored(sub.id, timeout=120)
            deadline = time.monotonic() + 60
            while _ready(svc.url)[0] != 200 and time.monotonic() < deadline:
                time.sleep(1)
            assert _ready(svc.url)[0] == 200
            verify_certificate(client.certificate(during[-1].id))
            registry = client.trust()["registry"]["contract"]
    finally:
        svc.stop()
        node.stop()

    node = start_geth(tmp_path, http_port=port)
    try:
        engine = create_db_engine(f"sqlite:///{svc.data_dir / 'notary.db'}")
        with Session(engine) as session:
            batches = session.exec(select(Batch)).all()
        engine.dispose()
        reader = AnchorReader.from_rpc(node.url, registry_address=registry)
        assert all(b.status == "anchored" for b in batches)
        assert reader.batch_count() == len(batches)  # nothing anchored twice across the outage
    finally:
        node.stop()
