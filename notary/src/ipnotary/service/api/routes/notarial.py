"""Notarial acts (``docs/notarisation.md``): sharing records with a notary, the notary's keys,
attestations, refusals, revocations, and a record's certificate bundle.

The documents arrive signed by the notary's SDK; the routes hand them to ``services.notarial``,
which checks and anchors them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ipnotary.sdk.attestations import BUNDLE_MEDIA_TYPE
from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.kinds import RecordKind
from ipnotary.service.api.clock import NowDep
from ipnotary.service.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.api.schemas import SubmissionResult
from ipnotary.service.domain.records import Role
from ipnotary.service.services import notarial as svc
from ipnotary.service.services import sharing
from ipnotary.service.services.records import StoredRecord, get_visible_record
from ipnotary.service.storage.models import Principal

__all__ = ["attestations", "notarial", "refusals", "revocations", "shares"]

notarial = APIRouter(prefix="/v1/notarial", tags=["notarial acts"])
shares = APIRouter(prefix="/v1/shares", tags=["notarial acts"])
attestations = APIRouter(prefix=RecordKind.attestation.api_path, tags=["notarial acts"])
refusals = APIRouter(prefix=RecordKind.notarial_refusal.api_path, tags=["notarial acts"])
revocations = APIRouter(prefix=RecordKind.attestation_revocation.api_path, tags=["notarial acts"])

Notary = Annotated[Principal, Depends(require_roles(Role.notary))]
PrincipalIdText = Annotated[str, StringConstraints(max_length=40)]


class SignedDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any: the signed document as the notary's SDK made it; ipnotary.sdk.attestations parses it.
    document: dict[str, Any] = Field(description="the notarial act, signed by the notary's key")


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: Annotated[str, StringConstraints(max_length=40)]
    recipient_id: PrincipalIdText


class ShareView(BaseModel):
    record_id: str
    kind: str
    owner_id: str
    owner_name: str
    recipient_id: str
    recipient_name: str
    shared_at: datetime


class NotarialKeyView(BaseModel):
    key_id: str
    principal_id: str
    office: str
    public_key: str
    registered_at: datetime


def _share_view(share: sharing.Share) -> ShareView:
    return ShareView(**share.__dict__)


def _answer(runtime: RuntimeDep, stored: StoredRecord) -> JSONResponse:
    result = submission_result(runtime, stored)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if stored.created else 200)


@shares.post(
    "",
    response_model=ShareView,
    summary="Share one of your records with a notary (an application to notarise) or arbitrator",
)
def share(
    body: ShareRequest, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ShareView:
    return _share_view(
        sharing.share_record(
            session,
            owner=principal,
            record_id=body.record_id,
            recipient_id=body.recipient_id,
            now=now,
        )
    )


@shares.get("", response_model=list[ShareView], summary="Records shared with you, or by you")
def list_shares(
    session: SessionDep,
    principal: CurrentPrincipal,
    direction: Literal["received", "sent"] = "received",
) -> list[ShareView]:
    rows = sharing.list_shares(session, principal=principal, received=direction == "received")
    return [_share_view(s) for s in rows]


@notarial.put(
    "/keys",
    response_model=NotarialKeyView,
    summary="Register your notarial signing key (a registration the key itself signed)",
)
def register_key(
    body: dict[str, Any], session: SessionDep, notary: Notary, now: NowDep
) -> NotarialKeyView:
    row = svc.register_key(session, notary=notary, document=body, now=now)
    return NotarialKeyView(**row.model_dump(exclude={"document"}))


@notarial.get(
    "/keys",
    response_model=list[NotarialKeyView],
    summary="The keys a notary registered (compare them with the office's own publication)",
)
def list_keys(
    session: SessionDep,
    _principal: CurrentPrincipal,
    principal_id: Annotated[str, Query(max_length=40)],
) -> list[NotarialKeyView]:
    return [
        NotarialKeyView(**row.model_dump(exclude={"document"}))
        for row in svc.keys_of(session, principal_id)
    ]


@notarial.get(
    "/bundles/{record_id}",
    summary="A record's certificate with the attestations on it (and their revocations)",
    description="Verify it with `ipnotary.sdk.attestations.verify_attestations` or `notary "
    "notarial verify`; 409 `not_anchored_yet` until the record's own certificate is ready.",
    response_class=Response,
    responses={200: {"content": {BUNDLE_MEDIA_TYPE: {"schema": {"type": "object"}}}}},
)
def bundle(
    record_id: str, runtime: RuntimeDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    record = get_visible_record(session, record_id=record_id, viewer=principal)
    document = svc.certificate_bundle(session, runtime.issuer, record=record)
    return Response(canonical_json(document), media_type=BUNDLE_MEDIA_TYPE)


@attestations.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="Anchor an attestation signed with your notarial key",
    description="Every record it covers must have been shared with you by its holder; the "
    "office's certificate number must be new (409 `certificate_number_taken`).",
)
def attest(
    body: SignedDocument, runtime: RuntimeDep, session: SessionDep, notary: Notary, now: NowDep
) -> JSONResponse:
    return _answer(runtime, svc.attest(session, notary=notary, document=body.document, now=now))


@attestations.post(
    "/{attestation_id}/revocation",
    status_code=201,
    response_model=SubmissionResult,
    summary="Anchor the revocation of an attestation (a notary of the office that made it)",
)
def revoke(
    attestation_id: str,
    body: SignedDocument,
    runtime: RuntimeDep,
    session: SessionDep,
    notary: Notary,
    now: NowDep,
) -> JSONResponse:
    stored = svc.revoke_attestation(
        session, notary=notary, attestation_id=attestation_id, document=body.document, now=now
    )
    return _answer(runtime, stored)


@refusals.post(
    "",
    status_code=201,
    response_model=SubmissionResult,
    summary="Anchor a refusal, with reasons, of an application to notarise shared records",
)
def refuse(
    body: SignedDocument, runtime: RuntimeDep, session: SessionDep, notary: Notary, now: NowDep
) -> JSONResponse:
    return _answer(runtime, svc.refuse(session, notary=notary, document=body.document, now=now))


add_record_routes(attestations, kind=RecordKind.attestation, noun="attestation")
add_record_routes(refusals, kind=RecordKind.notarial_refusal, noun="notarial refusal")
add_record_routes(
    revocations, kind=RecordKind.attestation_revocation, noun="revocation of an attestation"
)
