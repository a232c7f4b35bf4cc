"""What on-call sees, from any process.

Two ``notary serve`` processes of one deployment on PostgreSQL and a Hardhat node; one witness is
configured (quorum 1) and is down (nothing listens at its URL). Only the leader talks to it:

* every process, the follower too, reports that witness down in ``/readyz`` (the follower from the
  leader's report in the database, saying so), and the follower says it follows and which process
  leads (admins also see where);
* ``/readyz``'s own 503s are counted in ``notary_probe_requests``, not in the
  ``notary_http_requests`` the documented 5xx alert reads;
* every line either process logs is JSON with an ``event``;
* ``/metrics`` reports the fleet's state: build info, the anchoring account, the last anchor's age,
  the database pool and commit latency, the content store.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.note import CosignatureSigner
from tests.conftest import free_port
from tests.integration.conftest import wait_all_anchored
from tests.integration.postgres import PostgresServer
from tests.integration.service_process import DigestSubmitter, ServiceProcess, start_all

pytestmark = [pytest.mark.postgres, pytest.mark.hardhat]


def readyz(url: str, admin: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {admin}"} if admin else {}
    answer = httpx.get(f"{url}/readyz", headers=headers, timeout=30)
    return answer.status_code, answer.json()


def log_lines(node: ServiceProcess) -> list[dict[str, Any]]:
    """Every line the process wrote, each parsed as JSON (a line that is not fails the test)."""
    assert node.log_path is not None
    return [json.loads(x) for x in node.log_path.read_text().splitlines() if x.strip()]


def samples(url: str, name: str) -> dict[str, float]:
    """Every sample of metric ``name``: its label text -> value."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name) and line[len(name)] in "{ ":
            labels, _, value = line[len(name) :].rpartition(" ")
            found[labels] = float(value)
    return found


def test_every_process_reports_the_fleets_attestation_health_and_where_the_leader_is(
    postgres_server: PostgresServer, shared: dict[str, str], tmp_path: Path
) -> None:
    down = CosignatureSigner("w.example.cn/witness", Ed25519PrivateKey.generate())
    witness_url = f"http://127.0.0.1:{free_port()}"  # nobody listens
    database = postgres_server.create_database("notary")
    env = {
        **shared,
        "NOTARY_DATABASE_URL": database,
        "NOTARY_WITNESSES": json.dumps([{"url": witness_url, "key": down.verifier().vkey()}]),
        "NOTARY_WITNESS_QUORUM": "1",
        "NOTARY_WITNESS_TIMEOUT_SECONDS": "1",
        "NOTARY_LOG_LEVEL": "INFO",
        "NOTARY_LOG_FORMAT": "json",
        "NOTARY_METRICS_ALLOW_FROM": "127.0.0.1",
    }
    nodes = [ServiceProcess(tmp_path / f"data-{n}", env=env) for n in ("a", "b")]
    for node in nodes:
        node.data_dir.mkdir()
    key = nodes[0].create_principal("Holder", "holder")
    admin = nodes[0].create_principal("On-call", "admin")
    start_all(nodes)
    try:
        with NotaryClient(nodes[0].url, key) as client:
            client.submit_digests([DigestSubmitter.digest(i) for i in range(30)])
        wait_all_anchored(database, at_least=30)
        deadline = time.monotonic() + 60
        while True:
            views = [readyz(n.url)[1] for n in nodes]
            roles = sorted(v["checks"]["anchoring"]["role"] for v in views)
            witnessed = [v["checks"].get("witnesses", {}).get("down") for v in views]
            if roles == ["follower", "leader"] and all(
                w == ["w.example.cn/witness"] for w in witnessed
            ):
                break
            assert time.monotonic() < deadline, views
            time.sleep(0.5)
        leader = next(
            n for n, v in zip(nodes, views, strict=True) if v["checks"]["anchoring"]["leader"]
        )
        follower = next(n for n in nodes if n is not leader)
        status, seen = readyz(follower.url)
        assert status == 503 and "witnesses" in seen["down"]
        witnesses = seen["checks"]["witnesses"]
        assert witnesses["ok"] is False and witnesses["source"].startswith("the leader")
        anchoring = seen["checks"]["anchoring"]
        assert anchoring["role"] == "follower"
        assert anchoring["leader_at"]["process"] == readyz(leader.url)[1]["process"]
        _, as_admin = readyz(follower.url, admin)
        assert as_admin["checks"]["anchoring"]["leader_at"]["url"] == leader.url

        # Probes apart from requests: the 503s above are not 5xx answers of the API.
        for node in nodes:
            requests = samples(node.url, "notary_http_requests_total")
            assert not any('route="/readyz"' in labels for labels in requests), requests
            probes = samples(node.url, "notary_probe_requests_total")
            assert any('route="/readyz"' in k and 'status="503"' in k for k in probes), probes
        metrics = {
            name: samples(leader.url, name)
            for name in (
                "notary_build_info",
                "notary_anchoring_anchors_affordable",
                "notary_anchoring_account_balance_wei",
                "notary_last_anchor_age_seconds",
                "notary_last_certified_age_seconds",
                "notary_database_pool_in_use",
                "notary_database_commit_duration_seconds_count",
                "notary_content_store_up",
                "notary_log_halted",
            )
        }
        assert metrics["notary_anchoring_anchors_affordable"][""] > 1000
        assert metrics["notary_last_anchor_age_seconds"][""] >= 0
        assert metrics["notary_database_commit_duration_seconds_count"][""] > 0
        assert metrics["notary_content_store_up"][""] == 1
        assert metrics["notary_log_halted"][""] == 0
        assert (
            "notary_last_certified_age_seconds" not in metrics
            or not metrics["notary_last_certified_age_seconds"]
        )  # the witness quorum was never met: nothing certified

    finally:
        for node in nodes:
            node.stop()
    parsed = [log_lines(node) for node in nodes]
    for lines in parsed:
        assert lines and all(isinstance(p.get("event"), str) and p["event"] for p in lines)
    events = {p["event"] for lines in parsed for p in lines}
    assert {"witness_down", "leader_acquired", "service_starting", "http_request"} <= events
