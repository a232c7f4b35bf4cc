"""``/v1/works``: copyright registration, and the public-to-members "who registered it first"
(with identity numbers masked for those who may not read them, ``services.works``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipnotary.service.api.bodies import invalid_request, read_body
from ipnotary.service.api.deps import (
    CurrentPrincipal,
    RuntimeDep,
    SessionDep,
    in_session,
    require_roles,
)
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import SubmissionResult, SubmissionWarning
from ipnotary.service.api.uploads import receive_file_upload
from ipnotary.service.domain.records import ContentFingerprint, RecordKind, Role
from ipnotary.service.domain.resubmission import fields_not_changed
from ipnotary.service.domain.works import WorkDetails
from ipnotary.service.errors import InvalidInput, UnsupportedMediaType
from ipnotary.service.services.records import body_of
from ipnotary.service.services.works import register_work, registrations_of, work_as_seen_by
from ipnotary.service.storage.models import Principal

router = APIRouter(prefix=RecordKind.work.api_path, tags=["works"])
# The bound in bytes of the longest valid work in any JSON spelling (as a JSON body or the form's
# `work` field): about 21,000 characters of details (title 300, 50 authors of 400, the owner, a
# publication) at most 12 bytes each as \uXXXX surrogate pairs: 260 KB. The limits themselves are
# WorkDetails', in characters.
MAX_WORK_JSON_BYTES = 512 * 1024

Registrant = Annotated[Principal, Depends(require_roles(Role.holder))]


class WorkDigestRegistration(BaseModel):
    """Registration by digest, for holders who keep the content (e.g. unpublished software)."""

    model_config = ConfigDict(extra="forbid")

    work: WorkDetails
    content: ContentFingerprint


class WorkSubmissionResult(SubmissionResult):
    # Any here and below: parts of record bodies (JSON), served as the records hold them.
    prior_registrations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="earlier registrations of the same content by others: "
        "this one is not the first",
    )


class RegistrationEntry(BaseModel):
    id: str
    prior: bool
    anchored: bool
    received_at: str
    anchored_at: int | None
    block_number: int | None
    holder: dict[str, Any]
    work: dict[str, Any]
    identities_masked: bool = Field(
        description="the owner's identity number in `work` is masked for you; the registrant, "
        "the owner, notaries and arbitrators see it whole (and the certificate holds it whole)",
    )


class RegistrationLookup(BaseModel):
    sha256: str
    registrations: list[RegistrationEntry]


def _work_from_form(fields: dict[str, list[str]]) -> WorkDetails:
    raw = fields.get("work")
    if not raw or len(raw) != 1:
        raise InvalidInput("the form needs one 'work' field: JSON describing the work")
    try:
        return WorkDetails.model_validate_json(raw[0])
    except ValidationError as exc:
        raise invalid_request(exc, "body", "work") from exc


@router.post(
    "",
    status_code=201,
    response_model=WorkSubmissionResult,
    summary="Register a work",
    description=(
        "`multipart/form-data` with `file` and `work` (JSON: title, work_type, authors, "
        "copyright_owner {name, id_type, id}, completed_on, optional first_publication {date, "
        "place}), or `application/json` `{work, content: {sha256, size, sm3?}}`. Content that "
        "someone else registered earlier is accepted but flagged in `prior_registrations`, in "
        "the record and so in its certificate."
    ),
)
async def register(request: Request, runtime: RuntimeDep, principal: Registrant) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        fp, details = await receive_file_upload(
            request,
            runtime,
            allowed_fields={"work"},
            parse_fields=_work_from_form,
            field_bytes={"work": MAX_WORK_JSON_BYTES},
        )
        content = ContentFingerprint(
            size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
        )
    elif content_type.startswith("application/json"):
        raw = await read_body(request, max_bytes=MAX_WORK_JSON_BYTES)
        try:
            body = WorkDigestRegistration.model_validate_json(raw)
        except ValidationError as exc:
            raise invalid_request(exc, "body") from exc
        if body.content.cid or body.content.cid_v1:
            raise InvalidInput(
                "a digest registration cannot name a CID: we store no content for it"
            )
        details, content = body.work, body.content
    else:
        raise UnsupportedMediaType("send multipart/form-data (file + work) or application/json")

    stored, prior = await in_session(
        runtime,
        lambda session: register_work(session, holder=principal, details=details, content=content),
    )
    warnings: list[SubmissionWarning] = []
    if not stored.created:
        submitted = {
            "work": details.as_record_field(),
            "content": content.as_record_content().model_dump(mode="json", exclude_none=True),
        }
        warnings = SubmissionWarning.details_not_changed(
            fields_not_changed(body_of(stored.record), submitted)
        )
    base = submission_result(runtime, stored, warnings=warnings)
    result = WorkSubmissionResult(
        **base.model_dump(), prior_registrations=[p.model_dump() for p in prior]
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


@router.get(
    "/registrations",
    response_model=RegistrationLookup,
    summary="Who registered this exact content, in anchor order (the first is prior)",
    description="Any API key. Identity numbers of copyright owners (resident identity numbers, "
    "passports, other identifiers; not organisations' credit codes) are masked except for the "
    "registrant, the owner and notaries and arbitrators (`identities_masked`).",
)
def lookup(
    session: SessionDep,
    viewer: CurrentPrincipal,
    sha256: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{64}$")],
) -> RegistrationLookup:
    sha256 = sha256.lower()  # as sha256sum or certutil print it: stored in lower case
    entries = []
    for reg in registrations_of(session, sha256=sha256):
        body = body_of(reg.record)
        work, masked = work_as_seen_by(viewer, reg.record)
        entries.append(
            RegistrationEntry(
                id=reg.record.id,
                prior=reg.prior,
                anchored=reg.anchored,
                received_at=body["received_at"],
                anchored_at=reg.batch.block_timestamp if reg.anchored and reg.batch else None,
                block_number=reg.batch.block_number if reg.anchored and reg.batch else None,
                holder=body["holder"],
                work=work,
                identities_masked=masked,
            )
        )
    return RegistrationLookup(sha256=sha256, registrations=entries)


add_record_routes(router, kind=RecordKind.work, noun="work registration")
