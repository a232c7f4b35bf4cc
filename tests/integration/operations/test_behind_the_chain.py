"""Never seal on a database behind the chain, and accept nothing there either.

A service started on a restore that lost records used to seal its pending records into log
positions the chain had already anchored (only anchoring was refused) and answered 201 with
receipts that a correct restore then lost. Two ``notary serve`` processes on one PostgreSQL
database and one chain node take records; the database is then restored from a ``pg_dump`` taken
in the middle (it lacks checkpoints the chain holds). Started on that copy:

* the leader seals nothing (the log stays the dump's), and the deployment halts;
* every process, follower included, answers each submission 503 ``log_behind_chain`` with the
  reason, and ``/readyz`` is not ready, naming the halt;
* pointed back at the database that holds the whole log (the correct restore), they accept and
  anchor again, and the halt is gone.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ipnotary.sdk import NotaryClient
from tests.integration.conftest import wait_all_anchored
from tests.integration.postgres import PostgresServer
from tests.integration.service_process import DigestSubmitter, ServiceProcess, start_all

pytestmark = [pytest.mark.postgres, pytest.mark.hardhat]


def log_size(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT coalesce(max(log_size), 0) FROM batch").fetchone()
    assert row is not None
    return int(row[0])


def ready(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/readyz", timeout=30)
    return answer.status_code, answer.json()


def test_a_leader_behind_the_chain_seals_nothing_and_no_process_accepts(
    postgres_server: PostgresServer, shared: dict[str, str], tmp_path: Path
) -> None:
    database = postgres_server.create_database("notary")
    nodes = [
        ServiceProcess(tmp_path / f"data-{n}", env={**shared, "NOTARY_DATABASE_URL": database})
        for n in ("a", "b")
    ]
    for node in nodes:
        node.data_dir.mkdir()
    key = nodes[0].create_principal("Holder", "holder")
    start_all(nodes)
    dump = tmp_path / "notary.dump"
    try:
        with NotaryClient(nodes[0].url, key) as client:
            client.submit_digests([DigestSubmitter.digest(i) for i in range(40)])
        wait_all_anchored(database, at_least=40)
        subprocess.run(
            ["pg_dump", "-Fc", "-f", str(dump), database],
            check=True,
            capture_output=True,
            timeout=120,
            env={"PATH": f"{postgres_server.bin_dir}:/usr/bin:/bin"},
        )
        with NotaryClient(nodes[1].url, key) as client:
            client.submit_digests([DigestSubmitter.digest(i) for i in range(40, 100)])
        wait_all_anchored(database, at_least=100)
        assert log_size(database) == 100
    finally:
        for node in nodes:
            node.stop()

    # -- Started on a restore that lost anchored records ------------------------------------
    restored = postgres_server.create_database("restored")
    subprocess.run(
        ["pg_restore", "--no-owner", "-d", restored, str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
        env={"PATH": f"{postgres_server.bin_dir}:/usr/bin:/bin"},
    )
    assert log_size(restored) == 40
    for node in nodes:
        node.env["NOTARY_DATABASE_URL"] = restored
    start_all(nodes)
    try:
        # Whoever leads halts the deployment at the start of its term, before any record.
        deadline = time.monotonic() + 60
        while any(ready(n.url)[1]["checks"]["log"].get("halted") is None for n in nodes):
            assert time.monotonic() < deadline, [ready(n.url) for n in nodes]
            time.sleep(0.5)
        for i, node in enumerate(nodes):
            status, body = ready(node.url)
            assert status == 503 and "log" in body["down"], body
            assert body["checks"]["log"]["halted"] == "log_behind_chain"
            with httpx.Client(
                base_url=node.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as http:
                refused = http.post("/v1/evidence", json=DigestSubmitter.digest(1000 + i))
                many = http.post(
                    "/v1/evidence/digests",
                    json={"items": [DigestSubmitter.digest(2000 + i)]},
                )
                read = http.get("/v1/evidence", params={"limit": 1})
            for answer in (refused, many):
                assert answer.status_code == 503, answer.text
                problem = answer.json()
                assert problem["code"] == "log_behind_chain"
                assert "100 entries" in problem["detail"] and "only 40" in problem["detail"]
            assert read.status_code == 200  # reads keep working
        time.sleep(2)  # several rounds of the leader: still nothing sealed
        assert log_size(restored) == 40
        with psycopg.connect(restored) as conn:
            row = conn.execute("SELECT count(*) FROM record").fetchone()
        assert row is not None and row[0] == 40
    finally:
        for node in nodes:
            node.stop()

    # -- The correct restore: the database that holds the whole log ------------------------
    for node in nodes:
        node.env["NOTARY_DATABASE_URL"] = database
    start_all(nodes)
    try:
        with NotaryClient(nodes[1].url, key) as client:
            after = client.submit_digests([DigestSubmitter.digest(i) for i in range(100, 110)])
        assert all(s.created for s in after)
        wait_all_anchored(database, at_least=110)
        for node in nodes:
            assert ready(node.url)[1]["checks"]["log"].get("halted") is None
    finally:
        for node in nodes:
            node.stop()
