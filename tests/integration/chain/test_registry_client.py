"""The chain client on the embedded chain (the shared suite), plus what only the embedded chain
shows; its errors that need no chain are in ``tests/unit/chain/test_chain_errors.py``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

from ipnotary.chain import EvidenceRegistryClient, errors
from tests.integration.chain_backends import ADMIN_KEY, EmbeddedBackend, unique_root
from tests.integration.registry_suite import RegistryClientSuite


class TestEmbeddedRegistryClient(RegistryClientSuite):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[EmbeddedBackend]:
        backend = EmbeddedBackend(tmp_path)
        yield backend
        backend.close()


def test_rpc_client_needs_an_address_or_a_state_dir(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        with pytest.raises(
            errors.ChainError, match="neither a contract address nor a state directory"
        ):
            EvidenceRegistryClient(backend.w3, private_key=ADMIN_KEY)
    finally:
        backend.close()


def test_malformed_registry_address(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        with pytest.raises(errors.ContractNotFound, match="not an Ethereum address"):
            backend.connect(registry_address="0x1234")
    finally:
        backend.close()


def test_embedded_signer_key_is_created_once(tmp_path: Path) -> None:
    client = EvidenceRegistryClient.connect_embedded(tmp_path)
    key_file = tmp_path / "signer.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    account = client.account
    address = client.registry_address
    receipt = client.anchor_root(unique_root(), 2)
    client.close()

    again = EvidenceRegistryClient.connect_embedded(tmp_path)
    try:
        assert (again.account, again.registry_address) == (account, address)
        assert again.anchor_receipt_for_root(receipt.root) == receipt
    finally:
        again.close()


def test_embedded_signer_without_genesis_funds_is_told_why(tmp_path: Path) -> None:
    EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY).close()
    (tmp_path / "deployments.json").unlink()  # so the next start has to deploy, and pay
    with pytest.raises(errors.InsufficientFunds, match="funded only") as info:
        EvidenceRegistryClient.connect_embedded(tmp_path, private_key="0x" + "d4" * 32)
    assert Account.from_key(ADMIN_KEY).address in str(info.value)
    # The failed start released the chain: the right key opens it at once.
    EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY).close()


class _PreLondonNode(Web3Middleware):
    """Makes blocks look as a node without EIP-1559 serves them: no base fee."""

    def response_processor(self, method: RPCEndpoint, response: RPCResponse) -> RPCResponse:
        if method.startswith("eth_getBlockBy") and isinstance(response.get("result"), Mapping):
            result = dict(response["result"])
            result.pop("baseFeePerGas", None)
            return cast(RPCResponse, {**response, "result": result})
        return response


def test_chain_without_base_fee_gets_legacy_transactions(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        client = backend.connect()
        backend.w3.middleware_onion.add(_PreLondonNode, name="pre-london")
        receipt = client.anchor_root(unique_root(), 1)
        tx = backend.w3.eth.get_transaction(cast(Any, receipt.tx_hash))
        assert tx["type"] == 0 and tx["gasPrice"] > 0
    finally:
        backend.close()


def test_missing_block_is_block_not_found(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        client = backend.connect()
        with pytest.raises(errors.BlockNotFound, match="is not on chain 1337") as info:
            client.block(10_000)
        assert isinstance(info.value, LookupError)
    finally:
        backend.close()
