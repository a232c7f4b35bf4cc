"""The checkout's layout: each product folder is one distribution, its ``pyproject.toml`` beside a
``src/`` tree whose path is the import name; one release number; and a lock file that still
satisfies every distribution's requirements."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import ipnotary.sdk

ROOT = Path(__file__).resolve().parents[2]
# folder -> (distribution, import name)
DISTRIBUTIONS = {
    "chain": ("ip-notary-chain", "ipnotary.chain"),
    "client_sdk": ("ip-notary-sdk", "ipnotary.sdk"),
    "witness": ("ip-notary-witness", "ipnotary.witness"),
    "notary": ("ip-notary", "ipnotary.service"),
}
LOCK = ROOT / "requirements" / "dev.lock"


def _project(folder: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / folder / "pyproject.toml").read_text("utf-8"))
    return data


@pytest.mark.parametrize("folder", sorted(DISTRIBUTIONS))
def test_each_folder_is_one_distribution_whose_src_path_is_its_import_name(folder: str) -> None:
    name, import_name = DISTRIBUTIONS[folder]
    config = _project(folder)
    assert config["project"]["name"] == name
    assert (ROOT / folder / "README.md").is_file()
    package = ROOT / folder / "src" / Path(*import_name.split("."))
    assert (package / "__init__.py").is_file()
    assert (package / "py.typed").is_file()  # the types ship with the wheel (PEP 561)
    # a PEP 420 namespace shared by the four: nobody owns `ipnotary` itself
    assert not (ROOT / folder / "src" / "ipnotary" / "__init__.py").exists()
    assert [p.name for p in (ROOT / folder / "src" / "ipnotary").iterdir()] == [package.name]
    assert config["tool"]["setuptools"]["packages"]["find"] == {"where": ["src"]}
    assert "package-dir" not in config["tool"]["setuptools"]


def test_no_module_has_two_names() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    links = [line.split("\t", 1)[1] for line in tracked if line.startswith("120000 ")]
    assert not links, f"symlinks give modules a second name: {links}"
    assert not (ROOT / "ipnotary").exists()
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "project" not in workspace, "the root pyproject.toml is the workspace only"


def test_every_distribution_is_released_under_one_number() -> None:
    for folder in DISTRIBUTIONS:
        project = _project(folder)["project"]
        version = project.get("version")
        if version is None:  # the SDK's is read from ipnotary.sdk._version
            assert _project(folder)["tool"]["setuptools"]["dynamic"]["version"] == {
                "attr": "ipnotary.sdk._version.__version__"
            }
            continue
        assert version == ipnotary.sdk.__version__, folder


def _locked() -> dict[str, str]:
    pins = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", LOCK.read_text("utf-8"), re.MULTILINE
    )
    return {canonicalize_name(name): version for name, version in pins}


def _required() -> list[tuple[str, Requirement]]:
    """Every requirement the development environment installs: each distribution's dependencies
    and extras, and the workspace's dev group."""
    ours = {canonicalize_name(name) for name, _ in DISTRIBUTIONS.values()}
    found: list[tuple[str, Requirement]] = []
    for folder in DISTRIBUTIONS:
        project = _project(folder)["project"]
        extras = project.get("optional-dependencies", {}).values()
        lists = [project.get("dependencies", []), *extras]
        found += [(folder, Requirement(r)) for group in lists for r in group]
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["dependency-groups"]["dev"]
    found += [("dev group", Requirement(r)) for r in dev]
    return [(where, r) for where, r in found if canonicalize_name(r.name) not in ours]


def test_the_lock_satisfies_every_pyproject() -> None:
    locked = _locked()
    wrong = [
        f"{where}: {req} (locked: {locked.get(canonicalize_name(req.name), 'absent')})"
        for where, req in _required()
        if locked.get(canonicalize_name(req.name)) is None
        or not req.specifier.contains(locked[canonicalize_name(req.name)], prereleases=True)
    ]
    assert not wrong, f"requirements/dev.lock is stale; run `make lock`: {wrong}"


def test_every_locked_distribution_carries_hashes() -> None:
    text = LOCK.read_text("utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    unhashed = [e.split("==")[0] for e in entries if "--hash=sha256:" not in e]
    assert not unhashed and len(entries) == len(_locked())
