"""The database as a component like the others: PostgreSQL going away and coming back, and the
settings that cannot reach it.

* A PostgreSQL restart under a running service: while it is down every request that needs the
  database answers 503 ``database_unavailable`` with ``Retry-After`` (not a 500 "unexpected
  error"), ``/readyz`` names the database, the SDK's client waits the restart out, and once the
  server is back the same process answers again, with nothing lost.
* At start: a wrong password or database name is one line naming ``NOTARY_DATABASE_URL`` (exit 2,
  not 70 "internal error ... report it"); a server that is not up yet is waited for (up to
  ``NOTARY_STARTUP_TIMEOUT_SECONDS``), as the chain is; ``postgres://`` is taken as psql takes it.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ipnotary.sdk import NotaryClient
from tests.conftest import REPO, free_port, missing_component
from tests.integration.operations.deployed import base_env
from tests.integration.postgres import PostgresServer, find_pg_bin
from tests.integration.service_process import NOTARY, DigestSubmitter, ServiceProcess

pytestmark = [pytest.mark.postgres]


def pause(server: PostgresServer) -> None:
    """Stop the postmaster (a fast shutdown, as a restart does), keeping its data directory."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGINT)
    server.proc.wait(timeout=60)


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    bin_dir, reason = find_pg_bin()
    if bin_dir is None:
        missing_component(reason)
    assert bin_dir is not None
    started = PostgresServer(bin_dir).start()
    yield started
    started.stop()


def psql_style(url: str) -> str:
    """The URL as psql and most PostgreSQL tools write it."""
    return "postgres://" + url.removeprefix("postgresql://")


def test_a_postgresql_restart_answers_503_and_the_same_process_recovers(
    server: PostgresServer, tmp_path: Path
) -> None:
    database = server.create_database("notary")
    svc = ServiceProcess(
        tmp_path / "data",
        env={"NOTARY_DATABASE_URL": psql_style(database), "NOTARY_LOG_LEVEL": "INFO"},
    )
    (tmp_path / "data").mkdir()
    key = svc.create_principal("Holder", "holder")
    svc.start()
    try:
        auth = {"Authorization": f"Bearer {key}"}
        with NotaryClient(svc.url, key) as client:
            before = client.submit_digests([DigestSubmitter.digest(i) for i in range(10)])
        pause(server)
        with httpx.Client(base_url=svc.url, headers=auth, timeout=30) as http:
            submitted = http.post("/v1/evidence", json=DigestSubmitter.digest(100))
            read = http.get(f"/v1/evidence/{before[0].id}")
            ready = http.get("/readyz")
        for answer in (submitted, read):
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "database_unavailable", answer.text
            assert answer.headers["Retry-After"] == "1"
        assert ready.status_code == 503 and "database" in ready.json()["down"]

        # The SDK's client waits out a restart that ends while it retries.
        outcome: dict[str, object] = {}

        def submit_during_restart() -> None:
            try:
                with NotaryClient(svc.url, key) as client:
                    outcome["subs"] = client.submit_digests([DigestSubmitter.digest(200)])
            except Exception as exc:  # noqa: BLE001 - asserted below
                outcome["error"] = exc

        waiting = threading.Thread(target=submit_during_restart)
        waiting.start()
        time.sleep(3)
        restarted = time.monotonic()
        server.run_postmaster()
        waiting.join(timeout=60)
        assert "error" not in outcome, outcome
        retried_seconds = time.monotonic() - restarted

        deadline = time.monotonic() + 30
        while httpx.get(f"{svc.url}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, httpx.get(f"{svc.url}/readyz").text
            time.sleep(0.5)
        with httpx.Client(base_url=svc.url, headers=auth, timeout=30) as http:
            for sub in before:
                assert http.get(f"/v1/evidence/{sub.id}").status_code == 200
            again = http.post("/v1/evidence", json=DigestSubmitter.digest(100))
            assert again.status_code == 201, again.text
    finally:
        svc.stop()
    log = svc.log_path.read_text() if svc.log_path else ""
    assert "internal_error" not in log and "unexpected error" not in log, log[-3000:]
    assert retried_seconds < 30


def serve_once(env: dict[str, str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NOTARY, "serve"],
        env=base_env(**env, NOTARY_BIND_PORT=str(free_port())),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_settings_that_cannot_reach_the_database_are_one_line(
    server: PostgresServer, tmp_path: Path
) -> None:
    good = server.create_database("notary")
    wrong_password = good.replace(server.password, "not-the-password")
    wrong_database = good.rsplit("/", 1)[0] + "/no_such_database"
    wrong_port = good.replace(f":{server.port}/", f":{free_port()}/")
    cases = [
        (wrong_password, "password authentication failed"),
        (wrong_database, 'database "no_such_database" does not exist'),
        (wrong_port, "NOTARY_STARTUP_TIMEOUT_SECONDS"),
    ]
    for url, said in cases:
        env = {
            "NOTARY_DATA_DIR": str(tmp_path / "data"),
            "NOTARY_DATABASE_URL": psql_style(url),
            "NOTARY_STARTUP_TIMEOUT_SECONDS": "3",
            "NOTARY_LOG_FORMAT": "text",
        }
        started = time.monotonic()
        done = serve_once(env, timeout=120)
        took = time.monotonic() - started
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        refusal = [line for line in lines if "refusing to start" in line]
        assert done.returncode == 2, done.stderr
        assert len(refusal) == 1 and "Traceback" not in done.stderr, done.stderr
        assert said in refusal[0] and "NOTARY_DATABASE_URL" in refusal[0], refusal[0]
        assert server.password not in done.stderr
        if url is wrong_port:
            assert 3 <= took < 60, took  # waited for it, as for a chain node that is not up
        else:
            assert took < 30, took  # a server that says no is not waited for


def test_a_database_that_comes_up_later_is_waited_for(
    server: PostgresServer, tmp_path: Path
) -> None:
    database = server.create_database("notary")
    pause(server)
    svc = ServiceProcess(
        tmp_path / "data",
        env={"NOTARY_DATABASE_URL": psql_style(database), "NOTARY_STARTUP_TIMEOUT_SECONDS": "60"},
    )
    (tmp_path / "data").mkdir()
    later = threading.Timer(4.0, server.run_postmaster)
    later.start()
    try:
        svc.start(timeout=90)
        assert httpx.get(f"{svc.url}/readyz", timeout=10).status_code == 200
    finally:
        later.join()
        svc.stop()
