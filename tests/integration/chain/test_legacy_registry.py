"""A version 1 registry, made by the release before the one-log change, stays readable.

The golden v1 certificate in ``tests/assets/certificates/v1/`` was anchored in a version 1
EvidenceRegistry on the embedded chain stored beside it. The reader must find its root there and say
that the registry is version 1; it works on a copy, since even a read-only SQLite open may leave
files behind, and the golden directory must never change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ipnotary.chain import AnchorReader, EvidenceRegistryClient, errors

GOLDEN = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"
V1_REGISTRY = "0x6a71fE1E2563327ac217AbBB40AEE076bF0d88cE"


@pytest.fixture
def certificate() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GOLDEN / "certificate.json").read_text("utf-8"))
    return document


@pytest.fixture
def chain_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "chain"
    shutil.copytree(GOLDEN / "chain", copy)
    return copy


def test_reader_finds_the_golden_v1_root_as_registry_version_1(
    chain_copy: Path, certificate: dict[str, Any]
) -> None:
    anchor = certificate["anchor"]
    root = bytes.fromhex(certificate["proof"]["root"])
    with AnchorReader.from_embedded(chain_copy) as reader:  # the address its book records
        assert reader.registry_address == V1_REGISTRY == anchor["contract"]
        assert reader.registry_version == 1
        reader.check()

        found = reader.find_root(root)
        assert found is not None
        assert (found.batch_id, found.tree_size) == (anchor["batch_id"], 1)
        assert found.tree_size == certificate["proof"]["tree_size"]
        assert (found.block_number, found.timestamp) == (
            anchor["block_number"],
            anchor["block_timestamp"],
        )

        receipt = reader.anchor_receipt_for_root(root)
        assert receipt is not None
        assert (receipt.chain_id, receipt.contract, receipt.root) == (1337, V1_REGISTRY, root)
        assert (receipt.tx_hash, receipt.block_hash) == (anchor["tx_hash"], anchor["block_hash"])
        # The certificate's transaction holds the v1 BatchAnchored event of this very root.
        assert reader.anchor_from_transaction(anchor["tx_hash"], root=root) == receipt
        assert reader.latest_checkpoint() == found
        book = json.loads((chain_copy / "deployments.json").read_text("utf-8"))
        assert (
            reader.genesis_hash() == book["deployments"]["1337"]["EvidenceRegistry"]["genesis_hash"]
        )


def test_golden_v1_registry_can_be_named_by_address(
    chain_copy: Path, certificate: dict[str, Any]
) -> None:
    # A verifier takes the address from the certificate, not from the operator's book.
    (chain_copy / "deployments.json").unlink()
    root = bytes.fromhex(certificate["proof"]["root"])
    with AnchorReader.from_embedded(chain_copy, registry_address=V1_REGISTRY.lower()) as reader:
        assert reader.registry_version == 1
        assert reader.find_root(root) is not None
        assert reader.find_root(bytes(32)) is None


def test_anchoring_client_refuses_the_golden_v1_registry(chain_copy: Path) -> None:
    # The signer key of the golden chain is not kept, so this key cannot pay for anything;
    # attaching fails on the code check, before any transaction.
    with pytest.raises(errors.ContractMismatch, match="version 1") as info:
        EvidenceRegistryClient.connect_embedded(
            chain_copy, private_key="0x" + "a1" * 32, registry_address=V1_REGISTRY
        )
    assert "leave it unset to deploy one" in str(info.value)
