"""``notary credit``: record entries in the IP credit register, check a subject's status under
your trust policy, and apply for, list and decide repairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import (
    DEFAULT_URL,
    AsOfOpt,
    ChainDataOpt,
    JsonFile,
    KeyOpt,
    PolicyOpt,
    RpcOpt,
    UrlOpt,
)
from ipnotary.sdk.cli.output import exit_if_untrusted, out, print_invalid, print_rows

if TYPE_CHECKING:
    from ipnotary.sdk.credit import VerifiedCreditStatus

__all__ = ["credit_app"]

credit_app = typer.Typer(no_args_is_help=True, help="The IP credit register (Art. 34).")


@credit_app.command("record")
def credit_record(
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    opening_out: Annotated[Path | None, typer.Option(help="Save the opening here")] = None,
) -> None:
    """Record a good or dishonest conduct entry (credit authority). Keep the opening it prints."""
    sub, opening = options.call(
        url, api_key, lambda c: c.record_credit_entry(json.loads(file.read_text()))
    )
    if opening_out:
        opening_out.write_text(json.dumps(opening, indent=2))
    out.print_json(data={"id": sub.id, "opening": opening})


@credit_app.command("status")
def credit_status(
    subject: Annotated[str, typer.Argument(help="type:id, e.g. uscc:91350100M000100Y43")],
    url: UrlOpt = DEFAULT_URL,
    as_of: AsOfOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """A subject's credit class and public entries, verified under your trust policy (on chain
    with --rpc/--chain-data). Exit 4 without a policy: nobody you trust vouches for the answer."""
    from ipnotary.sdk.errors import VerificationError

    trust = options.load_policy(policy)
    chain = options.open_chain_view(rpc, chain_data)
    try:
        # Typed here: the client's credit_status answers the unverified document too (verify=False).
        status: VerifiedCreditStatus = options.call(
            url, "", lambda c: c.credit_status(subject, as_of=as_of, chain=chain), policy=trust
        )
    except VerificationError as exc:
        print_invalid(exc)
        raise typer.Exit(1) from None
    finally:
        if chain is not None:
            chain.close()
    out.print_json(
        data={
            "subject": status.subject,
            "class": status.credit_class,
            "as_of": status.as_of.isoformat(),
            "chain_checked": status.chain_checked,
            "trusted": trust is not None,
            "entries": list(status.entries),
            "unchecked": [
                {"entry_id": u.entry_id, "counted": u.counted, "reason": u.reason}
                for u in status.unchecked
            ],
        }
    )
    exit_if_untrusted(trust)


@credit_app.command("apply-repair")
def credit_apply(
    entry_id: str,
    statement: Annotated[str, typer.Option()],
    evidence_sha256: Annotated[
        list[str] | None,
        typer.Option(
            "--evidence-sha256",
            help="SHA-256 of a document you send the authority (repeat for each)",
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Apply for repair of an entry about you. Keep the id it prints: `notary credit repair ID`
    shows the decision."""
    out.print_json(
        data=options.call(
            url,
            api_key,
            lambda c: c.apply_credit_repair(entry_id, statement, evidence_sha256 or ()),
        )
    )


@credit_app.command("repairs")
def credit_repairs(
    status: Annotated[str, typer.Option(help="pending, approved or rejected")] = "pending",
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Repair applications on the entries you recorded (credit authority): the id that
    `decide-repair` takes, the applicant's statement and the digests of its evidence."""
    rows = options.call(url, api_key, lambda c: c.credit_repairs(status))
    if as_json:
        out.print_json(data=rows)
        return
    print_rows(
        [
            {
                "id": r["id"],
                "entry_id": r["entry_id"],
                "submitted_at": r["submitted_at"],
                "decision": r["decision"],
                "statement": r["statement"] or "(erased)",
                "evidence_sha256": " ".join(r["evidence_sha256"]) or "-",
            }
            for r in rows
        ],
        as_json=False,
        ids=("id", "entry_id", "evidence_sha256"),
    )


@credit_app.command("repair")
def credit_repair(repair_id: int, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """One repair application and its decision (the applicant, or the deciding authority)."""
    out.print_json(data=options.call(url, api_key, lambda c: c.credit_repair(repair_id)))


@credit_app.command("decide-repair")
def credit_decide(
    repair_id: int,
    reason: Annotated[str, typer.Option()],
    approve: Annotated[bool, typer.Option("--approve/--reject")] = True,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Approve or reject a repair application (the authority that recorded the entry)."""
    out.print_json(
        data=options.call(
            url,
            api_key,
            lambda c: c.decide_credit_repair(repair_id, approve=approve, reason=reason),
        )
    )
