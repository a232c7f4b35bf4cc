"""The pledge client on the embedded chain (the shared suite), plus what only the embedded chain
shows.

Restart persistence uses the embedded chain's data directory, as the service does:
the PledgeRegistry recorded there is found again at the same address, and a
read-only :class:`chain.PledgeReader` reads it while the writer holds the chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from web3.exceptions import Web3RPCError

from ipnotary.chain import EvidenceRegistryClient, PledgeReader, PledgeStatus, errors
from ipnotary.chain._connection import ChainConnection
from ipnotary.chain._deployments import DEPLOYMENTS_FILE
from tests.integration.chain_backends import ADMIN_KEY, EmbeddedBackend, unique_root
from tests.integration.pledge_suite import PledgeClientSuite, h32


class TestEmbeddedPledgeClient(PledgeClientSuite):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[EmbeddedBackend]:
        backend = EmbeddedBackend(tmp_path)
        yield backend
        backend.close()


def test_embedded_restart_finds_the_pledge_registry_again(tmp_path: Path) -> None:
    registry = EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY)
    pledges = registry.pledge_registry()
    asset, pledgor, pledgee, terms = h32(), h32(), h32(), h32()
    registered = pledges.register(asset, pledgor, pledgee, terms)
    anchored = registry.anchor_root(unique_root(), 3)
    pledges.close()  # shares the registry's chain: closing it keeps the chain open
    assert registry.batch_count() == 1
    registry.close()

    book = json.loads((tmp_path / DEPLOYMENTS_FILE).read_text())
    assert book["deployments"]["1337"]["PledgeRegistry"]["address"] == registered.contract

    again = EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY)
    try:
        restarted = again.pledge_registry()
        assert restarted.registry_address == registered.contract
        assert again.registry_address == anchored.contract
        assert restarted.register(asset, pledgor, pledgee, terms) == registered  # a retry
        assert restarted.pledge_receipts(registered.pledge_id) == (registered,)

        # A verifier reads the directory while the service holds it.
        with PledgeReader.from_embedded(tmp_path) as reader:
            assert reader.registry_address == registered.contract
            assert reader.active_pledge_of(asset) == registered.pledge_id
            released = restarted.release(registered.pledge_id, pledgee, h32())
            assert reader.get_pledge(registered.pledge_id).status is PledgeStatus.RELEASED
            assert reader.active_pledge_of(asset, block=registered.block_number) == 1
            snapshot = reader.pledge_as_of(asset, released.block_timestamp)
            assert snapshot.pledge is None and snapshot.block.number == released.block_number
            with pytest.raises(errors.ReadOnlyChain):
                reader.w3.eth.send_raw_transaction(b"\x00")
    finally:
        again.close()


def test_reader_of_a_directory_without_pledge_registry_says_what_to_do(tmp_path: Path) -> None:
    EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY).close()
    with pytest.raises(errors.ContractNotFound, match="no PledgeRegistry deployment") as info:
        PledgeReader.from_embedded(tmp_path)
    assert "registry_address" in str(info.value)


def test_pledge_client_needs_an_address_or_a_state_dir(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        registry = EvidenceRegistryClient(
            backend.w3, private_key=ADMIN_KEY, state_dir=tmp_path / "state"
        )
        attached = EvidenceRegistryClient(
            backend.w3, private_key=ADMIN_KEY, registry_address=registry.registry_address
        )
        with pytest.raises(errors.ChainError, match="neither a PledgeRegistry address"):
            attached.pledge_registry()
        # An explicit state directory works for a client attached by address.
        pledges = attached.pledge_registry(state_dir=tmp_path / "state")
        assert pledges.registry_address == registry.pledge_registry().registry_address
    finally:
        backend.close()


def test_one_book_for_both_contracts_survives_concurrent_first_starts(tmp_path: Path) -> None:
    # Clients starting together on a fresh directory deploy each contract once.
    backend = EmbeddedBackend(tmp_path)

    def start(_: int) -> tuple[str, str]:
        registry = backend.connect()
        return registry.registry_address, registry.pledge_registry().registry_address

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            addresses = set(pool.map(start, range(4)))
        assert len(addresses) == 1
        book = json.loads((tmp_path / DEPLOYMENTS_FILE).read_text())
        assert set(book["deployments"]["1337"]) == {"EvidenceRegistry", "PledgeRegistry"}
    finally:
        backend.close()


def test_pruned_state_is_reported_as_historical_state_unavailable(tmp_path: Path) -> None:
    # What geth answers for a block whose state it pruned (no archive node).
    backend = EmbeddedBackend(tmp_path)
    try:
        connection = ChainConnection(backend.w3, endpoint="a pruning node")
        pruned = Web3RPCError(
            "missing trie node",
            rpc_response={"error": {"code": -32000, "message": "missing trie node 0xabc"}},
        )
        with (
            pytest.raises(errors.HistoricalStateUnavailable, match="archive node") as info,
            connection.rpc("reading a pledge at block 3"),
        ):
            raise pruned
        assert isinstance(info.value, LookupError)
    finally:
        backend.close()
