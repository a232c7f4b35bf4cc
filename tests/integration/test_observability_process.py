"""``notary serve`` as an operator runs it: JSON log lines on standard error and ``/metrics``
scraped by the real prometheus_client parser while digests arrive and are anchored."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.service_process import DigestSubmitter, ServiceProcess

BATCH_INTERVAL = 3.0  # a receipted record waits at least this long before it is sealed


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[ServiceProcess, str, str]]:
    svc = ServiceProcess(
        tmp_path / "data",
        env={
            "NOTARY_LOG_LEVEL": "INFO",
            "NOTARY_LOG_FORMAT": "json",
            "NOTARY_BATCH_INTERVAL_SECONDS": str(BATCH_INTERVAL),
            "NOTARY_METRICS_ALLOW_FROM": "10.9.0.0/16",  # not this test's address
        },
    )
    admin = svc.create_principal("ops", "admin")
    holder = svc.create_principal("holder", "holder")
    svc.start()
    try:
        yield svc, admin, holder
    finally:
        svc.stop()


def scrape(svc: ServiceProcess, key: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(
        f"{svc.url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_follow_a_load_and_the_log_tells_the_story(
    service: tuple[ServiceProcess, str, str],
) -> None:
    svc, admin, holder = service
    anonymous = httpx.get(f"{svc.url}/metrics", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        before = scrape(svc, admin)
        timings.append(time.perf_counter() - started)
    print(f"\n/metrics scrape: median {statistics.median(timings) * 1000:.1f} ms")
    assert metric(before, "notary_anchoring_backlog_records") == 0

    # Rising: a record just receipted is waiting, and says since when.
    first = httpx.post(
        f"{svc.url}/v1/evidence/digests",
        timeout=30,
        headers={"Authorization": f"Bearer {holder}", "X-Request-ID": "ops-req-1"},
        json={"items": [{"sha256": "ab" * 32, "size": 1}]},
    )
    assert first.status_code == 200, first.text
    assert first.headers["X-Request-ID"] == "ops-req-1"
    waiting = scrape(svc, admin)
    assert metric(waiting, "notary_anchoring_backlog_records") >= 1
    assert metric(waiting, "notary_anchoring_oldest_pending_age_seconds") > 0

    load = DigestSubmitter(svc, holder, total=600, per_request=20, threads=4)
    load.start()
    peak = 0.0
    while any(t.is_alive() for t in load._threads):
        peak = max(peak, metric(scrape(svc, admin), "notary_anchoring_backlog_records"))
        time.sleep(0.05)
    load.join()
    assert peak >= 20  # at least one request's worth was seen waiting

    # Draining: every receipted record anchored and certified.
    deadline = time.monotonic() + 120
    while True:
        after = scrape(svc, admin)
        if metric(after, "notary_log_certified_size") >= 601 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert metric(after, "notary_anchoring_backlog_records") == 0
    assert metric(after, "notary_anchoring_oldest_pending_age_seconds") == 0
    assert metric(after, "notary_log_size") == metric(after, "notary_log_certified_size") == 601
    receipts = metric(after, "notary_receipts_total", kind="evidence", outcome="created") - metric(
        before, "notary_receipts_total", kind="evidence", outcome="created"
    )
    assert receipts == 601
    assert metric(after, "notary_records_sealed_total") == 601
    sealed = metric(after, "notary_batches_sealed_total")
    assert sealed >= 1 and metric(after, "notary_batches_anchored_total") == sealed
    assert metric(after, "notary_leader") == 1
    assert metric(after, "notary_chain_anchor_duration_seconds_count") == sealed
    assert (
        metric(
            after,
            "notary_http_requests_total",
            method="POST",
            route="/v1/evidence/digests",
            status="200",
        )
        == 31
    )
    assert "process_resident_memory_bytes" in {name for name, _ in after}

    svc.stop()
    lines = [line for line in (svc.log_path or Path()).read_text().splitlines() if line]
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line that is not JSON: {line!r}")
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    events = [r.get("event") for r in records]
    for expected in (
        "service_starting",
        "leader_acquired",
        "batch_sealed",
        "batch_anchored",
        "checkpoint_certified",
        "leader_released",
    ):
        assert expected in events, (expected, sorted({e for e in events if e}))
    assert sum(r["records"] for r in records if r.get("event") == "batch_sealed") == 601
    access = [r for r in records if r.get("request_id") == "ops-req-1"]
    assert [(r["event"], r["status"]) for r in access] == [("http_request", 200)]
    assert access[0]["record_ids"] == [first.json()[0]["id"]]
    # One access line per request, ours: uvicorn's own would be a second, without the id.
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    assert (
        len(
            [
                r
                for r in records
                if r.get("event") == "http_request"
                and r["route"] == "/v1/evidence/digests"
                and r["status"] == 200
            ]
        )
        == 31
    )
