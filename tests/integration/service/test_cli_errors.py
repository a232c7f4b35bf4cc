"""The CLI as a notary or operator meets it: one line per error, never a
traceback; identifiers never cut; the operator's commands use the service's database or say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

NOTARY = [sys.executable, "-c", "from ipnotary.service.cli import main; main()"]
V2 = REPO / "tests" / "assets" / "certificates" / "v2"


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    return subprocess.run(
        [*NOTARY, *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error:"), result.stderr


def test_a_principal_is_never_created_in_a_database_nobody_serves(tmp_path: Path) -> None:
    refused = run("principal", "create", "--name", "Acme", "--role", "holder", cwd=tmp_path)
    assert_one_line_error(refused)
    assert "no service database" in refused.stderr and "--init" in refused.stderr
    assert not (tmp_path / "notary-data").exists()
    made = run("principal", "create", "--name", "Acme", "--role", "holder", "--init", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert str(tmp_path / "notary-data" / "notary.db") in made.stderr.replace("\n", "")
    assert json.loads(made.stdout)["api_key"].startswith("nk_")


def test_user_errors_end_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    assert_one_line_error(run("policy", "show", "bad.json", cwd=tmp_path))
    assert_one_line_error(
        run("verify", str(V2 / "certificate.json"), "--policy", "bad.json", cwd=tmp_path)
    )
    assert run("keys", "generate", "-o", "k.keys", cwd=tmp_path).returncode == 0
    assert_one_line_error(run("keys", "generate", "-o", "k.keys", cwd=tmp_path))  # never overwrite
    opened = run(
        "secret",
        "open",
        "ts_x",
        "--keys",
        "k.keys",
        "-o",
        "missing/dir/out.bin",
        "--url",
        "http://127.0.0.1:9",
        cwd=tmp_path,
    )
    assert opened.returncode != 0 and "Traceback" not in opened.stderr


def test_identifiers_are_printed_whole(tmp_path: Path) -> None:
    shown = run(
        "verify",
        str(V2 / "hello.txt"),
        str(V2 / "certificate.json"),
        "--policy",
        str(V2 / "policy.json"),
        cwd=tmp_path,
        COLUMNS="60",
    )
    assert shown.returncode == 0, shown.stderr
    cert = json.loads((V2 / "certificate.json").read_text())
    assert cert["issuer"]["key_id"] in shown.stdout and cert["record"]["id"] in shown.stdout
    policy = run("policy", "show", str(V2 / "policy.json"), cwd=tmp_path, COLUMNS="60")
    for member in json.loads((V2 / "policy.json").read_text())["witnesses"]["members"]:
        assert member["key"] in policy.stdout  # piped: one tab-separated line per row
    as_json = json.loads(
        run("policy", "show", str(V2 / "policy.json"), "--json", cwd=tmp_path).stdout
    )
    assert {row["trusts"] for row in as_json} >= {"log", "issuer", "witness", "quorum", "TSA"}


def test_bad_settings_are_named_in_one_line_without_their_values(tmp_path: Path) -> None:
    secret_key = "5a" * 32  # a well-formed chain key: it may appear nowhere in the answer
    refused = run(
        "serve",
        cwd=tmp_path,
        NOTARY_WORKERS="many",
        NOTARY_BIND_PORT="eighty",
        NOTARY_CHAIN_PRIVATE_KEY=secret_key,
        NOTARY_CHAIN_RPC_URL="https://user:hunter2@node.example/v3/KEY",
    )
    assert_one_line_error(refused)
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "NOTARY_WORKERS: " in refused.stderr and "NOTARY_BIND_PORT: " in refused.stderr
    for secret in (secret_key, "hunter2", "KEY", "many", "eighty"):
        assert secret not in refused.stderr, secret


def test_a_node_url_without_the_rpc_backend_is_refused(tmp_path: Path) -> None:
    # It used to be ignored: the process anchored on an embedded chain of its own.
    refused = run("serve", cwd=tmp_path, NOTARY_CHAIN_RPC_URL="http://127.0.0.1:8545")
    assert_one_line_error(refused)
    assert "NOTARY_CHAIN_BACKEND=rpc" in refused.stderr
    assert not (tmp_path / "notary-data").exists()


def test_every_chain_reading_command_takes_one_source(tmp_path: Path) -> None:
    # pledge status used to take --rpc and ignore --chain-data when given both
    for args in (
        ("verify", str(V2 / "certificate.json")),
        ("credit", "status", "uscc:91350100M000100Y43"),
        ("pledge", "status", "--asset-type", "patent", "--number", "201710601862.3"),
    ):
        both = run(
            *args, "--rpc", "http://127.0.0.1:9", "--chain-data", str(tmp_path), cwd=tmp_path
        )
        assert_one_line_error(both)
        assert "not both" in both.stderr, (args, both.stderr)
