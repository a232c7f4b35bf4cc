"""One release number, reported the same by the package, the SDK, the service and the CLI, and
named at the top of the changelog."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

import ipnotary.sdk
from tests.unit.notary.conftest import Api

ROOT = Path(__file__).resolve().parents[3]


def test_every_surface_reports_the_same_version(api: Api) -> None:
    from ipnotary.service.cli import app

    version = ipnotary.sdk.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert api.client.get("/healthz").json() == {"status": "ok", "version": version}
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"notary {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.MULTILINE)
    assert first is not None and first.group(1) == version, (
        "CHANGELOG.md must start at this release"
    )
    # every distribution of the checkout is released under it (tests/unit/test_packaging.py)
