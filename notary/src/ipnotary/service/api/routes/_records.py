"""Read routes every record kind shares: one record, its receipt, certificate and content.

A kind's router calls :func:`add_record_routes` so that ``/v1/<kind>/{id}``, ``/receipt``,
``/certificate`` (also as ``.pdf`` and ``.vc``) and ``/content`` behave identically across
evidence, works and filings.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.certificate import CERTIFICATE_MEDIA_TYPE, RECEIPT_MEDIA_TYPE
from ipnotary.sdk.kinds import RecordKind, RecordStatus
from ipnotary.sdk.records import content_of, parse_record
from ipnotary.sdk.vc import CREDENTIAL_MEDIA_TYPE
from ipnotary.service.api.deps import CurrentPrincipal, RuntimeDep, SessionDep
from ipnotary.service.api.routes.credentials import record_credential_response
from ipnotary.service.api.routes.shared import (
    SHARE_HEADER,
    certificate_pdf_response,
    share_headers,
)
from ipnotary.service.api.schemas import AnchorInfo, RecordPage, RecordView, SubmissionResult
from ipnotary.service.domain.scalars import StoredInt, UrlInt
from ipnotary.service.errors import NotFound
from ipnotary.service.observability import metrics
from ipnotary.service.observability.logs import note_record_id
from ipnotary.service.runtime import Runtime
from ipnotary.service.services import records as svc
from ipnotary.service.services.progress import certified_log_size
from ipnotary.service.storage.models import Batch, Principal, Record

__all__ = ["MAX_PAGE", "add_record_routes", "record_view", "submission_result"]

MAX_PAGE = 500
_SHARED_LINK_HEADER = {
    SHARE_HEADER: {
        "description": "a link that opens this certificate without an API key (docs/api.md)",
        "schema": {"type": "string", "format": "uri"},
    }
}


def record_view(
    session: Session,
    record: Record,
    certified_size: int | None = None,
    needs: svc.CertificationNeeds | None = None,
) -> RecordView:
    """``certified_size``: ``certified_log_size(session)``, passed in when viewing many records;
    ``needs``: what certification waits for (the runtime's rule), to say which stage a record
    not yet anchored waits for."""
    batch = session.get(Batch, record.batch_seq) if record.batch_seq is not None else None
    if certified_size is None:
        certified_size = certified_log_size(session)
    status = svc.record_status(record, batch, certified_size)
    stage = None if needs is None else svc.waiting_for(session, record, batch, status, needs)
    anchor = None
    if batch is not None and status is RecordStatus.anchored:
        facts = batch.anchor()
        if facts is not None:
            anchor = AnchorInfo(**facts.model_dump(), root=batch.root)
    body = svc.body_of(record)
    return RecordView(
        id=record.id,
        kind=record.kind,
        status=status,
        leaf_hash=record.leaf_hash,
        received_at=body["received_at"],
        record=body,
        anchor=anchor,
        log_index=record.log_index,
        has_content=record.content_cid is not None,
        waiting_for=None if stage is None else stage.value,
    )


def submission_result(runtime: Runtime, stored: svc.StoredRecord, **extra: Any) -> SubmissionResult:
    # Every submission route hands its receipt out here: counted once, named in the access line.
    metrics.count_receipt(stored.record.kind, created=stored.created)
    note_record_id(stored.record.id)
    return SubmissionResult(
        id=stored.record.id,
        created=stored.created,
        status=RecordStatus.pending if stored.record.batch_seq is None else RecordStatus.batched,
        receipt=svc.receipt_for(runtime.issuer, stored.record),
        **extra,
    )


def add_record_routes(
    router: APIRouter, *, kind: RecordKind, noun: str, list_own: bool = True
) -> None:
    """Register the shared read routes of ``kind`` on ``router``, whose prefix must be the kind's
    API path (``RecordKind.api_path``: where the SDK looks for it)."""
    if router.prefix != kind.api_path:
        raise ValueError(
            f"the {kind.value} routes belong under {kind.api_path}, not {router.prefix}"
        )

    def visible(session: Session, record_id: str, principal: Principal) -> Record:
        record = svc.get_visible_record(session, record_id=record_id, viewer=principal)
        if record.kind != kind:
            raise NotFound(f"no {noun} {record_id!r}")
        note_record_id(record.id)
        return record

    if list_own:

        @router.get("", response_model=RecordPage, summary=f"List your own {noun}s")
        def list_own_records(
            runtime: RuntimeDep,
            session: SessionDep,
            principal: CurrentPrincipal,
            limit: Annotated[int, UrlInt(ge=1, le=MAX_PAGE), Query()] = 50,
            cursor: Annotated[
                StoredInt | None, Query(description="next_cursor of the previous page")
            ] = None,
        ) -> RecordPage:
            rows = svc.list_owned_records(
                session,
                owner=principal,
                kind=kind.value,
                after_seq=cursor,
                limit=limit + 1,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            certified = certified_log_size(session)
            return RecordPage(
                items=[
                    record_view(session, r, certified, runtime.worker.certification) for r in rows
                ],
                next_cursor=str(rows[-1].seq) if more and rows else None,
            )

    @router.get("/{record_id}", response_model=RecordView, summary=f"One {noun} and its status")
    def get_record(
        record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
    ) -> RecordView:
        record = visible(session, record_id, principal)
        return record_view(session, record, needs=runtime.worker.certification)

    # response_class=Response: the document names the media type served, not application/json.
    @router.get(
        "/{record_id}/receipt",
        summary=f"The signed receipt of a {noun}",
        response_class=Response,
        responses={200: {"content": {RECEIPT_MEDIA_TYPE: {"schema": {"type": "object"}}}}},
    )
    def get_receipt(
        record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        receipt = svc.receipt_for(runtime.issuer, visible(session, record_id, principal))
        return Response(canonical_json(receipt), media_type=RECEIPT_MEDIA_TYPE)

    @router.get(
        "/{record_id}/certificate",
        summary=f"The certificate of an anchored {noun}",
        description="409 `not_anchored_yet` until the record's checkpoint is anchored, cosigned "
        "by the witness quorum and time-stamped (a few seconds).",
        response_class=Response,
        responses={
            200: {
                "content": {CERTIFICATE_MEDIA_TYPE: {"schema": {"type": "object"}}},
                "headers": _SHARED_LINK_HEADER,
            },
            409: {"description": "not anchored yet"},
        },
    )
    def get_certificate(
        record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        cert = svc.certificate_for(session, runtime.issuer, visible(session, record_id, principal))
        return Response(
            cert.to_json_bytes(),
            media_type=CERTIFICATE_MEDIA_TYPE,
            headers=share_headers(runtime, record_id),
        )

    @router.get(
        "/{record_id}/certificate.pdf",
        summary=f"The certificate of an anchored {noun} as a signed, printable PDF",
        description="Bilingual A4 PDF/A-3b with the certificate attached as `certificate.json`, "
        "a QR code to the verification page and a PAdES signature (docs/certificate-pdf.md); "
        "409 `not_anchored_yet` as for `/certificate`.",
        response_class=Response,
        responses={
            200: {
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                "headers": _SHARED_LINK_HEADER,
            },
            409: {"description": "not anchored yet"},
        },
    )
    def get_certificate_pdf(
        record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
    ) -> Response:
        return certificate_pdf_response(runtime, session, visible(session, record_id, principal))

    @router.get(
        "/{record_id}/certificate.vc",
        summary=f"The certificate of an anchored {noun} as a W3C Verifiable Credential",
        description="The certificate inside a VC 2.0 credential secured with `eddsa-jcs-2022` "
        "(docs/credentials.md); 409 `not_anchored_yet` as for `/certificate`.",
        response_class=Response,
        responses={
            200: {"content": {CREDENTIAL_MEDIA_TYPE: {"schema": {"type": "object"}}}},
            409: {"description": "not anchored yet"},
        },
    )
    def get_certificate_credential(
        record_id: str,
        request: Request,
        runtime: RuntimeDep,
        session: SessionDep,
        principal: CurrentPrincipal,
    ) -> Response:
        record = visible(session, record_id, principal)
        return record_credential_response(runtime, session, record, request)

    @router.get(
        "/{record_id}/content",
        summary="The stored bytes, re-verified against their CID as they stream",
        response_class=StreamingResponse,
    )
    def get_content(
        record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
    ) -> StreamingResponse:
        record = visible(session, record_id, principal)
        if record.content_cid is None:
            raise NotFound(
                "this record was submitted by digest only; we hold no content for it",
                code="no_content",
            )
        size = runtime.content_store.size(record.content_cid)
        content = content_of(parse_record(svc.body_of(record)))
        return StreamingResponse(
            runtime.content_store.open(record.content_cid),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(size),
                "Content-Disposition": f"attachment; filename={json.dumps(record.id + '.bin')}",
                "X-Content-SHA256": content.sha256 if content else "",
                "X-Content-CID": record.content_cid,
            },
        )
