"""The chain client test suite, written once: :class:`RegistryClientSuite`.

It holds every behaviour test of :class:`chain.EvidenceRegistryClient` and
:class:`chain.AnchorReader`. A test module subclasses it once per backend and provides a
``backend`` fixture returning a :class:`tests.integration.chain_backends.ChainBackend`:

* ``tests/integration/chain/test_registry_client.py`` - the embedded py-evm chain;
* ``tests/integration/test_chain_nodes.py`` - a Hardhat node and geth ``--dev``.

Each test's registry is fresh, so its log starts empty: every test anchors
checkpoints of growing tree sizes, as the one log of a deployment does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ipnotary.chain import EvidenceRegistryClient, errors
from ipnotary.chain._deployments import DEPLOYMENTS_FILE
from tests.integration.chain_backends import (
    OTHER,
    OTHER_KEY,
    POOR,
    POOR_KEY,
    ChainBackend,
    anchor_in_v1,
    deploy_foreign_contract,
    deploy_v1_registry,
    grant_anchorer,
    unique_root,
)


class RegistryClientSuite:
    """Behaviour of the chain client that must hold on every backend.

    Each test gets a fresh state directory, so the first ``connect()`` deploys a
    fresh registry on the (possibly shared) chain.
    """

    @pytest.fixture
    def client(self, backend: ChainBackend) -> Iterator[EvidenceRegistryClient]:
        client = backend.connect()
        yield client
        client.close()

    # deploy or attach -----------------------------------------------------------------

    def test_first_start_deploys_records_and_reuses(self, backend: ChainBackend) -> None:
        first = backend.connect()
        recorded = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entry = recorded["deployments"][str(backend.chain_id)]["EvidenceRegistry"]
        assert entry["address"] == first.registry_address
        assert entry["genesis_hash"] == first.block(0).hash

        again = backend.connect()
        assert again.registry_address == first.registry_address
        assert again.chain_id == backend.chain_id
        again.check()

    def test_deployment_sent_before_a_crash_is_adopted(self, backend: ChainBackend) -> None:
        first = backend.connect()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        entry = document["deployments"][str(backend.chain_id)]["EvidenceRegistry"]
        entry["address"] = None  # as if the process died after sending the deployment
        path.write_text(json.dumps(document))
        assert backend.connect().registry_address == first.registry_address

    def test_reset_chain_is_detected(self, backend: ChainBackend) -> None:
        backend.connect()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        document["deployments"][str(backend.chain_id)]["EvidenceRegistry"]["genesis_hash"] = (
            "0x" + "00" * 32
        )
        path.write_text(json.dumps(document))
        with pytest.raises(errors.ChainReset, match="was reset") as info:
            backend.connect()
        assert "move" in str(info.value) and str(path) in str(info.value)

    def test_wrong_chain_id_says_which_setting_to_fix(self, backend: ChainBackend) -> None:
        actual = backend.chain_id
        with pytest.raises(errors.WrongChainId) as info:
            backend.connect(expected_chain_id=actual + 1)
        assert (info.value.expected, info.value.actual) == (actual + 1, actual)
        assert f"expected_chain_id={actual}" in str(info.value)
        assert isinstance(info.value, ValueError)

    def test_no_code_at_configured_address(self, backend: ChainBackend) -> None:
        empty = Account.create().address
        with pytest.raises(errors.ContractNotFound, match="no contract code") as info:
            backend.connect(registry_address=empty)
        assert empty in str(info.value) and "leave the address unset" in str(info.value)

    def test_other_code_at_configured_address(self, backend: ChainBackend) -> None:
        foreign = deploy_foreign_contract(backend.w3)
        with pytest.raises(errors.ContractMismatch, match="is not the EvidenceRegistry") as info:
            backend.connect(registry_address=foreign)
        assert "configure the address of a registry" in str(info.value)

    def test_attach_by_address_without_state(self, backend: ChainBackend, tmp_path: Path) -> None:
        address = backend.connect().registry_address
        attached = backend.connect(registry_address=address, state_dir=tmp_path / "unused")
        assert attached.registry_address == address
        assert not (tmp_path / "unused" / DEPLOYMENTS_FILE).exists()

    # anchoring --------------------------------------------------------------------------

    def test_anchor_receipt_matches_the_chain(self, client: EvidenceRegistryClient) -> None:
        root = unique_root()
        before = time.time()
        receipt = client.anchor_root(root, 1000)
        after = time.time()

        assert receipt.chain_id == client.chain_id
        assert receipt.contract == client.registry_address
        assert client.registry_version == 2
        assert (receipt.batch_id, receipt.root, receipt.tree_size) == (1, root, 1000)
        block = client.block(receipt.block_number)
        assert (block.hash, block.timestamp) == (receipt.block_hash, receipt.block_timestamp)
        # The block time is evidence: never before the anchoring (that would back-date it).
        # It may run ahead: chains that mine a block per transaction stamp each block at
        # least parent + 1, so a burst of blocks outruns the clock for a while.
        assert int(before) - 1 <= receipt.block_timestamp <= after + 300
        assert 21_000 < receipt.gas_used < 400_000
        tx = client.w3.eth.get_transaction(receipt.tx_hash)
        assert int(tx["blockNumber"]) == receipt.block_number

        batch = client.find_root(root)
        assert batch is not None
        assert (batch.batch_id, batch.root, batch.tree_size) == (1, root, 1000)
        assert (batch.timestamp, batch.block_number) == (
            receipt.block_timestamp,
            receipt.block_number,
        )
        assert client.get_batch(1) == batch
        assert client.anchor_receipt_for_root(root) == receipt
        assert client.batch_count() == 1
        assert client.anchor_root(unique_root(), 1001).batch_id == 2

    def test_anchor_root_is_idempotent(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        first = client.anchor_root(root, 3)
        nonce = client.w3.eth.get_transaction_count(client.account)
        assert client.anchor_root(root, 3) == first
        # A fresh client (e.g. after a crash) gets the same anchor back, sending nothing,
        # even after the log has grown past that checkpoint.
        client.anchor_root(unique_root(), 5)
        assert backend.connect().anchor_root(root, 3) == first
        assert client.w3.eth.get_transaction_count(client.account) == nonce + 1
        assert client.batch_count() == 2

    def test_duplicate_root_on_a_fresh_client_is_decoded(self, backend: ChainBackend) -> None:
        root = unique_root()
        anchored = backend.connect().anchor_root(root, 3)
        fresh = backend.connect()
        with pytest.raises(errors.RootAlreadyAnchored) as info:
            fresh.anchor_root(root, 3, allow_existing=False)
        assert info.value.error_name == "EvidenceRegistryRootAlreadyAnchored"
        assert info.value.error_args == {"root": root, "batchId": anchored.batch_id}
        assert "anchor_receipt_for_root" in str(info.value)

    def test_same_root_with_another_tree_size_is_refused(
        self, client: EvidenceRegistryClient
    ) -> None:
        root = unique_root()
        client.anchor_root(root, 3)
        with pytest.raises(
            errors.InvalidAnchorInput, match="already anchored as batch 1 with tree_size 3, not 4"
        ):
            client.anchor_root(root, 4)

    def test_tree_size_that_does_not_grow_is_refused(self, client: EvidenceRegistryClient) -> None:
        client.anchor_root(unique_root(), 10)
        nonce = client.w3.eth.get_transaction_count(client.account)
        for tree_size in (10, 9, 1):
            root = unique_root()
            with pytest.raises(errors.TreeSizeNotGrowing) as info:
                client.anchor_root(root, tree_size)
            assert (info.value.tree_size, info.value.latest_tree_size) == (tree_size, 10)
            assert info.value.error_name == "EvidenceRegistryTreeSizeNotGrowing"
            assert isinstance(info.value, ValueError)
            assert client.find_root(root) is None
        message = str(info.value)
        assert "checkpoint of 10 leaves" in message and "shrunk or forked" in message
        assert "latest_checkpoint()" in message
        # Refused at the gas estimate: nothing was sent, and the log goes on from 10.
        assert client.w3.eth.get_transaction_count(client.account) == nonce
        assert client.anchor_root(unique_root(), 11).batch_id == 2

    def test_empty_log_is_refused(self, client: EvidenceRegistryClient) -> None:
        with pytest.raises(
            errors.TreeSizeNotGrowing, match="an empty log has no checkpoint"
        ) as info:
            client.anchor_root(unique_root(), 0)
        assert (info.value.tree_size, info.value.latest_tree_size) == (0, 0)
        assert client.batch_count() == 0

    def test_zero_root_is_refused(self, client: EvidenceRegistryClient) -> None:
        nonce = client.w3.eth.get_transaction_count(client.account)
        with pytest.raises(errors.ZeroRoot) as info:
            client.anchor_root(bytes(32), 5)
        assert info.value.error_name == "EvidenceRegistryZeroRoot"
        assert "anchor the real root" in str(info.value)
        assert isinstance(info.value, ValueError)
        assert client.w3.eth.get_transaction_count(client.account) == nonce  # nothing was sent

    @pytest.mark.parametrize(
        ("root", "tree_size"),
        [
            (b"\x01" * 31, 1),
            ("ab" * 32, 1),
            (b"\x01" * 32, -1),
            (b"\x01" * 32, 2**64),
            (b"\x01" * 32, True),
        ],
        ids=["short-root", "str-root", "negative-size", "size-over-uint64", "bool-size"],
    )
    def test_malformed_input_is_refused_before_any_rpc(
        self, client: EvidenceRegistryClient, root: Any, tree_size: Any
    ) -> None:
        with pytest.raises(errors.InvalidAnchorInput):
            client.anchor_root(root, tree_size)

    def test_missing_role_names_account_role_and_fix(self, backend: ChainBackend) -> None:
        admin = backend.connect()
        outsider = backend.connect(private_key=OTHER_KEY, registry_address=admin.registry_address)
        with pytest.raises(errors.MissingRole) as info:
            outsider.anchor_root(unique_root(), 1)
        message = str(info.value)
        assert info.value.error_args["account"].lower() == OTHER.lower()
        assert "ANCHORER_ROLE" in message and "grantRole(" in message
        assert admin.registry_address in message
        assert isinstance(info.value, PermissionError)

        grant_anchorer(admin, OTHER)  # the fix the message names works
        backend.fund(OTHER)
        assert outsider.anchor_root(unique_root(), 1).batch_id == 1

    def test_unfunded_signer_gets_insufficient_funds(self, backend: ChainBackend) -> None:
        admin = backend.connect()
        grant_anchorer(admin, POOR)
        poor = backend.connect(private_key=POOR_KEY, registry_address=admin.registry_address)
        with pytest.raises(errors.InsufficientFunds, match="cannot pay for gas") as info:
            poor.anchor_root(unique_root(), 1)
        assert "fund" in str(info.value)

    # reading ----------------------------------------------------------------------------

    def test_unknown_root_and_batch(self, client: EvidenceRegistryClient) -> None:
        assert client.find_root(unique_root()) is None
        assert client.anchor_receipt_for_root(unique_root()) is None
        with pytest.raises(errors.UnknownBatch, match="ids run from 1") as info:
            client.get_batch(7)
        assert info.value.error_args == {"batchId": 7}
        assert isinstance(info.value, LookupError)

    def test_latest_checkpoint_follows_the_log(self, backend: ChainBackend) -> None:
        client = backend.connect()
        reader = backend.reader(client.registry_address)
        assert client.latest_checkpoint() is None and reader.latest_checkpoint() is None
        client.anchor_root(unique_root(), 4)
        newest = client.anchor_root(unique_root(), 7)
        latest = reader.latest_checkpoint()
        assert latest is not None
        assert (latest.batch_id, latest.root, latest.tree_size) == (2, newest.root, 7)
        assert (latest.timestamp, latest.block_number) == (
            newest.block_timestamp,
            newest.block_number,
        )
        assert latest == client.get_batch(client.batch_count())

    def test_anchor_from_transaction_reads_the_event_of_this_registry(
        self, backend: ChainBackend
    ) -> None:
        client = backend.connect()
        first = client.anchor_root(unique_root(), 2)
        second = client.anchor_root(unique_root(), 6)
        reader = backend.reader(client.registry_address)
        assert reader.anchor_from_transaction(first.tx_hash) == first
        assert reader.anchor_from_transaction(second.tx_hash.upper().replace("0X", "0x")) == second
        assert reader.anchor_from_transaction(second.tx_hash, root=second.root) == second

        # The certificate names a transaction that anchored another checkpoint.
        with pytest.raises(errors.AnchorEventNotFound, match="not 0x") as info:
            reader.anchor_from_transaction(first.tx_hash, root=second.root)
        assert info.value.tx_hash == first.tx_hash and isinstance(info.value, LookupError)

        # The same transaction read against another registry anchored nothing there.
        elsewhere = backend.connect(state_dir=backend.state_dir / "elsewhere")
        with pytest.raises(errors.AnchorEventNotFound, match="anchored nothing in this registry"):
            backend.reader(elsewhere.registry_address).anchor_from_transaction(first.tx_hash)

        # A transaction that is no anchor at all, and one that never happened.
        grant = grant_anchorer(client, OTHER)
        with pytest.raises(errors.AnchorEventNotFound, match="emitted no CheckpointAnchored"):
            reader.anchor_from_transaction("0x" + bytes(grant["transactionHash"]).hex())
        with pytest.raises(errors.AnchorEventNotFound, match="is not mined on chain"):
            reader.anchor_from_transaction("0x" + "ab" * 32)
        for malformed in ("0x1234", "ab" * 32, b"\xab" * 32):
            with pytest.raises(errors.InvalidAnchorInput, match="0x and 64 hex digits"):
                reader.anchor_from_transaction(malformed)

    def test_genesis_hash_names_the_chain(self, backend: ChainBackend) -> None:
        client = backend.connect()
        genesis = client.genesis_hash()
        assert genesis == "0x" + bytes(backend.w3.eth.get_block(0)["hash"]).hex()
        assert genesis == genesis.lower() and len(genesis) == 66
        assert backend.reader(client.registry_address).genesis_hash() == genesis
        # The same hash the deployments book pins against a reset chain.
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        assert book["deployments"][str(backend.chain_id)]["EvidenceRegistry"]["genesis_hash"] == (
            genesis
        )

    def test_reader_without_key_reads_anchors(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        receipt = client.anchor_root(root, 9)
        reader = backend.reader(client.registry_address)
        reader.check()
        assert reader.chain_id == client.chain_id
        assert reader.registry_version == 2
        assert reader.anchor_receipt_for_root(root) == receipt
        assert reader.find_root(root) == client.find_root(root)
        assert reader.head() >= receipt.block_number
        block = reader.block(receipt.block_hash)
        assert (block.number, block.timestamp) == (receipt.block_number, receipt.block_timestamp)
        assert not hasattr(reader, "anchor_root")

    # version 1 registries ------------------------------------------------------------------

    def test_recorded_v1_registry_stays_readable_and_v2_is_deployed_beside_it(
        self, backend: ChainBackend
    ) -> None:
        # A data directory from an earlier release: its book records a v1 registry
        # holding the anchors of v1 certificates.
        v1_address = deploy_v1_registry(backend.w3, backend.state_dir)
        v1_root = unique_root()
        v1_tx = anchor_in_v1(backend.w3, v1_address, v1_root, 5)

        client = backend.connect()  # starts instead of refusing the old code
        assert client.registry_address != v1_address
        assert client.registry_version == 2
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entries = book["deployments"][str(backend.chain_id)]
        assert entries["EvidenceRegistry"]["address"] == client.registry_address
        assert entries["EvidenceRegistry/1"]["address"] == v1_address
        # The new log starts empty: v1 batches do not count as its checkpoints.
        assert client.anchor_root(unique_root(), 1).batch_id == 1
        assert backend.connect().registry_address == client.registry_address  # no third deploy

        reader = backend.reader(v1_address)
        reader.check()
        assert reader.registry_version == 1
        found = reader.find_root(v1_root)
        assert found is not None and (found.batch_id, found.tree_size) == (1, 5)
        receipt = reader.anchor_receipt_for_root(v1_root)
        assert receipt is not None
        assert (receipt.contract, receipt.root, receipt.tree_size) == (v1_address, v1_root, 5)
        assert receipt.tx_hash == "0x" + bytes(v1_tx["transactionHash"]).hex()
        assert receipt.block_number == v1_tx["blockNumber"]
        assert reader.anchor_from_transaction(receipt.tx_hash) == receipt
        assert reader.latest_checkpoint() == found
        # The v2 reader of the new registry does not take the v1 event for its own.
        with pytest.raises(errors.AnchorEventNotFound):
            backend.reader(client.registry_address).anchor_from_transaction(receipt.tx_hash)

    def test_v1_registry_is_never_anchored_into(self, backend: ChainBackend) -> None:
        v1_address = deploy_v1_registry(backend.w3, backend.state_dir / "old")
        with pytest.raises(errors.ContractMismatch, match="holds a version 1") as info:
            backend.connect(registry_address=v1_address)
        assert "reads but does not anchor into" in str(info.value)

    # concurrency and restarts -------------------------------------------------------------

    def test_concurrent_anchors_share_one_key(self, backend: ChainBackend) -> None:
        # Two clients with the same key and separate nonce locks, each anchoring its own
        # log (its own registry): their nonces clash and must be retried, never lost or
        # duplicated, and each log stays in order.
        first = backend.connect()
        second = backend.connect(state_dir=backend.state_dir / "second")
        assert first.registry_address != second.registry_address
        roots = {
            client.registry_address: [unique_root() for _ in range(4)] for client in (first, second)
        }

        def anchor_log(client: EvidenceRegistryClient) -> list[Any]:
            log = roots[client.registry_address]
            return [client.anchor_root(root, size) for size, root in enumerate(log, start=1)]

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(anchor_log, (first, second)))
        for client, receipts in zip((first, second), results, strict=True):
            assert [(r.batch_id, r.tree_size) for r in receipts] == [(i, i) for i in range(1, 5)]
            assert [r.root for r in receipts] == roots[client.registry_address]
            latest = client.latest_checkpoint()
            assert latest is not None and latest.tree_size == 4
        nonces = [
            int(first.w3.eth.get_transaction(r.tx_hash)["nonce"])
            for receipts in results
            for r in receipts
        ]
        assert len(set(nonces)) == len(nonces) == 8

    def test_same_root_from_racing_senders_is_anchored_once(self, backend: ChainBackend) -> None:
        first = backend.connect()
        second = backend.connect(registry_address=first.registry_address)
        root = unique_root()
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(
                pool.map(lambda i: (first, second)[i % 2].anchor_root(root, 5), range(4))
            )
        # Losers of the race (refused at estimate, or mined and reverted) return the winner.
        assert len(set(receipts)) == 1
        assert first.batch_count() == 1

    def test_racing_checkpoints_never_shrink_the_log(self, backend: ChainBackend) -> None:
        # Two senders anchoring different checkpoints at once: whichever lands second
        # must be larger, or be refused as not growing (at the estimate, or mined in the
        # same block after the other and reverted), never as an unexplained revert.
        first = backend.connect()
        second = backend.connect(registry_address=first.registry_address)
        start = threading.Barrier(2)
        outcomes: dict[int, Any] = {}

        def anchor(client: EvidenceRegistryClient, tree_size: int) -> None:
            start.wait()
            try:
                outcomes[tree_size] = client.anchor_root(unique_root(), tree_size)
            except errors.ChainError as exc:
                outcomes[tree_size] = exc

        threads = [
            threading.Thread(target=anchor, args=(first, 10)),
            threading.Thread(target=anchor, args=(second, 5)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not isinstance(outcomes[10], Exception), outcomes[10]
        small = outcomes[5]
        if isinstance(small, Exception):
            assert isinstance(small, errors.TreeSizeNotGrowing), small
            assert (small.tree_size, small.latest_tree_size) == (5, 10)
            assert first.batch_count() == 1
        else:
            assert (small.batch_id, outcomes[10].batch_id) == (1, 2)
        sizes = [first.get_batch(i).tree_size for i in range(1, first.batch_count() + 1)]
        assert sizes == sorted(set(sizes))

    def test_restart_continues_with_the_same_registry(self, backend: ChainBackend) -> None:
        client = backend.connect()
        one = client.anchor_root(unique_root(), 1)
        client.close()
        restarted = backend.connect()
        two = restarted.anchor_root(unique_root(), 2)
        assert restarted.registry_address == one.contract
        assert two.batch_id == one.batch_id + 1
