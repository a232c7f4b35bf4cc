"""``GET /metrics``: the Prometheus exposition, for an admin's API key or an allowed address.

Two parts (``ipnotary.service.observability.metrics``): what this process (or, with several uvicorn
workers, each of them) counted, and what is read at scrape time (:class:`DeploymentState`): the
deployment's state in the database, which every process reports alike, leader or not (the backlog,
the log, the age of the last anchor and of the last certified checkpoint), and this process's own
(its build and config fingerprint, its database pool, whether its content store answers).

Who may read: a caller whose address is in ``NOTARY_METRICS_ALLOW_FROM`` (the Prometheus
servers; behind a proxy, the address uvicorn takes from ``X-Forwarded-For`` when the proxy is
trusted), or any caller with an admin's API key. Anyone else gets 401 (no key, or a bad one) or
403 (a key of another role): the numbers tell an outsider how busy the service is and whom it
depends on.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from ipnotary.service.api.deps import RuntimeDep, api_key_of
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import AuthenticationRequired, PermissionDenied
from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import event
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.fleet import read_halt
from ipnotary.service.services.progress import anchoring_backlog, certified_log_size
from ipnotary.service.services.transparency_log import log_size
from ipnotary.service.storage.models import Batch, BatchStatus

__all__ = ["DeploymentState", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])


def _age(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


class DeploymentState(Collector):
    """The deployment's numbers in the database, read when scraped."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterable[Metric]:
        settings = self._runtime.settings
        build = GaugeMetricFamily(
            "notary_build_info",
            "1, labelled with this process's build version and config fingerprint (equal on every "
            "process of a fleet whose settings agree; a rolling restart shows both)",
            labels=["version", "config_fingerprint"],
        )
        build.add_metric([self._runtime.fleet.version, self._runtime.fleet.config_fingerprint], 1)
        yield build
        yield GaugeMetricFamily(
            "notary_witness_quorum",
            "Cosignatures a checkpoint needs (NOTARY_WITNESS_QUORUM)",
            value=settings.required_cosignatures,
        )
        yield GaugeMetricFamily(
            "notary_tsa_quorum",
            "Time-stamps a checkpoint needs (NOTARY_TSA_QUORUM)",
            value=settings.required_timestamps,
        )
        yield from self._content_store()
        yield from self._pool()
        yield GaugeMetricFamily(
            "notary_database_commit_waiting_seconds",
            "How long this process's heartbeat commit has been waiting now (0: none waits); "
            "a commit that does not return (a synchronous standby that is gone) grows it",
            value=self._runtime.fleet.commit_waiting_seconds(),
        )
        try:
            with Session(self._runtime.engine) as session:
                backlog = anchoring_backlog(session)
                size, certified = log_size(session), certified_log_size(session)
                last_anchor = session.exec(
                    select(Batch.anchored_at)
                    .where(Batch.status == BatchStatus.anchored)
                    .order_by(col(Batch.seq).desc())
                    .limit(1)
                ).first()
                last_certified = session.exec(select(func.max(Batch.certified_at))).one()
                halted = read_halt(session) is not None
        except Exception as exc:  # noqa: BLE001 - the scrape still reports the process's numbers
            log.warning(
                "metrics: cannot read the database: %s",
                type(exc).__name__,
                extra=event("metrics_database_unreadable", error_type=type(exc).__name__),
            )
            yield GaugeMetricFamily(
                "notary_database_up", "1 if this scrape could read the database", value=0
            )
            return
        now = datetime.now(UTC)
        for name, help_text, moment in (
            (
                "notary_last_anchor_age_seconds",
                "Seconds since the newest checkpoint was anchored (absent before the first)",
                last_anchor,
            ),
            (
                "notary_last_certified_age_seconds",
                "Seconds since the newest checkpoint was certified (absent before the first)",
                last_certified,
            ),
        ):
            if moment is not None:
                yield GaugeMetricFamily(name, help_text, value=_age(_aware(moment), now))
        yield GaugeMetricFamily(
            "notary_database_up", "1 if this scrape could read the database", value=1
        )
        yield GaugeMetricFamily(
            "notary_anchoring_backlog_records",
            "Receipted records not anchored yet (waiting for a batch, or in a sealed batch not "
            "yet on the chain)",
            value=backlog.records,
        )
        yield GaugeMetricFamily(
            "notary_anchoring_oldest_pending_age_seconds",
            "Age of the oldest receipted record not anchored yet (0 when there is none)",
            value=_age(backlog.oldest_received_at, now),
        )
        yield GaugeMetricFamily(
            "notary_certification_oldest_pending_age_seconds",
            "Age of the oldest sealed checkpoint without its certificate yet (waiting for the "
            "chain, the witness quorum or the TSA quorum; 0 when there is none)",
            value=_age(backlog.oldest_uncertified_sealed_at, now),
        )
        yield GaugeMetricFamily(
            "notary_log_halted",
            "1 while the deployment is halted: its log is behind the chain's latest checkpoint or "
            "forks from it, so nothing is sealed or accepted (docs/operations.md)",
            value=1 if halted else 0,
        )
        yield GaugeMetricFamily("notary_log_size", "Records in the transparency log", value=size)
        yield GaugeMetricFamily(
            "notary_log_certified_size",
            "Records in the log whose checkpoint is certified (they have certificates)",
            value=certified,
        )

    def _content_store(self) -> Iterable[Metric]:
        started = time.perf_counter()
        try:
            self._runtime.content_store.check()
            up = 1
        except Exception:  # noqa: BLE001 - a store that does not answer is what this reports
            up = 0
        yield GaugeMetricFamily(
            "notary_content_store_up",
            f"1 if the content store ({self._runtime.settings.content_backend.value}) answered "
            "this scrape's check",
            value=up,
        )
        yield GaugeMetricFamily(
            "notary_content_store_check_seconds",
            "How long the content store took to answer this scrape's check",
            value=time.perf_counter() - started,
        )

    def _pool(self) -> Iterable[Metric]:
        pool = self._runtime.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if not callable(checked_out) or not callable(size):
            return
        capacity = int(size()) + max(0, int(getattr(pool, "_max_overflow", 0)))
        yield GaugeMetricFamily(
            "notary_database_pool_in_use",
            "Database connections of this process's pool in use now (the leader's lock session "
            "among them)",
            value=int(checked_out()),
        )
        yield GaugeMetricFamily(
            "notary_database_pool_capacity",
            "Connections this process's pool may open (pool size plus overflow); a request waits "
            "up to 30 s for one beyond it, then answers 503 database_unavailable",
            value=capacity,
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _allowed_address(runtime: Runtime, request: Request) -> bool:
    networks = runtime.settings.metrics_allow_from
    if not networks or request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _check_admin(runtime: Runtime, api_key: str | None) -> None:
    if not api_key:
        raise AuthenticationRequired(
            "/metrics needs an admin's API key, or a client address in NOTARY_METRICS_ALLOW_FROM"
        )
    principal = runtime.principals.authenticate(api_key)
    if principal.role != Role.admin.value:
        raise PermissionDenied(f"role {principal.role!r} may not read /metrics; it needs: admin")


@router.get(
    "/metrics",
    summary="Prometheus metrics (admin key, or an address in NOTARY_METRICS_ALLOW_FROM)",
    description="The text exposition format. Metric names and the alerts to set on them: "
    "docs/deployment.md, *Logs, metrics and alerts*.",
    response_class=Response,
    responses={
        200: {"content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}}},
        401: {"description": "no API key, or an unknown, revoked or expired one"},
        403: {"description": "an API key of another role than admin"},
    },
)
async def get_metrics(request: Request, runtime: RuntimeDep) -> Response:
    if not _allowed_address(runtime, request):
        await run_in_threadpool(_check_admin, runtime, api_key_of(request.headers))
    body = await run_in_threadpool(metrics.exposition, DeploymentState(runtime))
    return Response(body, media_type=metrics.CONTENT_TYPE)
