"""What the operations suites share: two ``notary serve`` processes of one deployment on a real
chain node (:func:`shared`, the settings they share; :func:`start_all`, started together as an
orchestrator starts them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipnotary.chain import EvidenceRegistryClient
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from tests.integration.chain_backends import NodeProcess
from tests.integration.conftest import fund_new_account
from tests.integration.service_process import ServiceProcess


def start_all(nodes: list[ServiceProcess]) -> None:
    errors: list[BaseException] = []

    def start(node: ServiceProcess) -> None:
        try:
            node.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@pytest.fixture
def shared(hardhat_node: NodeProcess, tmp_path: Path) -> Iterator[dict[str, str]]:
    key = fund_new_account(hardhat_node, tmp_path)
    deployer = EvidenceRegistryClient.connect_rpc(
        hardhat_node.url, private_key=key, state_dir=tmp_path / "deployer"
    )
    registry = str(deployer.registry_address)
    pledges = str(deployer.pledge_registry(None).registry_address)
    deployer.close()
    for name in ("issuer", "log"):
        load_or_create_ed25519_key(tmp_path / "keys" / f"{name}.pem", purpose=name)
    yield {
        "NOTARY_CHAIN_BACKEND": "rpc",
        "NOTARY_CHAIN_RPC_URL": hardhat_node.url,
        "NOTARY_CHAIN_PRIVATE_KEY": key,
        "NOTARY_REGISTRY_ADDRESS": registry,
        "NOTARY_PLEDGE_REGISTRY_ADDRESS": pledges,
        "NOTARY_ISSUER_KEY_FILE": str(tmp_path / "keys" / "issuer.pem"),
        "NOTARY_LOG_KEY_FILE": str(tmp_path / "keys" / "log.pem"),
        "NOTARY_BATCH_MAX_ITEMS": "20",
        "NOTARY_BATCH_INTERVAL_SECONDS": "0.3",
    }
