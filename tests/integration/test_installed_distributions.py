"""The four distributions of this checkout, built as a release would build them (an sdist each,
and a wheel from that sdist) and installed, each into a fresh virtualenv, as their users have them.

The chain layer alone imports nothing of ours. The SDK alone, as a notary's or a platform's
machine has it, pulls none of the server's dependencies, and its ``notary`` command verifies the
golden certificate, refuses a hostile one and runs a claim check; with the ``chain`` extra it
reads chains (web3) and still never loads py-evm. The witness, as a court or a notary office runs
it, comes with the SDK alone (no web3, py-evm, SQLModel or psycopg) and cosigns a checkpoint from
that install. The service, installed from its wheels, migrates and serves.

pip fetches the dependencies from the package index (its cache makes a rerun quick); where the
index cannot be reached the tests are skipped, under CI=true they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipnotary.sdk import __version__
from tests.conftest import free_port, missing_component

ROOT = Path(__file__).resolve().parents[2]
SDK_PROJECT = ROOT / "client_sdk"
FOLDERS = ("chain", "client_sdk", "witness", "notary")
V2 = ROOT / "tests" / "assets" / "certificates" / "v2"

# Distributions only the service needs: none may come with the SDK.
SERVER_DISTRIBUTIONS = {
    "ip-notary",
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "uvicorn",
    "eth-tester",
    "py-evm",
    "coincurve",
    "prometheus-client",
    "pydantic-settings",
    "python-multipart",
}
# Modules a verification may never load, even with the chain extra installed.
NEVER_IMPORTED = ("ipnotary.service", "eth", "eth_tester", "fastapi", "sqlmodel")
# What a witness's machine may not have: the chain, the embedded chain, the service's storage.
NOT_FOR_A_WITNESS = {
    "ip-notary",
    "ip-notary-chain",
    "web3",
    "py-evm",
    "eth-tester",
    "sqlmodel",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "fastapi",
}

pytestmark = pytest.mark.slow


def _clean_env() -> dict[str, str]:
    """Nothing of the checkout, the suite's virtualenv or its settings may leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("NOTARY_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(
    args: list[str],
    *,
    cwd: Path,
    check: bool = True,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args,
        cwd=cwd,
        env={**_clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args[:4]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def _installed(python: Path, cwd: Path) -> set[str]:
    listed = _run([str(python), "-m", "pip", "list", "--format", "json"], cwd=cwd).stdout
    return {row["name"].lower().replace("_", "-") for row in json.loads(listed)}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each distribution's sdist, and its wheel built from that sdist (so a file the sdist
    leaves out is missing from the wheel too, and the tests below find it)."""
    out = tmp_path_factory.mktemp("dist")
    for folder in FOLDERS:
        shutil.rmtree(ROOT / folder / "build", ignore_errors=True)
        _run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--outdir",
                str(out),
                str(ROOT / folder),
            ],
            cwd=ROOT,
            timeout=300,
        )
    built = sorted(p.name for p in out.iterdir())
    for name in ("ip_notary_chain", "ip_notary_sdk", "ip_notary_witness", "ip_notary"):
        assert any(b.startswith(f"{name}-") and b.endswith(".tar.gz") for b in built), built
        assert any(b.startswith(f"{name}-") and b.endswith(".whl") for b in built), built
    return out


def _fresh_venv(home: Path, dist: Path, *requirements: str) -> Path:
    """A new virtualenv under ``home`` with ``requirements`` installed from the built wheels in
    ``dist`` (and their third-party dependencies from the index); its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(home / "venv")
    python = home / "venv" / "bin" / "python"
    installed = _run(
        [str(python), "-m", "pip", "install", "--quiet", "--find-links", str(dist), *requirements],
        cwd=home,
        check=False,
    )
    if installed.returncode != 0:
        if "Could not find a version" in installed.stderr or "NewConnectionError" in (
            installed.stderr
        ):
            missing_component(f"the package index is unreachable: {installed.stderr[-300:]}")
        raise AssertionError(f"pip install of {requirements} failed:\n{installed.stderr}")
    return python


@pytest.fixture(scope="module")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory, dist: Path) -> Path:
    home = tmp_path_factory.mktemp("sdk-alone")
    _fresh_venv(home, dist, "ip-notary-sdk")
    return home


def test_the_chain_layer_installs_alone_and_imports_nothing_of_ours(
    tmp_path: Path, dist: Path
) -> None:
    python = _fresh_venv(tmp_path, dist, "ip-notary-chain")
    installed = _installed(python, tmp_path)
    assert "web3" in installed and not installed & {"ip-notary-sdk", "py-evm", "eth-tester"}
    probe = (
        "import sys, ipnotary.chain as c; c.load_artifact('EvidenceRegistry'); "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('ipnotary.')}))"
    )
    assert _run([str(python), "-c", probe], cwd=tmp_path).stdout.strip() == "['chain']"


def test_the_sdk_installs_without_the_server(sdk_venv: Path) -> None:
    python = sdk_venv / "venv" / "bin" / "python"
    installed = _installed(python, sdk_venv)
    assert "ip-notary-sdk" in installed
    assert not installed & SERVER_DISTRIBUTIONS, installed & SERVER_DISTRIBUTIONS
    assert "web3" not in installed  # reading chains is the extra
    # Installed under the namespace; the checkout's folder names mean nothing there.
    probe = (
        "import importlib.util as u, ipnotary.sdk as s; "
        "print(s.__version__, [n for n in ('client_sdk', 'chain', 'notary', "
        "'ipnotary.service') if u.find_spec(n)])"
    )
    version, found = _run([str(python), "-c", probe], cwd=sdk_venv).stdout.split(" ", 1)
    assert version == __version__ and found.strip() == "[]"


def test_the_sdk_alone_verifies_a_certificate_and_refuses_a_hostile_one(sdk_venv: Path) -> None:
    notary = sdk_venv / "venv" / "bin" / "notary"
    valid = _run(
        [
            str(notary),
            "verify",
            str(V2 / "hello.txt"),
            str(V2 / "certificate.json"),
            "--policy",
            str(V2 / "policy.json"),
            "--json",
        ],
        cwd=sdk_venv,
    )
    report = json.loads(valid.stdout)
    assert report["verdict"] == "valid" and report["time_source"] == "witnesses"
    assert report["proven_time"] == "2026-11-27T10:55:22+00:00"

    hostile = json.loads((V2 / "hostile" / "manifest.json").read_text())["record-altered"]
    refused = _run(
        [
            str(notary),
            "verify",
            str(V2 / "hello.txt"),
            str(V2 / "hostile" / "record-altered.json"),
            "--policy",
            str(V2 / "policy.json"),
            "--json",
        ],
        cwd=sdk_venv,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["failed_step"] == hostile["step"]

    # The service's commands are not there, and say so as an unknown command would.
    serve = _run([str(notary), "serve", "--help"], cwd=sdk_venv, check=False)
    assert serve.returncode == 2 and "No such command" in serve.stderr


def test_the_sdk_readme_example_runs_as_written(sdk_venv: Path, tmp_path: Path) -> None:
    """client_sdk/README.md is the distribution's description: its Python example runs on
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
    done = _run(
        [
            str(notary),
            "claim-check",
            "--cert",
            str(V2 / "certificate.json"),
            "--claimant-name",
            "Acme",
            "--claimant-id-type",
            "other",
            "--claimant-id",
            # an 'other' identifier is scheme:value (ipnotary.sdk.identifiers)
            "ipnotary:prn_fa0737ae4077f54a57233c0d5a3bd648",
            "--listing-date",
            "2026-11-27T12:00:00+00:00",
            "--listing-file",
            str(V2 / "hello.txt"),
            "--policy",
            str(V2 / "policy.json"),
            "--json",
        ],
        cwd=sdk_venv,
        check=False,
    )
    verdict = json.loads(done.stdout)
    outcomes = {f["check"]: f["outcome"] for f in verdict["findings"]}
    # Existed before the listing, byte-identical, authentic; an evidence record proves no
    # ownership, so a person decides: inconclusive, exit 3.
    assert outcomes == {
        "authentic": "pass",
        "owner": "unknown",
        "precedes_listing": "pass",
        "content_identical": "pass",
    }, verdict
    assert verdict["verdict"] == "inconclusive" and done.returncode == 3


def test_the_chain_extra_reads_chains_without_py_evm(sdk_venv: Path, dist: Path) -> None:
    python = sdk_venv / "venv" / "bin" / "python"
    notary = sdk_venv / "venv" / "bin" / "notary"
    # Without the extra, asking for a chain says what to install, in one line.
    no_web3 = _run(
        [
            str(notary),
            "verify",
            str(V2 / "certificate.json"),
            "--policy",
            str(V2 / "policy.json"),
            "--rpc",
            _NOWHERE,
        ],
        cwd=sdk_venv,
        check=False,
    )
    assert no_web3.returncode == 2 and "ip-notary-sdk[chain]" in no_web3.stderr, no_web3.stderr
    assert "ip-notary-sdk[chain]" in _open_pledge_reader(python, sdk_venv, rpc_url=_NOWHERE)

    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--find-links",
            str(dist),
            "ip-notary-sdk[chain]",
        ],
        cwd=sdk_venv,
    )
    installed = _installed(python, sdk_venv)
    assert "web3" in installed and not installed & SERVER_DISTRIBUTIONS
    probe = (
        "import sys; from ipnotary.sdk.chain_view import open_chain_view; "
        "from ipnotary.chain import AnchorReader, PledgeReader; "
        f"v = open_chain_view(rpc_url={_NOWHERE!r}); v.close(); "
        f"print([m for m in {NEVER_IMPORTED!r} if m in sys.modules])"
    )
    assert _run([str(python), "-c", probe], cwd=sdk_venv).stdout.strip() == "[]"
    # An embedded chain's directory needs py-evm, which only the service brings: said plainly.
    embedded = _run(
        [
            str(notary),
            "verify",
            str(V2 / "hello.txt"),
            str(V2 / "certificate.json"),
            "--policy",
            str(V2 / "policy.json"),
            "--chain-data",
            str(V2 / "chain"),
        ],
        cwd=sdk_venv,
        check=False,
    )
    assert embedded.returncode == 2 and "py-evm" in embedded.stderr, embedded.stderr
    assert "py-evm" in _open_pledge_reader(python, sdk_venv, embedded_dir=str(V2 / "chain"))


_NOWHERE = "http://127.0.0.1:9"


def _open_pledge_reader(python: Path, cwd: Path, **where: str) -> str:
    """What opening a pledge reader in the SDK's virtualenv says (it must refuse)."""
    probe = (
        "from ipnotary.sdk.chain_view import open_pledge_reader\n"
        "from ipnotary.sdk.errors import ChainReadError\n"
        "try:\n"
        f"    open_pledge_reader(registry_address='0x' + '00' * 20, **{where!r})\n"
        "except ChainReadError as exc:\n"
        "    print(exc)\n"
    )
    return _run([str(python), "-c", probe], cwd=cwd).stdout


def test_the_service_installed_from_its_wheels_migrates_and_serves(
    tmp_path: Path, dist: Path
) -> None:
    python = _fresh_venv(tmp_path, dist, "ip-notary")
    bin_dir = python.parent
    installed = _installed(python, tmp_path)
    assert {
        "ip-notary",
        "ip-notary-sdk",
        "ip-notary-chain",
        "fastapi",
        "eth-tester",
        "web3",
    } <= installed
    assert "ip-notary-witness" not in installed  # other parties run witnesses
    where = _run(
        [
            str(python),
            "-c",
            "import ipnotary.service as s, ipnotary.sdk as k; print(s.__file__); print(k.__file__)",
        ],
        cwd=tmp_path,
    ).stdout.split()
    assert all("site-packages" in path for path in where), where  # the wheels, not the checkout
    # The migrations are package data: a database is created from them.
    data = tmp_path / "data"
    env = {"NOTARY_DATA_DIR": str(data), "NOTARY_BIND_PORT": str(free_port())}
    created = _run(
        [
            str(bin_dir / "notary"),
            "principal",
            "create",
            "--init",
            "--name",
            "Acme",
            "--role",
            "holder",
        ],
        cwd=tmp_path,
        env=env,
    )
    key = json.loads(created.stdout)["api_key"]
    url = f"http://127.0.0.1:{env['NOTARY_BIND_PORT']}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:  # a file, not a pipe: a full pipe would stall the server
        serve = subprocess.Popen(
            [str(bin_dir / "notary"), "serve"],
            cwd=tmp_path,
            env={**_clean_env(), **env},
            stdout=out,
            stderr=out,
        )
    try:
        ready = _wait_ready(url, serve, log)
        assert ready["status"] == "ready", ready
        receipt = httpx.post(
            f"{url}/v1/evidence",
            headers={"Authorization": f"Bearer {key}"},
            json={"sha256": "ab" * 32, "size": 5, "metadata": {"title": "T"}},
            timeout=30,
        )
        assert receipt.status_code == 201, receipt.text
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def _wait_ready(url: str, serve: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise AssertionError(
                f"notary serve exited {serve.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            answer = httpx.get(f"{url}/readyz", timeout=5)
            if answer.status_code == 200:
                ready: dict[str, Any] = answer.json()
                return ready
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"notary serve never became ready: {log.read_text(errors='replace')[-2000:]}"
    )


def test_a_witness_runs_from_the_sdk_and_the_witness_alone(tmp_path: Path, dist: Path) -> None:
    """What a court or a notary office installs to witness the log: two distributions, none of
    the chain or the service; `notary witness` from that install cosigns a real checkpoint."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.merkle import MerkleTree, leaf_hash
    from ipnotary.sdk.note import (
        Checkpoint,
        CosignatureVerifier,
        NoteSigner,
        parse_signature_lines,
        sign_note,
    )
    from tests.integration.torchwood import NotaryWitness

    python = _fresh_venv(tmp_path, dist, "ip-notary-witness")
    installed = _installed(python, tmp_path)
    assert {"ip-notary-witness", "ip-notary-sdk"} <= installed
    assert not installed & NOT_FOR_A_WITNESS, installed & NOT_FOR_A_WITNESS
    origin = "example.org/installed-log"
    log_signer = NoteSigner(origin, Ed25519PrivateKey.generate())
    notary = str(python.parent / "notary")
    with NotaryWitness.create(
        tmp_path / "w", name="court.example/witness", program=[notary]
    ) as witness:
        witness.add_log(origin, log_signer.vkey())
        root = MerkleTree.from_leaf_hashes([leaf_hash(b"first record")]).root
        note = sign_note(Checkpoint(origin, 1, root).text(), log_signer)
        answer = witness.add_checkpoint(0, [], note)
        assert answer.status_code == 200, answer.text
        (cosignature,) = parse_signature_lines(answer.content)
        assert CosignatureVerifier.from_vkey(witness.vkey).verify(note.text, cosignature)
