"""The two distributions built from this checkout ship every package of their folders under the
installed names, and agree on one release number."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "pyproject.toml"
SDK = ROOT / "packaging" / "sdk"


def _setuptools(project: Path) -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads(project.read_text("utf-8"))["tool"]["setuptools"]
    return config


def _packages_in(folder: Path, name: str) -> set[str]:
    return {".".join([name, *init.parent.relative_to(folder).parts])
            for init in folder.rglob("__init__.py")}


@pytest.mark.parametrize(("project", "names"), [
    (SERVICE, ["ipnotary.service"]),
    (SDK / "pyproject.toml", ["ipnotary.sdk", "ipnotary.chain"]),
])
def test_each_distribution_lists_every_package_of_its_folders(project: Path,
                                                              names: list[str]) -> None:
    config = _setuptools(project)
    mapped = {name: (project.parent / config["package-dir"][name]).resolve() for name in names}
    expected = set().union(*(_packages_in(folder, name) for name, folder in mapped.items()))
    listed = set(config["packages"])
    assert expected == listed, (
        f"{project.relative_to(ROOT)}: add {sorted(expected - listed)}, "
        f"drop {sorted(listed - expected)}")


def test_the_checkout_namespace_points_at_the_folders() -> None:
    # tests, mypy and `python -m` import through ipnotary/, as an installation would
    for name, folder in {"sdk": "client_sdk", "chain": "chain", "service": "notary"}.items():
        link = ROOT / "ipnotary" / name
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve(), link
    assert not (ROOT / "ipnotary" / "__init__.py").exists()  # a namespace: two distributions


def test_both_distributions_read_one_release_number() -> None:
    for project in (SERVICE, SDK / "pyproject.toml"):
        dynamic = _setuptools(project)["dynamic"]["version"]
        assert dynamic == {"attr": "ipnotary.sdk._version.__version__"}, project
    service = tomllib.loads(SERVICE.read_text("utf-8"))["project"]
    assert "ip-notary-sdk[chain]" in service["dependencies"]
