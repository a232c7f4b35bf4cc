"""What the operations suites share: two ``notary serve`` processes of one deployment on a real
chain node (:func:`shared`, the settings they share); ``service_process.start_all`` starts them
together, as an orchestrator does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ipnotary.chain import EvidenceRegistryClient
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from tests.integration.chain_backends import NodeProcess
from tests.integration.conftest import fund_new_account


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
