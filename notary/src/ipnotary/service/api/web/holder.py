"""The rights holder's area: their records and each one's way to a certificate, uploads of evidence
and works (streamed, as the API takes them: ``api/uploads.py``), the certificate in its three
forms, and sharing a record with a notary or an arbitrator. A record page is also what a notary
or an arbitrator opens from a share: ``services.records.get_visible_record`` decides who sees it,
as for the API.

Trade secrets are filed with the SDK or the CLI only: their plaintext never reaches the server,
so no page can take one (``/app/trade-secrets`` says how).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import EvidenceRecord, WorkRecord
from ipnotary.service.api.deps import in_session, with_session
from ipnotary.service.api.routes._records import submission_result
from ipnotary.service.api.routes.credentials import record_credential_response
from ipnotary.service.api.routes.evidence import (
    METADATA_FIELDS,
    SUBMITTER_ROLES,
    _accept_evidence,
    _metadata_from_form,
)
from ipnotary.service.api.routes.shared import certificate_pdf_response
from ipnotary.service.api.uploads import receive_file_upload
from ipnotary.service.api.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    HOME,
    Page,
    UploadPage,
    WebContext,
    WebRoute,
)
from ipnotary.service.api.web.i18n import N_
from ipnotary.service.api.web.progress import (
    STAGES,
    progress_of,
    record_sha256,
    record_title,
    typed,
)
from ipnotary.service.domain.records import ContentFingerprint, Role
from ipnotary.service.domain.scalars import stored_int_or_none
from ipnotary.service.domain.works import WorkDetails, WorkType
from ipnotary.service.errors import DependencyUnavailable, InvalidInput
from ipnotary.service.services import records as svc
from ipnotary.service.services import sharing
from ipnotary.service.services.works import register_work
from ipnotary.service.storage.models import Principal, Record

__all__ = ["KIND_NAMES", "WORK_TYPE_NAMES", "router"]

router = APIRouter(prefix=HOME, route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50

# By name, not by RecordKind member: a kind another release adds is shown by its name until it
# is named here.
KIND_NAMES = {
    "evidence": N_("Evidence"),
    "work": N_("Copyright work"),
    "trade_secret": N_("Trade-secret filing"),
    "disclosure": N_("Trade-secret disclosure"),
    "credit_entry": N_("Credit entry"),
    "credit_repair": N_("Credit repair"),
    "pledge_event": N_("Pledge event"),
    "attestation": N_("Notarial attestation"),
    "notarial_refusal": N_("Notarial refusal"),
    "attestation_revocation": N_("Revocation of an attestation"),
    "case_event": N_("Arbitration case act"),
    "complaint_event": N_("Complaint step"),
    "capture": N_("Web page capture"),
}

WORK_TYPE_NAMES = {
    WorkType.written: N_("Written work"),
    WorkType.oral: N_("Oral work"),
    WorkType.musical: N_("Musical work"),
    WorkType.dramatic: N_("Dramatic work"),
    WorkType.quyi: N_("Quyi (ballad singing, storytelling)"),
    WorkType.choreographic: N_("Choreographic work"),
    WorkType.acrobatic: N_("Acrobatic work"),
    WorkType.fine_art: N_("Fine art"),
    WorkType.architectural: N_("Architectural work"),
    WorkType.photographic: N_("Photographic work"),
    WorkType.audiovisual: N_("Audiovisual work"),
    WorkType.graphic_and_model: N_("Drawing or model"),
    WorkType.computer_software: N_("Computer software"),
    WorkType.other: N_("Other (say what)"),
}

ID_TYPE_NAMES = {
    "uscc": N_("Unified social credit code"),
    "cn_resident_id": N_("Resident identity card number"),
    "passport": N_("Passport number"),
    "other": N_("Other identifier"),
}


def _wants_json(ctx: WebContext) -> bool:
    return "application/json" in ctx.request.headers.get("accept", "")


# -- the list ---------------------------------------------------------------------------------


@router.get("/records")
def records(ctx: Page, before: str | None = None) -> Response:
    """The signed-in principal's own records, newest first (``before``: a page further back)."""
    user = ctx.signed_in
    cursor = stored_int_or_none(before)

    def load(session: Session) -> dict[str, Any]:
        query = select(Record).where(Record.owner_id == user.principal.id)
        if cursor is not None:
            query = query.where(col(Record.seq) < cursor)
        rows = list(session.exec(query.order_by(col(Record.seq).desc()).limit(PAGE_SIZE + 1)))
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return {
            "rows": [
                {
                    "record": r,
                    "title": record_title(r),
                    "kind": KIND_NAMES.get(r.kind, r.kind),
                    "progress": progress_of(session, r),
                }
                for r in rows
            ],
            "older": str(rows[-1].seq) if more and rows else None,
        }

    return ctx.page("records.html.j2", {**with_session(ctx.runtime, load), "stages": STAGES})


# -- one record --------------------------------------------------------------------------------


def _visible(session: Session, record_id: str, viewer: Principal) -> Record:
    return svc.get_visible_record(session, record_id=record_id[:64], viewer=viewer)


@router.get("/records/{record_id}")
def record_page(record_id: str, ctx: Page) -> Response:
    user = ctx.signed_in
    runtime = ctx.runtime

    def load(session: Session) -> dict[str, Any]:
        record = _visible(session, record_id, user.principal)
        progress = progress_of(session, record)
        own = record.owner_id == user.principal.id
        shares = (
            [
                s
                for s in sharing.list_shares(session, principal=user.principal, received=False)
                if s.record_id == record.id
            ]
            if own
            else []
        )
        recipients = (
            list(
                session.exec(
                    select(Principal)
                    .where(
                        col(Principal.role).in_(sharing.SHARE_RECIPIENT_ROLES),
                        col(Principal.disabled).is_(False),
                    )
                    .order_by(col(Principal.name))
                    .limit(500)
                )
            )
            if own
            else []
        )
        body = typed(record)
        return {
            "record": record,
            "body": body,
            "evidence": body if isinstance(body, EvidenceRecord) else None,
            "work": body if isinstance(body, WorkRecord) else None,
            "title": record_title(record),
            "sha256": record_sha256(record),
            "kind": KIND_NAMES.get(record.kind, record.kind),
            "progress": progress,
            "own": own,
            "shareable": own and record.kind in (RecordKind.evidence, RecordKind.work),
            "shares": shares,
            "recipients": recipients,
            "verification_url": _verification_url(ctx, record.id),
            "required_cosignatures": runtime.settings.required_cosignatures,
            "required_timestamps": runtime.settings.required_timestamps,
        }

    context = with_session(runtime, load)
    return ctx.page(
        "record.html.j2",
        {
            **context,
            "stages": STAGES,
            "work_type_names": WORK_TYPE_NAMES,
            "id_type_names": ID_TYPE_NAMES,
            "notice": ctx.request.query_params.get("done"),
        },
    )


def _verification_url(ctx: WebContext, record_id: str) -> str | None:
    """The verification page on the record's shared certificate (None while the service has
    no share secret: ``notary deploy`` makes it)."""
    shared = ctx.runtime.certificate_pdf.shared_url(record_id)
    return ctx.runtime.certificate_pdf.links.verification_url(record_id) if shared else None


@router.get("/records/{record_id}/progress")
def record_progress(record_id: str, ctx: Page) -> Response:
    """What the record page polls: each stage, reached or not, with its time."""
    user = ctx.signed_in
    progress = with_session(
        ctx.runtime, lambda s: progress_of(s, _visible(s, record_id, user.principal))
    )
    return JSONResponse(progress.as_json(ctx.speaker), headers={"Cache-Control": "no-store"})


def _download(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/records/{record_id}/certificate.json")
def certificate_json(record_id: str, ctx: Page) -> Response:
    user = ctx.signed_in
    runtime = ctx.runtime

    def load(session: Session) -> Response:
        record = _visible(session, record_id, user.principal)
        cert = svc.certificate_for(session, runtime.issuer, record)
        return Response(cert.to_json_bytes(), media_type="application/json")

    return _download(with_session(runtime, load), f"{record_id[:64]}.certificate.json")


@router.get("/records/{record_id}/certificate.pdf")
def certificate_pdf(record_id: str, ctx: Page) -> Response:
    user = ctx.signed_in
    runtime = ctx.runtime
    response = with_session(
        runtime,
        lambda s: certificate_pdf_response(runtime, s, _visible(s, record_id, user.principal)),
    )
    return _download(response, f"{record_id[:64]}.certificate.pdf")


@router.get("/records/{record_id}/certificate.vc")
def certificate_vc(record_id: str, ctx: Page) -> Response:
    user = ctx.signed_in
    runtime = ctx.runtime
    response = with_session(
        runtime,
        lambda s: record_credential_response(
            runtime, s, _visible(s, record_id, user.principal), ctx.request
        ),
    )
    return _download(response, f"{record_id[:64]}.credential.json")


@router.post("/records/{record_id}/share")
def share(record_id: str, ctx: Page) -> Response:
    user = ctx.signed_in
    recipient = ctx.field("recipient_id")
    with_session(
        ctx.runtime,
        lambda s: sharing.share_record(
            s,
            owner=user.principal,
            record_id=record_id[:64],
            recipient_id=recipient[:40],
            now=datetime.now(UTC),
        ),
    )
    return ctx.redirect(f"{HOME}/records/{record_id[:64]}?done=shared")


# -- uploads -----------------------------------------------------------------------------------


def _token_check(ctx: WebContext, fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """The streamed form's CSRF field, unless the page's script sent it as a header (checked
    before a byte was read); the fields without it."""
    if ctx.request.headers.get(CSRF_HEADER) is None:
        sent = fields.get(CSRF_FIELD) or [""]
        ctx.check_csrf(sent[-1])
    return {k: v for k, v in fields.items() if k != CSRF_FIELD}


async def _refuse_while_halted(ctx: WebContext) -> None:
    """As the API's write gate (``api/write_gate.py``) answers its submissions: while the
    deployment is halted (a log behind the chain), no page accepts a record either."""
    halt = await run_in_threadpool(ctx.runtime.fleet.halt)
    if halt is not None:
        raise DependencyUnavailable(
            f"{halt.detail} (since {halt.since:%Y-%m-%dT%H:%M:%SZ})", code=halt.code
        )


def _uploaded(ctx: WebContext, record: Record) -> Response:
    location = f"{HOME}/records/{record.id}"
    if _wants_json(ctx):
        return ctx.finish(JSONResponse({"id": record.id, "location": location}))
    return ctx.redirect(location)


@router.get("/evidence/new")
def evidence_form(ctx: Page) -> Response:
    ctx.require(*SUBMITTER_ROLES)
    return ctx.page("evidence_new.html.j2", {"max_bytes": ctx.runtime.settings.max_upload_bytes})


@router.post("/evidence")
async def submit_evidence(ctx: UploadPage) -> Response:
    user = ctx.require(*SUBMITTER_ROLES)
    await _refuse_while_halted(ctx)

    def parse(fields: dict[str, list[str]]) -> Any:
        fields = _token_check(ctx, fields)
        # An empty field of the form is a field not given (the API's clients omit them).
        return _metadata_from_form({k: v for k, v in fields.items() if any(x.strip() for x in v)})

    fp, metadata = await receive_file_upload(
        ctx.request,
        ctx.runtime,
        allowed_fields=METADATA_FIELDS | {CSRF_FIELD},
        parse_fields=parse,
    )
    content = ContentFingerprint(
        size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
    )
    stored = await in_session(
        ctx.runtime, lambda s: _accept_evidence(s, user.principal, content, metadata)
    )
    submission_result(ctx.runtime, stored)  # counted and logged as the API's receipts are
    return _uploaded(ctx, stored.record)


WORK_FIELDS = {
    "title",
    "work_type",
    "work_type_detail",
    "authors",
    "owner_name",
    "owner_id_type",
    "owner_id",
    "completed_on",
    "publication_date",
    "publication_place",
}


def work_details(fields: dict[str, list[str]]) -> WorkDetails:
    """The work form as the API's ``work`` JSON: authors one a line (``name`` or
    ``name / pen name``), the copyright owner, dates, and the first publication if any."""
    one = {k: v[-1].strip() for k, v in fields.items() if v}
    authors = []
    for line in one.get("authors", "").splitlines()[:60]:
        name, _, pen_name = line.partition("/")
        if name.strip():
            authors.append(
                {"name": name.strip(), **({"pen_name": pen_name.strip()} if pen_name else {})}
            )
    raw: dict[str, Any] = {
        "title": one.get("title", ""),
        "work_type": one.get("work_type", ""),
        "authors": authors,
        "copyright_owner": {
            "name": one.get("owner_name", ""),
            "id_type": one.get("owner_id_type", ""),
            "id": one.get("owner_id", ""),
        },
        "completed_on": one.get("completed_on", ""),
    }
    if one.get("work_type_detail"):
        raw["work_type_detail"] = one["work_type_detail"]
    if one.get("publication_date") or one.get("publication_place"):
        raw["first_publication"] = {
            "date": one.get("publication_date", ""),
            "place": one.get("publication_place", ""),
        }
    try:
        # As JSON, as the API reads its ``work`` field: the form's dates are ISO text.
        return WorkDetails.model_validate_json(json.dumps(raw, ensure_ascii=False))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "work"
        raise InvalidInput(f"{where}: {first['msg']}", code="validation_error") from exc


@router.get("/works/new")
def work_form(ctx: Page) -> Response:
    user = ctx.require(Role.holder)
    owner_id_type, _, owner_id = (user.principal.identifier or "").partition(":")
    return ctx.page(
        "work_new.html.j2",
        {
            "work_types": WORK_TYPE_NAMES,
            "id_types": ID_TYPE_NAMES,
            "owner": {"name": user.principal.name, "id_type": owner_id_type, "id": owner_id},
            "today": date.today().isoformat(),
            "max_bytes": ctx.runtime.settings.max_upload_bytes,
        },
    )


@router.post("/works")
async def submit_work(ctx: UploadPage) -> Response:
    user = ctx.require(Role.holder)
    await _refuse_while_halted(ctx)
    fp, details = await receive_file_upload(
        ctx.request,
        ctx.runtime,
        allowed_fields=WORK_FIELDS | {CSRF_FIELD},
        parse_fields=lambda fields: work_details(_token_check(ctx, fields)),
    )
    content = ContentFingerprint(
        size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
    )
    stored, _prior = await in_session(
        ctx.runtime,
        functools.partial(register_work, holder=user.principal, details=details, content=content),
    )
    submission_result(ctx.runtime, stored)
    return _uploaded(ctx, stored.record)


@router.get("/trade-secrets")
def trade_secrets(ctx: Page) -> Response:
    """How to file a trade secret: on the holder's own machine, with the SDK or the CLI."""
    user = ctx.signed_in

    def load(session: Session) -> list[Record]:
        return list(
            session.exec(
                select(Record)
                .where(
                    Record.owner_id == user.principal.id,
                    col(Record.kind).in_([RecordKind.trade_secret, RecordKind.disclosure]),
                )
                .order_by(col(Record.seq).desc())
                .limit(PAGE_SIZE)
            )
        )

    return ctx.page(
        "trade_secrets.html.j2",
        {"filings": with_session(ctx.runtime, load), "kind_names": KIND_NAMES},
    )
