"""W3C Verifiable Credentials: status lists, our JSON-LD context, and VC-API issuing and verifying.

* ``GET /v1/credentials/status/{list}`` (public): the signed ``BitstringStatusListCredential`` that
  revocable records' credentials name (``services.status_lists``).
* ``GET /v1/credentials/contexts/v1`` (public): the JSON-LD context of our terms, the document
  ``ipnotary.sdk.vc.CONTEXT_URL`` identifies, served so that nobody needs the network to read it.
* ``POST /credentials/issue`` (admin) and ``POST /credentials/verify`` (public): the VC-API's
  issuer and verifier, so that VC tooling (the W3C test suites among it) can drive our
  ``eddsa-jcs-2022`` implementation. Verifying here is the operator vouching for itself, as
  ``POST /v1/verify`` is: a court verifies with the SDK under its own policy.
* :func:`record_credential_response`: what ``/v1/{kind}/{id}/certificate.vc`` answers
  (``api/routes/_records.py``).

The URLs inside credentials (a status list's) are made from the URL the request came to, so that
they name this service as its clients reach it (behind a proxy: as uvicorn's proxy headers say).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.numerals import is_ascii_digits
from ipnotary.sdk.vc import (
    CONTEXT,
    CREDENTIAL_MEDIA_TYPE,
    MAX_CREDENTIAL_BYTES,
    RECORD_CREDENTIAL_TYPE,
    StatusListEntry,
    add_data_integrity_proof,
    check_data_model,
    did_key,
    issue_record_credential,
    verify_credential,
    verify_data_integrity_credential,
)
from ipnotary.service.api.bodies import read_body, require_json
from ipnotary.service.api.deps import RuntimeDep, SessionDep, require_roles
from ipnotary.service.api.errors import problem
from ipnotary.service.domain.records import Role
from ipnotary.service.domain.scalars import MAX_STORED_INT, UrlInt
from ipnotary.service.errors import InvalidInput, NotFound
from ipnotary.service.runtime import Runtime
from ipnotary.service.services import records as svc
from ipnotary.service.services import status_lists
from ipnotary.service.storage.models import Principal, Record

__all__ = ["record_credential_response", "router", "vc_api"]

# The last list whose records' sequence numbers, up to the next list's first, a 64-bit column
# holds: a larger id reached the database as an integer it cannot hold (500).
MAX_LIST_ID = MAX_STORED_INT // status_lists.LIST_SIZE - 1

router = APIRouter(prefix="/v1/credentials", tags=["credentials"])
vc_api = APIRouter(prefix="/credentials", tags=["VC-API"])

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]

_JSON_LD = "application/ld+json"
# Only the database makes these: a credential of ours signed on request could say anything.
_OURS_ONLY = frozenset({RECORD_CREDENTIAL_TYPE, "BitstringStatusListCredential"})
# The credential plus the VC-API's envelope and options.
_MAX_BODY = MAX_CREDENTIAL_BYTES + 16 * 1024


def _status_list_url(runtime: Runtime, list_id: int) -> str:
    """Where verifiers fetch a status list: under NOTARY_PUBLIC_URL, which a credential keeps
    for years, never the host a request happened to name."""
    return f"{runtime.settings.resolved_public_url.rstrip('/')}{router.prefix}/status/{list_id}"


def record_credential_response(
    runtime: Runtime, session: Session, record: Record, request: Request
) -> Response:
    """The record's certificate as a Verifiable Credential, signed now; 409 ``not_anchored_yet``
    while it has no certificate. Revocable kinds name their status list entry."""
    certificate = svc.certificate_for(session, runtime.issuer, record)
    slot = status_lists.status_slot(record)
    status = (
        None
        if slot is None
        else StatusListEntry(_status_list_url(runtime, slot.list_id), slot.index)
    )
    credential = issue_record_credential(
        certificate,
        runtime.issuer.policy,
        runtime.issuer.signing_key,
        status=status,
    )
    return Response(canonical_json(credential), media_type=CREDENTIAL_MEDIA_TYPE)


@router.get(
    "/status/{list_id}",
    name="status_list",
    summary="A Bitstring Status List of revoked credentials (public)",
    description="A `BitstringStatusListCredential` (W3C), secured like the records' credentials "
    "(`eddsa-jcs-2022`, the issuer's `did:key`). The same bytes until a credential on it is "
    "revoked: send `If-None-Match` with its `ETag` to be told (304) it has not changed.",
    response_class=Response,
    responses={
        200: {"content": {CREDENTIAL_MEDIA_TYPE: {"schema": {"type": "object"}}}},
        304: {"description": "unchanged since the ETag given"},
        404: {"description": "no record falls in this list yet"},
    },
)
def get_status_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    list_id: Annotated[int, UrlInt(ge=0, le=MAX_LIST_ID), Path()],
) -> Response:
    credential = status_lists.status_list_credential(
        session, runtime.issuer, list_id=list_id, url=_status_list_url(runtime, list_id)
    )
    body = canonical_json(credential)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=CREDENTIAL_MEDIA_TYPE, headers=headers)


@router.get(
    "/contexts/v1",
    summary="The JSON-LD context of our credentials' terms (public)",
    response_class=Response,
    responses={200: {"content": {_JSON_LD: {"schema": {"type": "object"}}}}},
)
def get_context() -> Response:
    return Response(
        canonical_json(CONTEXT),
        media_type=_JSON_LD,
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def _json_members(request: Request, *names: str) -> dict[str, Any]:
    require_json(request)
    raw = await read_body(request, max_bytes=_MAX_BODY)
    try:
        body = parse_json(raw, max_bytes=_MAX_BODY, what="the request")
    except FormatError as exc:
        raise InvalidInput(str(exc), code="malformed_document") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the request is a JSON object", code="malformed_document")
    unknown = sorted(set(body) - {*names, "options", "@context"})
    if unknown:
        raise InvalidInput(f"unknown member(s): {', '.join(unknown)[:200]}")
    if not isinstance(body.get("options", {}), dict):
        raise InvalidInput("options must be an object")
    for name in names:
        if not isinstance(body.get(name), dict):
            raise InvalidInput(f"{name} must be a JSON object")
    return body


def _issue(runtime: Runtime, credential: dict[str, Any]) -> dict[str, Any]:
    key = runtime.issuer.signing_key
    ours = did_key(key.public_key())
    if "proof" in credential:
        raise InvalidInput("the credential already has a proof")
    types = credential.get("type")
    named = {t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
    if _OURS_ONLY & named:
        raise InvalidInput(
            "record credentials and status lists are issued from the records themselves "
            "(GET /v1/{kind}/{id}/certificate.vc), never on request",
            code="credential_type_reserved",
        )
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id != ours:
        raise InvalidInput(f"the credential's issuer must be this service's {ours}")
    try:
        check_data_model(credential, now=None)
    except VerificationError as exc:
        raise InvalidInput(exc.reason, code="invalid_credential") from exc
    try:
        return add_data_integrity_proof(credential, key, created=datetime.now(UTC))
    except FormatError as exc:  # a value canonical JSON cannot hold (a float beyond 2^53 ...)
        raise InvalidInput(str(exc), code="invalid_credential") from exc


@vc_api.post(
    "/issue",
    status_code=201,
    summary="VC-API: sign a credential with this service's key (admin)",
    description="Adds an `eddsa-jcs-2022` Data Integrity proof by this service's `did:key` to "
    "`credential`, whose `issuer` must be that DID. Record credentials and status lists are "
    "refused: only the records make those. `options` are accepted and none is used.",
    responses={201: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def issue_credential(request: Request, runtime: RuntimeDep, _admin: Admin) -> JSONResponse:
    body = await _json_members(request, "credential")
    credential = await run_in_threadpool(_issue, runtime, body["credential"])
    return JSONResponse({"verifiableCredential": credential}, status_code=201)


def _verify(runtime: Runtime, credential: dict[str, Any], request: Request) -> JSONResponse:
    checks = ["proof"]
    warnings: list[str] = []
    try:
        verify_data_integrity_credential(credential)
        types = credential.get("type")
        if isinstance(types, list) and RECORD_CREDENTIAL_TYPE in types:
            checks.append("certificate")
            status_list = _own_status_list(runtime, credential, request)
            result = verify_credential(credential, runtime.trust_policy(), status_list=status_list)
            warnings.extend(result.notes)
            if status_list is not None:
                checks.append("credentialStatus")
        elif "credentialStatus" in credential:
            warnings.append("the credential's status is not this service's to check")
    except VerificationError as exc:
        return problem(
            400,
            "credential_not_verified",
            "Credential not verified",
            exc.reason,
            verified=False,
            step=exc.step,
            checks=checks,
            errors=[{"step": exc.step, "message": exc.reason}],
        )
    return JSONResponse({"verified": True, "checks": checks, "warnings": warnings, "errors": []})


def _own_status_list(
    runtime: Runtime, credential: dict[str, Any], request: Request
) -> dict[str, object] | None:
    """The status list the credential names, when it is one of ours (read from the database, not
    fetched: this service never fetches URLs a request hands it)."""
    status = credential.get("credentialStatus")
    url = status.get("statusListCredential") if isinstance(status, dict) else None
    if not isinstance(url, str):
        return None
    tail = url.rsplit("/", 1)[-1]
    if not is_ascii_digits(tail) or len(tail) > 16 or int(tail) > MAX_LIST_ID:
        return None
    if _status_list_url(runtime, int(tail)) != url:
        return None
    with Session(runtime.engine) as session:
        try:
            return status_lists.status_list_credential(
                session, runtime.issuer, list_id=int(tail), url=url
            )
        except NotFound:
            return None  # no such list here: the credential's proof decides what it is


@vc_api.post(
    "/verify",
    summary="VC-API: verify a credential (public)",
    description="Any VC 2.0 credential with one `eddsa-jcs-2022` proof by its issuer's `did:key`; "
    "a record credential also has its certificate verified under this service's own policy and "
    "its status read from this service's list. 200 when it verifies, 400 with the failed `step` "
    "when it does not.",
    responses={400: {"description": "the credential does not verify"}},
)
async def verify_vc(request: Request, runtime: RuntimeDep) -> JSONResponse:
    body = await _json_members(request, "verifiableCredential")
    response: JSONResponse = await run_in_threadpool(
        _verify, runtime, body["verifiableCredential"], request
    )
    return response
