"""The service's Prometheus instruments, and their exposition across uvicorn workers.

Two kinds of numbers:

- *Events a process counts* (receipts, requests, readiness probes apart from them, batches
  sealed/anchored/certified, chain and witness/TSA failures, request latencies, database commit
  latency) and *its own state* (leader, witness and TSA health, the anchoring account's balance as
  its last readiness probe read it): the module-level instruments below, updated where the thing
  happens.
- *The deployment's state in the database* (anchoring backlog and its age, log size, certified
  size, the age of the last anchor and of the last certified checkpoint) and *this process's*
  (build version and config fingerprint, database pool, content store): read when scraped
  (``ipnotary.service.api.routes.metrics``), so every process reports the same deployment numbers
  whichever one is asked, and they are right even while no process leads.

With ``NOTARY_WORKERS`` > 1, ``notary serve`` gives its workers a directory for
prometheus-client's multiprocess mode (:func:`prepare_multiprocess_dir`): each worker writes its
numbers to files there and whichever worker answers a scrape adds them up (counters and
histograms summed; ``notary_leader`` summed over live workers; witness and TSA health the latest
any worker wrote). Process metrics (``process_*``: memory, CPU, files) exist only with one worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from ipnotary.sdk.numerals import is_ascii_digits

__all__ = [
    "ANCHORING_ACCOUNT_BALANCE",
    "ANCHORING_FAILURES",
    "ANCHORS_AFFORDABLE",
    "ANCHOR_DURATION",
    "BATCHES_ANCHORED",
    "BATCHES_CERTIFIED",
    "BATCHES_SEALED",
    "CHAIN_ERRORS",
    "CONTENT_TYPE",
    "DATABASE_COMMIT_DURATION",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_DURATION",
    "LEADER",
    "MULTIPROCESS_DIR_ENV",
    "PROBE_DURATION",
    "PROBE_REQUESTS",
    "PROBE_ROUTES",
    "RECEIPTS",
    "RECORDS_SEALED",
    "TSA_FAILURES",
    "TSA_REQUEST_DURATION",
    "TSA_UP",
    "WITNESS_FAILURES",
    "WITNESS_REQUEST_DURATION",
    "WITNESS_UP",
    "attestation_failed",
    "attestation_registered",
    "attestation_succeeded",
    "count_receipt",
    "exposition",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

# ``*_created`` series double the output and no alert here uses them.
disable_created_metrics()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_CHAIN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

# -- the API ---------------------------------------------------------------------------------

RECEIPTS = Counter(
    "notary_receipts",
    "Signed receipts handed out on submission, by record kind and outcome "
    "(created: a new record; existing: the same holder's earlier record for the same content)",
    ["kind", "outcome"],
)
HTTP_REQUESTS = Counter(
    "notary_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "notary_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
# The health checks are counted apart: a readiness probe's 503 reports a dependency that is down
# (alerted on by its own rule), not a request the service failed, and must not page as one.
PROBE_ROUTES = frozenset({"/readyz", "/healthz"})
PROBE_REQUESTS = Counter(
    "notary_probe_requests",
    "Health and readiness probes answered (/healthz, /readyz), by route and status; not in "
    "notary_http_requests",
    ["route", "status"],
)
PROBE_DURATION = Histogram(
    "notary_probe_duration_seconds",
    "Time to answer a health or readiness probe (a readiness probe checks every dependency)",
    ["route"],
    buckets=_LATENCY_BUCKETS,
)

# -- the database ------------------------------------------------------------------------------

DATABASE_COMMIT_DURATION = Histogram(
    "notary_database_commit_duration_seconds",
    "Time for the database to commit this process's heartbeat row (every few seconds and at "
    "every readiness probe): what each receipt's commit waits for, synchronous standby included",
    buckets=_LATENCY_BUCKETS,
)

# -- anchoring (the leader) --------------------------------------------------------------------

LEADER = Gauge(
    "notary_leader",
    "1 while this process holds the anchoring leader lock, else 0",
    multiprocess_mode="livesum",
)
BATCHES_SEALED = Counter("notary_batches_sealed", "Batches sealed into the log (checkpoints made)")
RECORDS_SEALED = Counter("notary_records_sealed", "Records appended to the log in sealed batches")
BATCHES_ANCHORED = Counter("notary_batches_anchored", "Checkpoints anchored on the chain")
BATCHES_CERTIFIED = Counter(
    "notary_batches_certified",
    "Checkpoints certified (anchored, cosigned by the witness quorum, stamped by the TSA quorum)",
)
ANCHORING_FAILURES = Counter(
    "notary_anchoring_failures",
    "Anchoring rounds that failed and are retried with backoff, by exception type",
    ["error"],
)
CHAIN_ERRORS = Counter(
    "notary_chain_errors",
    "Failed calls to the chain node, by operation (connect, anchor, check, "
    "genesis, pledge_registry) and exception type",
    ["operation", "error"],
)
ANCHORING_ACCOUNT_BALANCE = Gauge(
    "notary_anchoring_account_balance_wei",
    "The anchoring account's balance, as this process's last readiness probe read it",
    multiprocess_mode="livemostrecent",
)
ANCHORS_AFFORDABLE = Gauge(
    "notary_anchoring_anchors_affordable",
    "How many anchors the anchoring account can pay for at the current fee (its last readiness "
    "probe)",
    multiprocess_mode="livemostrecent",
)
ANCHOR_DURATION = Histogram(
    "notary_chain_anchor_duration_seconds",
    "Time to anchor one checkpoint: sending the transaction until its confirmations",
    buckets=_CHAIN_BUCKETS,
)

# -- witnesses and time-stamp authorities (the leader) -----------------------------------------

WITNESS_REQUEST_DURATION = Histogram(
    "notary_witness_request_duration_seconds",
    "add-checkpoint requests to each witness",
    ["witness"],
    buckets=_LATENCY_BUCKETS,
)
WITNESS_FAILURES = Counter(
    "notary_witness_failures",
    "Failed rounds with each witness, by reason (unreachable: no "
    "usable answer; refused: it answered and would not cosign)",
    ["witness", "reason"],
)
WITNESS_UP = Gauge(
    "notary_witness_up",
    "1 while the leader's last round with this witness succeeded",
    ["witness"],
    multiprocess_mode="livemostrecent",
)
TSA_REQUEST_DURATION = Histogram(
    "notary_tsa_request_duration_seconds",
    "RFC 3161 requests to each time-stamp authority",
    ["tsa"],
    buckets=_LATENCY_BUCKETS,
)
TSA_FAILURES = Counter(
    "notary_tsa_failures", "Failed rounds with each time-stamp authority", ["tsa"]
)
TSA_UP = Gauge(
    "notary_tsa_up",
    "1 while the leader's last round with this TSA succeeded",
    ["tsa"],
    multiprocess_mode="livemostrecent",
)


def count_receipt(kind: str, *, created: bool) -> None:
    RECEIPTS.labels(kind, "created" if created else "existing").inc()


def attestation_registered(kind: str, name: str) -> None:
    """Start an endpoint's series at zero, so that its first failure shows in ``rate()``."""
    if kind == "witness":
        for reason in ("unreachable", "refused"):
            WITNESS_FAILURES.labels(name, reason)
    else:
        TSA_FAILURES.labels(name)


def attestation_succeeded(kind: str, name: str) -> None:
    (WITNESS_UP if kind == "witness" else TSA_UP).labels(name).set(1)


def attestation_failed(kind: str, name: str, *, refused: bool) -> None:
    if kind == "witness":
        WITNESS_FAILURES.labels(name, "refused" if refused else "unreachable").inc()
        WITNESS_UP.labels(name).set(0)
    else:
        TSA_FAILURES.labels(name).inc()
        TSA_UP.labels(name).set(0)


# -- exposition --------------------------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROCESS_DIR_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir(workers: int) -> Callable[[], None]:
    """Before uvicorn starts its workers: with more than one (or when the operator named a
    directory in ``PROMETHEUS_MULTIPROC_DIR``), an empty directory for their numbers, in the
    environment the workers inherit. Returns what removes a directory made here.

    Emptied at every start: files left by a previous run would add its counts to this one's.
    """
    named = multiprocess_dir()
    if named is None and workers <= 1:
        return lambda: None
    if named is not None:
        named.mkdir(parents=True, exist_ok=True)
        for stale in named.glob("*.db"):
            stale.unlink()
        return lambda: None
    made = tempfile.mkdtemp(prefix="notary-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = made
    return lambda: shutil.rmtree(made, ignore_errors=True)


class _ThisProcess(Collector):
    """The default registry (this process's instruments and process metrics)."""

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()


def _forget_dead_workers(path: Path) -> None:
    """Drop the live-gauge files of workers that died (uvicorn restarts a crashed worker under
    a new pid): a dead leader's ``notary_leader`` 1 must not count."""
    for file in path.glob("gauge_live*_*.db"):
        pid_text = file.stem.rpartition("_")[2]
        if not is_ascii_digits(pid_text) or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            mark_process_dead(int(pid_text), str(path))
        except PermissionError:
            pass  # alive, someone else's


def exposition(*collectors: Collector) -> bytes:
    """The text exposition of this process's (or, in multiprocess mode, every worker's)
    instruments and of ``collectors``."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is not None:
        _forget_dead_workers(path)
        MultiProcessCollector(registry, path=str(path))
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)
