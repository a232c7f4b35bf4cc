"""``/v1/evidence``: preserve a file or a digest, read it back, get its receipt and certificate."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session

from ipnotary.service.api.bodies import (
    form_field_chars,
    form_fields_doc,
    invalid_request,
    json_body_doc,
    read_body,
)
from ipnotary.service.api.deps import RuntimeDep, SessionDep, in_session, require_roles
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import (
    DigestBatchSubmission,
    DigestSubmission,
    SubmissionResult,
    SubmissionWarning,
)
from ipnotary.service.api.uploads import receive_file_upload, utf8_bound
from ipnotary.service.domain.records import (
    ContentFingerprint,
    EvidenceMetadata,
    RecordKind,
    Role,
    build_evidence_record,
    dedup_key,
)
from ipnotary.service.domain.resubmission import fields_not_changed
from ipnotary.service.errors import InvalidInput, LimitExceeded, UnsupportedMediaType
from ipnotary.service.services import records as svc
from ipnotary.service.storage.models import Principal

router = APIRouter(prefix=RecordKind.evidence.api_path, tags=["evidence"])

SUBMITTER_ROLES = (Role.holder, Role.notary, Role.arbitrator, Role.platform)
Submitter = Annotated[Principal, Depends(require_roles(*SUBMITTER_ROLES))]

MAX_PAGE = 500
# The bound in bytes of the longest valid digest submission in any JSON spelling: its metadata's
# 14,636 characters (title 300, description 10,000, case reference 200, source URL 2,048, 32
# tags of 64, a time) at most 12 bytes each as \uXXXX surrogate pairs, and the digests: 176 KB.
# The limits themselves are the metadata's, in characters, as for an upload's form fields.
MAX_DIGEST_JSON_BYTES = 256 * 1024


def _evidence_body(
    record_id: str,
    received_at: datetime,
    *,
    principal: Principal,
    content: ContentFingerprint,
    metadata: EvidenceMetadata,
) -> dict[str, Any]:
    return build_evidence_record(
        record_id=record_id,
        holder_id=principal.id,
        holder_name=principal.name,
        content=content,
        metadata=metadata,
        received_at=received_at,
    )


def _not_changed(
    stored: svc.StoredRecord,
    principal: Principal,
    content: ContentFingerprint,
    metadata: EvidenceMetadata,
) -> list[SubmissionWarning]:
    """For a record that already existed: what this submission stated otherwise."""
    if stored.created:
        return []
    record = stored.record
    submitted = _evidence_body(
        record.id, record.received_at, principal=principal, content=content, metadata=metadata
    )
    return SubmissionWarning.details_not_changed(fields_not_changed(svc.body_of(record), submitted))


def _accept_evidence(
    session: Session,
    principal: Principal,
    content: ContentFingerprint,
    metadata: EvidenceMetadata,
) -> svc.StoredRecord:
    return svc.accept_record(
        session,
        kind=RecordKind.evidence.value,
        owner=principal,
        build_body=functools.partial(
            _evidence_body, principal=principal, content=content, metadata=metadata
        ),
        dedup=dedup_key(RecordKind.evidence, principal.id, content.sha256),
        content_sha256=content.sha256,
        content_cid=content.cid,
    )


METADATA_FIELDS = {"title", "description", "source_url", "captured_at", "case_reference", "tags"}
# Each form field held to the UTF-8 bound of its documented characters (the model counts them).
METADATA_FIELD_BYTES = {
    name: utf8_bound(chars) for name, chars in form_field_chars(EvidenceMetadata).items()
}


def _metadata_from_form(fields: dict[str, list[str]]) -> EvidenceMetadata:
    raw: dict[str, str | list[str]] = {k: v[-1] for k, v in fields.items() if k != "tags"}
    tags = [t.strip() for v in fields.get("tags", []) for t in v.split(",") if t.strip()]
    if tags:
        raw["tags"] = tags
    try:
        return EvidenceMetadata.model_validate(raw)
    except ValidationError as exc:
        raise invalid_request(exc, "body") from exc


@router.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="Preserve evidence (file upload or digest)",
    description=(
        "Either `multipart/form-data` with a `file` part (streamed; fingerprinted with SHA-256, "
        "SM3 and IPFS CIDs; stored content-addressed) plus optional fields `title`, `description`, "
        "`source_url`, `captured_at`, `case_reference`, `tags` (comma-separated or repeated), or "
        "`application/json` with `sha256`, optional `sm3`, `size` and `metadata` for holders who "
        "keep their content. Answers at once with a signed receipt. The same content from the "
        "same holder returns the existing record (200, `created: false`)."
    ),
    openapi_extra={
        "requestBody": {
            "content": {
                **json_body_doc(DigestSubmission),
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            **form_fields_doc(EvidenceMetadata),
                        },
                    }
                },
            }
        }
    },
    responses={200: {"model": SubmissionResult, "description": "already recorded"}},
)
async def submit_evidence(request: Request, runtime: RuntimeDep, principal: Submitter) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await read_body(request, max_bytes=MAX_DIGEST_JSON_BYTES)
        try:
            submission = DigestSubmission.model_validate_json(raw)
        except ValidationError as exc:
            raise invalid_request(exc, "body") from exc
        content = ContentFingerprint.model_validate(
            submission.model_dump(include={"size", "sha256", "sm3"})
        )
        if submission.cid or submission.cid_v1:
            raise InvalidInput("a digest submission cannot name a CID: we store no content for it")
        metadata = submission.metadata
        stored = await in_session(
            runtime, lambda s: _accept_evidence(s, principal, content, metadata)
        )
    elif content_type.startswith("multipart/form-data"):
        fp, metadata = await receive_file_upload(
            request,
            runtime,
            allowed_fields=METADATA_FIELDS,
            parse_fields=_metadata_from_form,
            field_bytes=METADATA_FIELD_BYTES,
        )
        content = ContentFingerprint(
            size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
        )
        stored = await in_session(
            runtime, lambda s: _accept_evidence(s, principal, content, metadata)
        )
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data (with a file) or application/json (digest only)"
        )
    result = submission_result(
        runtime, stored, warnings=_not_changed(stored, principal, content, metadata)
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


@router.post(
    "/digests",
    response_model=list[SubmissionResult],
    summary="Preserve many digests in one request",
    description="Up to `max_digests_per_request` (default 1,000) digest submissions, accepted in "
    "one "
    "transaction; one receipt each, in request order.",
)
def submit_digests(
    batch: DigestBatchSubmission, runtime: RuntimeDep, session: SessionDep, principal: Submitter
) -> list[SubmissionResult]:
    limit = runtime.settings.max_digests_per_request
    if len(batch.items) > limit:
        raise LimitExceeded(f"at most {limit} digests per request; got {len(batch.items)}")
    items = []
    contents = []
    for sub in batch.items:
        if sub.cid or sub.cid_v1:
            raise InvalidInput("a digest submission cannot name a CID: we store no content for it")
        content = ContentFingerprint(size=sub.size, sha256=sub.sha256, sm3=sub.sm3)
        contents.append(content)
        build = functools.partial(
            _evidence_body, principal=principal, content=content, metadata=sub.metadata
        )
        items.append((dedup_key(RecordKind.evidence, principal.id, sub.sha256), build, sub.sha256))
    stored = svc.accept_many(session, kind=RecordKind.evidence.value, owner=principal, items=items)
    return [
        submission_result(runtime, s, warnings=_not_changed(s, principal, content, sub.metadata))
        for s, content, sub in zip(stored, contents, batch.items, strict=True)
    ]


add_record_routes(router, kind=RecordKind.evidence, noun="evidence record")
