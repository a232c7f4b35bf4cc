"""``/v1/complaints``: e-commerce complaints (``docs/complaints.md``), and
``/v1/complaint-events``, the records of their steps.

Every route about one complaint answers 404 ``no_complaint`` to anyone not party to it, as for a
complaint nobody filed; the public register (``/v1/complaints/register``) needs no key. The work
is ``services.complaints``'s; ``now`` is the injectable clock (``api.clock``), which is how tests
walk a complaint through its 15-day window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from ipnotary.sdk.kinds import RecordKind
from ipnotary.service.api.clock import NowDep
from ipnotary.service.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import SubmissionResult
from ipnotary.service.domain.complaints import (
    ActionIn,
    DeclarationIn,
    ForwardingIn,
    LiftingIn,
    MeasureIn,
    NoticeIn,
    RejectionIn,
    RulesIn,
)
from ipnotary.service.domain.records import Role
from ipnotary.service.domain.scalars import UrlInt
from ipnotary.service.services import complaints as svc
from ipnotary.service.services.records import StoredRecord
from ipnotary.service.storage.models import Principal

__all__ = ["complaints", "events"]

complaints = APIRouter(prefix="/v1/complaints", tags=["complaints"])
events = APIRouter(prefix=RecordKind.complaint_event.api_path, tags=["complaints"])

_Route = TypeVar("_Route", bound=Callable[..., JSONResponse])
Holder = Annotated[Principal, Depends(require_roles(Role.holder))]
Platform = Annotated[Principal, Depends(require_roles(Role.platform))]
_NO_COMPLAINT: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such complaint, or you are not party to it (the same answer)"},
    409: {
        "description": "the step is not allowed now: `window_open` (lifting before the window's "
        "end), `window_closed`, `no_window`, `declaration_not_forwarded`, `wrong_state`"
    },
}


def _answer(runtime: RuntimeDep, stored: StoredRecord, **extra: Any) -> JSONResponse:
    result = submission_result(runtime, stored)
    return JSONResponse({**result.model_dump(mode="json"), **extra}, status_code=201)


@complaints.get("/register", summary="Published complaints (Art. 44; public, no key)")
def register(
    session: SessionDep,
    platform_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, UrlInt(ge=1, le=500), Query()] = 100,
) -> list[dict[str, Any]]:
    return svc.public_register(session, platform_id=platform_id, limit=limit)


@complaints.get("/rules", summary="Your time limits for complaints (a platform)")
def get_rules(session: SessionDep, platform: Platform) -> dict[str, int]:
    return svc.rules_of(session, platform.id)


@complaints.put("/rules", summary="Set your time limits; notices keep those they arrived under")
def put_rules(
    body: RulesIn, session: SessionDep, platform: Platform, now: NowDep
) -> dict[str, int]:
    return svc.set_rules(session, platform=platform, rules=body, now=now)


@complaints.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="File a notice against listings of a platform (a rights holder)",
)
def file_notice(
    body: NoticeIn, runtime: RuntimeDep, session: SessionDep, holder: Holder, now: NowDep
) -> JSONResponse:
    complaint, stored = svc.file_notice(session, holder=holder, notice=body, now=now)
    return _answer(runtime, stored, complaint_id=complaint.id)


@complaints.get("", summary="The complaints you are party to")
def list_complaints(
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    return svc.list_complaints(session, viewer=principal, overdue=overdue, now=now)


@complaints.get("/{complaint_id}", summary="A complaint as you see it", responses=_NO_COMPLAINT)
def get_complaint(
    complaint_id: str, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> dict[str, Any]:
    return svc.get_complaint(session, complaint_id=complaint_id, viewer=principal, now=now)


@complaints.get(
    "/{complaint_id}/timeline",
    summary="Every step with its certificate, signed (verify_complaint_timeline checks it)",
    description="409 `not_anchored_yet` while a step is not certified yet.",
    responses=_NO_COMPLAINT,
)
def get_timeline(
    complaint_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> dict[str, Any]:
    return svc.timeline(
        session, runtime.issuer, complaint_id=complaint_id, viewer=principal, now=now
    )


def _step(path: str, summary: str) -> Callable[[_Route], _Route]:
    return complaints.post(
        f"/{{complaint_id}}/{path}",
        status_code=201,
        response_model=SubmissionResult,
        summary=summary,
        responses=_NO_COMPLAINT,
    )


@_step("measures", "Restrict listings, with a statement of reasons (the platform)")
def measures(
    complaint_id: str,
    body: MeasureIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.take_measures(
        session, complaint_id=complaint_id, actor=principal, body=body, now=now
    )
    return _answer(runtime, stored)


@_step("rejections", "Reject the notice for listings, with a statement of reasons (the platform)")
def rejections(
    complaint_id: str,
    body: RejectionIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.reject(session, complaint_id=complaint_id, actor=principal, body=body, now=now)
    return _answer(runtime, stored)


@_step("forwardings", "Forward the notice to sellers, or a declaration to the holder")
def forwardings(
    complaint_id: str,
    body: ForwardingIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.forward(session, complaint_id=complaint_id, actor=principal, body=body, now=now)
    return _answer(runtime, stored)


@_step("declarations", "Declare your listings do not infringe, with evidence (a seller)")
def declarations(
    complaint_id: str,
    body: DeclarationIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.declare(session, complaint_id=complaint_id, actor=principal, body=body, now=now)
    return _answer(runtime, stored)


@_step("notifications", "Notify a complaint to an authority or a lawsuit, in the window")
def notifications(
    complaint_id: str,
    body: ActionIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.notify_action(
        session, complaint_id=complaint_id, actor=principal, body=body, now=now
    )
    return _answer(runtime, stored)


@_step("liftings", "Lift the measures once the window passed (the platform)")
def liftings(
    complaint_id: str,
    body: LiftingIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.lift(session, complaint_id=complaint_id, actor=principal, body=body, now=now)
    return _answer(runtime, stored)


@_step("publication", "Publish the complaint in the public register (the platform)")
def publication(
    complaint_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.publish(session, complaint_id=complaint_id, actor=principal, now=now)
    return _answer(runtime, stored)


add_record_routes(events, kind=RecordKind.complaint_event, noun="step of a complaint")
