"""The committed contract artifacts (ARTIFACT_DIR) match the Solidity sources and work from
Python.

The chain layer deploys contracts from these JSON files so that a `pip install` needs no Node and no
compiler. Three kinds of checks keep them honest:

1. Always: each artifact is well formed and the SHA-256 of every source it lists matches the file
   under contracts/, so a .sol edited without re-exporting fails here.
2. When Node and the npm packages are installed (always in CI): a fresh compile reproduces the
   committed files byte for byte, and the Hardhat contract tests pass.
3. Always: the committed bytecode deploys and runs on the embedded py-evm chain: anchoring stays
   within the gas budget, the evidence registry refuses a log that does not grow and the pledge
   registry a double pledge.

The frozen artifacts of earlier versions (ARTIFACT_DIR/legacy/) are outside all of this: they are
never rebuilt, and a pinned digest keeps them byte for byte as the earlier release deployed them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any, cast

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.types import TxParams

from tests.conftest import missing_component

ROOT = Path(__file__).resolve().parents[3]
CHAIN_PACKAGE = ROOT / "chain" / "src" / "ipnotary" / "chain"
ARTIFACT_DIR = CHAIN_PACKAGE / "artifacts"
CONTRACTS_DIR = ROOT / "contracts"
EXPORT_HINT = "run `npm run export-artifacts` and commit chain/src/ipnotary/chain/artifacts/"
EXPECTED_CONTRACTS = {"EvidenceRegistry", "PledgeRegistry"}
# SHA-256 of each frozen artifact; a change means the code of deployed registries is no longer
# recognised.
FROZEN_ARTIFACTS = {
    "legacy/EvidenceRegistry-v1.json": (
        "5d5b86a20b19110bd637aa4f06cfdf5e81689ac8bfe63228a60f75147beba19e"
    ),
}

# Product target: at most 100 gas per item for 1,000-item batches. The whole transaction, 21,000
# base cost included, has to stay well under that.
ANCHOR_GAS_LIMIT = 80_000

# solcjs compiles in WebAssembly, which is slow on a cold cache and a busy machine.
NODE_TIMEOUT_SECONDS = 600


def _artifact_paths() -> list[Path]:
    return sorted(ARTIFACT_DIR.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ARTIFACT_IDS = [p.stem for p in _artifact_paths()]


@pytest.fixture(params=_artifact_paths(), ids=ARTIFACT_IDS)
def artifact(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    path: Path = request.param
    return path, _load(path)


# 1. Shape and source hashes
#    ------------------------------------------------------------------------------


def test_every_expected_contract_has_an_artifact() -> None:
    missing = EXPECTED_CONTRACTS - set(ARTIFACT_IDS)
    assert not missing, f"no artifact for {sorted(missing)} in {ARTIFACT_DIR}; {EXPORT_HINT}"


def test_artifact_is_well_formed(artifact: tuple[Path, dict[str, Any]]) -> None:
    path, data = artifact
    assert data["contractName"] == path.stem
    assert isinstance(data["abi"], list) and data["abi"], "empty ABI"
    for key in ("bytecode", "deployedBytecode"):
        code = data[key]
        assert code.startswith("0x") and len(code) > 2, f"{key} is empty"
        bytes.fromhex(code[2:])  # valid hex, no unlinked library placeholders
    compiler = data["compiler"]
    assert compiler["version"].startswith("0.8.")
    assert compiler["optimizer"] == {"enabled": True, "runs": 200}
    assert compiler["evmVersion"] == "cancun"
    assert data["sources"], "artifact lists no sources"


def test_artifact_sources_match_files_on_disk(artifact: tuple[Path, dict[str, Any]]) -> None:
    path, data = artifact
    for source_name, recorded in sorted(data["sources"].items()):
        source = ROOT / source_name
        assert source.is_file(), (
            f"{path.name} was compiled from {source_name}, which no longer exists; {EXPORT_HINT}"
        )
        assert _sha256(source) == recorded, (
            f"{source_name} changed since {path.name} was exported; {EXPORT_HINT}"
        )


def test_frozen_artifacts_are_unchanged() -> None:
    on_disk = {
        path.relative_to(ARTIFACT_DIR).as_posix(): _sha256(path)
        for path in ARTIFACT_DIR.glob("legacy/*.json")
    }
    assert on_disk == FROZEN_ARTIFACTS, (
        f"{ARTIFACT_DIR}/legacy/ holds frozen artifacts of earlier contract versions: restore them "
        "from git, never rebuild them (add a new frozen version with its digest here)"
    )


def test_every_artifact_is_shipped_in_the_package() -> None:
    # The chain layer loads these at run time (the frozen ones to recognise old registries), so a
    # wheel without them cannot attach to a registry at all.
    chain_project = ROOT / "chain" / "pyproject.toml"
    patterns = tomllib.loads(chain_project.read_text("utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["ipnotary.chain"]
    shipped = {path for pattern in patterns for path in CHAIN_PACKAGE.glob(pattern)}
    unshipped = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(ARTIFACT_DIR.rglob("*.json"))
        if path not in shipped
    ]
    assert not unshipped, (
        f"{unshipped} would be missing from an installed package: add their directory's *.json to "
        "[tool.setuptools.package-data] ipnotary.chain in chain/pyproject.toml"
    )


def test_every_contract_source_is_in_some_artifact() -> None:
    covered = {name for path in _artifact_paths() for name in _load(path)["sources"]}
    test_dir = CONTRACTS_DIR / "test"
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in CONTRACTS_DIR.rglob("*.sol")
        if test_dir not in p.parents
    }
    uncovered = sorted(sources - covered)
    assert not uncovered, f"no artifact was compiled from {uncovered}; {EXPORT_HINT}"


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
