"""A production deployment as ``docs/deployment.md`` makes one: ``notary deploy`` run once with the
production settings, then ``notary serve`` processes started with the settings it printed.

:func:`deploy` runs the command as an operator would (a separate process, the environment only),
and :func:`serve_env` is the environment a ``notary serve`` of that deployment starts with.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import REPO
from tests.integration.service_process import NOTARY


def base_env(**settings: str) -> dict[str, str]:
    """The test's environment without its ``NOTARY_*`` variables, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("NOTARY_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env.update(settings)
    return env


def production_settings(tmp: Path, **extra: str) -> dict[str, str]:
    """What an operator sets before ``notary deploy`` on the embedded chain and SQLite (a real
    node and PostgreSQL are given as ``extra``)."""
    return {
        "NOTARY_ENV": "production",
        "NOTARY_DATA_DIR": str(tmp / "data"),
        "NOTARY_CHAIN_ID": "1337",
        "NOTARY_ISSUER_KEY_FILE": str(tmp / "keys" / "issuer.pem"),
        "NOTARY_LOG_KEY_FILE": str(tmp / "keys" / "log.pem"),
        "NOTARY_LOG_ORIGIN": "notary.example.cn/log",
        **extra,
    }


def run_notary(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NOTARY, *args],
        env=base_env(**env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def deploy(settings: dict[str, str]) -> dict[str, str]:
    """``notary deploy --json`` with ``settings``; returns them with what it printed added."""
    done = run_notary("deploy", "--json", env=settings)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = json.loads(done.stdout)["settings"]
    return {**settings, **printed}
