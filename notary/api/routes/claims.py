"""``POST /v1/claims/check``: the SDK's infringement-claim check, run server-side for platforms
that cannot run the SDK. It uses this service's chain node and pinned issuer key; the SDK's
``check_infringement_claim`` gives the same verdict with no service at all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from client_sdk.claims import Claimant, Complaint, check_infringement_claim
from notary.api.deps import CurrentPrincipal, RuntimeDep

router = APIRouter(prefix="/v1/claims", tags=["claims"])


class ClaimantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    id_type: Annotated[str, StringConstraints(pattern=r"^(uscc|cn_resident_id|passport|other)$")]
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificates: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=20)]
    claimant: ClaimantIn
    listing_date: date | datetime
    listing_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class FindingOut(BaseModel):
    check: str
    outcome: str
    detail: str
    record_id: str | None


class ClaimResponse(BaseModel):
    verdict: str
    summary: str
    findings: list[FindingOut]


@router.post("/check", response_model=ClaimResponse, summary="Check an infringement complaint")
def check(body: ClaimRequest, runtime: RuntimeDep, _: CurrentPrincipal) -> ClaimResponse:
    verdict = check_infringement_claim(
        Complaint(
            certificates=body.certificates,
            claimant=Claimant(body.claimant.name, body.claimant.id_type, body.claimant.id),
            listing_date=body.listing_date,
            listing_sha256=body.listing_sha256,
        ),
        policy=runtime.trust_policy(),
        chain=runtime.chain.view(),
    )
    return ClaimResponse(
        verdict=verdict.verdict,
        summary=verdict.summary(),
        findings=[FindingOut(check=f.check, outcome=f.outcome.value, detail=f.detail,
                             record_id=f.record_id) for f in verdict.findings],
    )
