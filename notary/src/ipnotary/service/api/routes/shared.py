"""``/v1/shared/certificates/{record_id}?token=...``: one certificate, for whoever holds its link.

A judge, the other party or an expert holds no API key; the holder gives them this link (printed
on the PDF certificate as a QR code, and sent in ``X-Shared-Certificate-URL`` by the certificate
routes). The token opens that one record's certificate and nothing else
(``ipnotary.service.certificates.sharing``). A wrong token and an unknown record answer the same
404, so the link reveals nothing about records it does not open.

The PDF routes live here too (:func:`certificate_pdf_response`), called by the record routes of
every kind (``/v1/<kind>/{id}/certificate.pdf``) and by the shared link with ``format=pdf``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlmodel import Session, select

from ipnotary.sdk.certificate import CERTIFICATE_MEDIA_TYPE
from ipnotary.sdk.pdf import PDF_MEDIA_TYPE
from ipnotary.service.api.deps import RuntimeDep, SessionDep
from ipnotary.service.errors import NotFound
from ipnotary.service.observability.logs import note_record_id
from ipnotary.service.runtime import Runtime
from ipnotary.service.services import records as svc
from ipnotary.service.storage.models import Record

__all__ = ["SHARE_HEADER", "certificate_pdf_response", "router", "share_headers"]

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # unpadded base64url of an HMAC-SHA256
router = APIRouter(prefix="/v1/shared", tags=["shared"])

SHARE_HEADER = "X-Shared-Certificate-URL"
_NOT_SHARED = "no shared certificate at this address: the link is wrong or no longer valid"


def share_headers(runtime: Runtime, record_id: str) -> dict[str, str]:
    """What the certificate routes add for the holder: the link to pass on (none while the
    process has no share secret, which ``notary deploy`` creates)."""
    url = runtime.certificate_pdf.shared_url(record_id)
    return {SHARE_HEADER: url} if url else {}


def certificate_pdf_response(runtime: Runtime, session: Session, record: Record) -> Response:
    """The record's certificate as a signed PDF (409 ``not_anchored_yet`` before it has one)."""
    cert = svc.certificate_for(session, runtime.issuer, record)
    rendered = runtime.certificate_pdf.render(cert, runtime.trust_policy())
    return Response(
        rendered.data,
        media_type=PDF_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{record.id}.certificate.pdf"',
            **share_headers(runtime, record.id),
        },
    )


@router.get(
    "/certificates/{record_id}",
    summary="One certificate, for whoever holds its shared link (no API key)",
    description="The token is the one the certificate routes name in `X-Shared-Certificate-URL` "
    "and the PDF certificate prints as a QR code. `format=pdf` answers the signed PDF. A wrong "
    "token and an unknown record both answer 404 `not_shared`; 409 `not_anchored_yet` before "
    "the record has a certificate.",
    response_class=Response,
    responses={
        200: {
            "content": {
                CERTIFICATE_MEDIA_TYPE: {"schema": {"type": "object"}},
                PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        404: {"description": "no certificate is shared at this address"},
        409: {"description": "not anchored yet"},
    },
)
def shared_certificate(
    record_id: Annotated[str, Path(max_length=64)],
    token: Annotated[str, Query(max_length=64, description="the link's capability token")],
    runtime: RuntimeDep,
    session: SessionDep,
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
) -> Response:
    # The token's one shape first: compare_digest refuses (raises on) text that is not ASCII.
    if not _TOKEN.fullmatch(token) or not runtime.certificate_pdf.links.opens(record_id, token):
        raise NotFound(_NOT_SHARED, code="not_shared")
    record = session.exec(select(Record).where(Record.id == record_id)).first()
    if record is None:  # a valid token for a record that is gone (restored from a backup)
        raise NotFound(_NOT_SHARED, code="not_shared")
    note_record_id(record.id)
    if format == "pdf":
        response = certificate_pdf_response(runtime, session, record)
    else:
        cert = svc.certificate_for(session, runtime.issuer, record)
        response = Response(cert.to_json_bytes(), media_type=CERTIFICATE_MEDIA_TYPE)
    # Anyone with the link may read it, from any page (the verification page may be a copy
    # opened from a file); no cookie or key is involved, the token is the whole capability.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
