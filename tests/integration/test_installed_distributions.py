"""The two distributions installed from this checkout, as their users would have them.

The SDK alone, as a notary's or a platform's machine would have it: ``pip install
./packaging/sdk`` into a fresh virtualenv pulls none of the server's dependencies, and its
``notary`` command verifies the golden certificate, refuses a hostile one and runs a claim check.
With the ``chain`` extra it reads chains (web3) and still never loads py-evm.

The service, installed (not editable) with the SDK: its migrations and the ``notary`` command's
service commands come from the wheels, and it serves.

pip fetches the dependencies from the package index (its cache makes a rerun quick); where the
index cannot be reached the tests are skipped, under CI=true they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import venv
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipnotary.sdk import __version__
from tests.conftest import free_port, missing_component

ROOT = Path(__file__).resolve().parents[2]
SDK_PROJECT = ROOT / "packaging" / "sdk"
V2 = ROOT / "tests" / "assets" / "certificates" / "v2"

# Distributions only the service needs: none may come with the SDK.
SERVER_DISTRIBUTIONS = {"ip-notary", "fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic",
                        "psycopg", "uvicorn", "eth-tester", "py-evm", "coincurve",
                        "prometheus-client", "pydantic-settings", "python-multipart"}
# Modules a verification may never load, even with the chain extra installed.
NEVER_IMPORTED = ("ipnotary.service", "eth", "eth_tester", "fastapi", "sqlmodel")

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """Nothing of the checkout, the suite's virtualenv or its settings may leak in."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("NOTARY_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], *, cwd: Path, check: bool = True, timeout: float = 600,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env={**_clean_env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{args[:4]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def _installed(python: Path, cwd: Path) -> set[str]:
    listed = _run([str(python), "-m", "pip", "list", "--format", "json"], cwd=cwd).stdout
    return {row["name"].lower().replace("_", "-") for row in json.loads(listed)}


def _fresh_venv(home: Path, *projects: Path) -> Path:
    """A new virtualenv under ``home`` with ``projects`` pip-installed (not editable); its
    python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    for project in projects:
        # pip builds a local project in place, and setuptools never empties its build/lib: a
        # module since moved or deleted would still be in the wheel.
        shutil.rmtree(project / "build", ignore_errors=True)
    installed = _run([str(python), "-m", "pip", "install", "--quiet", *map(str, projects)],
                     cwd=home, check=False)
    if installed.returncode != 0:
        if "Could not find a version" in installed.stderr or "NewConnectionError" in (
                installed.stderr):
            missing_component(f"the package index is unreachable: {installed.stderr[-300:]}")
        raise AssertionError(f"pip install of {projects} failed:\n{installed.stderr}")
    return python


@pytest.fixture(scope="module")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sdk-alone")
    _fresh_venv(home, SDK_PROJECT)
    return home


def test_the_sdk_installs_without_the_server(sdk_venv: Path) -> None:
    python = sdk_venv / "venv" / "bin" / "python"
    installed = _installed(python, sdk_venv)
    assert "ip-notary-sdk" in installed
    assert not installed & SERVER_DISTRIBUTIONS, installed & SERVER_DISTRIBUTIONS
    assert "web3" not in installed  # reading chains is the extra
    # Installed under the namespace; the checkout's folder names mean nothing there.
    probe = ("import importlib.util as u, ipnotary.sdk as s; "
             "print(s.__version__, [n for n in ('client_sdk', 'chain', 'notary', "
             "'ipnotary.service') if u.find_spec(n)])")
    version, found = _run([str(python), "-c", probe], cwd=sdk_venv).stdout.split(" ", 1)
    assert version == __version__ and found.strip() == "[]"


def test_the_sdk_alone_verifies_a_certificate_and_refuses_a_hostile_one(sdk_venv: Path) -> None:
    notary = sdk_venv / "venv" / "bin" / "notary"
    valid = _run([str(notary), "verify", str(V2 / "hello.txt"), str(V2 / "certificate.json"),
                  "--policy", str(V2 / "policy.json"), "--json"], cwd=sdk_venv)
    report = json.loads(valid.stdout)
    assert report["verdict"] == "valid" and report["time_source"] == "witnesses"
    assert report["proven_time"] == "2026-11-27T10:55:22+00:00"

    hostile = json.loads((V2 / "hostile" / "manifest.json").read_text())["record-altered"]
    refused = _run([str(notary), "verify", str(V2 / "hello.txt"),
                    str(V2 / "hostile" / "record-altered.json"), "--policy",
                    str(V2 / "policy.json"), "--json"], cwd=sdk_venv, check=False)
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["failed_step"] == hostile["step"]

    # The service's commands are not there, and say so as an unknown command would.
    serve = _run([str(notary), "serve", "--help"], cwd=sdk_venv, check=False)
    assert serve.returncode == 2 and "No such command" in serve.stderr


def test_the_sdk_readme_example_runs_as_written(sdk_venv: Path, tmp_path: Path) -> None:
    """packaging/sdk/README.md is the distribution's description: its Python example runs on
    the SDK alone, with the golden certificate standing for the reader's file."""
    readme = (SDK_PROJECT / "README.md").read_text(encoding="utf-8")
    example = readme.split("```python\n", 1)[1].split("```", 1)[0]
    shutil.copy(V2 / "policy.json", tmp_path / "policy.json")
    shutil.copy(V2 / "hello.txt", tmp_path / "file.pdf")
    shutil.copy(V2 / "certificate.json", tmp_path / "file.pdf.cert.json")
    ran = _run([str(sdk_venv / "venv" / "bin" / "python"), "-c", example], cwd=tmp_path)
    assert ran.stdout.strip() == "2026-11-27 10:55:22+00:00 witnesses", ran.stdout


def test_the_sdk_alone_runs_a_claim_check(sdk_venv: Path) -> None:
    notary = sdk_venv / "venv" / "bin" / "notary"
    done = _run([str(notary), "claim-check", "--cert", str(V2 / "certificate.json"),
                 "--claimant-name", "Acme", "--claimant-id-type", "other",
                 "--claimant-id", "prn_fa0737ae4077f54a57233c0d5a3bd648",
                 "--listing-date", "2026-11-27T12:00:00+00:00",
                 "--listing-file", str(V2 / "hello.txt"), "--policy", str(V2 / "policy.json"),
                 "--json"], cwd=sdk_venv, check=False)
    verdict = json.loads(done.stdout)
    outcomes = {f["check"]: f["outcome"] for f in verdict["findings"]}
    # Existed before the listing, byte-identical, authentic; an evidence record proves no
    # ownership, so a person decides: inconclusive, exit 3.
    assert outcomes == {"authentic": "pass", "owner": "unknown", "precedes_listing": "pass",
                        "content_identical": "pass"}, verdict
    assert verdict["verdict"] == "inconclusive" and done.returncode == 3


def test_the_chain_extra_reads_chains_without_py_evm(sdk_venv: Path) -> None:
    python = sdk_venv / "venv" / "bin" / "python"
    notary = sdk_venv / "venv" / "bin" / "notary"
    # Without the extra, asking for a chain says what to install, in one line.
    no_web3 = _run([str(notary), "verify", str(V2 / "certificate.json"), "--policy",
                    str(V2 / "policy.json"), "--rpc", _NOWHERE], cwd=sdk_venv,
                   check=False)
    assert no_web3.returncode == 2 and "ip-notary-sdk[chain]" in no_web3.stderr, no_web3.stderr
    assert "ip-notary-sdk[chain]" in _open_pledge_reader(python, sdk_venv, rpc_url=_NOWHERE)

    _run([str(python), "-m", "pip", "install", "--quiet", f"{SDK_PROJECT}[chain]"], cwd=sdk_venv)
    installed = _installed(python, sdk_venv)
    assert "web3" in installed and not installed & SERVER_DISTRIBUTIONS
    probe = ("import sys; from ipnotary.sdk.chain_view import open_chain_view; "
             "from ipnotary.chain import AnchorReader, PledgeReader; "
             f"v = open_chain_view(rpc_url={_NOWHERE!r}); v.close(); "
             f"print([m for m in {NEVER_IMPORTED!r} if m in sys.modules])")
    assert _run([str(python), "-c", probe], cwd=sdk_venv).stdout.strip() == "[]"
    # An embedded chain's directory needs py-evm, which only the service brings: said plainly.
    embedded = _run([str(notary), "verify", str(V2 / "hello.txt"), str(V2 / "certificate.json"),
                     "--policy", str(V2 / "policy.json"), "--chain-data", str(V2 / "chain")],
                    cwd=sdk_venv, check=False)
    assert embedded.returncode == 2 and "py-evm" in embedded.stderr, embedded.stderr
    assert "py-evm" in _open_pledge_reader(python, sdk_venv, embedded_dir=str(V2 / "chain"))


_NOWHERE = "http://127.0.0.1:9"


def _open_pledge_reader(python: Path, cwd: Path, **where: str) -> str:
    """What opening a pledge reader in the SDK's virtualenv says (it must refuse)."""
    probe = ("from ipnotary.sdk.chain_view import open_pledge_reader\n"
             "from ipnotary.sdk.errors import ChainReadError\n"
             "try:\n"
             f"    open_pledge_reader(registry_address='0x' + '00' * 20, **{where!r})\n"
             "except ChainReadError as exc:\n"
             "    print(exc)\n")
    return _run([str(python), "-c", probe], cwd=cwd).stdout


def test_the_service_installed_from_its_wheels_migrates_and_serves(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path, SDK_PROJECT, ROOT)
    bin_dir = python.parent
    installed = _installed(python, tmp_path)
    assert {"ip-notary", "ip-notary-sdk", "fastapi", "eth-tester", "web3"} <= installed
    where = _run([str(python), "-c", "import ipnotary.service as s, ipnotary.sdk as k; "
                  "print(s.__file__); print(k.__file__)"], cwd=tmp_path).stdout.split()
    assert all("site-packages" in path for path in where), where  # the wheels, not the checkout
    # The migrations are package data: a database is created from them.
    data = tmp_path / "data"
    env = {"NOTARY_DATA_DIR": str(data), "NOTARY_BIND_PORT": str(free_port())}
    created = _run([str(bin_dir / "notary"), "principal", "create", "--init", "--name", "Acme",
                    "--role", "holder"], cwd=tmp_path, env=env)
    key = json.loads(created.stdout)["api_key"]
    url = f"http://127.0.0.1:{env['NOTARY_BIND_PORT']}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:  # a file, not a pipe: a full pipe would stall the server
        serve = subprocess.Popen([str(bin_dir / "notary"), "serve"], cwd=tmp_path,
                                 env={**_clean_env(), **env}, stdout=out, stderr=out)
    try:
        ready = _wait_ready(url, serve, log)
        assert ready["status"] == "ready", ready
        receipt = httpx.post(f"{url}/v1/evidence", headers={"Authorization": f"Bearer {key}"},
                             json={"sha256": "ab" * 32, "size": 5, "metadata": {"title": "T"}},
                             timeout=30)
        assert receipt.status_code == 201, receipt.text
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def _wait_ready(url: str, serve: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise AssertionError(f"notary serve exited {serve.returncode}: "
                                 f"{log.read_text(errors='replace')[-2000:]}")
        try:
            answer = httpx.get(f"{url}/readyz", timeout=5)
            if answer.status_code == 200:
                ready: dict[str, Any] = answer.json()
                return ready
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"notary serve never became ready: {log.read_text(errors='replace')[-2000:]}")
