"""The e-commerce platform's claim check as a form: the complaint's certificate (a file, a shared
link of this service, or a record id the platform may see), the claimant, and the listing (its
content or SHA-256, and the date it went up). The verdict is the API's (``POST
/v1/claims/check``: the SDK's ``check_infringement_claim`` under this service's policy and chain
node), shown finding by finding.

The listing's file is hashed here and kept nowhere: only its SHA-256 goes to the check. A link to
another service is not fetched (the server would then make requests for anyone, to anywhere):
download that certificate and give the file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fastapi import APIRouter
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ipnotary.sdk.canonical import parse_json
from ipnotary.sdk.certificate import MAX_CERTIFICATE_BYTES
from ipnotary.sdk.claims import OPERATOR_TIME_CAVEAT
from ipnotary.sdk.pdf import is_pdf, read_attached_certificate
from ipnotary.service.api.bodies import allow_body_up_to
from ipnotary.service.api.deps import with_session
from ipnotary.service.api.errors import redactor_of
from ipnotary.service.api.routes.claims import ClaimFields, ClaimResponse, _check
from ipnotary.service.api.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    HOME,
    UploadPage,
    WebContext,
    WebRoute,
)
from ipnotary.service.api.web.holder import ID_TYPE_NAMES
from ipnotary.service.api.web.i18n import N_
from ipnotary.service.domain.records import Role
from ipnotary.service.errors import InvalidInput, LimitExceeded, NotFound
from ipnotary.service.services import records as svc
from ipnotary.service.storage.models import Principal, Record

__all__ = ["CHECK_NAMES", "router"]

router = APIRouter(prefix=HOME, route_class=WebRoute, include_in_schema=False)

# A listing is a product page's picture or text; larger content is checked by its digest.
MAX_LISTING_BYTES = 64 * 1024**2
# A PDF certificate carries its JSON as an attachment (docs/certificate-pdf.md: at most 16 MiB).
MAX_CERTIFICATE_FILE_BYTES = 16 * 1024**2
_CHUNK = 1 << 20

CHECK_NAMES = {
    "authentic": N_("The certificate is authentic"),
    "owner": N_("The claimant is the registered owner"),
    "precedes_listing": N_("Registered before the listing"),
    "content_identical": N_("The listing's content is identical"),
    "first_registrant": N_("Nobody registered it earlier"),
    "credit_status": N_("The claimant's credit status"),
    "pledge_status": N_("Whether the work is pledged"),
}
OUTCOME_NAMES = {"pass": N_("Passed"), "fail": N_("Failed"), "unknown": N_("Undecided")}
VERDICT_NAMES = {
    "supported": N_("Supported: every check passed"),
    "not_supported": N_("Not supported: a check failed"),
    "inconclusive": N_("Inconclusive: a person must decide what the checks could not"),
}
CAVEAT_NAMES = {
    OPERATOR_TIME_CAVEAT: N_(
        "The times rest on the operator alone: no witness, time-stamp authority or chain you "
        "trust vouches for them, so the operator could have backdated them."
    )
}


def _form_page(ctx: WebContext, status: int = 200, **context: Any) -> Response:
    values = {
        "certificate_link": "",
        "record_id": "",
        "claimant_name": "",
        "claimant_id_type": "uscc",
        "claimant_id": "",
        "listing_sha256": "",
        "listing_date": "",
        **context.pop("values", {}),
    }
    return ctx.page(
        "claims.html.j2",
        {
            "values": values,
            "id_types": ID_TYPE_NAMES,
            "check_names": CHECK_NAMES,
            "outcome_names": OUTCOME_NAMES,
            "verdict_names": VERDICT_NAMES,
            "caveat_names": CAVEAT_NAMES,
            "result": None,
            "error": None,
            **context,
        },
        status_code=status,
    )


@router.get("/claims")
def claim_form(ctx: UploadPage) -> Response:
    ctx.require(Role.platform)
    return _form_page(ctx)


async def _read(upload: UploadFile, limit: int, what: str) -> bytes:
    data = bytearray()
    while chunk := await upload.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise LimitExceeded(f"{what} is over {limit} bytes")
    return bytes(data)


async def _sha256(upload: UploadFile) -> str | None:
    digest = hashlib.sha256()
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > MAX_LISTING_BYTES:
            raise LimitExceeded(
                f"the listing's file is over {MAX_LISTING_BYTES} bytes: give its SHA-256 instead"
            )
        digest.update(chunk)
    return digest.hexdigest() if size else None


def _certificate_from_link(ctx: WebContext, session: Session, link: str) -> dict[str, Any]:
    """A certificate this service shares at ``link`` (its own shared-certificate address)."""
    parts = urlsplit(link)
    own = urlsplit(ctx.runtime.settings.resolved_public_url)
    prefix = "/v1/shared/certificates/"
    if (parts.scheme, parts.netloc) != (own.scheme, own.netloc) or not parts.path.startswith(
        prefix
    ):
        raise InvalidInput(
            "only this service's shared certificate links are opened here; download another "
            "service's certificate and give the file",
            code="foreign_link",
        )
    record_id = unquote(parts.path[len(prefix) :])[:64]
    token = (parse_qs(parts.query).get("token") or [""])[-1]
    if not ctx.runtime.certificate_pdf.links.opens(record_id, token[:64]):
        raise NotFound("no certificate is shared at this link", code="not_shared")
    record = session.exec(select(Record).where(Record.id == record_id)).first()
    if record is None:
        raise NotFound("no certificate is shared at this link", code="not_shared")
    return _as_json(svc.certificate_for(session, ctx.runtime.issuer, record).to_json_bytes())


def _as_json(raw: bytes) -> dict[str, Any]:
    value = parse_json(raw, max_bytes=MAX_CERTIFICATE_BYTES, what="the certificate")
    if not isinstance(value, dict):
        raise InvalidInput("the certificate is not a JSON object", code="malformed_document")
    return value


def _certificate_of_record(
    ctx: WebContext, session: Session, record_id: str, viewer: Principal
) -> dict[str, Any]:
    record = svc.get_visible_record(session, record_id=record_id[:64], viewer=viewer)
    return _as_json(svc.certificate_for(session, ctx.runtime.issuer, record).to_json_bytes())


@router.post("/claims")
async def check_claim(ctx: UploadPage) -> Response:
    user = ctx.require(Role.platform)
    allow_body_up_to(ctx.request, MAX_LISTING_BYTES + MAX_CERTIFICATE_FILE_BYTES + 64 * 1024)
    try:
        form: FormData = await ctx.request.form(max_files=2, max_fields=32, max_part_size=16384)
    except StarletteHTTPException as exc:
        raise LimitExceeded(f"the form is over a limit: {exc.detail}") from exc
    try:
        if ctx.request.headers.get(CSRF_HEADER) is None:
            sent = form.get(CSRF_FIELD)
            ctx.check_csrf(sent if isinstance(sent, str) else None)

        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        values = {
            name: text(name)
            for name in (
                "certificate_link",
                "record_id",
                "claimant_name",
                "claimant_id_type",
                "claimant_id",
                "listing_sha256",
                "listing_date",
            )
        }
        certificate_file = form.get("certificate_file")
        listing_file = form.get("listing_file")
        raw_certificate = (
            await _read(certificate_file, MAX_CERTIFICATE_FILE_BYTES, "the certificate file")
            if isinstance(certificate_file, UploadFile)
            else b""
        )
        listing_sha256 = values["listing_sha256"].lower() or (
            await _sha256(listing_file) if isinstance(listing_file, UploadFile) else None
        )
    finally:
        await form.close()
    try:
        fields = ClaimFields.model_validate_json(
            json.dumps(
                {
                    "claimant": {
                        "name": values["claimant_name"],
                        "id_type": values["claimant_id_type"],
                        "id": values["claimant_id"],
                    },
                    "listing_date": values["listing_date"],
                    **({"listing_sha256": listing_sha256} if listing_sha256 else {}),
                },
                ensure_ascii=False,
            )
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _form_page(
            ctx,
            422,
            values=values,
            error=ctx.gettext(N_("The input breaks a rule; the detail says which.")),
            detail=f"{where}: {first['msg']}",
        )

    def certificates(session: Session) -> list[dict[str, Any]]:
        found = []
        if raw_certificate:
            data = (
                read_attached_certificate(raw_certificate)
                if is_pdf(raw_certificate)
                else (raw_certificate)
            )
            found.append(_as_json(data))
        if values["certificate_link"]:
            found.append(_certificate_from_link(ctx, session, values["certificate_link"]))
        if values["record_id"]:
            found.append(_certificate_of_record(ctx, session, values["record_id"], user.principal))
        return found

    given = with_session(ctx.runtime, certificates)
    if not given:
        return _form_page(
            ctx,
            422,
            values=values,
            error=ctx.gettext(N_("Give a certificate: a file, a shared link or a record number.")),
        )
    result: ClaimResponse = await run_in_threadpool(
        _check, ctx.runtime, given, fields, redactor_of(ctx.request)
    )
    return _form_page(ctx, values=values, result=result, listing_sha256=listing_sha256)
