"""The committed contract artifacts (``chain/src/ipnotary/chain/artifacts``) are well formed, and
the SHA-256 of every source each lists matches the file under contracts/, so a .sol edited without
re-exporting fails here; the frozen artifacts of earlier versions (``artifacts/legacy/``) never
change, and every artifact ships in the package.

These read files only. That a fresh compile reproduces the artifacts, that the Hardhat contract
tests pass and that the committed bytecode runs on py-evm is checked in
``tests/integration/chain/test_artifacts.py``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

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
    "legacy/EvidenceRegistry-v2.json": (
        "15a8f74e3db6abd313d24bb5a8885ad5e82d0003a18a2e2a25f662af40ba3cbd"
    ),
}


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
