"""The pledge client suite against real nodes: a Hardhat node and geth in --dev mode.

The node fixtures and the funded backend come from ``test_chain_nodes`` (one node
per module, on free loopback ports); each test deploys its own registries. Without
the binaries the tests skip with the reason, except under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from web3.types import RPCEndpoint

from ipnotary.chain import EvidenceRegistryClient, PledgeAction, PledgeStatus, errors
from tests.integration.chain_backends import ADMIN_KEY, NodeBackend, NodeProcess
from tests.integration.pledge_suite import PledgeClientSuite, h32
from tests.integration.test_chain_nodes import (  # noqa: F401 - pytest fixtures, used by name
    _funded_backend,
    geth_node,
    hardhat_node,
)


@pytest.mark.hardhat
class TestHardhatPledgeClient(PledgeClientSuite):
    @pytest.fixture
    def backend(self, hardhat_node: NodeProcess, tmp_path: Path) -> NodeBackend:  # noqa: F811 - the suite's backend, on this node
        return _funded_backend(hardhat_node, tmp_path)

    def test_chain_id_is_hardhats(self, backend: NodeBackend) -> None:
        assert backend.chain_id == 31337

    def test_unmined_register_and_release_time_out_then_complete_idempotently(
        self, backend: NodeBackend
    ) -> None:
        registry = EvidenceRegistryClient.connect_rpc(
            backend.url, private_key=ADMIN_KEY, state_dir=backend.state_dir, timeout=1.5
        )
        pledges = registry.pledge_registry()
        values = asset, _, pledgee, _ = (h32(), h32(), h32(), h32())

        def unmined(call: object) -> errors.TransactionTimeout:
            backend.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
            try:
                with pytest.raises(errors.TransactionTimeout, match="not mined within") as info:
                    call()  # type: ignore[operator]
            finally:
                backend.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])
            backend.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
            assert info.value.tx_hash is not None
            return info.value

        timed_out = unmined(lambda: pledges.register(*values))
        assert "register() again" in str(timed_out)
        # The retry finds the registration that timed out, now mined: no second pledge.
        registered = pledges.register(*values)
        assert registered.tx_hash == timed_out.tx_hash
        assert pledges.active_pledge_of(asset) == registered.pledge_id

        consent = h32()
        timed_out = unmined(lambda: pledges.release(registered.pledge_id, pledgee, consent))
        released = pledges.release(registered.pledge_id, pledgee, consent)
        assert (released.tx_hash, released.action) == (timed_out.tx_hash, PledgeAction.RELEASED)
        assert pledges.get_pledge(registered.pledge_id).status is PledgeStatus.RELEASED
        assert pledges.pledge_count() == 1


@pytest.mark.geth
class TestGethPledgeClient(PledgeClientSuite):
    # geth 1.17's --dev chain runs every fork up to "Bogota" (after Osaka), which
    # prices new storage far higher: register costs about 1,021,000 gas there.
    register_gas_limit = 1_100_000
    change_gas_limit = 60_000

    @pytest.fixture
    def backend(self, geth_node: NodeProcess, tmp_path: Path) -> NodeBackend:  # noqa: F811 - the suite's backend, on this node
        return _funded_backend(geth_node, tmp_path)

    def test_pledges_wait_for_the_registrys_confirmations(self, backend: NodeBackend) -> None:
        # The pledge client sends through the registry's sender, with its policy.
        registry = EvidenceRegistryClient.connect_rpc(
            backend.url, private_key=ADMIN_KEY, state_dir=backend.state_dir, confirmations=3
        )
        receipt = registry.pledge_registry().register(h32(), h32(), h32(), h32())
        assert registry.head() >= receipt.block_number + 2
