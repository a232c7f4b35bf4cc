"""``notary complaint``: e-commerce complaints (Art. 13; E-Commerce Law Arts. 42-45): file a
notice (a holder), take measures, reject, forward, lift and publish (the platform), declare
non-infringement (a seller), notify a complaint or lawsuit (the holder), save the timeline and
verify it offline under your trust policy (``docs/complaints.md``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import (
    DEFAULT_URL,
    ChainDataOpt,
    JsonFile,
    KeyOpt,
    PolicyOpt,
    RpcOpt,
    UrlOpt,
)
from ipnotary.sdk.cli.output import EXIT_NOT_TRUSTED, err, out, print_invalid

if TYPE_CHECKING:
    from ipnotary.sdk.client import NotaryClient
    from ipnotary.sdk.complaints import ComplaintsClient

__all__ = ["complaint_app"]

complaint_app = typer.Typer(
    no_args_is_help=True,
    help="E-commerce complaints (Art. 13): notice, measures, declaration, the window, outcome.",
)
ListingsOpt = Annotated[
    list[int], typer.Option("--listing", "-l", help="A listing's index in the notice (repeat)")
]
FactsOpt = Annotated[str, typer.Option(help="The facts and circumstances relied on")]
GroundOpt = Annotated[str, typer.Option(help="The legal or contractual ground")]
RedressOpt = Annotated[str, typer.Option(help="The redress available to the seller")]
AutomatedOpt = Annotated[
    bool, typer.Option("--automated/--not-automated", help="Whether automated means were used")
]


def _complaints(client: NotaryClient) -> ComplaintsClient:
    from ipnotary.sdk.complaints import ComplaintsClient

    return ComplaintsClient(client)


def _stepped(answer: dict[str, Any]) -> None:
    shown = {"id": answer["id"], "status": answer["status"]}
    if "complaint_id" in answer:
        shown["complaint_id"] = answer["complaint_id"]
    out.print_json(data=shown)


@complaint_app.command("file")
def file_notice(notice: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """File a notice (a holder): the JSON file holds platform_id, holder (name, id_type, id),
    right (type, title, registration_number or work_record_id), listings (url, seller_id),
    evidence (your record ids) and good_faith. Prints the step and the complaint's id."""
    body = json.loads(notice.read_text(encoding="utf-8"))
    _stepped(options.call(url, api_key, lambda c: _complaints(c).file(body)))


@complaint_app.command("show")
def show(complaint_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """The complaint as you see it: each listing's state, what is due next and by when, steps."""
    out.print_json(
        data=options.call(url, api_key, lambda c: _complaints(c).complaint(complaint_id))
    )


@complaint_app.command("list")
def list_complaints(
    overdue: Annotated[bool, typer.Option(help="Only those with a step past its due time")] = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """The complaints you are party to."""
    out.print_json(
        data=options.call(url, api_key, lambda c: _complaints(c).complaints(overdue=overdue))
    )


@complaint_app.command("measure")
def measure(
    complaint_id: str,
    listing: ListingsOpt,
    measure: Annotated[str, typer.Option(help="delete, block, disconnect or stop_transactions")],
    restriction: Annotated[str, typer.Option(help="What was restricted: scope and duration")],
    facts: FactsOpt,
    ground: GroundOpt,
    redress: RedressOpt,
    automated: AutomatedOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Restrict listings (the platform), with a statement of reasons."""
    reasons = {
        "restriction": restriction,
        "facts": facts,
        "ground": ground,
        "automated": automated,
        "redress": redress,
    }
    _stepped(
        options.call(
            url,
            api_key,
            lambda c: _complaints(c).measure(
                complaint_id, listing, measure=measure, reasons=reasons
            ),
        )
    )


@complaint_app.command("reject")
def reject(
    complaint_id: str,
    listing: ListingsOpt,
    facts: FactsOpt,
    ground: GroundOpt,
    redress: RedressOpt,
    automated: AutomatedOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Reject the notice for listings (the platform), with a statement of reasons."""
    reasons = {"facts": facts, "ground": ground, "automated": automated, "redress": redress}
    _stepped(
        options.call(
            url, api_key, lambda c: _complaints(c).reject(complaint_id, listing, reasons=reasons)
        )
    )


@complaint_app.command("forward")
def forward(
    complaint_id: str,
    listing: ListingsOpt,
    document: Annotated[
        str, typer.Option(help="notice (to the sellers) or declaration (to the holder)")
    ] = "notice",
    seller_id: Annotated[
        str | None, typer.Option(help="The seller of listings the notice named none for")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Forward the notice to the listings' sellers, or a declaration to the holder (the
    platform); forwarding a declaration opens the holder's window."""
    if document not in ("notice", "declaration"):
        raise typer.BadParameter("notice or declaration", param_hint="--document")
    _stepped(
        options.call(
            url,
            api_key,
            lambda c: _complaints(c).forward(
                complaint_id,
                listing,
                document="notice" if document == "notice" else "declaration",
                seller_id=seller_id,
            ),
        )
    )


@complaint_app.command("declare")
def declare(
    complaint_id: str,
    listing: ListingsOpt,
    declaration: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Declare that your listings do not infringe (a seller): the JSON file holds seller (name,
    id_type, id), statement and evidence (your record ids)."""
    body = json.loads(declaration.read_text(encoding="utf-8"))
    _stepped(
        options.call(
            url,
            api_key,
            lambda c: _complaints(c).declare(
                complaint_id,
                listing,
                seller=body["seller"],
                statement=body["statement"],
                evidence=body.get("evidence", []),
            ),
        )
    )


@complaint_app.command("notify")
def notify(
    complaint_id: str,
    listing: ListingsOpt,
    type: Annotated[str, typer.Option("--type", help="authority_complaint or lawsuit")],
    addressee: Annotated[str, typer.Option(help="The authority or the court")],
    reference: Annotated[str, typer.Option(help="The reference it gave you")],
    filed_on: Annotated[str, typer.Option(help="The date you filed, YYYY-MM-DD")],
    evidence: Annotated[
        list[str] | None, typer.Option(help="A record of yours proving it (repeat)")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Notify the platform, within the window, of your complaint to an authority or lawsuit
    (the holder): the measures then stay."""
    if type not in ("authority_complaint", "lawsuit"):
        raise typer.BadParameter("authority_complaint or lawsuit", param_hint="--type")
    _stepped(
        options.call(
            url,
            api_key,
            lambda c: _complaints(c).notify(
                complaint_id,
                listing,
                type="lawsuit" if type == "lawsuit" else "authority_complaint",
                addressee=addressee,
                reference=reference,
                filed_on=filed_on,
                evidence=evidence or [],
            ),
        )
    )


@complaint_app.command("lift")
def lift(
    complaint_id: str,
    listing: ListingsOpt,
    note: Annotated[str, typer.Option(help="Why: the window passed, or the dispute's outcome")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Lift the measures (the platform); refused while the holder's window is open."""
    _stepped(
        options.call(url, api_key, lambda c: _complaints(c).lift(complaint_id, listing, note=note))
    )


@complaint_app.command("publish")
def publish(complaint_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Publish the notice, declarations and outcomes in the public register (the platform)."""
    _stepped(options.call(url, api_key, lambda c: _complaints(c).publish(complaint_id)))


@complaint_app.command("register")
def register(
    platform_id: Annotated[str | None, typer.Option(help="One platform's complaints")] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """The public register of published complaints (no key needed)."""
    out.print_json(
        data=options.call(url, "", lambda c: _complaints(c).register(platform_id=platform_id))
    )


@complaint_app.command("timeline")
def timeline(
    complaint_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to save it")],
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for every step's certificate (0: do not)")
    ] = 0.0,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Save the complaint's timeline (every step with its certificate, signed) as JSON."""

    def fetch(client: NotaryClient) -> dict[str, Any]:
        from ipnotary.sdk.errors import APIError

        deadline = time.monotonic() + wait
        while True:
            try:
                return _complaints(client).timeline(complaint_id)
            except APIError as exc:
                # A step waits for its batch and checkpoint: seconds, on a healthy service.
                if exc.code != "not_anchored_yet" or time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    document = options.call(url, api_key, fetch)
    output.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    err.print(f"saved {document['log_size']} steps to {output}")


@complaint_app.command("verify")
def verify(
    document: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, metavar="TIMELINE", help="Its JSON")
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Check a timeline offline under your policy: its signature, every step's certificate and
    their chain, and that every step followed the rules (the window included). Exit 0 valid,
    1 invalid (naming the step), 2 could not check, 4 no policy."""
    from ipnotary.sdk.complaints import verify_complaint_timeline
    from ipnotary.sdk.errors import VerificationError

    trust = options.load_policy(policy)
    if trust is None:
        err.print(
            "[yellow]NOT TRUSTED: give --policy; nothing in a timeline vouches for itself.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)
    try:
        body = json.loads(document.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        err.print(f"could not read {document}: {exc}")
        raise typer.Exit(2) from None
    chain = options.open_chain_view(rpc, chain_data)
    try:
        result = verify_complaint_timeline(body, trust, chain=chain)
    except VerificationError as exc:
        print_invalid(exc)
        raise typer.Exit(1) from None
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(
            data={
                "valid": True,
                "complaint_id": result.complaint_id,
                "copy": result.copy_for,
                "withheld": list(result.withheld),
                "states": {str(k): v for k, v in result.states.items()},
                "steps": [
                    {
                        "seq": s.seq,
                        "step": s.step,
                        "actor": s.actor,
                        "listings": list(s.listings),
                        "received_at": s.received_at.isoformat(),
                        "proven_time": s.proven_time.isoformat(),
                        "time_source": s.time_source.value,
                    }
                    for s in result.steps
                ],
            }
        )
        return
    out.print(
        f"[green]VALID[/green] complaint {result.complaint_id}, the {result.copy_for}'s copy: "
        f"{len(result.steps)} steps"
        + (
            f"; steps {', '.join(map(str, result.withheld))} not in this copy"
            if result.withheld
            else ""
        )
    )
    for s in result.steps:
        out.print(
            f"  {s.seq}. {s.step} by {s.actor}: in the log by {s.proven_time.isoformat()} "
            f"({s.time_source.value})",
            soft_wrap=True,
        )
