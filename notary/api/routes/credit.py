"""``/v1/credit``: the IP credit register (Art. 34). Writes by credit authorities; repair
applications by subjects; the status query is public and verifiable (``client_sdk.credit``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlmodel import col, select

from notary.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from notary.api.routes._records import add_record_routes, submission_result
from notary.domain.credit import CreditEntryDetails, RepairApplication, RepairDecision
from notary.domain.identifiers import parse_subject_key
from notary.domain.records import Role
from notary.services import credit as svc
from notary.storage.models import CreditEntry, CreditRepair, Principal

router = APIRouter(prefix="/v1/credit", tags=["credit"])
entries = APIRouter(prefix="/v1/credit/entries", tags=["credit"])
repair_records = APIRouter(prefix="/v1/credit/repair-records", tags=["credit"])

Authority = Annotated[Principal, Depends(require_roles(Role.credit_authority))]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: RepairDecision
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RepairOut(BaseModel):
    id: int
    entry_id: str
    decision: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None


def _repair_out(r: CreditRepair) -> RepairOut:
    assert r.id is not None
    return RepairOut(id=r.id, entry_id=r.entry_id, decision=r.decision, submitted_at=r.submitted_at,
                     decided_at=r.decided_at, reason=r.reason)


@entries.post("", status_code=201, summary="Record a good or dishonest conduct entry (authority)",
              description="Answers with the receipt and the entry's opening (details + salt): keep "
              "it; after repair or expiry we erase it and only its anchored commitment remains.")
def record(details: CreditEntryDetails, runtime: RuntimeDep, session: SessionDep,
           authority: Authority) -> JSONResponse:
    stored, opening = svc.record_entry(session, authority=authority, details=details)
    body = submission_result(runtime, stored).model_dump(mode="json")
    body["opening"] = {"details": opening.details, "salt": opening.salt, "commitment": opening.commitment}
    return JSONResponse(body, status_code=201)


@entries.post("/{entry_id}/repairs", status_code=201, response_model=RepairOut,
              summary="Apply for credit repair (the entry's subject)")
def apply(entry_id: str, application: RepairApplication, session: SessionDep,
          principal: CurrentPrincipal) -> RepairOut:
    return _repair_out(svc.apply_for_repair(session, applicant=principal, entry_id=entry_id,
                                            application=application))


@router.get("/repairs", response_model=list[RepairOut], summary="Repair applications on your entries")
def list_repairs(session: SessionDep, authority: Authority,
                 status: Annotated[str, Query(pattern=r"^(pending|approved|rejected)$")] = "pending") -> list[RepairOut]:
    rows = session.exec(
        select(CreditRepair).join(CreditEntry, col(CreditEntry.id) == col(CreditRepair.entry_id))
        .where(CreditEntry.authority_id == authority.id, CreditRepair.decision == status)
        .order_by(col(CreditRepair.id)).limit(500)
    ).all()
    return [_repair_out(r) for r in rows]


@router.post("/repairs/{repair_id}/decision", summary="Decide a repair application (the authority)")
def decide(repair_id: int, body: DecisionIn, runtime: RuntimeDep, session: SessionDep,
           authority: Authority) -> dict[str, Any]:
    repair, stored = svc.decide_repair(session, authority=authority, repair_id=repair_id,
                                       decision=body.decision, reason=body.reason)
    out: dict[str, Any] = {"repair": _repair_out(repair).model_dump(mode="json")}
    if stored is not None:
        out["repair_record"] = submission_result(runtime, stored).model_dump(mode="json")
    return out


@router.get("/status", summary="Credit status of a subject as of a time (public, verifiable)",
            description="`subject` is `type:id`, e.g. `uscc:91350100M000100Y43`. The signed answer lists "
            "the entries public at `as_of` (default: now) with openings and certificates; "
            "`client_sdk.credit.verify_credit_status` checks it against the chain.")
def status(runtime: RuntimeDep, session: SessionDep,
           subject: Annotated[str, Query(max_length=120)],
           as_of: datetime | None = None) -> dict[str, Any]:
    key = parse_subject_key(subject)
    moment = as_of or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return svc.subject_status(session, runtime.issuer, subject_key=key, as_of=moment)


add_record_routes(entries, kind="credit_entry", noun="credit entry")
add_record_routes(repair_records, kind="credit_repair", noun="credit repair record")
