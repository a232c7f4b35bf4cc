"""The notary's and the arbitrator's area: the records holders shared with them
(``services.sharing``), each opened in the verification page on its shared certificate link,
with the notarial attestations made on it (``services.notarial``: signed with the notary's own
key through the SDK, never on this server) and the bundle that carries them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlmodel import Session, col, select
from starlette.responses import Response

from ipnotary.sdk.canonical import canonical_json
from ipnotary.service.api.deps import with_session
from ipnotary.service.api.web.auth import HOME, Page, WebRoute
from ipnotary.service.api.web.holder import KIND_NAMES
from ipnotary.service.api.web.progress import progress_of, record_title
from ipnotary.service.domain.records import Role
from ipnotary.service.services import notarial, sharing
from ipnotary.service.services import records as svc
from ipnotary.service.storage.models import Record
from ipnotary.service.storage.workflows import Attestation, AttestationSubject

__all__ = ["attestations_on", "router"]

router = APIRouter(prefix=HOME, route_class=WebRoute, include_in_schema=False)


def attestations_on(session: Session, record_id: str) -> list[Attestation]:
    """The notarial attestations that cover a record, oldest first."""
    return list(
        session.exec(
            select(Attestation)
            .join(
                AttestationSubject,
                col(AttestationSubject.attestation_id) == col(Attestation.record_id),
            )
            .where(AttestationSubject.record_id == record_id)
            .order_by(col(Attestation.created_at))
            .limit(100)
        )
    )


@router.get("/shared")
def shared_with_me(ctx: Page) -> Response:
    user = ctx.require(Role.notary, Role.arbitrator)
    links = ctx.runtime.certificate_pdf

    def load(session: Session) -> list[dict[str, Any]]:
        rows = []
        for share in sharing.list_shares(session, principal=user.principal, received=True):
            record = session.exec(select(Record).where(Record.id == share.record_id)).one()
            progress = progress_of(session, record)
            rows.append(
                {
                    "share": share,
                    "record": record,
                    "title": record_title(record),
                    "kind": KIND_NAMES.get(record.kind, record.kind),
                    "progress": progress,
                    "verification_url": (
                        links.links.verification_url(record.id)
                        if progress.certified and links.shared_url(record.id)
                        else None
                    ),
                    "attestations": attestations_on(session, record.id),
                }
            )
        return rows

    return ctx.page("shared.html.j2", {"rows": with_session(ctx.runtime, load)})


@router.get("/records/{record_id}/bundle.json")
def attestation_bundle(record_id: str, ctx: Page) -> Response:
    """The record's certificate with the attestations on it, as ``/v1/notarial/bundles`` gives it
    (``notary notarial verify`` checks it)."""
    user = ctx.signed_in
    runtime = ctx.runtime

    def load(session: Session) -> bytes:
        record = svc.get_visible_record(session, record_id=record_id[:64], viewer=user.principal)
        return canonical_json(notarial.certificate_bundle(session, runtime.issuer, record=record))

    response = Response(with_session(runtime, load), media_type="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{record_id[:64]}.bundle.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
