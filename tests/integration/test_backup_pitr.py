"""Backups that lose nothing receipted: PostgreSQL continuous archiving and point-in-time recovery,
run with the real server, against the plain ``pg_dump`` that loses what came after it.

One ``notary serve`` process on a PostgreSQL cluster that archives its WAL (``wal_level=replica``,
``archive_mode=on``, ``archive_command`` copying each segment to an archive directory) takes
digests from two submitting threads the whole time. While they run, ``pg_basebackup`` copies the
cluster, and later ``pg_dump`` dumps the database. Every batch gets anchored, the service stops,
the last WAL segment is archived, and the cluster is thrown away. Then:

* the base backup is restored into a new data directory with ``restore_command`` and
  ``recovery.signal``, recovering to the end of the archive (``docs/deployment.md``, *Backups and
  restore*, step by step); the service started on it answers every receipted record with its
  certificate, and ``notary reconcile`` exits 0 (everything accounted for);
* the dump restored into a new database loses the records receipted after it, and
  ``notary reconcile`` on it exits 1 naming each anchored batch it lacks and the lost log entries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import REPO, missing_component
from tests.integration.conftest import record_measurement, wait_all_anchored
from tests.integration.postgres import PostgresServer, find_pg_bin
from tests.integration.service_process import NOTARY, DigestSubmitter, ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOTAL = 600  # digests, 10 per request, from two threads


def _archiving(bin_dir: Path, archive: Path) -> PostgresServer:
    return PostgresServer(
        bin_dir,
        extra_settings={
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f",
            # A receipt is issued after the commit: the commit must be durable (docs/deployment.md).
            "synchronous_commit": "on",
            "full_page_writes": "on",
        },
    )


def _as_postgres(server: PostgresServer) -> dict[str, Any]:
    return server._run_as()


def _owned_dir(server: PostgresServer, path: Path) -> Path:
    path.mkdir(mode=0o700)
    run_as = _as_postgres(server)
    if run_as:
        os.chown(path, run_as["user"], run_as["group"])
    return path


def _pg_env(server: PostgresServer) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGPASSWORD": server.password,
        "LC_ALL": "C",
    }


def _reconcile(svc: ServiceProcess, database_url: str) -> tuple[int, dict[str, Any], str]:
    env = {**svc._env(), "NOTARY_DATABASE_URL": database_url}
    done = subprocess.run(
        [*NOTARY, "reconcile", "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=300,
        check=False,
    )
    stderr = done.stderr.decode(errors="replace")
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"notary reconcile printed no JSON (exit {done.returncode}): {stderr}")
    return done.returncode, report, stderr


def _archive_everything(server: PostgresServer) -> None:
    """Switch to a new WAL segment and wait until the last one is in the archive: what is not
    archived when the cluster is lost is lost with it (docs: or stream WAL synchronously)."""
    with psycopg.connect(server.url(), autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = row[0]
        deadline = time.monotonic() + 60
        while True:
            done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if done is not None and done[0] is not None and done[0] >= segment:
                return
            assert time.monotonic() < deadline, f"segment {segment} never archived: {server.log()}"
            time.sleep(0.1)


def _restore_base_backup(
    bin_dir: Path, original: PostgresServer, base: Path, archive: Path
) -> PostgresServer:
    """The PostgreSQL documentation's recovery, section "Recovering Using a Continuous Archive
    Backup": the base backup in a new data directory, ``restore_command`` reading the archive,
    ``recovery.signal``; recovery runs to the end of the archive, then the server opens."""
    restored = PostgresServer(bin_dir, user=original.user, password=original.password)
    root = restored.make_root()
    shutil.copytree(base, restored.data_dir)
    with open(restored.data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write(f"restore_command = 'cp {archive}/%f %p'\n")
        conf.write("recovery_target_timeline = 'latest'\n")
    (restored.data_dir / "recovery.signal").touch()
    run_as = _as_postgres(restored)
    if run_as:
        for path in [root, *root.rglob("*")]:
            os.chown(path, run_as["user"], run_as["group"])
    os.chmod(restored.data_dir, 0o700)
    restored.run_postmaster(timeout=120)
    deadline = time.monotonic() + 120
    while True:  # read-only connections are accepted during recovery: wait until it ends
        with psycopg.connect(restored.url()) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is not None and row[0] is False:
            return restored
        assert time.monotonic() < deadline, f"still recovering: {restored.log()}"
        time.sleep(0.2)


@pytest.fixture
def pg_bin() -> Path:
    bin_dir, reason = find_pg_bin()
    if bin_dir is None or not all(
        os.access(bin_dir / t, os.X_OK) for t in ("pg_basebackup", "pg_dump", "pg_restore")
    ):
        missing_component(reason or f"pg_basebackup, pg_dump or pg_restore missing in {bin_dir}")
    assert bin_dir is not None
    return bin_dir


@pytest.fixture
def servers() -> Iterator[list[PostgresServer]]:
    started: list[PostgresServer] = []
    yield started
    for server in started:
        server.stop()


def test_continuous_archiving_restores_every_receipt_and_a_dump_is_named_short(
    pg_bin: Path, servers: list[PostgresServer], tmp_path: Path
) -> None:
    # The backup's home outlives the cluster: a directory of its own (owned by the server's user).
    keeper = PostgresServer(pg_bin)
    backups = keeper.make_root()
    servers.append(keeper)  # removes the directory at the end
    archive = _owned_dir(keeper, backups / "wal-archive")
    base = backups / "base"

    primary = _archiving(pg_bin, archive).start()
    servers.append(primary)
    database_url = primary.create_database(prefix="notary")
    svc = ServiceProcess(
        tmp_path / "data",
        env={
            "NOTARY_DATABASE_URL": database_url,
            "NOTARY_BATCH_INTERVAL_SECONDS": "0.3",
            "NOTARY_BATCH_MAX_ITEMS": "25",
        },
    )
    (tmp_path / "data").mkdir()
    key = svc.create_principal("Holder", "holder")
    svc.start()
    try:
        traffic = DigestSubmitter(svc, key, total=TOTAL, per_request=10, threads=2)
        traffic.start()
        traffic.wait_for(100)
        with psycopg.connect(database_url) as conn:
            at_base = conn.execute("SELECT count(*) FROM record").fetchone()
        subprocess.run(
            [
                str(pg_bin / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                primary.user,
                "-D",
                str(base),
                "-X",
                "stream",
                "--checkpoint=fast",
            ],
            env=_pg_env(primary),
            check=True,
            capture_output=True,
            timeout=120,
            **_as_postgres(primary),
        )
        traffic.wait_for(300)
        dump = tmp_path / "notary.dump"
        subprocess.run(
            [str(pg_bin / "pg_dump"), "-Fc", "-f", str(dump), database_url],
            env=_pg_env(primary),
            check=True,
            capture_output=True,
            timeout=120,
        )
        with psycopg.connect(database_url) as conn:
            at_dump = conn.execute("SELECT count(*) FROM record").fetchone()
        traffic.join()
        receipted = dict(traffic.acknowledged)
        assert len(receipted) == TOTAL
        wait_all_anchored(database_url, at_least=TOTAL, certified=True, timeout=120)
    finally:
        svc.stop()
    _archive_everything(primary)
    primary.stop()  # the cluster is gone; the base backup and the archive are what is left
    assert at_base is not None and at_dump is not None

    # -- Point-in-time recovery to the end of the archive ---------------------------------------
    started = time.monotonic()
    restored = _restore_base_backup(pg_bin, primary, base, archive)
    servers.append(restored)
    recovery_seconds = time.monotonic() - started
    restored_url = restored.url(database_url.rsplit("/", 1)[1])
    svc.env["NOTARY_DATABASE_URL"] = restored_url
    svc.start()
    try:
        with httpx.Client(
            base_url=svc.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            for record_id, leaf_hash in receipted.items():
                view = client.get(f"/v1/evidence/{record_id}")
                assert view.status_code == 200, (record_id, view.text)
                assert view.json()["status"] == "anchored"
                cert = client.get(f"/v1/evidence/{record_id}/certificate")
                assert cert.status_code == 200, (record_id, cert.text)
                assert cert.json()["leaf_hash"] == leaf_hash
    finally:
        svc.stop()
    code, report, stderr = _reconcile(svc, restored_url)
    assert code == 0, (report, stderr)
    assert report["ok"] and report["problems"] == [] and report["lost"] is None
    assert report["database_log_size"] == report["anchored_size"] == TOTAL
    pitr_reconcile = report["seconds"]

    # -- The plain dump, restored, is named short ---------------------------------------------
    dumped_url = restored.create_database(prefix="fromdump")
    subprocess.run(
        [str(pg_bin / "pg_restore"), "--no-owner", "-d", dumped_url, str(dump)],
        env=_pg_env(restored),
        check=True,
        capture_output=True,
        timeout=120,
    )
    with psycopg.connect(dumped_url) as conn:
        kept = {row[0] for row in conn.execute("SELECT id FROM record")}
        dump_log_size = conn.execute("SELECT coalesce(max(log_size), 0) FROM batch").fetchone()
        dump_batches = conn.execute("SELECT count(*) FROM batch").fetchone()
    lost_records = set(receipted) - kept
    assert lost_records, "the dump was taken mid-traffic: records receipted after it are lost"
    code, report, stderr = _reconcile(svc, dumped_url)
    assert code == 1, (report, stderr)
    assert dump_log_size is not None and dump_batches is not None
    assert report["lost"] == {
        "start": dump_log_size[0],
        "end": TOTAL,
        "count": TOTAL - dump_log_size[0],
    }
    missing = [p for p in report["problems"] if p["code"] == "anchored_batch_missing"]
    assert missing and all(p["details"]["tree_size"] > dump_log_size[0] for p in missing)
    # Every checkpoint anchored beyond the dump is named by its chain batch id: all of them
    # but the dump's own batches (each anchored by the end).
    assert len(missing) == report["anchored_checkpoints"] - dump_batches[0]
    assert len(lost_records) <= report["lost"]["count"]
    record_measurement(
        f"backup/restore: {len(receipted)} receipts ({at_base[0]} in the database at "
        f"pg_basebackup, {at_dump[0]} at pg_dump); PITR recovered all {len(receipted)} "
        f"(recovery {recovery_seconds:.1f} s, reconcile {pitr_reconcile:.2f} s over "
        f"{report['anchored_checkpoints']} checkpoints); the dump lost {len(lost_records)} "
        f"receipted records in {len(missing)} anchored batches, all named by reconcile "
        f"({report['seconds']:.2f} s)"
    )
