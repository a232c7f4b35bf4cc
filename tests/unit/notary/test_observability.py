"""Logs and metrics as an operator meets them.

The log configuration is the one ``notary serve`` installs (``logging_config``), written to a
buffer instead of standard error; every test puts the process's logging back as it found it.
Metrics are read as Prometheus reads them: ``/metrics`` parsed with prometheus_client's own
text parser. The instruments are process-wide, so the tests compare before and after.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlmodel import Session, col

from ipnotary.service.adapters.chain_gateway import ChainGateway
from ipnotary.service.config import LogFormat
from ipnotary.service.errors import ChainUnusable
from ipnotary.service.observability.logs import event, logging_config
from ipnotary.service.storage.models import Record
from ipnotary.service.worker.anchoring import AnchoringWorker
from ipnotary.service.worker.attestation import AttestationLoop, WitnessSubmitter
from tests.unit.notary.conftest import Api

_MANAGED = (
    "ipnotary",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "alembic",
    "httpx",
    "httpcore",
    "urllib3",
    "web3",
    "asyncio",
    "multipart",
    "python_multipart",
    "eth",
    "evm",
    "py.warnings",
)


class LogBuffer:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.json() if line.get("event") == name]


@pytest.fixture
def service_logging() -> Iterator[Callable[..., LogBuffer]]:
    """Install the service's logging configuration into a buffer; restore everything after."""
    root = logging.getLogger()
    saved_root = (root.level, root.handlers[:], root.filters[:])
    saved = {
        name: (lg.level, lg.handlers[:], lg.propagate, lg.disabled)
        for name in _MANAGED
        for lg in [logging.getLogger(name)]
    }

    def configure(*, level: str = "INFO", fmt: LogFormat = LogFormat.json) -> LogBuffer:
        buffer = LogBuffer()
        config = logging_config(level=level, fmt=fmt)
        config["handlers"]["stderr"]["stream"] = buffer.stream
        logging.config.dictConfig(config)
        return buffer

    yield configure
    for handler in root.handlers:
        if handler not in saved_root[1]:
            handler.close()
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    root.filters[:] = saved_root[2]
    for name, (level, handlers, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate
        lg.disabled = disabled


def scrape(
    client: TestClient, headers: dict[str, str]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def digests(start: int, count: int) -> dict[str, Any]:
    return {"items": [{"sha256": f"{start + i:064x}", "size": start + i} for i in range(count)]}


# -- log lines -----------------------------------------------------------------------------------


def test_every_line_is_one_json_object_with_time_level_logger_event_and_ids(
    service_logging: Callable[..., LogBuffer],
) -> None:
    logs = service_logging(level="INFO")
    log = logging.getLogger("ipnotary.service.worker.anchoring")
    log.info("sealed batch %s", 7, extra=event("batch_sealed", batch_seq=7, log_size=120))
    try:
        raise ValueError("a message\nover two lines")
    except ValueError:
        log.exception("anchoring failed\nbadly", extra=event("anchoring_retry", batch_seq=8))
    logging.getLogger("ipnotary.service.worker.anchoring").debug("not at INFO")

    lines = logs.lines()
    assert len(lines) == 2, lines  # one line per event, tracebacks and newlines included
    sealed, failed = (json.loads(line) for line in lines)
    assert sealed["event"] == "batch_sealed"
    assert sealed["level"] == "INFO"
    assert sealed["logger"] == "ipnotary.service.worker.anchoring"
    assert (sealed["batch_seq"], sealed["log_size"]) == (7, 120)
    when = datetime.fromisoformat(sealed["time"])
    assert when.tzinfo is not None and abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    assert failed["level"] == "ERROR" and failed["event"] == "anchoring_retry"
    assert "ValueError: a message\nover two lines" in failed["exception"]
    assert failed["message"] == "anchoring failed\nbadly"


def test_the_level_reaches_the_service_loggers_and_keeps_libraries_quiet(
    service_logging: Callable[..., LogBuffer],
) -> None:
    logs = service_logging(level="WARNING")
    logging.getLogger("ipnotary.service.worker.leadership").info(
        "acquired", extra=event("leader_acquired")
    )
    logging.getLogger("ipnotary.service.worker.leadership").warning(
        "lost", extra=event("leader_lost")
    )
    assert [line["event"] for line in logs.json()] == ["leader_lost"]

    logs = service_logging(level="DEBUG")
    logging.getLogger("ipnotary.service.worker.anchoring").debug(
        "detail", extra=event("debug_detail")
    )
    logging.getLogger("httpx").info("HTTP Request: POST http://node")  # every request at INFO
    assert [line.get("event") for line in logs.json()] == ["debug_detail"]


def test_text_format_keeps_a_forged_newline_in_the_path_on_one_line(
    api: Api, service_logging: Callable[..., LogBuffer]
) -> None:
    logs = service_logging(level="INFO", fmt=LogFormat.text)
    response = api.client.get(
        "/v1/evidence/x%0A2099-01-01T00:00:00Z%20ERROR%20forged",
        headers=api.principal("holder", "holder"),
    )
    assert response.status_code in (401, 404)
    access = [line for line in logs.lines() if "ipnotary.service.access" in line]
    assert len(access) == 1, logs.lines()
    assert not any(line.startswith("2099") for line in logs.lines())
    assert "\\x0a" in access[0]


def test_service_events_reach_the_log_at_the_configured_level(
    make_api: Callable[..., Api], service_logging: Callable[..., LogBuffer]
) -> None:
    logs = service_logging(level="INFO")
    api = make_api()
    holder = api.principal("holder", "holder")
    created = api.client.post("/v1/evidence/digests", json=digests(1000, 3), headers=holder)
    assert created.status_code == 200, created.text
    view = api.wait_anchored(f"/v1/evidence/{created.json()[0]['id']}", holder)
    assert view["status"] == "anchored"

    assert logs.events("leader_acquired")
    sealed = logs.events("batch_sealed")
    anchored = logs.events("batch_anchored")
    assert sealed and anchored, [line.get("event") for line in logs.json()]
    assert sum(line["records"] for line in sealed) >= 3
    assert {line["batch_seq"] for line in anchored} <= {line["batch_seq"] for line in sealed}
    assert all(line["tx_hash"].startswith("0x") and line["block_number"] >= 0 for line in anchored)
    deadline = time.monotonic() + 30
    while not {line["log_size"] for line in anchored} <= {
        line["log_size"] for line in logs.events("checkpoint_certified")
    }:
        assert time.monotonic() < deadline, logs.events("checkpoint_certified")
        time.sleep(0.05)


# -- request ids ---------------------------------------------------------------------------------


def test_a_request_id_is_echoed_or_made_and_names_the_access_line(
    api: Api, service_logging: Callable[..., LogBuffer]
) -> None:
    logs = service_logging(level="INFO")
    holder = api.principal("holder", "holder")
    given = api.client.post(
        "/v1/evidence/digests",
        json=digests(2000, 1),
        headers={**holder, "X-Request-ID": "req-7f3a:1"},
    )
    assert given.status_code == 200, given.text
    assert given.headers["X-Request-ID"] == "req-7f3a:1"
    made = [api.client.get("/healthz").headers["X-Request-ID"] for _ in range(2)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made) and made[0] != made[1]

    access = {line["request_id"]: line for line in logs.events("http_request")}
    line = access["req-7f3a:1"]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/evidence/digests", 200)
    assert line["record_ids"] == [given.json()[0]["id"]]
    assert line["duration_ms"] > 0
    assert set(made) <= set(access)


@pytest.mark.parametrize(
    "hostile",
    [
        "x" * 129,  # longer than any tracer's id: would bloat every line
        "<script>alert(1)</script>",  # reflected into a page that shows headers
        '","level":"CRITICAL","x":"',  # closes the JSON string in a naive log writer
        "a b",  # spaces split text log fields
        "-leading-dash",
        "\u0438\u0434",  # non-ASCII (sent as UTF-8 bytes)
    ],
)
def test_a_hostile_request_id_is_replaced_not_reflected(
    api: Api, service_logging: Callable[..., LogBuffer], hostile: str
) -> None:
    logs = service_logging(level="INFO")
    response = api.client.get("/healthz", headers=[("X-Request-ID", hostile.encode())])
    echoed = response.headers["X-Request-ID"]
    assert echoed != hostile and re.fullmatch(r"[0-9a-f]{32}", echoed)
    assert [line["request_id"] for line in logs.events("http_request")] == [echoed]
    assert hostile not in logs.stream.getvalue()


def test_an_unexpected_error_is_one_line_with_the_request_id(
    make_api: Callable[..., Api], service_logging: Callable[..., LogBuffer]
) -> None:
    logs = service_logging(level="INFO")
    api = make_api()

    def broken() -> None:
        raise RuntimeError("the handler broke")

    api.client.app.add_api_route("/v1/broken", broken)  # type: ignore[attr-defined]
    # raise_server_exceptions=True: before the middleware answered, the error escaped the app.
    with TestClient(api.client.app) as client:
        response = client.get("/v1/broken", headers={"X-Request-ID": "incident-req-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "incident-req-1"
    incident = response.json()["incident"]

    errors = [line for line in logs.json() if line["level"] == "ERROR"]
    assert len(errors) == 1, errors  # the traceback once, not again by the server
    assert errors[0]["request_id"] == "incident-req-1"
    assert incident in errors[0]["message"]
    assert "RuntimeError: the handler broke" in errors[0]["exception"]
    access = [
        line for line in logs.events("http_request") if line["request_id"] == "incident-req-1"
    ]
    assert [(line["status"], line["level"]) for line in access] == [(500, "WARNING")]


# -- /metrics ------------------------------------------------------------------------------------


def test_metrics_refuse_anonymous_callers_and_other_roles(api: Api) -> None:
    anonymous = api.client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert anonymous.json()["code"] == "authentication_required"
    assert "notary_" not in anonymous.text

    made_up = api.client.get("/metrics", headers={"Authorization": "Bearer nk_madeup"})
    assert made_up.status_code == 401

    holder = api.client.get("/metrics", headers=api.principal("holder", "holder"))
    assert holder.status_code == 403
    assert holder.json()["code"] == "permission_denied"
    assert "notary_" not in holder.text

    admin = scrape(api.client, api.principal("admin", "admin"))
    assert ("notary_leader", ()) in admin


def test_metrics_serve_the_allowed_addresses_without_a_key(make_api: Callable[..., Api]) -> None:
    api = make_api(metrics_allow_from="10.1.0.0/16, 127.0.0.1")
    app = api.client.app
    with TestClient(app, client=("127.0.0.1", 40000)) as prometheus:
        assert prometheus.get("/metrics").status_code == 200
    with TestClient(app, client=("10.1.2.3", 40000)) as prometheus:
        assert prometheus.get("/metrics").status_code == 200
    with TestClient(app, client=("10.2.0.1", 40000)) as outsider:
        assert outsider.get("/metrics").status_code == 401


def test_counters_move_with_submissions_and_anchoring(make_api: Callable[..., Api]) -> None:
    api = make_api()
    admin, holder = api.principal("admin", "admin"), api.principal("holder", "holder")
    before = scrape(api.client, admin)

    first = api.client.post("/v1/evidence/digests", json=digests(3000, 4), headers=holder)
    again = api.client.post("/v1/evidence/digests", json=digests(3000, 1), headers=holder)
    assert first.status_code == again.status_code == 200
    api.wait_anchored(f"/v1/evidence/{first.json()[-1]['id']}", holder)
    deadline = time.monotonic() + 30
    while True:  # certified just after anchored, in the same round
        after = scrape(api.client, admin)
        if value(after, "notary_log_certified_size") >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("notary_receipts_total", kind="evidence", outcome="created") == 4
    assert moved("notary_receipts_total", kind="evidence", outcome="existing") == 1
    # Other services of this test process may seal too (the instruments are process-wide).
    assert moved("notary_records_sealed_total") >= 4
    assert moved("notary_batches_sealed_total") >= 1
    assert moved("notary_batches_anchored_total") >= 1
    assert moved("notary_batches_certified_total") >= 1
    assert (
        moved(
            "notary_http_requests_total", method="POST", route="/v1/evidence/digests", status="200"
        )
        == 2
    )
    assert (
        moved(
            "notary_http_request_duration_seconds_count",
            method="POST",
            route="/v1/evidence/digests",
        )
        == 2
    )
    assert value(after, "notary_leader") == 1
    assert value(after, "notary_anchoring_backlog_records") == 0
    assert value(after, "notary_anchoring_oldest_pending_age_seconds") == 0
    assert value(after, "notary_log_size") == value(after, "notary_log_certified_size") == 4


def test_the_backlog_reports_how_long_the_oldest_record_has_waited(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(run_anchoring_worker=False)
    admin, holder = api.principal("admin", "admin"), api.principal("holder", "holder")
    ids = [
        r["id"]
        for r in api.client.post(
            "/v1/evidence/digests", json=digests(4000, 3), headers=holder
        ).json()
    ]
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with Session(api.runtime.engine) as session:  # as if the worker had been down an hour
        session.execute(
            update(Record).where(col(Record.id) == ids[0]).values(received_at=an_hour_ago)
        )
        session.commit()

    waiting = scrape(api.client, admin)
    assert value(waiting, "notary_anchoring_backlog_records") == 3
    assert 3600 <= value(waiting, "notary_anchoring_oldest_pending_age_seconds") < 3600 + 600

    # Sealed but the chain is down: still waiting, and the checkpoint has no certificate.
    api.runtime.worker.seal_batch(force=True)
    sealed = scrape(api.client, admin)
    assert value(sealed, "notary_anchoring_backlog_records") == 3
    assert value(sealed, "notary_anchoring_oldest_pending_age_seconds") >= 3600
    assert value(sealed, "notary_certification_oldest_pending_age_seconds") > 0

    api.runtime.worker.run_once()
    drained = scrape(api.client, admin)
    assert value(drained, "notary_anchoring_backlog_records") == 0
    assert value(drained, "notary_anchoring_oldest_pending_age_seconds") == 0
    assert value(drained, "notary_certification_oldest_pending_age_seconds") == 0


# -- the leader's dependencies ---------------------------------------------------------------


def test_chain_errors_are_counted_by_operation(api: Api) -> None:
    from ipnotary.chain.errors import ChainUnavailable as NodeDown

    def unreachable() -> Any:
        raise NodeDown("connection refused by http://127.0.0.1:9")

    admin = api.principal("admin", "admin")
    before = scrape(api.client, admin)
    gateway = ChainGateway(unreachable)
    for _ in range(2):
        with pytest.raises(ChainUnusable):
            gateway.check()
    after = scrape(api.client, admin)
    labels = {"operation": "connect", "error": "ChainUnavailable"}  # the chain layer's error
    assert (
        value(after, "notary_chain_errors_total", **labels)
        - value(before, "notary_chain_errors_total", **labels)
    ) == 2


def _run_until(loop_run: Callable[[threading.Event], None], done: Callable[[], bool]) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=loop_run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=30)


def test_anchoring_retries_are_logged_and_counted(
    make_api: Callable[..., Api], service_logging: Callable[..., LogBuffer]
) -> None:
    class DeadChain:
        def anchor_root(self, root: bytes, tree_size: int) -> Any:
            raise ChainUnusable("the node at http://127.0.0.1:9 refused the connection")

    logs = service_logging(level="INFO")
    api = make_api(run_anchoring_worker=False)  # the worker below is the only one
    admin, holder = api.principal("admin", "admin"), api.principal("holder", "holder")
    before = scrape(api.client, admin)
    api.client.post("/v1/evidence/digests", json=digests(5000, 1), headers=holder)
    worker = AnchoringWorker(
        api.runtime.engine,
        DeadChain(),
        api.runtime.log,
        max_items=10,
        interval_seconds=0.01,
        max_backoff_seconds=0.5,
    )
    _run_until(
        lambda stop: worker.run_forever(stop, is_leader=lambda: True),
        lambda: len(logs.events("anchoring_retry")) >= 2,
    )
    retries = logs.events("anchoring_retry")
    assert len(retries) >= 2
    assert retries[0]["level"] == "WARNING" and retries[0]["error_type"] == "ChainUnusable"
    assert [r["consecutive_failures"] for r in retries[:2]] == [1, 2]
    after = scrape(api.client, admin)
    key = {"error": "ChainUnusable"}
    assert (
        value(after, "notary_anchoring_failures_total", **key)
        - value(before, "notary_anchoring_failures_total", **key)
    ) >= 2


def test_a_witness_that_is_down_is_logged_counted_and_timed(
    api: Api, service_logging: Callable[..., LogBuffer]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.note import CosignatureSigner

    logs = service_logging(level="INFO")
    admin, holder = api.principal("admin", "admin"), api.principal("holder", "holder")
    created = api.client.post("/v1/evidence/digests", json=digests(6000, 1), headers=holder)
    api.wait_anchored(f"/v1/evidence/{created.json()[0]['id']}", holder)

    def refuse_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    vkey = CosignatureSigner("witness.test/w1", Ed25519PrivateKey.generate()).vkey()
    submitter = WitnessSubmitter(
        api.runtime.engine,
        url="http://127.0.0.1:9/witness",
        vkey=vkey,
        client=httpx.Client(transport=httpx.MockTransport(refuse_connection)),
    )
    loop = AttestationLoop(submitter, poll_seconds=0.01, max_backoff_seconds=0.05)
    before = scrape(api.client, admin)
    _run_until(
        lambda stop: loop.run(stop, lambda: True), lambda: len(logs.events("witness_down")) >= 2
    )
    after = scrape(api.client, admin)

    down = logs.events("witness_down")
    assert down[0]["witness"] == "witness.test/w1" and down[0]["reason"] == "unreachable"
    assert down[0]["level"] == "WARNING"
    labels = {"witness": "witness.test/w1", "reason": "unreachable"}
    assert value(after, "notary_witness_failures_total", **labels) >= 2
    assert value(before, "notary_witness_failures_total", **labels) == 0  # listed from the start
    assert value(after, "notary_witness_up", witness="witness.test/w1") == 0
    assert (
        value(after, "notary_witness_request_duration_seconds_count", witness="witness.test/w1")
        >= 2
    )
