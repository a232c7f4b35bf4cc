"""``notary claim-check``: check an infringement complaint against the complainant's
certificates, as a platform does before it takes a listing down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import ChainDataOpt, PolicyOpt, RpcOpt
from ipnotary.sdk.cli.output import fail, out

__all__ = ["claim_check"]


def claim_check(
    cert: Annotated[list[Path], typer.Option("--cert", help="A certificate (repeatable)")],
    claimant_name: Annotated[str, typer.Option()],
    claimant_id_type: Annotated[str, typer.Option(help="uscc, cn_resident_id, passport or other")],
    claimant_id: Annotated[str, typer.Option()],
    listing_date: Annotated[str, typer.Option(help="YYYY-MM-DD or an RFC 3339 time")],
    listing_file: Annotated[Path | None, typer.Option(help="The listing's content")] = None,
    listing_sha256: Annotated[str | None, typer.Option(help="Or its SHA-256")] = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check an infringement complaint. Exit 0 = supported, 1 = not supported, 3 = inconclusive."""
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
    complaint = Complaint(
        certificates=[p.read_bytes() for p in cert],
        claimant=Claimant(claimant_name, claimant_id_type, claimant_id),
        listing_date=when,
        listing_content=listing_file,
        listing_sha256=listing_sha256,
    )
    from ipnotary.sdk.policy import TrustPolicy

    chain = options.open_chain_view(rpc, chain_data)
    try:
        trust = TrustPolicy.load(policy) if policy else None
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
        out.print(f"[bold {colour}]{verdict.verdict.upper()}[/bold {colour}]")
        # One line a finding, never wrapped by us: a digest or id in a detail is copied whole.
        for f in verdict.findings:
            out.print(
                f"{f.check:<16} {f.outcome.value:<12} {f.detail}",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
    raise typer.Exit({"supported": 0, "not_supported": 1}.get(verdict.verdict, 3))
