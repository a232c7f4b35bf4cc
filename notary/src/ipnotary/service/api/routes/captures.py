"""``/v1/captures``: capture a web page as evidence (docs/capture.md), and the read routes every
record kind shares."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ipnotary.service.api.bodies import invalid_request
from ipnotary.service.api.deps import RuntimeDep, require_roles
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import SubmissionResult
from ipnotary.service.domain.captures import CaptureRequest
from ipnotary.service.domain.records import RecordKind, Role
from ipnotary.service.errors import LimitExceeded, UnsupportedMediaType
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.captures import CaptureService
from ipnotary.service.storage.models import Principal

router = APIRouter(prefix=RecordKind.capture.api_path, tags=["captures"])

# Rights holders preserve infringing pages; notaries capture on a party's behalf.
Capturer = Annotated[Principal, Depends(require_roles(Role.holder, Role.notary))]

_BUILD_LOCK = threading.Lock()


def capture_service(request: Request, runtime: Runtime) -> CaptureService:
    """The process's capture service, built on first use (its key is created then)."""
    state = request.app.state
    with _BUILD_LOCK:
        service = getattr(state, "captures", None)
        if not isinstance(service, CaptureService):
            service = CaptureService(runtime.settings, runtime.content_store, runtime.engine)
            state.captures = service
    return service


class CaptureResult(SubmissionResult):
    # Any: the anchored record, a JSON document served as it is
    record: dict[str, Any] = Field(description="the anchored capture record")
    wacz_size: int
    wacz_sha256: str


@router.post(
    "",
    status_code=201,
    response_model=CaptureResult,
    summary="Capture a web page as evidence",
    description=(
        "`application/json` `{url, options?}`. A headless Chromium loads the page through a "
        "proxy that resolves and checks every host (private, loopback and link-local addresses "
        "are refused unless the operator allows them); the screenshot, PDF, MHTML, the WARC of "
        "the browser's traffic, the TLS chains, DNS answers, redirects, blocked requests and "
        "the clean-environment check go into one signed WACZ, anchored as one record. 422 "
        "`capture_refused` (nothing was requested) or `capture_failed`; 409 `capture_busy`."
    ),
)
async def create_capture(
    request: Request, runtime: RuntimeDep, principal: Capturer
) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise UnsupportedMediaType('send application/json: {"url": "https://..."}')
    raw = await request.body()
    if len(raw) > 16 * 1024:
        raise LimitExceeded("a capture request is at most 16 KiB of JSON")
    try:
        body = CaptureRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_request(exc, "body") from exc
    service = capture_service(request, runtime)
    # The capture blocks for seconds (a browser, the network): off the event loop
    captured = await run_in_threadpool(lambda: service.capture(holder=principal, request=body))
    base = submission_result(runtime, captured.stored)
    result = CaptureResult(
        **base.model_dump(),
        record=captured.record,
        wacz_size=captured.wacz_size,
        wacz_sha256=captured.wacz_sha256,
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


add_record_routes(router, kind=RecordKind.capture, noun="capture")
