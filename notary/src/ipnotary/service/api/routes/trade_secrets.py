"""``/v1/trade-secrets`` and ``/v1/disclosures``: encrypted filings and who they were opened to.

The holder's SDK encrypts; these routes take a container, a commitment and wrapped keys. See
``docs/trade-secrets.md`` for the flow and ``docs/trade-secret-crypto.md`` for the cryptography.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlmodel import Session, col, select

from ipnotary.service.api.bodies import invalid_request
from ipnotary.service.api.deps import (
    CurrentPrincipal,
    RuntimeDep,
    SessionDep,
    in_session,
    require_roles,
)
from ipnotary.service.api.routes._records import add_record_routes, record_view, submission_result
from ipnotary.service.api.schemas import RecordView, SubmissionResult, SubmissionWarning
from ipnotary.service.api.uploads import HEAD_BYTES, FormUpload, receive_file_upload
from ipnotary.service.domain.records import ContentFingerprint, RecordKind, Role
from ipnotary.service.domain.resubmission import fields_not_changed
from ipnotary.service.domain.trade_secrets import FilingRequest
from ipnotary.service.errors import InvalidInput, NotFound, UnsupportedMediaType
from ipnotary.service.runtime import Runtime
from ipnotary.service.services import trade_secrets as svc
from ipnotary.service.services.records import (
    StoredRecord,
    body_of,
    get_visible_record,
    may_see,
)
from ipnotary.service.storage.models import KeyGrant, Principal, Record

router = APIRouter(prefix=RecordKind.trade_secret.api_path, tags=["trade secrets"])
disclosures = APIRouter(prefix=RecordKind.disclosure.api_path, tags=["trade secrets"])

Holder = Annotated[Principal, Depends(require_roles(Role.holder))]
# A filing's JSON: an id, a commitment, a wrapped key of a few KiB and a label, in any spelling.
MAX_FILING_JSON_BYTES = 64 * 1024


class DisclosureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient_id: Annotated[str, StringConstraints(max_length=40)]
    # Any: the wrapped-key document as the holder's SDK made it; the service checks its fields.
    wrapped_key: dict[str, Any]


def _filing_from_form(fields: dict[str, list[str]]) -> FilingRequest:
    raw = fields.get("filing")
    if not raw or len(raw) != 1:
        raise InvalidInput(
            "the form needs one 'filing' field: JSON with id, commitment, "
            "holder_wrapped_key and an optional label"
        )
    try:
        return FilingRequest.model_validate_json(raw[0])
    except ValidationError as exc:
        raise invalid_request(exc, "body", "filing") from exc


@router.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="File a trade secret (ciphertext only)",
    description="`multipart/form-data`: `file` is the container made by the SDK's `seal_secret`; "
    "`filing` is JSON `{id, commitment, holder_wrapped_key, label?}`. The holder must have "
    "registered an encryption key (`PUT /v1/principals/me/encryption-key`).",
)
async def file_secret(request: Request, runtime: RuntimeDep, holder: Holder) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send multipart/form-data with the container and the filing")
    container_head = b""

    async def check(filing: FilingRequest, upload: FormUpload) -> None:
        # Before the container is committed: a refused filing leaves no container behind.
        nonlocal container_head
        container_head = bytes(upload.head)
        await in_session(
            runtime,
            lambda session: svc.check_filing(
                session,
                holder=holder,
                request=filing,
                size=upload.file_bytes,
                container_head=container_head,
                stored_head=functools.partial(_stored_head, runtime),
            ),
        )

    fp, filing = await receive_file_upload(
        request,
        runtime,
        allowed_fields={"filing"},
        parse_fields=_filing_from_form,
        before_commit=check,
        field_bytes={"filing": MAX_FILING_JSON_BYTES},
    )
    ciphertext = ContentFingerprint(
        size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
    )

    def store(session: Session) -> StoredRecord:
        return svc.file_trade_secret(
            session,
            holder=holder,
            request=filing,
            ciphertext=ciphertext,
            container_head=container_head,
        )

    stored = await in_session(runtime, store)
    warnings: list[SubmissionWarning] = []
    if not stored.created and filing.label is not None:
        warnings = SubmissionWarning.details_not_changed(
            fields_not_changed(body_of(stored.record), {"label": filing.label})
        )
    result = submission_result(runtime, stored, warnings=warnings)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


def _stored_head(runtime: Runtime, cid: str) -> bytes:
    out = b""
    for chunk in runtime.content_store.open(cid):
        out += chunk
        if len(out) >= HEAD_BYTES:
            break
    return out[:HEAD_BYTES]


@router.get("/{filing_id}/key", summary="Your wrapped data key for a filing (holder or disclosee)")
def my_wrapped_key(filing_id: str, session: SessionDep, principal: CurrentPrincipal) -> Response:
    grant = svc.wrapped_key_for(session, filing_id=filing_id, principal=principal)
    return Response(grant.wrapped_key, media_type="application/json")


@router.post(
    "/{filing_id}/disclosures",
    status_code=201,
    response_model=SubmissionResult,
    summary="Disclose a filing to an arbitrator or notary (anchored as a disclosure record)",
)
def disclose(
    filing_id: str,
    body: DisclosureRequest,
    runtime: RuntimeDep,
    session: SessionDep,
    holder: Holder,
) -> JSONResponse:
    stored = svc.disclose_filing(
        session,
        holder=holder,
        filing_id=filing_id,
        recipient_id=body.recipient_id,
        wrapped_key=body.wrapped_key,
    )
    result = submission_result(runtime, stored)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


@router.get(
    "/{filing_id}/disclosures",
    response_model=list[RecordView],
    summary="Disclosures of a filing (the holder sees all, a recipient their own)",
)
def list_disclosures(
    filing_id: str, session: SessionDep, principal: CurrentPrincipal
) -> list[RecordView]:
    filing = get_visible_record(session, record_id=filing_id, viewer=principal)
    if filing.kind != RecordKind.trade_secret:
        raise NotFound(f"no trade-secret filing {filing_id!r}")
    ids = [
        g.disclosure_id
        for g in session.exec(
            select(KeyGrant).where(
                KeyGrant.filing_id == filing_id, col(KeyGrant.disclosure_id).is_not(None)
            )
        )
    ]
    rows = session.exec(
        select(Record).where(col(Record.id).in_(ids)).order_by(col(Record.seq))
    ).all()
    return [record_view(session, r) for r in rows if may_see(session, r, principal)]


add_record_routes(router, kind=RecordKind.trade_secret, noun="trade-secret filing")
add_record_routes(disclosures, kind=RecordKind.disclosure, noun="disclosure")
