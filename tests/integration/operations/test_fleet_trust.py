"""The fleet must agree on whom it trusts: witnesses, quorum, TSAs and the policy it serves.

``notary deploy`` records the deployment's trust settings beside its identity. A production
process started with another witness quorum, or another witness set, refuses to start with one
JSON line naming the setting and both values; changing them is an act of its own, ``notary trust
set``, audited, after which a process still running the old settings reports itself not ready
and one with the new settings starts. ``/readyz`` and ``notary_build_info`` show each process's
build version and config fingerprint, so the two sides of such a change can be told apart.

Two processes on one PostgreSQL database and one Hardhat node; the witnesses are only named (their
keys made here), since starting needs none of them to answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.note import CosignatureSigner
from tests.integration.chain_backends import NodeProcess
from tests.integration.conftest import fund_new_account
from tests.integration.operations.deployed import deploy, production_settings, run_notary
from tests.integration.operations.test_settings_typos import serve
from tests.integration.service_process import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.hardhat]


def witness(name: str) -> dict[str, str]:
    vkey = CosignatureSigner(name, Ed25519PrivateKey.generate()).verifier().vkey()
    return {"url": f"https://{name.split('/')[0]}/witness", "key": vkey}


def recorded_form(members: list[dict[str, str]]) -> str:
    """A witness set as the deployment records and names it: by key, credentials left out."""
    ordered = sorted(({"key": w["key"], "url": w["url"]} for w in members), key=lambda w: w["key"])
    return json.dumps(ordered, separators=(",", ":"))


def metric_line(url: str, name: str) -> str:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return next(line for line in text.splitlines() if line.startswith(name + "{"))


def test_a_process_with_other_trust_settings_refuses_until_the_fleet_changes_them(
    postgres_url: str, hardhat_node: NodeProcess, tmp_path: Path
) -> None:
    witnesses = [witness(f"w{i}.example.cn/witness") for i in range(3)]
    fleet = deploy(
        production_settings(
            tmp_path,
            NOTARY_DATABASE_URL=postgres_url,
            NOTARY_CHAIN_BACKEND="rpc",
            NOTARY_CHAIN_RPC_URL=hardhat_node.url,
            NOTARY_CHAIN_ID="31337",
            NOTARY_CHAIN_PRIVATE_KEY=fund_new_account(hardhat_node, tmp_path),
            NOTARY_WITNESSES=json.dumps(witnesses),
            NOTARY_WITNESS_QUORUM="2",
            NOTARY_METRICS_ALLOW_FROM="127.0.0.1",
            NOTARY_LOG_LEVEL="WARNING",
        )
    )
    first = ServiceProcess(tmp_path / "data-a", env=fleet).start()
    try:
        # Another quorum, another witness set: each refused, naming the setting and both values.
        for changed, fact, here, there in (
            ({"NOTARY_WITNESS_QUORUM": "1"}, "witness_quorum", "1", "2"),
            (
                {"NOTARY_WITNESSES": json.dumps(witnesses[:2])},
                "witnesses",
                recorded_form(witnesses[:2]),
                recorded_form(witnesses),
            ),
        ):
            started = serve({**fleet, "NOTARY_DATA_DIR": str(tmp_path / "data-b"), **changed})
            assert started.code == 2, f"started with {changed}: {started.stderr}"
            lines = [json.loads(x) for x in started.stderr.splitlines() if x.startswith("{")]
            refusal = [x for x in lines if x.get("event") == "startup_refused"]
            assert len(refusal) == 1, started.stderr
            message = refusal[0]["message"]
            assert refusal[0]["code"] == "deployment_mismatch"
            assert f"{fact} is {here} here but {there} in the deployment" in message, message
            assert "notary trust set" in message
            assert "trust_policy" not in message  # it follows from the setting named

        quorum_one = {**fleet, "NOTARY_WITNESS_QUORUM": "1"}
        shown = run_notary("trust", "show", "--json", env=quorum_one)
        assert shown.returncode == 1, shown.stderr
        rows = {r["name"]: r for r in json.loads(shown.stdout)}
        assert rows["witness_quorum"]["here"] == "1" and rows["witness_quorum"]["fleet"] == "2"

        # The explicit, audited change.
        recorded = run_notary(
            "trust", "set", "--json", "--reason", "witness w2 retired", env=quorum_one
        )
        assert recorded.returncode == 0, recorded.stderr
        assert json.loads(recorded.stdout)["witness_quorum"] == {"from": "2", "to": "1"}
        audit = run_notary(
            "principal", "audit", "--action", "deployment.trust_changed", env=quorum_one
        )
        events: list[dict[str, Any]] = json.loads(audit.stdout)
        assert len(events) == 1 and events[0]["detail"]["reason"] == "witness w2 retired"

        # The process still on the old settings says so; one on the new settings starts.
        status = httpx.get(f"{first.url}/readyz", timeout=30)
        assert status.status_code == 503
        deployment = status.json()["checks"]["deployment"]
        assert deployment["ok"] is False and "witness_quorum" in deployment["differs"]
        second = ServiceProcess(tmp_path / "data-b", env=quorum_one).start()
        try:
            a, b = (httpx.get(f"{s.url}/readyz", timeout=30).json() for s in (first, second))
            assert a["version"] == b["version"]
            assert a["config_fingerprint"] != b["config_fingerprint"]
            assert b["checks"]["deployment"]["ok"] is True
            for svc, body in ((first, a), (second, b)):
                line = metric_line(svc.url, "notary_build_info")
                assert f'config_fingerprint="{body["config_fingerprint"]}"' in line
                assert f'version="{body["version"]}"' in line
        finally:
            second.stop()
    finally:
        first.stop()
