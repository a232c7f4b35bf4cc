"""The committed verification page (``notary/src/ipnotary/service/web/verify/``) is what its
sources and lock file build, and the service's package ships it.

The service serves these files without Node, so they are built ahead of time from
``verify-page/`` (esbuild, pinned) and committed, like the contract artifacts: a source edited
without rebuilding, or a dependency moved off the lock, fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

from tests.conftest import missing_component

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "verify-page"
SERVICE = ROOT / "notary" / "src" / "ipnotary" / "service"
WEB = SERVICE / "web" / "verify"
REBUILD_HINT = (
    "run `npm run build` in verify-page/ and commit notary/src/ipnotary/service/web/verify/"
)


def _require_node_project() -> None:
    missing = [
        what
        for what, present in (
            ("node", shutil.which("node") is not None),
            ("verify-page/node_modules", (PROJECT / "node_modules" / "esbuild").is_dir()),
        )
        if not present
    ]
    if missing:
        missing_component(f"{', '.join(missing)} not found; run scripts/setup-node.sh")


def test_the_page_is_committed_and_shipped_in_the_service_package() -> None:
    names = {"index.html", "verify.js", "verify.css"}
    assert names <= {p.name for p in WEB.iterdir()}, f"missing in {WEB}; {REBUILD_HINT}"
    patterns = tomllib.loads((ROOT / "notary" / "pyproject.toml").read_text("utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["ipnotary.service"]
    shipped = {path for pattern in patterns for path in SERVICE.glob(pattern)}
    unshipped = sorted(n for n in names if WEB / n not in shipped)
    assert not unshipped, f"{unshipped} would be missing from an installed service"


def test_the_page_has_no_inline_script_and_loads_its_files_relatively() -> None:
    # The served page's Content-Security-Policy allows scripts from the origin only, and a copy
    # saved to disk must find its files beside it: every reference is relative.
    html = (WEB / "index.html").read_text("utf-8")
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts == [' defer src="verify/verify.js"'], scripts
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler would be refused"
    assert 'href="verify/verify.css"' in html


def test_the_committed_page_matches_a_fresh_build_from_the_lock() -> None:
    _require_node_project()
    lock = json.loads((PROJECT / "package-lock.json").read_text("utf-8"))
    drifted = []
    for path, entry in lock["packages"].items():
        if not path or entry.get("optional"):
            continue  # the project itself, and platform binaries npm may leave out
        installed = PROJECT / path / "package.json"
        if not installed.is_file():
            drifted.append(f"{path} (not installed)")
        elif json.loads(installed.read_text("utf-8"))["version"] != entry["version"]:
            drifted.append(f"{path} (lock {entry['version']})")
    assert not drifted, f"node_modules is not the lock's: {drifted}; run `npm ci` in verify-page/"
    result = subprocess.run(
        ["node", "build.mjs", "--check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{REBUILD_HINT}"
