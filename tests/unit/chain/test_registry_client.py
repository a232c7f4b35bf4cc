"""The chain client on the embedded chain (the shared suite), plus what only a unit test can
reach."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

from ipnotary.chain import AnchorReader, EvidenceRegistryClient, errors
from ipnotary.chain._artifacts import ContractArtifact, RevertDecoder, load_artifact
from tests.conftest import free_port
from tests.integration.chain_backends import ADMIN_KEY, EmbeddedBackend, unique_root
from tests.integration.registry_suite import RegistryClientSuite


class TestEmbeddedRegistryClient(RegistryClientSuite):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[EmbeddedBackend]:
        backend = EmbeddedBackend(tmp_path)
        yield backend
        backend.close()


def test_unreachable_node_is_chain_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(errors.ChainUnavailable, match="cannot reach the chain node") as info:
        EvidenceRegistryClient.connect_rpc(
            url, private_key=ADMIN_KEY, registry_address=None, state_dir="x"
        )
    assert url in str(info.value) and "RPC URL" in str(info.value)
    assert isinstance(info.value, ConnectionError)
    with pytest.raises(errors.ChainUnavailable):
        AnchorReader.from_rpc(url, registry_address=Account.create().address)


def test_rpc_client_needs_an_address_or_a_state_dir(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path)
    try:
        with pytest.raises(
            errors.ChainError, match="neither a contract address nor a state directory"
        ):
            EvidenceRegistryClient(backend.w3, private_key=ADMIN_KEY)
    finally:
        backend.close()


def test_bad_private_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0x" + "zz" * 32
    with pytest.raises(errors.ChainError, match="not a 32-byte secp256k1 key") as info:
        EvidenceRegistryClient.connect_embedded(tmp_path, private_key=secret)
    assert secret not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


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


def test_revert_decoder_reads_any_abi_and_builtin_errors() -> None:
    pledge = load_artifact("PledgeRegistry")
    decoder = RevertDecoder([load_artifact("EvidenceRegistry").abi, pledge.abi])
    from eth_abi import abi as eth_abi
    from eth_utils import function_signature_to_4byte_selector as selector

    data = selector("Error(string)") + eth_abi.encode(["string"], ["nope"])
    assert decoder.decode(data).name == "Error"
    assert decoder.decode(data).args == {"message": "nope"}
    assert decoder.decode(
        selector("Panic(uint256)") + eth_abi.encode(["uint256"], [0x11])
    ).args == {"code": 0x11}
    pledge_errors = [item for item in pledge.abi if item["type"] == "error" and item["inputs"]]
    assert pledge_errors, "PledgeRegistry declares custom errors with arguments"
    assert decoder.decode(b"\xde\xad\xbe\xef").name is None
    assert decoder.decode(b"\x01").name is None


def test_unknown_custom_error_keeps_raw_data() -> None:
    error = errors.revert_error_class(None)(None, data=b"\xde\xad\xbe\xef", function="anchor")
    assert "unrecognised revert data 0xdeadbeef" in str(error)


def test_artifact_validation_says_how_to_rebuild() -> None:
    with pytest.raises(errors.ArtifactError, match="npm run export-artifacts"):
        ContractArtifact.from_json({"contractName": "X", "abi": []})
    with pytest.raises(errors.ArtifactError, match="unlinked library"):
        ContractArtifact.from_json(
            {
                "contractName": "X",
                "abi": [],
                "bytecode": "0x60__$abc$__",
                "deployedBytecode": "0x00",
            }
        )


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
