"""The public registers, for anyone and without signing in: a subject's IP credit status (by its
unified social credit code or another identifier) and "is asset X pledged, as of T" (any spelling
of its number: the register folds them to one, ``domain.pledges.PledgeAsset``).

Each answer is the API's signed document (``/v1/credit/status``, ``/v1/pledges/status``), shown
in words, with what proves it: the signed document itself to download (its address asks for the
same instant again, so anyone can fetch it), the service's own check of it through the SDK under
the policy it publishes (said to be the operator checking itself), the verification page on the
certificate of each credit entry that counts (a shared link: the answer already makes that
certificate public), and the command that checks it independently, on the verifier's own policy
and chain node.

The pages are rate-limited per address as the API's public endpoints are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import Response

from ipnotary.sdk.credit import verify_credit_status
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.pledges import verify_pledge_status
from ipnotary.service.api.deps import with_session
from ipnotary.service.api.rate_limit import TokenBuckets
from ipnotary.service.api.web.auth import HOME, Page, RateLimited, WebContext, WebRoute
from ipnotary.service.api.web.holder import ID_TYPE_NAMES
from ipnotary.service.api.web.i18n import N_
from ipnotary.service.domain.identifiers import parse_subject_key
from ipnotary.service.domain.pledges import AssetType, PledgeAsset
from ipnotary.service.errors import InvalidInput
from ipnotary.service.services import credit as credit_svc
from ipnotary.service.services import pledges as pledge_svc

__all__ = ["router"]

router = APIRouter(prefix=f"{HOME}/registers", route_class=WebRoute, include_in_schema=False)

ASSET_TYPE_NAMES = {
    AssetType.patent.value: N_("Patent (CNIPA application number)"),
    AssetType.trademark.value: N_("Trademark (registration number)"),
    AssetType.copyright.value: N_("Copyright (registration number)"),
}
CLASS_NAMES = {
    "A": N_("A: trustworthy (good conduct on record)"),
    "B": N_("B: no adverse record"),
    "C": N_("C: one general dishonest entry"),
    "D": N_("D: a serious dishonest entry, or more than one"),
}
CONDUCT_NAMES = {"good": N_("Good conduct"), "dishonest": N_("Dishonest conduct")}
SEVERITY_NAMES = {"general": N_("General"), "serious": N_("Serious")}


def _limit(ctx: WebContext) -> None:
    settings = ctx.runtime.settings
    if settings.rate_limit_per_minute <= 0:
        return
    state = ctx.request.app.state
    buckets = getattr(state, "web_register_buckets", None)
    if buckets is None:
        buckets = TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        state.web_register_buckets = buckets
    client = ctx.request.client.host if ctx.request.client else "unknown"
    if buckets.take(client) > 0:
        raise RateLimited("too many requests from this address; wait a minute")


def _as_of(ctx: WebContext, text: str) -> datetime | None:
    """The form's date and time, read in the zone the page names (Beijing time in Chinese, UTC
    in English); None for now."""
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"as_of: {text[:40]!r} is not a date and time") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(ctx.speaker.time_zone))
    return local.astimezone(UTC)


def _api_url(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}"


@router.get("")
def registers(ctx: Page) -> Response:
    return ctx.page("registers.html.j2")


@router.get("/credit")
def credit_register(
    ctx: Page,
    id_type: Annotated[str, Query(max_length=20)] = "uscc",
    id: Annotated[str, Query(max_length=120)] = "",
    as_of: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    values = {"id_type": id_type, "id": id, "as_of": as_of}
    context: dict[str, Any] = {
        "values": values,
        "id_types": ID_TYPE_NAMES,
        "answer": None,
        "class_names": CLASS_NAMES,
        "conduct_names": CONDUCT_NAMES,
        "severity_names": SEVERITY_NAMES,
    }
    if not id:
        return ctx.page("credit_register.html.j2", context)
    _limit(ctx)
    subject = parse_subject_key(f"{id_type}:{id}")
    moment = _as_of(ctx, as_of)
    credit_svc.refuse_unfinished(moment)
    runtime = ctx.runtime

    def load(session: Session) -> dict[str, Any]:
        return credit_svc.subject_status(
            session, runtime.issuer, subject_key=subject, as_of=moment or datetime.now(UTC)
        )

    document = with_session(runtime, load)
    check: str | None = None
    try:
        verify_credit_status(
            document, subject=subject, chain=runtime.chain.view(), policy=runtime.trust_policy()
        )
    except VerificationError as exc:
        check = f"{exc.step}: {exc.reason}"
    links = runtime.certificate_pdf
    entries = [
        {
            **entry,
            "verification_url": (
                links.links.verification_url(entry["entry_id"])
                if links.shared_url(entry["entry_id"])
                else None
            ),
        }
        for entry in document["entries"]
    ]
    context["answer"] = {
        "document": document,
        "entries": entries,
        "check_failed": check,
        "download": _api_url(
            "/v1/credit/status", {"subject": subject, "as_of": str(document["as_of"])}
        ),
        "command": (
            f"notary credit status {subject} --as-of {document['as_of']} "
            "--policy policy.json --url " + runtime.settings.resolved_public_url
        ),
    }
    return ctx.page("credit_register.html.j2", context)


@router.get("/pledges")
def pledge_register(
    ctx: Page,
    asset_type: Annotated[str, Query(max_length=20)] = "patent",
    number: Annotated[str, Query(max_length=100)] = "",
    as_of: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    values = {"asset_type": asset_type, "number": number, "as_of": as_of}
    context: dict[str, Any] = {
        "values": values,
        "asset_types": ASSET_TYPE_NAMES,
        "answer": None,
    }
    if not number:
        return ctx.page("pledge_register.html.j2", context)
    _limit(ctx)
    if asset_type not in ASSET_TYPE_NAMES:
        raise InvalidInput(f"asset_type: choose one of {', '.join(ASSET_TYPE_NAMES)}")
    try:
        asset = PledgeAsset(type=AssetType(asset_type), registration_number=number)
    except ValidationError as exc:
        raise InvalidInput(f"number: {exc.errors()[0]['msg']}") from exc
    moment = _as_of(ctx, as_of)
    pledge_svc.refuse_unfinished(moment)  # before the chain: a time not over yet never waits
    runtime = ctx.runtime
    document = with_session(
        runtime,
        lambda s: pledge_svc.pledge_status(
            s, runtime.issuer, chain=runtime.chain.pledges(), asset=asset, as_of=moment
        ),
    )
    check: str | None = None
    try:
        verify_pledge_status(document, policy=runtime.trust_policy())
    except VerificationError as exc:
        check = f"{exc.step}: {exc.reason}"
    params = {
        "asset_type": asset.type.value,
        "number": asset.registration_number,
        "as_of": str(document["as_of"]),
    }
    context["answer"] = {
        "document": document,
        "asset": asset,
        "check_failed": check,
        "download": _api_url("/v1/pledges/status", params),
        "command": (
            f"notary pledge status --asset-type {asset.type.value} "
            f"--number {asset.registration_number} --as-of {document['as_of']} "
            "--policy policy.json --url " + runtime.settings.resolved_public_url
        ),
    }
    return ctx.page("pledge_register.html.j2", context)
