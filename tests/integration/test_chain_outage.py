"""A chain node outage: receipts keep coming, readiness names the chain, anchoring resumes once,
and the log's checkpoints sealed during the outage are anchored in order, each once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from ipnotary.chain import AnchorReader
from ipnotary.sdk import NotaryClient, verify_certificate
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.service.storage.db import create_db_engine
from tests.conftest import free_port
from tests.integration.chain_backends import NodeBackend, start_geth
from tests.integration.conftest import (
    check_database_and_chain_agree,
    check_valid_on_operator_time,
    served_operator_policy,
)
from tests.integration.service_process import ServiceProcess


def _ready(url: str) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{url}/readyz", timeout=30)
    return r.status_code, r.json()


def test_node_down_then_back(tmp_path: Path) -> None:
    port = free_port()
    node = start_geth(tmp_path, http_port=port)
    account = Account.create()
    NodeBackend(tmp_path / "fund", node.url).fund(account.address, 10**20)
    svc = ServiceProcess(
        tmp_path / "data",
        env={
            "NOTARY_CHAIN_BACKEND": "rpc",
            "NOTARY_CHAIN_RPC_URL": node.url,
            "NOTARY_CHAIN_PRIVATE_KEY": account.key.hex(),
            "NOTARY_CHAIN_TIMEOUT_SECONDS": "20",
        },
    )
    key = svc.create_principal("Outage Ltd", "holder")
    svc.start()
    try:
        policy = served_operator_policy(svc)
        with NotaryClient(svc.url, key, policy=policy) as client:
            first = client.submit_digest(sha256="01" * 32, size=1)
            client.wait_anchored(first.id, timeout=60)
            assert _ready(svc.url)[0] == 200
            before = _ready(svc.url)[1]["checks"]["log"]["size"]
            registry = _ready(svc.url)[1]["checks"]["chain"]["contract"]

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
            # Sealing goes on without the chain: the log grows, its checkpoints wait to be anchored.
            deadline = time.monotonic() + 60
            while (
                body["checks"]["log"]["size"] < before + len(during) and time.monotonic() < deadline
            ):
                time.sleep(1)
                status, body = _ready(svc.url)
            assert body["checks"]["log"]["size"] == before + len(during), body["checks"]["log"]
            assert status == 503 and body["pending_records"] == len(during)

            node = start_geth(tmp_path, http_port=port)  # same data directory, same port
            for sub in during:
                client.wait_anchored(sub.id, timeout=120)
            deadline = time.monotonic() + 60
            while _ready(svc.url)[0] != 200 and time.monotonic() < deadline:
                time.sleep(1)
            assert _ready(svc.url)[0] == 200
            last = client.certificate(during[-1].id)
            check_valid_on_operator_time(verify_certificate(last, policy), policy)
    finally:
        svc.stop()
        node.stop()

    node = start_geth(tmp_path, http_port=port)
    engine = create_db_engine(f"sqlite:///{svc.data_dir / 'notary.db'}")
    reader = AnchorReader.from_rpc(node.url, registry_address=registry)
    try:
        # Nothing anchored twice across the outage, and the checkpoints in the order they grew.
        agreed = check_database_and_chain_agree(engine, reader, policy=policy)
        assert len(agreed.records) == 11
        view = open_chain_view(rpc_url=node.url)
        try:
            result = verify_certificate(last, policy, chain=view)
        finally:
            view.close()
        assert result.chain_checked and result.contract == registry
        check_valid_on_operator_time(result, policy)
    finally:
        reader.close()
        engine.dispose()
        node.stop()
