"""The committed contract artifacts (ARTIFACT_DIR) match the Solidity sources and work from
Python.

The chain layer deploys contracts from these JSON files so that a `pip install` needs no Node and no
compiler. Three kinds of checks keep them honest:

1. Always: each artifact is well formed and the SHA-256 of every source it lists matches the file
   under contracts/, so a .sol edited without re-exporting fails
   (``tests/unit/chain/test_artifact_files.py``, which reads files only).
2. When Node and the npm packages are installed (always in CI): a fresh compile reproduces the
   committed files byte for byte, and the Hardhat contract tests pass.
3. Always: the committed bytecode deploys and runs on the embedded py-evm chain: anchoring stays
   within the gas budget, the evidence registry refuses a log that does not grow and the pledge
   registry a double pledge.

The frozen artifacts of earlier versions (ARTIFACT_DIR/legacy/) are outside all of this: they are
never rebuilt, and a pinned digest keeps them byte for byte as the earlier release deployed them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.types import TxParams

from tests.conftest import missing_component

ROOT = Path(__file__).resolve().parents[3]
ARTIFACT_DIR = ROOT / "chain" / "src" / "ipnotary" / "chain" / "artifacts"

# Product target: at most 100 gas per item for 1,000-item batches. The whole transaction, 21,000
# base cost included, has to stay well under that.
ANCHOR_GAS_LIMIT = 80_000

# solcjs compiles in WebAssembly, which is slow on a cold cache and a busy machine.
NODE_TIMEOUT_SECONDS = 600


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


# 2. Fresh compile and Hardhat tests (need Node)
#    ----------------------------------------------------------


def _require_node_toolchain() -> None:
    missing = [
        what
        for what, present in (
            ("node", shutil.which("node") is not None),
            ("npx", shutil.which("npx") is not None),
            ("node_modules/hardhat", (ROOT / "node_modules" / "hardhat").is_dir()),
        )
        if not present
    ]
    if not missing:
        return
    missing_component(
        f"{', '.join(missing)} not found; install Node 20+ and run `npm ci` in {ROOT}"
    )


def _run_node(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )


def test_committed_artifacts_match_a_fresh_compile() -> None:
    _require_node_toolchain()
    result = _run_node("node", "scripts/export-artifacts.js", "--check")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


def test_hardhat_contract_tests_pass() -> None:
    _require_node_toolchain()
    # --no: never let npx fetch a package from the registry.
    result = _run_node("npx", "--no", "hardhat", "test")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


# 3. The committed bytecode on the embedded py-evm chain
#    ---------------------------------------------------


@pytest.fixture
def w3() -> Web3:
    return Web3(EthereumTesterProvider())


def _deploy(w3: Web3, name: str, *args: Any) -> Contract:
    data = _load(ARTIFACT_DIR / f"{name}.json")
    factory = w3.eth.contract(abi=data["abi"], bytecode=data["bytecode"])
    tx_hash = factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=data["abi"]))


def _revert_data(exc: BaseException) -> bytes:
    """The raw revert data, which eth-tester keeps as the bytes argument of an exception in the
    chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if seen.args and isinstance(seen.args[0], bytes):
            return seen.args[0]
        seen = seen.__cause__ or seen.__context__
    raise AssertionError(f"no revert data in {exc!r}")


def _custom_error(contract: Contract, exc: BaseException) -> tuple[str, tuple[Any, ...]]:
    """Decodes a custom-error revert into (error name, arguments) using the contract's ABI."""
    data = _revert_data(exc)
    for entry in contract.abi:
        if entry["type"] != "error":
            continue
        types = [arg["type"] for arg in entry["inputs"]]
        selector = Web3.keccak(text=f"{entry['name']}({','.join(types)})")[:4]
        if data[:4] == selector:
            return entry["name"], tuple(contract.w3.codec.decode(types, data[4:]))
    raise AssertionError(f"revert data {data.hex()} matches no error in the ABI")


def test_evidence_registry_anchors_a_growing_log_on_py_evm(w3: Web3) -> None:
    admin = w3.eth.accounts[0]
    registry = _deploy(w3, "EvidenceRegistry", admin)
    assert registry.functions.version().call() == "EvidenceRegistry/2"

    gas_used = []
    roots = [Web3.keccak(text=f"checkpoint {i}") for i in range(3)]
    for size, root in enumerate(roots, start=1):
        tx_hash = registry.functions.anchor(root, 1000 * size).transact({"from": admin})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        gas_used.append(receipt["gasUsed"])
    assert max(gas_used) < ANCHOR_GAS_LIMIT, f"anchor gas {gas_used} exceeds {ANCHOR_GAS_LIMIT}"

    block = w3.eth.get_block(receipt["blockNumber"])
    batch_id, batch = registry.functions.findRoot(roots[-1]).call()
    assert batch_id == 3
    assert tuple(batch) == (roots[-1], 3000, block["timestamp"], block["number"])
    assert registry.functions.latestCheckpoint().call() == [3, batch]
    assert registry.functions.isAnchored(roots[0]).call()
    assert registry.functions.batchCount().call() == 3

    with pytest.raises(TransactionFailed) as excinfo:
        registry.functions.anchor(roots[0], 1).transact({"from": admin})
    assert _custom_error(registry, excinfo.value) == (
        "EvidenceRegistryRootAlreadyAnchored",
        (roots[0], 1),
    )
    with pytest.raises(TransactionFailed) as excinfo:
        registry.functions.anchor(Web3.keccak(text="forked"), 2999).transact({"from": admin})
    assert _custom_error(registry, excinfo.value) == (
        "EvidenceRegistryTreeSizeNotGrowing",
        (2999, 3000),
    )


def test_pledge_registry_refuses_a_double_pledge_on_py_evm(w3: Web3) -> None:
    registrar = w3.eth.accounts[0]
    as_registrar: TxParams = {"from": registrar}
    registry = _deploy(w3, "PledgeRegistry", registrar)
    assert registry.functions.version().call() == "PledgeRegistry/2"
    asset = Web3.keccak(text="patent:ZL202310000001.X")
    pledgor, pledgee, other_pledgee = (Web3.keccak(text=p) for p in ("owner", "bank", "other bank"))
    terms = Web3.keccak(text="terms")

    tx_hash = registry.functions.register(asset, pledgor, pledgee, terms).transact(as_registrar)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    assert registry.functions.activePledgeOf(asset).call() == 1

    with pytest.raises(TransactionFailed) as excinfo:
        registry.functions.register(asset, pledgor, other_pledgee, terms).transact(as_registrar)
    assert _custom_error(registry, excinfo.value) == (
        "PledgeRegistryAssetAlreadyPledged",
        (asset, 1),
    )

    consent = Web3.keccak(text="the pledgee's signed consent")
    registry.functions.release(1, pledgee, consent).transact(as_registrar)
    registry.functions.register(asset, pledgor, other_pledgee, terms).transact(as_registrar)
    assert registry.functions.pledgesOf(asset).call() == [1, 2]
    released = registry.functions.getPledge(1).call()
    assert (released[4], released[7]) == (registrar, 2)  # its registrar; status Released
