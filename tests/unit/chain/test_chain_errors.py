"""The chain layer's errors that need no chain: a node that does not answer, a malformed key,
revert data decoded against every ABI, and artifacts that say how to rebuild them."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from ipnotary.chain import AnchorReader, EvidenceRegistryClient, errors
from ipnotary.chain._artifacts import ContractArtifact, RevertDecoder, load_artifact
from tests.conftest import free_port

A_KEY = "0x" + "a1" * 32  # any well-formed key: nothing is sent


def test_unreachable_node_is_chain_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(errors.ChainUnavailable, match="cannot reach the chain node") as info:
        EvidenceRegistryClient.connect_rpc(
            url, private_key=A_KEY, registry_address=None, state_dir="x"
        )
    assert url in str(info.value) and "RPC URL" in str(info.value)
    assert isinstance(info.value, ConnectionError)
    with pytest.raises(errors.ChainUnavailable):
        AnchorReader.from_rpc(url, registry_address=Account.create().address)


def test_bad_private_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "0x" + "zz" * 32
    with pytest.raises(errors.ChainError, match="not a 32-byte secp256k1 key") as info:
        EvidenceRegistryClient.connect_embedded(tmp_path, private_key=secret)
    assert secret not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


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
