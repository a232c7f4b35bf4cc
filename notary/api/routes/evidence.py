"""``/v1/evidence``: preserve a file or a digest, read it back, get its receipt and certificate."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from client_sdk.certificate import CERTIFICATE_MEDIA_TYPE, RECEIPT_MEDIA_TYPE
from notary.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from notary.api.schemas import (
    AnchorInfo,
    DigestBatchSubmission,
    DigestSubmission,
    RecordPage,
    RecordView,
    SubmissionResult,
)
from notary.api.uploads import read_multipart_upload
from notary.domain.records import (
    ContentFingerprint,
    EvidenceMetadata,
    Role,
    build_evidence_record,
    dedup_key,
)
from notary.errors import InvalidInput, LimitExceeded, NotFound
from notary.runtime import Runtime
from notary.services import records as svc
from notary.storage.models import Batch, Principal, Record

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])

SUBMITTER_ROLES = (Role.holder, Role.notary, Role.arbitrator, Role.platform)
Submitter = Annotated[Principal, Depends(require_roles(*SUBMITTER_ROLES))]

MAX_PAGE = 500


def record_view(session: Session, record: Record) -> RecordView:
    batch = session.get(Batch, record.batch_seq) if record.batch_seq is not None else None
    status = svc.record_status(record, batch)
    anchor = None
    if batch is not None and status == "anchored":
        anchor = AnchorInfo(
            chain_id=batch.chain_id or 0,
            contract=batch.contract or "",
            batch_id=batch.chain_batch_id or 0,
            tx_hash=batch.tx_hash or "",
            block_number=batch.block_number or 0,
            block_hash=batch.block_hash or "",
            block_timestamp=batch.block_timestamp or 0,
            root=batch.root,
        )
    body = svc.body_of(record)
    return RecordView(
        id=record.id,
        kind=record.kind,
        status=status,  # type: ignore[arg-type]
        leaf_hash=record.leaf_hash,
        received_at=body["received_at"],
        record=body,
        anchor=anchor,
        has_content=record.content_cid is not None,
    )


def _submission(runtime: Runtime, stored: svc.StoredRecord) -> SubmissionResult:
    receipt = svc.receipt_for(runtime.issuer, stored.record)
    return SubmissionResult(
        id=stored.record.id,
        created=stored.created,
        status="pending" if stored.record.batch_seq is None else "batched",
        receipt=receipt.model_dump(mode="json"),
    )


def _accept_evidence(
    session: Session,
    principal: Principal,
    content: ContentFingerprint,
    metadata: EvidenceMetadata,
) -> svc.StoredRecord:
    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_evidence_record(
            record_id=record_id,
            holder_id=principal.id,
            holder_name=principal.name,
            content=content,
            metadata=metadata,
            received_at=received_at,
        )

    return svc.accept_record(
        session,
        kind="evidence",
        owner=principal,
        build_body=build,
        dedup=dedup_key("evidence", principal.id, content.sha256),
        content_sha256=content.sha256,
        content_cid=content.cid,
    )


def _metadata_from_form(fields: dict[str, list[str]]) -> EvidenceMetadata:
    known = {"title", "description", "source_url", "captured_at", "case_reference", "tags"}
    unknown = set(fields) - known
    if unknown:
        raise InvalidInput(f"unknown form fields: {', '.join(sorted(unknown))}")
    raw: dict[str, Any] = {k: v[-1] for k, v in fields.items() if k != "tags"}
    tags = [t.strip() for v in fields.get("tags", []) for t in v.split(",") if t.strip()]
    if tags:
        raw["tags"] = tags
    try:
        return EvidenceMetadata.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidInput(f"{where}: {err['msg']}") from exc


@router.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="Preserve evidence (file upload or digest)",
    description=(
        "Either `multipart/form-data` with a `file` part (streamed; fingerprinted with SHA-256, SM3 "
        "and IPFS CIDs; stored content-addressed) plus optional fields `title`, `description`, "
        "`source_url`, `captured_at`, `case_reference`, `tags` (comma-separated or repeated), or "
        "`application/json` with `sha256`, optional `sm3`, `size` and `metadata` for holders who "
        "keep their content. Answers at once with a signed receipt. The same content from the "
        "same holder returns the existing record (200, `created: false`)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": DigestSubmission.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "title": {"type": "string", "maxLength": 300},
                            "description": {"type": "string", "maxLength": 10000},
                            "source_url": {"type": "string", "format": "uri"},
                            "captured_at": {"type": "string", "format": "date-time"},
                            "case_reference": {"type": "string", "maxLength": 200},
                            "tags": {"type": "string"},
                        },
                    }
                },
            }
        }
    },
    responses={200: {"model": SubmissionResult, "description": "already recorded"}},
)
async def submit_evidence(
    request: Request, runtime: RuntimeDep, principal: Submitter
) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await request.body()
        if len(raw) > 64 * 1024:
            raise LimitExceeded("a digest submission is at most 64 KiB of JSON")
        try:
            submission = DigestSubmission.model_validate_json(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidInput(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from exc
        content = ContentFingerprint.model_validate(
            submission.model_dump(include={"size", "sha256", "sm3"})
        )
        if submission.cid or submission.cid_v1:
            raise InvalidInput("a digest submission cannot name a CID: we store no content for it")
        stored = await run_in_threadpool(
            _with_session, runtime, lambda s: _accept_evidence(s, principal, content, submission.metadata)
        )
    elif content_type.startswith("multipart/form-data"):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > runtime.settings.max_upload_bytes + 1024 * 1024:
            raise LimitExceeded(
                f"the upload is larger than the limit of {runtime.settings.max_upload_bytes} bytes"
            )
        form = await read_multipart_upload(
            content_type,
            request.stream(),
            file_field="file",
            open_writer=runtime.content_store.writer,
            max_file_bytes=runtime.settings.max_upload_bytes,
        )
        if not form.saw_file:
            raise InvalidInput("the form needs a 'file' part")
        try:
            metadata = _metadata_from_form(form.fields)
        except BaseException:
            await run_in_threadpool(form.writer.abort)
            raise
        fp = await run_in_threadpool(form.writer.commit)
        content = ContentFingerprint(
            size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
        )
        stored = await run_in_threadpool(
            _with_session, runtime, lambda s: _accept_evidence(s, principal, content, metadata)
        )
    else:
        return JSONResponse(
            {
                "type": "urn:ipnotary:problem:unsupported_media_type",
                "title": "Unsupported media type",
                "status": 415,
                "detail": "send multipart/form-data (with a file) or application/json (digest only)",
                "code": "unsupported_media_type",
            },
            status_code=415,
            media_type="application/problem+json",
        )
    result = _submission(runtime, stored)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


def _with_session(runtime: Runtime, fn: Any) -> Any:
    with Session(runtime.engine) as session:
        return fn(session)


@router.post(
    "/digests",
    response_model=list[SubmissionResult],
    summary="Preserve many digests in one request",
    description="Up to `max_digests_per_request` (default 1,000) digest submissions, accepted in one "
    "transaction; one receipt each, in request order.",
)
def submit_digests(
    batch: DigestBatchSubmission, runtime: RuntimeDep, session: SessionDep, principal: Submitter
) -> list[SubmissionResult]:
    limit = runtime.settings.max_digests_per_request
    if len(batch.items) > limit:
        raise LimitExceeded(f"at most {limit} digests per request; got {len(batch.items)}")
    items = []
    for sub in batch.items:
        if sub.cid or sub.cid_v1:
            raise InvalidInput("a digest submission cannot name a CID: we store no content for it")
        content = ContentFingerprint(size=sub.size, sha256=sub.sha256, sm3=sub.sm3)

        def build(record_id: str, received_at: datetime, c=content, m=sub.metadata) -> dict[str, Any]:
            return build_evidence_record(
                record_id=record_id, holder_id=principal.id, holder_name=principal.name,
                content=c, metadata=m, received_at=received_at,
            )

        items.append((dedup_key("evidence", principal.id, sub.sha256), build, sub.sha256))
    stored = svc.accept_many(session, kind="evidence", owner=principal, items=items)
    return [_submission(runtime, s) for s in stored]


@router.get("", response_model=RecordPage, summary="List your own evidence records")
def list_evidence(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=32, pattern=r"^\d+$")] = None,
) -> RecordPage:
    rows = svc.list_owned_records(
        session, owner=principal, kind="evidence",
        after_seq=int(cursor) if cursor else None, limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return RecordPage(
        items=[record_view(session, r) for r in rows],
        next_cursor=str(rows[-1].seq) if more and rows else None,
    )


def _evidence(session: Session, record_id: str, principal: Principal) -> Record:
    record = svc.get_visible_record(session, record_id=record_id, viewer=principal)
    if record.kind != "evidence":
        raise NotFound(f"no evidence record {record_id!r}")
    return record


@router.get("/{record_id}", response_model=RecordView, summary="One evidence record and its status")
def get_evidence(record_id: str, session: SessionDep, principal: CurrentPrincipal) -> RecordView:
    return record_view(session, _evidence(session, record_id, principal))


@router.get("/{record_id}/receipt", summary="The signed receipt of a record")
def get_receipt(
    record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    receipt = svc.receipt_for(runtime.issuer, _evidence(session, record_id, principal))
    return Response(receipt.to_json_bytes(), media_type=RECEIPT_MEDIA_TYPE)


@router.get(
    "/{record_id}/certificate",
    summary="The certificate of an anchored record",
    description="409 `not_anchored_yet` until the record's batch is anchored (a few seconds).",
    responses={409: {"description": "not anchored yet"}},
)
def get_certificate(
    record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    record = _evidence(session, record_id, principal)
    cert = svc.certificate_for(session, runtime.issuer, record)
    return Response(cert.to_json_bytes(), media_type=CERTIFICATE_MEDIA_TYPE)


@router.get(
    "/{record_id}/content",
    summary="The preserved bytes, re-verified against their CID as they stream",
    response_class=StreamingResponse,
)
def get_content(
    record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> StreamingResponse:
    record = _evidence(session, record_id, principal)
    if record.content_cid is None:
        raise NotFound("this record was submitted by digest only; we hold no content for it",
                       code="no_content")
    size = runtime.content_store.size(record.content_cid)
    body = svc.body_of(record)
    filename = json.dumps(f"{record.id}.bin")
    return StreamingResponse(
        runtime.content_store.open(record.content_cid),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f"attachment; filename={filename}",
            "X-Content-SHA256": body["content"]["sha256"],
            "X-Content-CID": record.content_cid,
        },
    )
