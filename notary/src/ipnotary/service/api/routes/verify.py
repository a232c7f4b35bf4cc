"""``POST /v1/verify``: server-side verification for clients without the SDK.

It runs the SDK's own ``verify_certificate`` under this deployment's own trust policy
(``/v1/trust``) and against this service's chain node: convenient, but it is the operator vouching
for itself. A court or notary verifies with the SDK and its own policy instead. A verdict is data,
so an invalid certificate is a 200 with ``valid: false`` and the failed step.

The certificate reaches the SDK as the bytes the client sent (``api/bodies.py``), so the SDK's
parser applies its limits (256 KiB, nesting 32, no key twice) exactly as it does offline: a
certificate the SDK would refuse at ``format`` is refused here at ``format`` too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.redaction import Redactor
from ipnotary.sdk.verify import ContentDigests, Step, verify_certificate
from ipnotary.service.api.bodies import (
    body_limit_of,
    json_body_doc,
    object_members,
    parse_members,
    read_body,
    require_json,
    validation_errors,
)
from ipnotary.service.api.deps import RuntimeDep
from ipnotary.service.api.errors import redactor_of
from ipnotary.service.api.schemas import VerifyOptions, VerifyRequest, VerifyResponse
from ipnotary.service.errors import DependencyUnavailable
from ipnotary.service.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["verification"])

# The certificate's own limit plus room for the other members.
MAX_VERIFY_BYTES = MAX_CERTIFICATE_BYTES + 16 * 1024


def _verify(
    runtime: Runtime, certificate: bytes, options: VerifyOptions, redact: Redactor
) -> VerifyResponse:
    content = None
    if options.content is not None:
        c = options.content
        content = ContentDigests(c.size, c.sha256, c.sm3, c.cid, c.cid_v1)
    chain = runtime.chain.view() if options.check_chain else None
    try:
        result = verify_certificate(
            certificate,
            runtime.trust_policy(),
            content=content,
            chain=chain,
            min_confirmations=options.min_confirmations,
        )
    except VerificationError as exc:
        # A chain step's reason quotes the node's error, and the node's error its URL.
        return VerifyResponse(
            valid=False, failed_step=exc.step, reason=redact(exc.reason), steps=[]
        )
    except DependencyUnavailable as exc:
        return VerifyResponse(
            valid=False,
            failed_step=Step.CHAIN_ID,
            reason=redact(f"chain unavailable: {exc}"),
            steps=[],
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


@router.post(
    "/verify",
    response_model=VerifyResponse,
    summary="Verify a certificate (public)",
    description="The certificate is read by the SDK's parser: over 256 KiB, nested deeper than 32 "
    "or with a key twice, it is `valid: false` at step `format`. The request body is "
    f"at most {MAX_VERIFY_BYTES} bytes (413).",
    openapi_extra={"requestBody": {"required": True, "content": json_body_doc(VerifyRequest)}},
)
async def verify(request: Request, runtime: RuntimeDep) -> VerifyResponse:
    require_json(request)
    raw = await read_body(
        request, max_bytes=min(MAX_VERIFY_BYTES, body_limit_of(request) or MAX_VERIFY_BYTES)
    )
    members = object_members(raw, what="the request")
    certificate = members.pop("certificate", None)
    try:
        options = parse_members(VerifyOptions, members, max_bytes=len(raw))
    except ValidationError as exc:
        raise RequestValidationError(validation_errors(exc, "body")) from exc
    if certificate is None:
        raise RequestValidationError(
            [{"loc": ("body", "certificate"), "msg": "Field required", "type": "missing"}]
        )
    if not certificate.startswith("{"):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "certificate"),
                    "type": "dict_type",
                    "msg": "Input should be a valid dictionary",
                }
            ]
        )
    return await run_in_threadpool(
        _verify, runtime, certificate.encode("utf-8"), options, redactor_of(request)
    )
