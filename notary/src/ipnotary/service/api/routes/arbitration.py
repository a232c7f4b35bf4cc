"""``/v1/arbitration/cases``: arbitration cases (``docs/arbitration.md``), and ``/v1/case-events``,
the records of their acts.

Every route answers 404 ``no_case`` to anyone outside a case, as for a case nobody opened. The
work is ``services.arbitration``'s; the bundle is written to a temporary file and streamed (a
case may hold gigabytes of exhibits), the evidence index rendered by
``certificates.evidence_index``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.background import BackgroundTask

from ipnotary.sdk.arbitration import BUNDLE_MEDIA_TYPE
from ipnotary.sdk.kinds import RecordKind
from ipnotary.service.api.bodies import invalid_request
from ipnotary.service.api.clock import NowDep
from ipnotary.service.api.deps import (
    CurrentPrincipal,
    RuntimeDep,
    SessionDep,
    in_session,
    require_roles,
)
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import SubmissionResult
from ipnotary.service.api.uploads import FormUpload, receive_file_upload
from ipnotary.service.certificates.evidence_index import render_evidence_index
from ipnotary.service.domain.arbitration import (
    CaseOpening,
    ClosingIn,
    DisclosureIn,
    ExhibitIn,
    InvitationIn,
    StatementIn,
)
from ipnotary.service.domain.records import Role
from ipnotary.service.domain.scalars import RowId
from ipnotary.service.errors import InvalidInput, UnsupportedMediaType
from ipnotary.service.services import arbitration as svc
from ipnotary.service.services.records import StoredRecord
from ipnotary.service.storage.models import Principal

__all__ = ["cases", "events"]

cases = APIRouter(prefix="/v1/arbitration/cases", tags=["arbitration"])
events = APIRouter(prefix=RecordKind.case_event.api_path, tags=["arbitration"])

Arbitrator = Annotated[Principal, Depends(require_roles(Role.arbitrator))]
_NO_CASE: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case, or you are not in it (the same answer)"}
}


class CaseSummary(BaseModel):
    id: str
    commission: str
    case_number: str
    capacity: str
    created_at: datetime
    closed_at: datetime | None


class CaseOut(CaseSummary):
    parties: list[dict[str, Any]]
    tribunal: list[dict[str, str]]
    submissions: list[dict[str, Any]]
    acts: list[dict[str, Any]]


class Opened(BaseModel):
    case: CaseOut
    event: SubmissionResult


def _summary(case: Any, capacity: str) -> dict[str, Any]:
    return {
        "id": case.id,
        "commission": case.commission,
        "case_number": case.case_number,
        "capacity": capacity,
        "created_at": case.created_at,
        "closed_at": case.closed_at,
    }


def _out(view: svc.CaseView) -> CaseOut:
    return CaseOut(
        **_summary(view.case, view.capacity),
        parties=view.parties,
        tribunal=view.tribunal,
        submissions=view.submissions,
        acts=view.acts,
    )


def _answer(runtime: RuntimeDep, stored: StoredRecord) -> JSONResponse:
    result = submission_result(runtime, stored)
    return JSONResponse(result.model_dump(mode="json"), status_code=201)


@cases.post("", status_code=201, response_model=Opened, summary="Open a case (an arbitrator)")
def open_case(
    body: CaseOpening,
    runtime: RuntimeDep,
    session: SessionDep,
    arbitrator: Arbitrator,
    now: NowDep,
) -> JSONResponse:
    case, stored = svc.open_case(session, opener=arbitrator, opening=body, now=now)
    view = svc.get_case(session, case_id=case.id, viewer=arbitrator)
    answer = Opened(case=_out(view), event=submission_result(runtime, stored))
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


@cases.get("", response_model=list[CaseSummary], summary="The cases you are in")
def list_cases(session: SessionDep, principal: CurrentPrincipal) -> list[CaseSummary]:
    return [
        CaseSummary(**_summary(case, capacity))
        for case, capacity in svc.list_cases(session, viewer=principal)
    ]


@cases.get("/{case_id}", response_model=CaseOut, summary="A case as you see it", responses=_NO_CASE)
def get_case(case_id: str, session: SessionDep, principal: CurrentPrincipal) -> CaseOut:
    return _out(svc.get_case(session, case_id=case_id, viewer=principal))


@cases.post(
    "/{case_id}/invitations",
    status_code=201,
    response_model=SubmissionResult,
    summary="Bind a party of the case to the principal that acts for it (the tribunal)",
    responses=_NO_CASE,
)
def invite(
    case_id: str,
    body: InvitationIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.invite_party(
        session,
        case_id=case_id,
        actor=principal,
        label=body.label,
        principal_id=body.principal_id,
        now=now,
    )
    return _answer(runtime, stored)


@cases.post(
    "/{case_id}/exhibits",
    status_code=201,
    response_model=SubmissionResult,
    summary="Put one of your records before the tribunal (its certificate is the exhibit)",
    responses=_NO_CASE,
)
def submit_exhibit(
    case_id: str,
    body: ExhibitIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.submit_exhibit(
        session,
        case_id=case_id,
        actor=principal,
        record_id=body.record_id,
        title=body.title,
        now=now,
    )
    return _answer(runtime, stored)


def _statement_fields(fields: dict[str, list[str]]) -> StatementIn:
    raw = fields.get("statement")
    if not raw or len(raw) != 1:
        raise InvalidInput("the form needs one 'statement' field: JSON with its title")
    try:
        return StatementIn.model_validate_json(raw[0])
    except ValidationError as exc:
        raise invalid_request(exc, "body", "statement") from exc


@cases.post(
    "/{case_id}/statements",
    status_code=201,
    response_model=SubmissionResult,
    summary="Submit a statement: a document, stored and anchored by its digest",
    description="`multipart/form-data`: `file` is the document, `statement` is JSON `{title}`.",
    responses=_NO_CASE,
)
async def submit_statement(
    case_id: str,
    request: Request,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send multipart/form-data with the document and its title")
    # Outsiders are turned away before a byte of their document is stored.
    await in_session(runtime, lambda s: svc.get_case(s, case_id=case_id, viewer=principal))
    names: list[str] = []

    async def keep_name(_: StatementIn, form: FormUpload) -> None:
        names.append(form.filename or "statement.bin")

    fp, statement = await receive_file_upload(
        request,
        runtime,
        allowed_fields={"statement"},
        parse_fields=_statement_fields,
        before_commit=keep_name,
    )
    document = svc.Statement(fp.cid, names[0][:200], fp.sha256, fp.size)

    def store(session: Session) -> StoredRecord:
        return svc.submit_statement(
            session,
            case_id=case_id,
            actor=principal,
            title=statement.title,
            document=document,
            now=now,
        )

    return _answer(runtime, await in_session(runtime, store))


@cases.post(
    "/{case_id}/disclosures",
    status_code=201,
    response_model=SubmissionResult,
    summary="Put a trade-secret disclosure you made to a member of the tribunal before it",
    responses=_NO_CASE,
)
def submit_disclosure(
    case_id: str,
    body: DisclosureIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.submit_disclosure(
        session,
        case_id=case_id,
        actor=principal,
        disclosure_id=body.disclosure_id,
        title=body.title,
        now=now,
    )
    return _answer(runtime, stored)


@cases.post(
    "/{case_id}/submissions/{number}/share",
    status_code=201,
    response_model=SubmissionResult,
    summary="Show a submission to every party (the tribunal)",
    responses=_NO_CASE,
)
def share(
    case_id: str,
    number: RowId,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.share_submission(session, case_id=case_id, actor=principal, number=number, now=now)
    return _answer(runtime, stored)


@cases.get(
    "/{case_id}/submissions/{number}/content",
    summary="A statement's document, re-verified against its CID as it streams",
    response_class=StreamingResponse,
    responses=_NO_CASE,
)
def statement_content(
    case_id: str,
    number: RowId,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> StreamingResponse:
    found = svc.statement_content(session, case_id=case_id, viewer=principal, number=number)
    return StreamingResponse(
        runtime.content_store.open(found.cid),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(found.size),
            "X-Content-SHA256": found.sha256,
            "Content-Disposition": "attachment; filename*=UTF-8''" + _quoted(found.filename),
        },
    )


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@cases.post(
    "/{case_id}/closing",
    status_code=201,
    response_model=SubmissionResult,
    summary="Close the case (the tribunal); no submission is taken after it",
    responses=_NO_CASE,
)
def close(
    case_id: str,
    body: ClosingIn,
    runtime: RuntimeDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> JSONResponse:
    stored = svc.close_case(session, case_id=case_id, actor=principal, note=body.note, now=now)
    return _answer(runtime, stored)


@cases.get(
    "/{case_id}/bundle.zip",
    summary="The case as one ZIP that verifies offline (`notary case verify`)",
    description="The tribunal's copy (every act, the disclosed material) for the tribunal, a "
    "party's own copy for a party; 409 `not_anchored_yet` while an act or exhibit is not "
    "certified yet.",
    response_class=FileResponse,
    responses={200: {"content": {BUNDLE_MEDIA_TYPE: {}}}, **_NO_CASE},
)
async def bundle(
    case_id: str, runtime: RuntimeDep, principal: CurrentPrincipal, now: NowDep
) -> FileResponse:
    fd, path = tempfile.mkstemp(prefix="case-", suffix=".zip", dir=runtime.settings.data_dir)

    def write(session: Session) -> dict[str, Any]:
        with os.fdopen(fd, "w+b") as out:
            return svc.export_bundle(
                session,
                runtime.issuer,
                runtime.content_store,
                case_id=case_id,
                viewer=principal,
                out=out,
                now=now,
            )

    try:
        manifest = await in_session(runtime, write)
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(
        path,
        media_type=BUNDLE_MEDIA_TYPE,
        filename=f"{manifest['case']['number']}.zip".replace("/", "-"),
        background=BackgroundTask(os.unlink, path),
    )


@cases.get(
    "/{case_id}/index.pdf",
    summary="The evidence index as a PDF (page numbers, a linked and bookmarked index)",
    description="Each exhibit with its digest and proven time; the manifest attached; signed "
    "as PDF certificates are (docs/arbitration.md).",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **_NO_CASE},
)
async def evidence_index(
    case_id: str, runtime: RuntimeDep, principal: CurrentPrincipal, now: NowDep
) -> Response:
    def render(session: Session) -> bytes:
        return render_evidence_index(session, runtime, case_id=case_id, viewer=principal, now=now)

    return Response(await in_session(runtime, render), media_type="application/pdf")


add_record_routes(events, kind=RecordKind.case_event, noun="act of a case")
