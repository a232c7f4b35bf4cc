"""``/v1/pledges``: IP pledge registrations (Art. 27). Writes by pledge registrars; the status of
an asset as of any time is public and checkable against the chain (``client_sdk.pledges``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from notary.api.deps import RuntimeDep, SessionDep, require_roles
from notary.api.routes._records import add_record_routes, submission_result, with_session
from notary.domain.identifiers import PartyId
from notary.domain.pledges import AssetType, PledgeAsset, PledgeTerms
from notary.domain.records import Role
from notary.errors import InvalidInput
from notary.services import pledges as svc
from notary.storage.models import Pledge, Principal

router = APIRouter(prefix="/v1/pledges", tags=["pledges"])
events = APIRouter(prefix="/v1/pledge-events", tags=["pledges"])

Registrar = Annotated[Principal, Depends(require_roles(Role.pledge_registrar))]


class PledgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: PledgeAsset
    terms: PledgeTerms


class Amendment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: PledgeTerms


class PartyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: PartyId


def _view(row: Pledge) -> dict[str, Any]:
    versions = json.loads(row.terms)
    return {
        "pledge_id": row.pledge_id, "chain_id": row.chain_id, "contract": row.contract,
        "asset": json.loads(row.asset), "terms": versions[-1], "amendments": len(versions) - 1,
        "status": row.status, "registered_at": row.registered_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def _answer(runtime: Any, row: Pledge, stored: Any, status: int) -> JSONResponse:
    body = {"pledge": _view(row), "event": submission_result(runtime, stored).model_dump(mode="json")}
    return JSONResponse(body, status_code=status if stored.created else 200)


@router.post("", status_code=201, summary="Register a pledge (refused while the asset has an active one)")
async def register(body: PledgeCreate, runtime: RuntimeDep, registrar: Registrar) -> JSONResponse:
    def work(session: Session) -> Any:
        return svc.register_pledge(session, registrar=registrar, chain=runtime.chain.pledges(),
                                   asset=body.asset, terms=body.terms)

    row, stored = await run_in_threadpool(with_session, runtime, work)
    return _answer(runtime, row, stored, 201)


def _change(runtime: Any, registrar: Principal, pledge_id: int, **kwargs: Any) -> JSONResponse:
    def work(session: Session) -> Any:
        return svc.change_pledge(session, registrar=registrar, chain=runtime.chain.pledges(),
                                 pledge_id=pledge_id, **kwargs)

    row, stored = with_session(runtime, work)
    return _answer(runtime, row, stored, 201)


@router.post("/{pledge_id}/amendments", status_code=201, summary="Change the terms (same parties)")
def amend(pledge_id: int, body: Amendment, runtime: RuntimeDep, registrar: Registrar) -> JSONResponse:
    return _change(runtime, registrar, pledge_id, action="amended", terms=body.terms)


@router.post("/{pledge_id}/release", status_code=201, summary="Release, at the request of a party")
def release(pledge_id: int, body: PartyRequest, runtime: RuntimeDep, registrar: Registrar) -> JSONResponse:
    return _change(runtime, registrar, pledge_id, action="released", party=body.party)


@router.post("/{pledge_id}/enforcement", status_code=201, summary="Record enforcement by the pledgee")
def enforce(pledge_id: int, body: PartyRequest, runtime: RuntimeDep, registrar: Registrar) -> JSONResponse:
    return _change(runtime, registrar, pledge_id, action="enforced", party=body.party)


@router.get("/status", summary="Is this asset pledged as of a time, and to whom (public, verifiable)")
def status(
    runtime: RuntimeDep,
    session: SessionDep,
    asset_type: AssetType,
    number: Annotated[str, Query(min_length=1, max_length=100)],
    as_of: datetime | None = None,
) -> dict[str, Any]:
    try:
        asset = PledgeAsset(type=asset_type, registration_number=number)
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"]) from exc
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return svc.pledge_status(session, runtime.issuer, chain=runtime.chain.pledges(), asset=asset, as_of=moment)


@router.get("/{pledge_id}", summary="One pledge (public register)")
def get_pledge(pledge_id: int, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    return _view(svc.load_pledge(session, pledge_id, runtime.chain.pledges()))


add_record_routes(events, kind="pledge_event", noun="pledge event")
