"""The chain client suite against real nodes: a Hardhat node and geth in --dev mode.

Each node runs once per module on free loopback ports, in a temporary directory;
each test deploys its own registry. Without the binaries the tests skip with the
reason, except under ``CI=true``, where they fail (install with ``npm ci`` and
``scripts/install-geth.sh``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3.types import RPCEndpoint

from ipnotary.chain import EvidenceRegistryClient, errors
from tests.integration.chain_backends import (
    ADMIN,
    ADMIN_KEY,
    NodeBackend,
    NodeProcess,
    start_geth,
    start_hardhat,
    unique_root,
)
from tests.integration.registry_suite import RegistryClientSuite


def _funded_backend(node: NodeProcess, state_dir: Path) -> NodeBackend:
    backend = NodeBackend(state_dir, node.url)
    if backend.w3.eth.get_balance(ADMIN) < 10**18:
        backend.fund(ADMIN, 10**21)
    return backend


@pytest.fixture(scope="module")
def hardhat_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_hardhat(tmp_path_factory.mktemp("hardhat"))
    yield node
    node.stop()


@pytest.fixture(scope="module")
def geth_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_geth(tmp_path_factory.mktemp("geth"))
    yield node
    node.stop()


@pytest.mark.hardhat
class TestHardhatRegistryClient(RegistryClientSuite):
    @pytest.fixture
    def backend(self, hardhat_node: NodeProcess, tmp_path: Path) -> NodeBackend:
        return _funded_backend(hardhat_node, tmp_path)

    def test_chain_id_is_hardhats(self, backend: NodeBackend) -> None:
        assert backend.chain_id == 31337

    def test_unmined_anchor_times_out_then_completes_idempotently(
        self, backend: NodeBackend
    ) -> None:
        client = EvidenceRegistryClient.connect_rpc(
            backend.url, private_key=ADMIN_KEY, state_dir=backend.state_dir, timeout=1.5
        )
        root = unique_root()
        backend.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
        try:
            with pytest.raises(errors.TransactionTimeout, match="not mined within") as info:
                client.anchor_root(root, 1)
            assert info.value.tx_hash is not None
            assert "anchor_root() again" in str(info.value)
        finally:
            backend.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])
        backend.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        # The retry finds the transaction that timed out, now mined: no second anchor.
        receipt = client.anchor_root(root, 1)
        assert receipt.tx_hash == info.value.tx_hash
        assert client.batch_count() == 1


@pytest.mark.geth
class TestGethRegistryClient(RegistryClientSuite):
    @pytest.fixture
    def backend(self, geth_node: NodeProcess, tmp_path: Path) -> NodeBackend:
        return _funded_backend(geth_node, tmp_path)

    def test_confirmations_wait_for_later_blocks(self, backend: NodeBackend) -> None:
        # geth --dev.period 1 seals a block every second, so depth comes by itself.
        client = EvidenceRegistryClient.connect_rpc(
            backend.url, private_key=ADMIN_KEY, state_dir=backend.state_dir, confirmations=3
        )
        receipt = client.anchor_root(unique_root(), 4)
        assert client.head() >= receipt.block_number + 2

    def test_node_that_stops_is_chain_unavailable(self, tmp_path: Path) -> None:
        node = start_geth(tmp_path)
        backend = _funded_backend(node, tmp_path)
        client = backend.connect()
        client.anchor_root(unique_root(), 1)
        node.stop()
        with pytest.raises(errors.ChainUnavailable, match="cannot reach the chain node"):
            client.check()
        with pytest.raises(errors.ChainUnavailable):
            client.anchor_root(unique_root(), 2)
