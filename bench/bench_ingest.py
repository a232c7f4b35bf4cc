"""Ingest throughput through the HTTP API, and time from receipt to anchored, against per-item txs.

    python -m bench.bench_ingest [--quick] [--json PATH] [--databases sqlite postgres]

A real service process (``notary serve``, started as the integration tests start it) on embedded
defaults: SQLite, the embedded content store and the embedded chain (one block a second at most),
with the default batch settings (a batch closes at 10,000 records or after 2 s). Then the same on
PostgreSQL (the integration tests' server, ``tests/integration/postgres.py``).

Load (``bench._loadgen``, a separate process with 1 to 64 keep-alive connections), each phase
reported on its own row:

* ``digest``  - ``POST /v1/evidence`` with a JSON digest, one item a request;
* ``upload``  - ``POST /v1/evidence`` multipart with a 4 KiB file, one item a request;
* ``digests`` - ``POST /v1/evidence/digests`` with 1,000 digests a request (reported separately).

Full mode: 1, 4, 16 and 64 clients, 10 s each; quick mode: 1, 16 and 64 clients, 3 s each.

Receipts per second counts items acknowledged with a signed receipt (201/200). Receipt to anchored
is measured from the client's side for every record of the phase: from the moment its receipt
arrived to the first time a watcher polling the database (every 0.1 s) saw its batch anchored;
the load generator reads the record ids out of the responses.

Baseline, measured in the same run on the same kind of chain: every item anchored in its own
transaction through the chain client, one after another (what the service would do without
batches); on the embedded chain that is one item a second, as each transaction waits for its
block. A context row shows the same on a Hardhat node, which mines each transaction at once.
Targets: at least 2,000 receipts/s (the many-digests request may be used; it is reported
separately), anchored within 5 s at p95, at least 50 times the per-item baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from bench._common import (
    REPO,
    CpuMeter,
    Row,
    funded_key,
    log,
    main_for,
    percentile,
    start_hardhat,
    start_postgres,
)

TARGET_RATE = 2_000
TARGET_RATIO = 50
TARGET_P95 = 5.0


@dataclass
class Phase:
    mode: str
    concurrency: int


def phases(quick: bool) -> list[Phase]:
    clients = [1, 16, 64] if quick else [1, 4, 16, 64]
    many = [1, 4] if quick else [1, 2, 4, 16]
    return (
        [Phase("digest", c) for c in clients]
        + [Phase("upload", c) for c in clients]
        + [Phase("digests", c) for c in many]
    )


# -- the baseline: one transaction per item --------------------------------------------------


@dataclass
class PerItemBaseline:
    rate: float  # items anchored per second
    p50: float
    p95: float


def per_item_baseline(tmp: Path, items: int, client: Any = None) -> PerItemBaseline:
    """Anchor ``items`` leaves one transaction each, sequentially, on a fresh embedded chain
    (or through ``client``, which is closed afterwards): each item appended to a log and its
    checkpoint anchored at once (the registry takes only growing tree sizes)."""
    from ipnotary.chain import EvidenceRegistryClient
    from ipnotary.sdk.merkle import MerkleTree, leaf_hash

    if client is None:
        client = EvidenceRegistryClient.connect_embedded(tmp / f"per-item-{time.monotonic_ns()}")
    leaves: list[bytes] = []

    def anchor_one() -> None:
        leaves.append(leaf_hash(os.urandom(64)))
        tree = MerkleTree.from_leaf_hashes(leaves)  # under a millisecond next to a transaction
        client.anchor_root(tree.root, tree.size)

    try:
        anchor_one()  # warm-up
        times = []
        start = time.perf_counter()
        for _ in range(items):
            t = time.perf_counter()
            anchor_one()
            times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
    finally:
        client.close()
    return PerItemBaseline(items / elapsed, percentile(times, 50) or 0, percentile(times, 95) or 0)


# -- the service ---------------------------------------------------------------------------


class Bench:
    """One service process on one database, and the database as the benchmark inspects it."""

    def __init__(self, tmp: Path, database: str, database_url: str | None) -> None:
        from ipnotary.service.storage.db import create_db_engine
        from tests.integration.service_process import ServiceProcess

        data_dir = tmp / f"service-{database}"
        env = {
            # The service's defaults, not the integration tests' shorter interval.
            "NOTARY_BATCH_INTERVAL_SECONDS": "2.0",
            "NOTARY_BATCH_MAX_ITEMS": "10000",
        }
        if database_url is not None:
            env["NOTARY_DATABASE_URL"] = database_url
        self.service = ServiceProcess(data_dir, env=env)
        self.engine = create_db_engine(database_url or f"sqlite:///{data_dir / 'notary.db'}")
        self.api_key = ""

    def start(self) -> None:
        self.service.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_key = self.service.create_principal("Bench Holder", "holder")
        self.service.start()

    def stop(self) -> None:
        self.service.stop()
        self.engine.dispose()

    @property
    def pid(self) -> int:
        assert self.service.proc is not None
        return self.service.proc.pid

    def _scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def max_seq(self) -> int:
        return int(self._scalar("SELECT coalesce(max(seq), 0) FROM record"))

    def wait_anchored(self, after_seq: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self._scalar(
                "SELECT count(*) FROM record r LEFT JOIN batch b ON r.batch_seq = b.seq "
                "WHERE r.seq > :s AND (b.status IS NULL OR b.status <> 'anchored')",
                s=after_seq,
            )
            if left == 0:
                return True
            time.sleep(0.25)
        return False

    def anchoring_delays(self, after_seq: int, upto_seq: int) -> list[float]:
        """Seconds from each record's receipt to its batch's anchoring, as the service recorded."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT r.received_at, b.anchored_at FROM record r JOIN batch b "
                    "ON r.batch_seq = b.seq WHERE r.seq > :a AND r.seq <= :u "
                    "AND b.status = 'anchored'"
                ),
                {"a": after_seq, "u": upto_seq},
            ).all()
        return [(_dt(anchored) - _dt(received)).total_seconds() for received, anchored in rows]

    def batch_of(self, after_seq: int, upto_seq: int) -> dict[str, int | None]:
        """Record id -> batch seq for the records of a phase."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, batch_seq FROM record WHERE seq > :a AND seq <= :u"),
                {"a": after_seq, "u": upto_seq},
            ).all()
        return dict(rows)

    def batches(self, after_seq: int, upto_seq: int) -> int:
        """How many batches the records of a phase went into."""
        count = self._scalar(
            "SELECT count(DISTINCT batch_seq) FROM record WHERE seq > :a AND seq <= :u",
            a=after_seq,
            u=upto_seq,
        )
        return int(count or 0)


class AnchorWatcher:
    """Notes when each batch is first seen anchored, polling the service's database.

    Timestamps are this machine's wall clock, like the load generator's receipt times, so the
    difference needs no trust in how the database stored its own timestamps.
    """

    def __init__(self, bench: Bench, interval: float = 0.1) -> None:
        from sqlalchemy import text

        self._bench, self._interval = bench, interval
        self._query = text("SELECT seq FROM batch WHERE status = 'anchored' AND seq > :floor")
        self._floor = int(bench._scalar("SELECT coalesce(max(seq), 0) FROM batch"))
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._bench.engine.connect() as conn:
                rows = conn.execute(self._query, {"floor": self._floor}).all()
            now = time.time()
            for (seq,) in rows:
                self.seen.setdefault(seq, now)
            self._stop.wait(self._interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _dt(value: Any) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if isinstance(value, str) else value.replace(tzinfo=None)


def load(url: str, api_key: str, mode: str, concurrency: int, duration: float) -> dict[str, Any]:
    spec = {
        "url": url,
        "api_key": api_key,
        "mode": mode,
        "concurrency": concurrency,
        "duration": duration,
        "batch": 1000,
        "file_bytes": 4096,
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench._loadgen", json.dumps(spec)],
        capture_output=True,
        check=True,
        cwd=REPO,
        timeout=duration + 300,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def run_phase(
    bench: Bench, phase: Phase, duration: float, baseline: PerItemBaseline, database: str
) -> Row:
    before = bench.max_seq()
    meter = CpuMeter(watched={"server": bench.pid})
    with AnchorWatcher(bench) as watcher:
        with meter.measure():
            result = load(bench.service.url, bench.api_key, phase.mode, phase.concurrency, duration)
        after = bench.max_seq()
        drained = bench.wait_anchored(before, timeout=120)
        time.sleep(0.3)  # one more poll after the last batch
    batch_of = bench.batch_of(before, after)
    delays = []
    acknowledged = result.pop("acknowledged")
    acknowledged_ids = sum(len(ids) for _, ids in acknowledged)
    for received, ids in acknowledged:
        for rid in ids:
            seen = watcher.seen.get(batch_of.get(rid) or -1)
            if seen is not None:
                delays.append(max(0.0, seen - received))
    # The service's own view, for comparison: from received_at (set before the request's
    # transaction, so it includes the request's own time) to anchored_at.
    service_delays = bench.anchoring_delays(before, after)
    rate = result["receipts"] / result["wall"]
    p50, p95 = percentile(delays, 50), percentile(delays, 95)
    batches = bench.batches(before, after)
    client_cpu = result["cpu_seconds"] / result["wall"]
    errors = result["errors"]
    note = (
        f"anchored p50 {p50 or 0:.1f} s / p95 {p95 or 0:.1f} s; CPU: server "
        f"{meter.cpus.get('server', 0):.2f}, client {client_cpu:.2f}, others "
        f"{meter.others or 0:.2f}"
    )
    if errors:
        note += f"; ERRORS {errors}"
    if not drained:
        note += "; NOT ALL ANCHORED within 120 s"
    if len(delays) < acknowledged_ids or acknowledged_ids < result["receipts"]:
        note += f"; anchoring time known for {len(delays)} of {result['receipts']} receipts"
    log(
        f"{database} {phase.mode} x{phase.concurrency}: {rate:,.0f} receipts/s, {note}"
        + (f"; first error: {result['first_error']}" if result["first_error"] else "")
    )
    return Row(
        group="ingest",
        name=f"{database}: {phase.mode}, {phase.concurrency} "
        f"client{'s' if phase.concurrency > 1 else ''}",
        value=rate,
        unit="receipts/s",
        baseline="1 tx per item",
        baseline_value=baseline.rate,
        ratio=rate / baseline.rate,
        target=f"p95 <= {TARGET_P95:.0f} s",
        met=bool(drained and not errors and p95 is not None and p95 <= TARGET_P95),
        note=note,
        extra={
            "database": database,
            "mode": phase.mode,
            "concurrency": phase.concurrency,
            "receipts": result["receipts"],
            "requests": result["requests"],
            "wall": result["wall"],
            "errors": errors,
            "anchored_p50": p50,
            "anchored_p95": p95,
            "anchored_max": max(delays, default=None),
            "anchored_measured": len(delays),
            "acknowledged_ids": acknowledged_ids,
            "received_to_anchored_p50": percentile(service_delays, 50),
            "received_to_anchored_p95": percentile(service_delays, 95),
            "batches": batches,
            "records": after - before,
            "request_latency_p50": percentile(result["latencies"], 50),
            "request_latency_p95": percentile(result["latencies"], 95),
            "cpu_server": meter.cpus.get("server"),
            "cpu_client": client_cpu,
            "cpu_others": meter.others,
        },
    )


def run_database(
    tmp: Path, database: str, database_url: str | None, quick: bool, baseline_items: int
) -> list[Row]:
    baseline = per_item_baseline(tmp, baseline_items)
    log(
        f"{database}: per-item baseline {baseline.rate:.1f} items/s "
        f"(tx p50 {baseline.p50 * 1000:.0f} ms)"
    )
    base_row = Row(
        group="ingest",
        name=f"{database}: baseline, 1 tx per item, sequential",
        value=baseline.rate,
        unit="items/s",
        note=f"anchored p50 {baseline.p50:.2f} s / p95 {baseline.p95:.2f} s after "
        "submission, with no queue",
    )
    bench = Bench(tmp, database, database_url)
    bench.start()
    rows = [base_row]
    try:
        load(bench.service.url, bench.api_key, "digest", 4, 1.0)  # warm-up, not reported
        bench.wait_anchored(0, timeout=60)
        duration = 3.0 if quick else 10.0
        for phase in phases(quick):
            rows.append(run_phase(bench, phase, duration, baseline, database))
    finally:
        bench.stop()
    for mode, label in (
        ("digest", "single digest submissions"),
        ("upload", "4 KiB uploads"),
        ("digests", "many-digests requests"),
    ):
        measured = [r for r in rows if r.extra.get("mode") == mode and r.value is not None]
        if not measured:
            continue
        best = max(measured, key=lambda r: r.value or 0)
        has_target = mode != "upload"
        rate = best.value or 0
        rows.append(
            Row(
                group="ingest",
                name=f"{database}: best of {label}",
                value=rate,
                unit="receipts/s",
                baseline="1 tx per item",
                baseline_value=baseline.rate,
                ratio=best.ratio,
                target=f">= {TARGET_RATE:,}/s, >= {TARGET_RATIO}x" if has_target else "",
                met=(rate >= TARGET_RATE and (best.ratio or 0) >= TARGET_RATIO)
                if has_target
                else None,
                note=f"{best.extra['concurrency']} clients",
            )
        )
    return rows


def hardhat_per_item(tmp: Path, items: int) -> Row:
    """For context: one transaction per item on a chain that mines each at once (automine)."""
    from ipnotary.chain import EvidenceRegistryClient

    node, reason = start_hardhat(tmp)
    if node is None:
        return Row(
            group="ingest", name="hardhat: 1 tx per item", value=None, unit="items/s", note=reason
        )
    try:
        state = tmp / "hardhat-state"
        client = EvidenceRegistryClient.connect_rpc(
            node.url, private_key=funded_key(node.url, state), state_dir=state
        )
        result = per_item_baseline(tmp, items, client)
    finally:
        node.stop()
    log(f"hardhat: per-item {result.rate:.1f} items/s")
    return Row(
        group="ingest",
        name="context: 1 tx per item, sequential, on a Hardhat node",
        value=result.rate,
        unit="items/s",
        note=f"automine, no block interval; tx p50 {result.p50 * 1000:.0f} ms",
    )


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    baseline_items = 10 if args.quick else 30
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        if args.hardhat:
            rows.append(hardhat_per_item(tmp, 50 if args.quick else 200))
        for database in args.databases:
            if database == "sqlite":
                rows += run_database(tmp, "sqlite", None, args.quick, baseline_items)
                continue
            server, reason = start_postgres()
            if server is None:
                rows.append(
                    Row(group="ingest", name="postgres", value=None, unit="receipts/s", note=reason)
                )
                continue
            try:
                url = server.create_database("bench")
                rows += run_database(tmp, "postgres", url, args.quick, baseline_items)
            finally:
                server.stop()
    return rows


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--databases", nargs="*", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--no-hardhat",
        dest="hardhat",
        action="store_false",
        help="skip the per-item context row on a Hardhat node",
    )


if __name__ == "__main__":
    main_for(run, __doc__.split("\n\n")[0], _arguments)
