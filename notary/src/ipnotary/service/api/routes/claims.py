"""``POST /v1/claims/check``: the SDK's infringement-claim check, run server-side for platforms
that cannot run the SDK. It uses this service's chain node and pinned issuer key; the SDK's
``check_infringement_claim`` gives the same verdict with no service at all.

Each certificate is read from the bytes the client sent by the SDK's JSON parser (256 KiB,
nesting 32, no key twice): one it refuses is a 422 that names it (``certificates[i]``), never a
certificate Starlette's parser quietly rewrote (it keeps the last of two duplicate keys).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from ipnotary.sdk.canonical import parse_json
from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES
from ipnotary.sdk.claims import Claimant, Complaint, check_infringement_claim
from ipnotary.sdk.identifiers import normalise_identifier
from ipnotary.sdk.redaction import Redactor
from ipnotary.service.api.bodies import (
    array_items,
    body_limit_of,
    json_body_doc,
    object_members,
    parse_members,
    read_body,
    require_json,
    validation_errors,
)
from ipnotary.service.api.deps import CurrentPrincipal, RuntimeDep
from ipnotary.service.api.errors import redactor_of
from ipnotary.service.domain.scalars import Hex64, JsonDate, JsonDateTime
from ipnotary.service.runtime import Runtime

router = APIRouter(prefix="/v1/claims", tags=["claims"])

MAX_CERTIFICATES = 20


class ClaimantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    id_type: Annotated[str, StringConstraints(pattern=r"^(uscc|cn_resident_id|passport|other)$")]
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _valid_code(self) -> ClaimantIn:
        # The registers' own rule (check character, full-width and case folded): a 422 naming
        # body.claimant.id, never a verdict about a code that cannot be anyone's.
        normalise_identifier(self.id_type, self.id)
        return self


class ClaimFields(BaseModel):
    """Everything of a claim but the certificates (which the SDK's parser reads)."""

    model_config = ConfigDict(extra="forbid")

    claimant: ClaimantIn
    listing_date: JsonDate | JsonDateTime
    listing_sha256: Hex64 | None = None


class ClaimRequest(ClaimFields):
    """The documented shape of ``POST /v1/claims/check``."""

    # Any here and below: certificates as sent (JSON objects); the SDK's verifier parses them.

    certificates: Annotated[
        list[dict[str, Any]],
        Field(
            min_length=1,
            max_length=MAX_CERTIFICATES,
            description="certificates as issued: each at most 256 KiB, nesting 32, no key twice",
        ),
    ]


class FindingOut(BaseModel):
    check: str
    outcome: str
    detail: str
    record_id: str | None


class ClaimResponse(BaseModel):
    verdict: str
    caveats: list[str] = Field(
        description="what the verdict rests on that a person must know (the operator's word "
        "alone for a time)"
    )
    summary: str
    findings: list[FindingOut]


def _invalid(loc: tuple[str | int, ...], kind: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "type": kind, "msg": msg}])


def _certificates(raw: str | None) -> list[dict[str, Any]]:
    if raw is None:
        raise _invalid(("certificates",), "missing", "Field required")
    if not raw.startswith("["):
        raise _invalid(("certificates",), "list_type", "Input should be a valid list")
    items = array_items(raw, what="certificates", max_items=MAX_CERTIFICATES + 1)
    if not items:
        raise _invalid(("certificates",), "too_short", "List should have at least 1 item")
    if len(items) > MAX_CERTIFICATES:
        raise _invalid(
            ("certificates",), "too_long", f"List should have at most {MAX_CERTIFICATES} items"
        )
    certificates = []
    for i, item in enumerate(items):
        # FormatError (a key twice, too deep, too large, not JSON): 422 malformed_document
        value = parse_json(item, max_bytes=MAX_CERTIFICATE_BYTES, what=f"certificates[{i}]")
        if not isinstance(value, dict):
            raise _invalid(("certificates", i), "dict_type", "Input should be a valid dictionary")
        certificates.append(value)
    return certificates


def _check(
    runtime: Runtime, certificates: list[dict[str, Any]], fields: ClaimFields, redact: Redactor
) -> ClaimResponse:
    verdict = check_infringement_claim(
        Complaint(
            certificates=certificates,
            claimant=Claimant(fields.claimant.name, fields.claimant.id_type, fields.claimant.id),
            listing_date=fields.listing_date,
            listing_sha256=fields.listing_sha256,
        ),
        policy=runtime.trust_policy(),
        chain=runtime.chain.view(),
    )
    return ClaimResponse(
        verdict=verdict.verdict,
        caveats=list(verdict.caveats),
        summary=redact(verdict.summary()),
        findings=[
            FindingOut(
                check=f.check,
                outcome=f.outcome.value,
                detail=redact(f.detail),
                record_id=f.record_id,
            )
            for f in verdict.findings
        ],
    )


@router.post(
    "/check",
    response_model=ClaimResponse,
    summary="Check an infringement complaint",
    description=f"Up to {MAX_CERTIFICATES} certificates, each read by the SDK's parser: one over "
    "256 KiB, nested deeper than 32 or with a key twice is a 422 "
    "`malformed_document` naming it.",
    openapi_extra={"requestBody": {"required": True, "content": json_body_doc(ClaimRequest)}},
)
async def check(request: Request, runtime: RuntimeDep, _: CurrentPrincipal) -> ClaimResponse:
    require_json(request)
    raw = await read_body(request, max_bytes=body_limit_of(request) or 1024**2)
    members = object_members(raw, what="the request")
    certificates = _certificates(members.pop("certificates", None))
    try:
        fields = parse_members(ClaimFields, members, max_bytes=len(raw))
    except ValidationError as exc:
        raise RequestValidationError(validation_errors(exc, "body")) from exc
    return await run_in_threadpool(_check, runtime, certificates, fields, redactor_of(request))
