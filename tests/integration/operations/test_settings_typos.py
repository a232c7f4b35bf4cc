"""A mistyped setting is never silently ignored.

An operator wrote ``NOTARY_WITNESS=[…]`` for ``NOTARY_WITNESSES``: the production leader had no
witness, certified its checkpoints with 0 cosignatures, and ``/readyz`` said ready. Now every
``NOTARY_*`` variable that no program of the project reads stops a production ``notary serve``
with one JSON line naming each and the nearest known name, and a development one warns in one line
each and serves; the variables the SDK's commands and the witness read (``NOTARY_API_KEY``,
``NOTARY_URL``, ``NOTARY_DEBUG``, ``NOTARY_WITNESS_DIR``, ...) are left alone.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import REPO, free_port
from tests.integration.operations.deployed import base_env, deploy, production_settings
from tests.integration.service_process import NOTARY

TYPOS = {
    "NOTARY_WITNESS": '[{"url": "http://127.0.0.1:9/", "key": "w.example/witness+01234567+AAAA"}]',
    "NOTARY_WITNESS_QOURUM": "2",
    "NOTARY_TSA_URL": "http://127.0.0.1:9/tsa",
}
NEAREST = {
    "NOTARY_WITNESS": "NOTARY_WITNESSES",
    "NOTARY_WITNESS_QOURUM": "NOTARY_WITNESS_QUORUM",
    "NOTARY_TSA_URL": "NOTARY_TSA_URLS",
}
# Read by the SDK's commands and by `notary witness`: an operator's shell may well hold them.
OTHER_PROGRAMS = {
    "NOTARY_URL": "http://127.0.0.1:8000",
    "NOTARY_API_KEY": "nk_not_a_setting_of_the_service",
    "NOTARY_DEBUG": "1",
    "NOTARY_WITNESS_DIR": "/var/lib/notary-witness",
}


@dataclass
class Started:
    """What one ``notary serve`` did: exited (its status) or served, and what it wrote."""

    code: int | None
    stderr: str


def serve(env: dict[str, str], timeout: float = 120) -> Started:
    """Start ``notary serve``; stop it once it serves. Its exit status (None if it served) and
    everything it wrote on standard error."""
    port = free_port()
    proc = subprocess.Popen(
        [*NOTARY, "serve"],
        env=base_env(**env, NOTARY_BIND_PORT=str(port)),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    served = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    served = True
                    break
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    if not served and proc.returncode in (None, 0, -15):
        raise TimeoutError(f"notary serve neither served nor exited: {err}")
    return Started(None if served else proc.returncode, err)


def test_production_refuses_each_unknown_variable_in_one_json_line(tmp_path: Path) -> None:
    settings = deploy(production_settings(tmp_path))
    # The deployment serves as deployed, with the other programs' variables beside it.
    started = serve({**settings, **OTHER_PROGRAMS})
    assert started.code is None, started.stderr
    for name, value in TYPOS.items():
        started = serve({**settings, **OTHER_PROGRAMS, name: value})
        assert started.code == 2, f"a production process started with {name} set: ignored"
        lines = [line for line in started.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, started.stderr
        line = json.loads(lines[0])  # production: JSON, like every other line it writes
        assert line["event"] == "startup_refused" and line["code"] == "unknown_setting"
        assert f"{name} is not a setting (did you mean {NEAREST[name]}?" in line["message"]
        assert value not in line["message"]  # names, never values: a value may be a secret
        for legit in OTHER_PROGRAMS:
            assert legit not in line["message"]


def test_development_warns_once_per_unknown_variable_and_serves(tmp_path: Path) -> None:
    env = {
        "NOTARY_DATA_DIR": str(tmp_path / "data"),
        "NOTARY_LOG_FORMAT": "json",
        **OTHER_PROGRAMS,
        **TYPOS,
    }
    started = serve(env)
    assert started.code is None, started.stderr
    lines = [json.loads(line) for line in started.stderr.splitlines() if line.startswith("{")]
    warned = {line["variable"]: line for line in lines if line.get("event") == "unknown_setting"}
    assert set(warned) == set(TYPOS), started.stderr
    for name, line in warned.items():
        assert line["level"] == "WARNING" and line["nearest"] == NEAREST[name]
        assert NEAREST[name] in line["message"]
