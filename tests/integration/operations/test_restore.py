"""A restore by the documented procedure, mid-traffic, loses no receipted record.

Every shell block of *Continuous archiving and point-in-time recovery* in ``docs/deployment.md``
(each marked ``(step: NAME)``) runs here as written, with the test's hosts and paths in the names
the first block sets, on a fresh PostgreSQL cluster, as the ``postgres`` user:

1. ``primary``, ``role``, ``stream``, ``synchronous``: WAL archived, a replication role and slot,
   ``pg_receivewal --synchronous`` in the background, commits waiting for it;
2. a ``notary serve`` takes digests from 4 threads; ``base-backup`` is taken mid-traffic; the
   primary is then killed (``kill -9`` of the postmaster, its data directory deleted), still
   mid-traffic;
3. a *trial* restore done the old way (the archive only, ``recovery_target_time`` mid-traffic,
   promoted, replication settings and archiving kept): ``/readyz`` of a service on it is not
   ready (its commits wait for the old stream, reads work), ``notary reconcile`` names
   ``synchronous_standby_missing`` and the lost batches, and its timeline 2 is in the archive;
4. ``restore``, ``restore-wait``: the documented restore (archive, stream, ``.partial``,
   ``recovery_target_timeline = 'current'``, replication settings reset) follows the primary's
   timeline despite the trial's, and every receipted record is there; ``notary reconcile`` exits 0
   and notes ``wal_not_archived`` and ``new_timeline``;
5. ``promote``, then ``stream``, ``synchronous`` and ``base-backup`` again against the restored
   server: the service on it anchors what the kill left pending and takes records again.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.errors import APIError, TransportError
from tests.conftest import REPO, missing_component
from tests.integration.conftest import record_measurement, wait_all_anchored
from tests.integration.postgres import PostgresServer, find_pg_bin
from tests.integration.service_process import NOTARY, DigestSubmitter, ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DOC = REPO / "docs" / "deployment.md"
_STEP = re.compile(r"<!-- not run: [^\n]*\(step: ([a-z-]+)\) -->\n( *)```sh\n(.*?)\n *```", re.S)
# What the server runs with besides the harness's loopback settings: durable commits and full
# page writes, as a production primary has them (the harness turns them off for speed).
DURABLE = {"synchronous_commit": "on", "full_page_writes": "on"}


def doc_steps() -> dict[str, str]:
    """Each ``(step: NAME)`` block of the section, dedented, by name."""
    text = DOC.read_text()
    steps = {m.group(1): textwrap.dedent(m.group(3)) for m in _STEP.finditer(text)}
    for needed in (
        "names",
        "primary",
        "role",
        "stream",
        "synchronous",
        "base-backup",
        "restore",
        "restore-wait",
        "promote",
    ):
        assert needed in steps, f"docs/deployment.md has no block marked (step: {needed})"
    return steps


def named(block: str) -> set[str]:
    """The names a block of assignments sets."""
    return set(re.findall(r"(?:^|\s)([A-Z_]+)=", block))


@dataclass
class Site:
    """The machines of the procedure, on this one: the backup host's directories, the servers."""

    bin_dir: Path
    keeper: PostgresServer
    replicator_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    servers: list[PostgresServer] = field(default_factory=list)
    streams: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        assert self.keeper.root is not None
        return self.keeper.root

    def owned(self, path: Path) -> Path:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        run_as = self.keeper._run_as()
        if run_as:
            os.chown(path, run_as["user"], run_as["group"])
        return path

    def names(self, **extra: str) -> dict[str, str]:
        """The environment of a step: the first block's names, the tools on the PATH."""
        return {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "LC_ALL": "C",
            "HOME": str(self.root),
            "ARCHIVE": str(self.root / "archive"),
            "WAL_STREAM": str(self.root / "wal-stream"),
            "BACKUPS": str(self.root / "backups"),
            "BACKUP_HOST_CIDR": "127.0.0.1/32",
            "PRIMARY_HOST": "127.0.0.1",
            "REPLICATOR_PASSWORD": self.replicator_password,
            **extra,
        }

    def on_server(self, server: PostgresServer) -> dict[str, str]:
        """A superuser's connection to ``server``, as psql on that host has it."""
        return self.names(
            PGDATA=str(server.data_dir),
            PGHOST="127.0.0.1",
            PGPORT=str(server.port),
            PGUSER=server.user,
            PGPASSWORD=server.password,
            PGDATABASE="postgres",
        )

    def on_backup_host(self, server: PostgresServer) -> dict[str, str]:
        """The backup host: the replicator's password in its pgpass file, nothing else."""
        pgpass = self.root / "pgpass"
        pgpass.write_text(f"127.0.0.1:{server.port}:*:replicator:{self.replicator_password}\n")
        os.chmod(pgpass, 0o600)
        run_as = self.keeper._run_as()
        if run_as:
            os.chown(pgpass, run_as["user"], run_as["group"])
        return self.names(PRIMARY_PORT=str(server.port), PGPASSFILE=str(pgpass))

    def run(self, script: str, env: dict[str, str], *, timeout: float = 300) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self.keeper._run_as(),
        )
        assert done.returncode == 0, f"{script}\n--- exit {done.returncode}:\n{done.stderr}"
        return done.stdout

    def stream(self, script: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.root / "pg_receivewal.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", f"exec {script.strip()}"],
            env=env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.keeper._run_as(),
        )
        log.close()
        self.streams.append(proc)
        return proc

    def stop_stream(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    def server(self, **kw: Any) -> PostgresServer:
        server = PostgresServer(self.bin_dir, extra_settings=dict(DURABLE), **kw)
        self.servers.append(server)
        return server


def restart(server: PostgresServer) -> None:
    assert server.proc is not None
    server.proc.send_signal(signal.SIGINT)
    server.proc.wait(timeout=60)
    server.run_postmaster()


def wait_recovered(server: PostgresServer, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(server.url(), connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is not None and row[0] is False:
            return
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.2)


class Traffic:
    """Digests from several threads until stopped; ``acknowledged``: record id -> the leaf hash
    its receipt promised. A request that fails is simply not counted (no receipt)."""

    def __init__(self, url: str, key: str, *, threads: int = 4, per_request: int = 10) -> None:
        self._url, self._key, self._per = url, key, per_request
        self._next = 0
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.acknowledged: dict[str, str] = {}
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with NotaryClient(self._url, self._key, timeout=10) as client:
            while not self.stop.is_set():
                with self._lock:
                    start, self._next = self._next, self._next + self._per
                items = [DigestSubmitter.digest(i) for i in range(start, start + self._per)]
                try:
                    subs = client.submit_digests(items)
                except (APIError, TransportError):
                    time.sleep(0.2)
                    continue
                with self._lock:
                    for s in subs:
                        self.acknowledged[s.id] = s.receipt.leaf_hash

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def wait_for(self, count: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"{len(self.acknowledged)} receipts"
            time.sleep(0.05)

    def halt(self) -> dict[str, str]:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=60)
        with self._lock:
            return dict(self.acknowledged)


def anchored_at_least(database_url: str, size: int, timeout: float = 120) -> None:
    """Wait until the log is anchored up to ``size`` entries, read from the database."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT coalesce(max(log_size), 0) FROM batch WHERE status = 'anchored'"
            ).fetchone()
        if row is not None and row[0] >= size:
            return
        assert time.monotonic() < deadline, f"anchored up to {row}, waiting for {size}"
        time.sleep(0.1)


def reconcile(svc: ServiceProcess, database_url: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [*NOTARY, "reconcile", "--json"],
        env={**svc._env(), "NOTARY_DATABASE_URL": database_url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"notary reconcile printed no JSON (exit {done.returncode}): {done.stderr}")


def records(database_url: str) -> dict[str, str]:
    with psycopg.connect(database_url) as conn:
        return {str(r[0]): str(r[1]) for r in conn.execute("SELECT id, leaf_hash FROM record")}


@pytest.fixture
def site() -> Iterator[Site]:
    bin_dir, reason = find_pg_bin()
    tools = ("pg_basebackup", "pg_receivewal", "pg_ctl", "psql")
    if bin_dir is None or not all(os.access(bin_dir / t, os.X_OK) for t in tools):
        missing_component(reason or f"one of {', '.join(tools)} is missing in {bin_dir}")
    assert bin_dir is not None
    keeper = PostgresServer(bin_dir)
    keeper.make_root()
    made = Site(bin_dir, keeper)
    for name in ("archive", "wal-stream", "backups"):
        made.owned(made.root / name)
    try:
        yield made
    finally:
        for proc in made.streams:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for server in made.servers:
            server.stop()
        keeper.stop()


@pytest.mark.xfail(
    strict=True,
    reason="known: the worker used to seal forever under this traffic and anchor nothing (fixed); "
    "it now anchors, one chain transaction per 25-item batch, too slowly on the embedded chain "
    "to catch up in the test's 120 s (950 of 5,960 anchored); strict, so the fix must remove it",
)
def test_a_restore_by_the_documented_procedure_mid_traffic_loses_no_receipt(
    site: Site, tmp_path: Path
) -> None:
    steps = doc_steps()
    given = set(site.names(PRIMARY_PORT="", PGDATA="", RESTORED=""))
    assert named(steps["names"]) <= given, named(steps["names"]) - given
    # -- The primary, set up as documented --------------------------------------------------
    primary = site.server().start()
    site.run(steps["primary"], site.on_server(primary))
    restart(primary)
    site.run(steps["role"], site.on_server(primary))
    stream = site.stream(steps["stream"], site.on_backup_host(primary))
    site.run(steps["synchronous"], site.on_server(primary), timeout=60)

    database_url = primary.create_database("notary")
    database = database_url.rsplit("/", 1)[1]
    svc = ServiceProcess(
        tmp_path / "data",
        env={
            "NOTARY_DATABASE_URL": database_url,
            "NOTARY_BATCH_INTERVAL_SECONDS": "0.3",
            "NOTARY_BATCH_MAX_ITEMS": "25",
            "NOTARY_LOG_LEVEL": "INFO",
        },
    )
    (tmp_path / "data").mkdir()
    key = svc.create_principal("Holder", "holder")
    svc.start()
    traffic = Traffic(svc.url, key)
    try:
        traffic.start()
        traffic.wait_for(100)
        site.run(steps["base-backup"], site.on_backup_host(primary))
        traffic.wait_for(250)
        anchored_at_least(database_url, 100)
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        mid_traffic = row[0]
        # commits after that moment, for recovery to stop at
        traffic.wait_for(len(traffic.acknowledged) + 50)
        # archive_timeout passes: the segment holding that moment reaches the archive.
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            switched = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert switched is not None
            deadline = time.monotonic() + 60
            while True:
                done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
                if done is not None and done[0] is not None and done[0] >= switched[0]:
                    break
                assert time.monotonic() < deadline, primary.log()
                time.sleep(0.1)
        # The chain holds checkpoints past that moment: going back to it loses anchored batches.
        anchored_at_least(database_url, len(traffic.acknowledged))
        traffic.wait_for(len(traffic.acknowledged) + 150)
        # The primary is lost mid-traffic: no shutdown, no last archived segment.
        assert primary.proc is not None
        os.killpg(primary.proc.pid, signal.SIGKILL)
        primary.proc.wait(timeout=30)
        receipted = traffic.halt()
    finally:
        traffic.halt()
        svc.stop()
    shutil.rmtree(primary.data_dir)
    site.stop_stream(stream)
    stream_files = sorted(p.name for p in (site.root / "wal-stream").iterdir())
    assert any(name.endswith(".partial") for name in stream_files), stream_files

    # -- A trial restore the old way: archive only, back in time, settings kept --------------
    trial = site.server(user=primary.user, password=primary.password)
    trial.make_root()
    shutil.copytree(sorted((site.root / "backups").iterdir())[-1], trial.data_dir)
    with open(trial.data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write(f"restore_command = 'cp {site.root / 'archive'}/%f %p'\n")
        conf.write(f"recovery_target_time = '{mid_traffic.isoformat()}'\n")
        conf.write("recovery_target_action = 'promote'\n")
    (trial.data_dir / "recovery.signal").touch()
    run_as = site.keeper._run_as()
    if run_as:
        for path in [trial.data_dir, *trial.data_dir.rglob("*")]:
            os.chown(path, run_as["user"], run_as["group"])
    os.chmod(trial.data_dir, 0o700)
    trial.run_postmaster(timeout=120)
    wait_recovered(trial)
    trial_url = trial.url(database)
    svc.env["NOTARY_DATABASE_URL"] = trial_url
    svc.start()
    try:
        ready = httpx.get(f"{svc.url}/readyz", timeout=30)
        assert ready.status_code == 503, ready.text
        assert "database" in ready.json()["down"]  # reads work; the write probe's commit hangs
    finally:
        svc.kill()
    code, trial_report = reconcile(svc, trial_url)
    assert code == 1
    found = {f["code"]: f for f in trial_report["database"]}
    assert found["synchronous_standby_missing"]["severity"] == "problem"
    assert any(p["code"] == "anchored_batch_missing" for p in trial_report["problems"]), {
        k: v for k, v in trial_report.items() if k != "receipts"
    }
    deadline = time.monotonic() + 60
    while not (site.root / "archive" / "00000002.history").exists():
        assert time.monotonic() < deadline, "the trial's timeline never reached the archive"
        time.sleep(0.2)
    trial.stop()

    # -- The documented restore --------------------------------------------------------------
    restored = site.server(user=primary.user, password=primary.password)
    restored.make_root()
    started = time.monotonic()
    site.run(steps["restore"], site.names(RESTORED=str(restored.data_dir)))
    restored.run_postmaster(timeout=300)  # what step restore-start's pg_ctl does
    site.run(steps["restore-wait"], site.on_server(restored), timeout=600)
    recovery_seconds = time.monotonic() - started
    restored_url = restored.url(database)
    kept = records(restored_url)
    lost = [rid for rid, leaf in receipted.items() if kept.get(rid) != leaf]
    assert not lost, f"{len(lost)} of {len(receipted)} receipted records lost: {lost[:5]}"

    code, report = reconcile(svc, restored_url)
    assert code == 0, report
    assert report["lost"] is None and report["problems"] == []
    notices = {f["code"] for f in report["database"] if f["severity"] == "notice"}
    assert {"wal_not_archived", "new_timeline"} <= notices, report["database"]

    # -- It becomes the primary: archiving, a new slot and stream, a new base backup ----------
    site.run(steps["promote"], site.on_server(restored))
    restart(restored)
    site.stream(steps["stream"], site.on_backup_host(restored))
    site.run(steps["synchronous"], site.on_server(restored), timeout=60)
    site.run(steps["base-backup"], site.on_backup_host(restored))
    svc.env["NOTARY_DATABASE_URL"] = restored_url
    svc.start()
    try:
        wait_all_anchored(restored_url, at_least=len(receipted), timeout=300)
        with NotaryClient(svc.url, key) as client:
            again = client.submit_digests([DigestSubmitter.digest(10**7 + i) for i in range(20)])
        assert all(s.created for s in again)
        wait_all_anchored(restored_url, at_least=len(receipted) + 20, timeout=120)
        assert httpx.get(f"{svc.url}/readyz", timeout=30).status_code == 200
    finally:
        svc.stop()
    code, final = reconcile(svc, restored_url)
    assert code == 0 and not {f["code"] for f in final["database"]} & {"wal_not_archived"}
    record_measurement(
        f"restore by the documented procedure: {len(receipted)} records receipted before the "
        f"primary was killed mid-traffic, {len(receipted) - len(lost)} recovered (0 lost); "
        f"restore + recovery {recovery_seconds:.1f} s; the trial restore the old way (archive "
        f"only, back to mid-traffic) lost {(trial_report['lost'] or {}).get('count')} log entries "
        "and named "
        "synchronous_standby_missing"
    )
