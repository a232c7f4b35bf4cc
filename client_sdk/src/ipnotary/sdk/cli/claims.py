"""``notary claim-check``: check an infringement complaint against the complainant's
certificates, as a platform does before it takes a listing down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import ChainDataOpt, PolicyOpt, RpcOpt
from ipnotary.sdk.cli.output import fail, out

__all__ = ["claim_check"]


def claim_check(
    cert: Annotated[
        list[Path],
        typer.Option(
            "--cert",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="A certificate the claimant sent (JSON; repeat for several)",
        ),
    ],
    claimant_name: Annotated[
        str,
        typer.Option(metavar="NAME", help="The claimant's name, as the complaint gives it"),
    ],
    claimant_id_type: Annotated[
        str,
        typer.Option(
            metavar="TYPE",
            help="The claimant's identifier type: uscc, cn_resident_id, passport or other",
        ),
    ],
    claimant_id: Annotated[
        str,
        typer.Option(
            metavar="ID",
            help="The claimant's identifier, e.g. a unified social credit code (its check "
            "character is checked; full-width and lower-case forms are accepted)",
        ),
    ],
    listing_date: Annotated[
        str,
        typer.Option(
            metavar="DATE|TIME",
            help="When the listing went up: YYYY-MM-DD (start of the day, UTC) or an RFC 3339 time",
        ),
    ],
    listing_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", exists=True, dir_okay=False, help="The listing's content (an image...)"
        ),
    ] = None,
    listing_sha256: Annotated[
        str | None,
        typer.Option(metavar="HEX", help="Or the listing content's SHA-256, instead of the file"),
    ] = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON")] = False,
) -> None:
    """Check an infringement complaint against the claimant's certificates.

    Exit status 0 = supported, 1 = not supported, 2 = could not check (an invalid identifier, a
    listing date in the future, an unreadable certificate or chain), 3 = inconclusive (a person
    decides).
    """
    from datetime import date, datetime

    from ipnotary.sdk.claims import Claimant, Complaint, check_infringement_claim
    from ipnotary.sdk.errors import ChainReadError, FormatError

    try:
        when: date | datetime = (
            datetime.fromisoformat(listing_date)
            if "T" in listing_date
            else date.fromisoformat(listing_date)
        )
    except ValueError:
        fail(f"--listing-date {listing_date!r} is not YYYY-MM-DD or an RFC 3339 time", 2)
    try:
        complaint = Complaint(
            certificates=[p.read_bytes() for p in cert],
            claimant=Claimant(claimant_name, claimant_id_type, claimant_id),
            listing_date=when,
            listing_content=listing_file,
            listing_sha256=listing_sha256,
        )
    except FormatError as exc:
        fail(f"--claimant-id {claimant_id!r}: {exc}", 2)
    except OSError as exc:
        fail(f"cannot read a certificate: {exc}", 2)
    trust = options.load_policy(policy)
    chain = options.open_chain_view(rpc, chain_data)
    try:
        verdict = check_infringement_claim(complaint, policy=trust, chain=chain)
    except (FormatError, ChainReadError) as exc:
        fail(str(exc), 2)
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(
            data={
                "verdict": verdict.verdict,
                "caveats": list(verdict.caveats),
                "summary": verdict.summary(),
                "findings": [
                    {
                        "check": f.check,
                        "outcome": f.outcome.value,
                        "detail": f.detail,
                        "record_id": f.record_id,
                    }
                    for f in verdict.findings
                ],
            }
        )
    else:
        colour = {"supported": "green", "not_supported": "red"}.get(verdict.verdict, "yellow")
        out.print(f"[bold {colour}]{escape(verdict.headline())}[/bold {colour}]", soft_wrap=True)
        # One line a finding, never wrapped by us: a digest or id in a detail is copied whole.
        for f in verdict.findings:
            out.print(
                f"{f.check:<16} {f.outcome.value:<12} {f.detail}",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
    raise typer.Exit({"supported": 0, "not_supported": 1}.get(verdict.verdict, 3))
