"""``POST /v1/verify``: server-side verification for clients without the SDK.

It runs the SDK's own ``verify_certificate`` under this deployment's own trust policy
(``/v1/trust``) and against this service's chain node: convenient, but it is the operator vouching
for itself. A court or notary verifies with the SDK and its own policy instead. A verdict is data,
so an invalid certificate is a 200 with ``valid: false`` and the failed step.
"""

from __future__ import annotations

from fastapi import APIRouter

from client_sdk.errors import VerificationError
from client_sdk.verify import ContentDigests, Step, verify_certificate
from notary.api.deps import RuntimeDep
from notary.api.schemas import VerifyRequest, VerifyResponse
from notary.errors import DependencyUnavailable

router = APIRouter(prefix="/v1", tags=["verification"])


@router.post("/verify", response_model=VerifyResponse, summary="Verify a certificate (public)")
def verify(body: VerifyRequest, runtime: RuntimeDep) -> VerifyResponse:
    content = None
    if body.content is not None:
        c = body.content
        content = ContentDigests(c.size, c.sha256, c.sm3, c.cid, c.cid_v1)
    chain = runtime.chain.view() if body.check_chain else None
    try:
        result = verify_certificate(
            body.certificate,
            runtime.trust_policy(),
            content=content,
            chain=chain,
            min_confirmations=body.min_confirmations,
        )
    except VerificationError as exc:
        return VerifyResponse(valid=False, failed_step=exc.step, reason=exc.reason, steps=[])
    except DependencyUnavailable as exc:
        return VerifyResponse(
            valid=False, failed_step=Step.CHAIN_ID, reason=f"chain unavailable: {exc}", steps=[]
        )
    return VerifyResponse(
        valid=True,
        steps=list(result.steps),
        record_id=result.record_id,
        proven_time=result.proven_time.isoformat().replace("+00:00", "Z"),
        time_source=result.time_source.value,
        witnesses=list(result.witnesses),
        notes=list(result.notes),
        anchored_at=result.anchored_at.isoformat().replace("+00:00", "Z"),
        chain_id=result.chain_id,
        contract=result.contract,
        block_number=result.block_number,
        confirmations=result.confirmations,
        issuer_key_id=result.issuer_key_id,
    )
