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
from ipnotary.sdk.cli.output import (
    Line,
    end_failed_check,
    exit_if_untrusted,
    fail,
    out,
    print_rows,
    print_section,
)

if TYPE_CHECKING:
    from ipnotary.sdk.credit import VerifiedCreditStatus

__all__ = ["credit_app"]

credit_app = typer.Typer(no_args_is_help=True, help="The IP credit register (Art. 34).")


@credit_app.command("record")
def credit_record(
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    opening_out: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Save the opening (the entry's salt and details) here"),
    ] = None,
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
    subject: Annotated[
        str,
        typer.Argument(
            metavar="TYPE:ID",
            help="The subject: its identifier type and identifier, e.g. "
            "uscc:91350100M000100Y43 (normalised as the register does)",
            show_default=False,
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    as_of: AsOfOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON")] = False,
) -> None:
    """A subject's credit class and public entries, verified under your trust policy (on chain
    with --rpc/--chain-data). Exit 0 = verified, 1 = invalid, 2 = could not check (an invalid
    subject, an unreadable chain), 4 = not trusted (no policy given, or your policy does not list
    the register's key)."""
    from ipnotary.sdk.errors import VerificationError
    from ipnotary.sdk.identifiers import InvalidIdentifier, parse_subject_key

    try:
        subject = parse_subject_key(subject)
    except InvalidIdentifier as exc:
        fail(f"{subject!r}: {exc}", 2)
    trust = options.load_policy(policy)
    chain = options.open_chain_view(rpc, chain_data)
    try:
        # Typed here: the client's credit_status answers the unverified document too (verify=False).
        status: VerifiedCreditStatus = options.call(
            url, "", lambda c: c.credit_status(subject, as_of=as_of, chain=chain), policy=trust
        )
    except VerificationError as exc:
        end_failed_check(exc, as_json=as_json)
    finally:
        if chain is not None:
            chain.close()
    if as_json:
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
    else:
        _print_credit_status(status, trusted=trust is not None)
    exit_if_untrusted(trust)


_CLASSES = {
    "A": "A: trustworthy (good conduct recorded, nothing adverse)",
    "B": "B: no adverse record",
    "C": "C: one general dishonest entry",
    "D": "D: a serious dishonest entry, or more than one",
}


def _print_credit_status(status: VerifiedCreditStatus, *, trusted: bool) -> None:
    print_section(
        "Credit status",
        [
            ("subject", status.subject),
            ("as of", status.as_of.isoformat()),
            ("class", _CLASSES.get(status.credit_class, status.credit_class)),
            ("entries counted", str(len(status.entries))),
        ],
    )
    for entry in status.entries:
        shown = ("entry_id", "recorded_by", "time_source", "subject")
        lines: list[Line] = [
            (
                "recorded by",
                f"{entry.get('recorded_by')} (vouched for by: {entry.get('time_source')})",
            )
        ]
        lines += [
            (name.replace("_", " "), _text(value))
            for name, value in entry.items()
            if name not in shown and value not in (None, "", [], {})
        ]
        print_section(f"Entry {entry.get('entry_id')}", lines)
    for unchecked in status.unchecked:
        print_section(
            f"Not checked: {unchecked.entry_id}",
            [
                ("counted", "yes, by the register's word" if unchecked.counted else "no"),
                ("why", unchecked.reason),
            ],
        )
    print_section(
        "Checks",
        [
            ("on chain", "checked on a node" if status.chain_checked else "not consulted"),
            ("signed by", "a register key your policy lists" if trusted else "not checked"),
        ],
    )


def _text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


@credit_app.command("apply-repair")
def credit_apply(
    entry_id: Annotated[
        str, typer.Argument(metavar="ID", help="The entry's id (ce_...)", show_default=False)
    ],
    statement: Annotated[
        str, typer.Option(metavar="TEXT", help="Why the entry should be repaired")
    ],
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
    status: Annotated[
        str, typer.Option(metavar="STATUS", help="pending, approved or rejected")
    ] = "pending",
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
def credit_repair(
    repair_id: Annotated[
        int, typer.Argument(metavar="ID", help="The repair application's id", show_default=False)
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """One repair application and its decision (the applicant, or the deciding authority)."""
    out.print_json(data=options.call(url, api_key, lambda c: c.credit_repair(repair_id)))


@credit_app.command("decide-repair")
def credit_decide(
    repair_id: Annotated[
        int, typer.Argument(metavar="ID", help="The repair application's id", show_default=False)
    ],
    reason: Annotated[
        str,
        typer.Option(metavar="TEXT", help="The decision's reasons, as the applicant reads them"),
    ],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="Repair the entry, or refuse to")
    ] = True,
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
