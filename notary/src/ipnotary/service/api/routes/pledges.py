"""``/v1/pledges``: IP pledge registrations (Art. 27). Writes by pledge registrars, each on the
pledges it registered; releases and enforcements carry the pledgee's signed consent. The status of
an asset as of any time is public and checkable against the chain (``ipnotary.sdk.pledges``)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlmodel import Session

from ipnotary.service.api.bodies import validation_errors
from ipnotary.service.api.deps import (
    RuntimeDep,
    SessionDep,
    api_key_of,
    in_session,
    require_roles,
    with_session,
)
from ipnotary.service.api.errors import TOO_EARLY, problem
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.domain.identifiers import mask_identifier
from ipnotary.service.domain.pledges import AssetType, PledgeAsset, PledgeTerms
from ipnotary.service.domain.records import RecordKind, Role
from ipnotary.service.domain.scalars import MAX_JSON_INT, JsonDateTime, RowId
from ipnotary.service.errors import AuthenticationRequired
from ipnotary.service.runtime import Runtime
from ipnotary.service.services import pledges as svc
from ipnotary.service.services.records import StoredRecord
from ipnotary.service.storage.models import Pledge, Principal

router = APIRouter(prefix="/v1/pledges", tags=["pledges"])
events = APIRouter(prefix=RecordKind.pledge_event.api_path, tags=["pledges"])

Registrar = Annotated[Principal, Depends(require_roles(Role.pledge_registrar))]
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]{8,200}$",
        description="required: 8 to 200 visible ASCII characters, new for each pledge; "
        "a retry with the same key and body answers with the first registration",
    ),
]


class PledgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: PledgeAsset
    terms: PledgeTerms


class Amendment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: PledgeTerms


class ActParty(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class PledgeAct(BaseModel):
    """What the pledgee signs (``ipnotary.sdk.pledges.pledge_act``); checked byte for byte as
    sent."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # PLEDGE_ACT_MEDIA_TYPE
    media_type: Literal["application/vnd.ipnotary.pledge-act+json;version=1"]
    chain_id: Annotated[int, Field(ge=1, le=MAX_JSON_INT)]
    contract: Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{40}$")]
    pledge_id: Annotated[int, Field(ge=1, le=MAX_JSON_INT)]
    action: Literal["release", "enforce"]
    party: ActParty
    signed_at: Annotated[str, StringConstraints(max_length=40)]
    nonce: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class SignedConsent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    act: PledgeAct
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
    signature: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]


class ConsentRequest(BaseModel):
    """A release or enforcement: the pledgee's consent, signed with the key its terms name."""

    model_config = ConfigDict(extra="forbid")

    consent: SignedConsent


# Who reads the parties' identity numbers in a pledge's view: admins, and notaries and arbitrators,
# who must establish who a party is; besides, the registrar of the pledge and the parties.
_PARTY_READERS = frozenset({Role.admin.value, Role.notary.value, Role.arbitrator.value})


def _masked_parties(terms: dict[str, Any], viewer: Principal | None, row: Pledge) -> bool:
    """Mask, in place, the identity numbers of people among ``terms``' parties unless ``viewer``
    may read them (``identifiers.mask_identifier``: an organisation's credit code stays whole);
    whether anything was masked."""
    parties = [terms.get("pledgor"), terms.get("pledgee")]
    if viewer is not None and (
        viewer.role in _PARTY_READERS
        or viewer.id == row.registrar_id
        or any(
            isinstance(p, dict) and viewer.identifier == f"{p.get('id_type')}:{p.get('id')}"
            for p in parties
        )
    ):
        return False
    masked = False
    for party in parties:
        if isinstance(party, dict) and isinstance(party.get("id"), str):
            try:
                shown = mask_identifier(str(party.get("id_type")), party["id"])
            except ValueError:  # an id type this version does not know: show none of it
                shown = "*" * len(party["id"])
            masked = masked or shown != party["id"]
            party["id"] = shown
    return masked


def _view(row: Pledge, viewer: Principal | None) -> dict[str, Any]:
    # Any: the register's JSON (the asset and terms as stored, each version of the terms a dict).
    versions = json.loads(row.terms)
    terms = versions[-1]
    masked = _masked_parties(terms, viewer, row)
    return {
        "pledge_id": row.pledge_id,
        "chain_id": row.chain_id,
        "contract": row.contract,
        "asset": json.loads(row.asset),
        "terms": terms,
        "identities_masked": masked,
        "amendments": len(versions) - 1,
        "status": row.status,
        "registered_at": row.registered_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "registrar_id": row.registrar_id,
        "registrar_account": row.registrar_account,
    }


def _answer(
    runtime: Runtime, registrar: Principal, row: Pledge, stored: StoredRecord, status: int
) -> JSONResponse:
    body = {
        "pledge": _view(row, registrar),  # the registrar of the pledge: its terms whole
        "event": submission_result(runtime, stored).model_dump(mode="json"),
    }
    return JSONResponse(body, status_code=status if stored.created else 200)


@router.post(
    "",
    status_code=201,
    summary="Register a pledge (refused while the asset has an active one)",
    responses={
        200: {"description": "a retry: the first registration with this Idempotency-Key"},
        400: {"description": "no Idempotency-Key header", "content": _PROBLEM},
    },
)
async def register(
    body: PledgeCreate,
    runtime: RuntimeDep,
    registrar: Registrar,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if idempotency_key is None:
        # A retry after a lost answer must not register a second pledge once the first is released;
        # only a key the client chose can tell a retry from a new pledge.
        return problem(
            400,
            "idempotency_key_required",
            "Idempotency-Key required",
            "send an Idempotency-Key header (8 to 200 visible ASCII characters), new for "
            "each pledge and the same on every retry of it",
        )
    key = idempotency_key

    def work(session: Session) -> tuple[Pledge, StoredRecord]:
        return svc.register_pledge(
            session,
            registrar=registrar,
            chain=runtime.chain.pledges(),
            asset=body.asset,
            terms=body.terms,
            idempotency_key=key,
        )

    row, stored = await in_session(runtime, work)
    return _answer(runtime, registrar, row, stored, 201)


def _change(
    runtime: Runtime,
    registrar: Principal,
    pledge_id: int,
    *,
    action: str,
    terms: PledgeTerms | None = None,
    consent: dict[str, Any] | None = None,
) -> JSONResponse:
    def work(session: Session) -> tuple[Pledge, StoredRecord]:
        return svc.change_pledge(
            session,
            registrar=registrar,
            chain=runtime.chain.pledges(),
            pledge_id=pledge_id,
            action=action,
            terms=terms,
            consent=consent,
        )

    row, stored = with_session(runtime, work)
    return _answer(runtime, registrar, row, stored, 201)


@router.post(
    "/{pledge_id}/amendments",
    status_code=201,
    summary="Change the terms (same parties and pledgee key; the registering registrar only)",
)
def amend(
    pledge_id: RowId, body: Amendment, runtime: RuntimeDep, registrar: Registrar
) -> JSONResponse:
    return _change(runtime, registrar, pledge_id, action="amended", terms=body.terms)


@router.post(
    "/{pledge_id}/release",
    status_code=201,
    summary="Release, with the pledgee's signed consent (the registering registrar only)",
)
def release(
    pledge_id: RowId, body: ConsentRequest, runtime: RuntimeDep, registrar: Registrar
) -> JSONResponse:
    return _change(
        runtime,
        registrar,
        pledge_id,
        action="released",
        consent=body.consent.model_dump(mode="json"),
    )


@router.post(
    "/{pledge_id}/enforcement",
    status_code=201,
    summary="Record enforcement, on the pledgee's signed demand (the registering registrar only)",
)
def enforce(
    pledge_id: RowId, body: ConsentRequest, runtime: RuntimeDep, registrar: Registrar
) -> JSONResponse:
    return _change(
        runtime,
        registrar,
        pledge_id,
        action="enforced",
        consent=body.consent.model_dump(mode="json"),
    )


@router.get(
    "/status",
    summary="Is this asset pledged as of a time, and to whom (public, verifiable)",
    responses={425: TOO_EARLY},
)
def status(
    runtime: RuntimeDep,
    session: SessionDep,
    asset_type: AssetType,
    number: Annotated[str, Query(min_length=1, max_length=100)],
    as_of: JsonDateTime | None = None,
) -> dict[str, Any]:
    try:
        asset = PledgeAsset(type=asset_type, registration_number=number)
    except ValidationError as exc:
        # the asset's fields are the query's asset_type and number
        names = {"type": "asset_type", "registration_number": "number"}
        raise RequestValidationError(
            [
                {**err, "loc": ("query", *(names.get(str(p), p) for p in err["loc"]))}
                for err in validation_errors(exc)
            ]
        ) from exc
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    svc.refuse_unfinished(as_of)  # before the chain: a 425 needs no node, and never waits
    return svc.pledge_status(
        session, runtime.issuer, chain=runtime.chain.pledges(), asset=asset, as_of=as_of
    )


@router.get(
    "/{pledge_id}",
    summary="One pledge (public register)",
    description="Anyone may read it; a person's identity number among the parties is masked "
    "(`identities_masked`) except for the registrar of the pledge, the parties themselves, "
    "notaries, arbitrators and admins (send a key). Organisations' credit codes are shown whole.",
)
def get_pledge(
    pledge_id: RowId, runtime: RuntimeDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    row = svc.load_pledge(session, pledge_id, runtime.chain.pledges())
    return _view(row, _viewer(runtime, request))


def _viewer(runtime: Runtime, request: Request) -> Principal | None:
    """The principal of the request's key, if it sent a valid one (the route is public)."""
    key = api_key_of(request.headers)
    if not key:
        return None
    try:
        return runtime.principals.authenticate(key)
    except AuthenticationRequired:
        return None


add_record_routes(events, kind=RecordKind.pledge_event, noun="pledge event")
