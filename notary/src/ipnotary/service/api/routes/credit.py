"""``/v1/credit``: the IP credit register (Art. 34). Writes by credit authorities; repair
applications by subjects, who read the decision on their own; the status query is public and
verifiable (``ipnotary.sdk.credit``), for times that have passed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from ipnotary.service.api.deps import CurrentPrincipal, RuntimeDep, SessionDep, require_roles
from ipnotary.service.api.errors import TOO_EARLY
from ipnotary.service.api.routes._records import add_record_routes, submission_result
from ipnotary.service.domain.credit import CreditEntryDetails, RepairApplication, RepairDecision
from ipnotary.service.domain.identifiers import parse_subject_key
from ipnotary.service.domain.records import RecordKind, Role
from ipnotary.service.domain.scalars import JsonDateTime, RowId
from ipnotary.service.services import credit as svc
from ipnotary.service.storage.models import CreditRepair, Principal

router = APIRouter(prefix="/v1/credit", tags=["credit"])
entries = APIRouter(prefix=RecordKind.credit_entry.api_path, tags=["credit"])
repair_records = APIRouter(prefix=RecordKind.credit_repair.api_path, tags=["credit"])

Authority = Annotated[Principal, Depends(require_roles(Role.credit_authority))]
# A database integer: past 2**63-1 the query itself would fail (a 500 the API fuzzer found).
RepairId = Annotated[RowId, Path()]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: RepairDecision
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RepairOut(BaseModel):
    """A repair application as its applicant and its deciding authority see it. ``statement`` is
    ``null`` once erased (with the entry's details, on approval or at the end of its publicity);
    ``evidence_sha256`` names the documents the applicant sent the authority, and stays."""

    id: int
    entry_id: str
    applicant_id: str
    statement: str | None
    evidence_sha256: list[str]
    decision: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None


def _repair_out(r: CreditRepair) -> RepairOut:
    assert r.id is not None
    return RepairOut(
        id=r.id,
        entry_id=r.entry_id,
        applicant_id=r.applicant_id,
        statement=r.statement,
        evidence_sha256=json.loads(r.evidence_sha256) if r.evidence_sha256 else [],
        decision=r.decision,
        submitted_at=r.submitted_at,
        decided_at=r.decided_at,
        reason=r.reason,
    )


@entries.post(
    "",
    status_code=201,
    summary="Record a good or dishonest conduct entry (authority)",
    description="Answers with the receipt and the entry's opening (details, salt and the "
    "salt of its subject commitment): keep it; after repair or expiry we erase the details "
    "and only the anchored commitments remain. An entry whose publicity period has already "
    "ended is refused (422): it would count at no time.",
)
def record(
    details: CreditEntryDetails, runtime: RuntimeDep, session: SessionDep, authority: Authority
) -> JSONResponse:
    stored, opening = svc.record_entry(session, authority=authority, details=details)
    body = submission_result(runtime, stored).model_dump(mode="json")
    body["opening"] = {
        "details": opening.details,
        "salt": opening.salt,
        "commitment": opening.commitment,
        "subject_salt": opening.subject_salt,
    }
    return JSONResponse(body, status_code=201)


@entries.post(
    "/{entry_id}/repairs",
    status_code=201,
    response_model=RepairOut,
    summary="Apply for credit repair (the entry's subject)",
    description="A statement and the SHA-256 of each evidence document sent to the "
    "authority; keep the answer's `id` to read the decision (`GET /v1/credit/repairs/{id}`).",
)
def apply(
    entry_id: str, application: RepairApplication, session: SessionDep, principal: CurrentPrincipal
) -> RepairOut:
    return _repair_out(
        svc.apply_for_repair(
            session, applicant=principal, entry_id=entry_id, application=application
        )
    )


@router.get(
    "/repairs",
    response_model=list[RepairOut],
    summary="Repair applications on your entries (the authority), with statement and evidence",
)
def list_repairs(
    session: SessionDep,
    authority: Authority,
    status: Annotated[str, Query(pattern=r"^(pending|approved|rejected)$")] = "pending",
) -> list[RepairOut]:
    return [_repair_out(r) for r in svc.list_repairs(session, authority=authority, decision=status)]


@router.get(
    "/repairs/{repair_id}",
    response_model=RepairOut,
    summary="One repair application and its decision (its applicant or deciding authority)",
)
def get_repair(repair_id: RepairId, session: SessionDep, principal: CurrentPrincipal) -> RepairOut:
    return _repair_out(svc.repair_for(session, reader=principal, repair_id=repair_id))


@router.post("/repairs/{repair_id}/decision", summary="Decide a repair application (the authority)")
def decide(
    repair_id: RepairId,
    body: DecisionIn,
    runtime: RuntimeDep,
    session: SessionDep,
    authority: Authority,
) -> dict[str, Any]:
    repair, stored = svc.decide_repair(
        session,
        authority=authority,
        repair_id=repair_id,
        decision=body.decision,
        reason=body.reason,
    )
    out: dict[str, Any] = {"repair": _repair_out(repair).model_dump(mode="json")}
    if stored is not None:
        out["repair_record"] = submission_result(runtime, stored).model_dump(mode="json")
    return out


@router.get(
    "/status",
    summary="Credit status of a subject as of a time (public, verifiable)",
    description="`subject` is `type:id`, e.g. `uscc:91350100M000100Y43`. The signed answer "
    "counts the entries recorded by `as_of` (default: now; proven by their certificates), "
    "public on its date and not repaired by then, with openings and certificates, and lists "
    "those received but not certified yet (`pending`). "
    "`ipnotary.sdk.credit.verify_credit_status` checks it. A time not passed yet answers 425 at "
    "once (a minute ahead at most; further is 422).",
    responses={425: TOO_EARLY},
)
def status(
    runtime: RuntimeDep,
    session: SessionDep,
    subject: Annotated[str, Query(max_length=120)],
    as_of: JsonDateTime | None = None,
) -> dict[str, Any]:
    key = parse_subject_key(subject)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    # Entries may still be recorded before a future time: its answer is not ours to sign yet.
    svc.refuse_unfinished(as_of)
    return svc.subject_status(
        session, runtime.issuer, subject_key=key, as_of=as_of or datetime.now(UTC)
    )


add_record_routes(entries, kind=RecordKind.credit_entry, noun="credit entry")
add_record_routes(repair_records, kind=RecordKind.credit_repair, noun="credit repair record")
