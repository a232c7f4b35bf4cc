"""What every ``notary`` command prints, and how it ends: the two consoles, the one-line error,
rows as JSON, lines or a table, a record as a person reads it (:func:`record_lines`, printed in
headed sections by :func:`print_section`), the INVALID line and the "not trusted" exit status.

Commands write their answer to ``out`` (standard output, for scripts to read) and everything said
to the person at the terminal to ``err``. ``--json`` prints the machine's answer instead of the
person's, never both.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

if TYPE_CHECKING:
    from ipnotary.sdk.errors import VerificationError
    from ipnotary.sdk.policy import TrustPolicy

__all__ = [
    "EXIT_NOT_TRUSTED",
    "end_failed_check",
    "err",
    "exit_if_untrusted",
    "fail",
    "out",
    "print_invalid",
    "print_not_trusted",
    "print_rows",
    "print_section",
    "record_lines",
    "upload_progress",
]

out = Console()
err = Console(stderr=True)

# Exit statuses of the checking commands (`verify`, `credit status`, `pledge status`): 0 valid
# under the policy, 1 invalid, 2 could not check (bad input, unreadable chain), 4 self-consistent
# but not trusted (no policy given).
EXIT_NOT_TRUSTED = 4


def fail(message: str, code: int = 1) -> NoReturn:
    # One line, however long; the message is text, not markup (`[chain]` in it must stay).
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def print_rows(
    rows: Sequence[Mapping[str, object]], *, as_json: bool, ids: tuple[str, ...] = ()
) -> None:
    """Rows as JSON (``--json``), as tab-separated lines when piped, or as a table on a terminal;
    an identifier is never cut or wrapped (a copied id must be the whole id)."""
    if as_json:
        out.print_json(data=rows)
        return
    if not rows:
        return
    if not sys.stdout.isatty():
        for row in rows:
            typer.echo("\t".join(str(v) for v in row.values()))
        return
    table = Table()
    for key in rows[0]:
        longest = max(len(str(r[key])) for r in rows)
        table.add_column(
            key.replace("_", " "), no_wrap=key in ids, min_width=longest if key in ids else None
        )
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)


def upload_progress(size: int) -> Progress:
    """The progress bar of an upload of ``size`` bytes, on standard error and gone when done;
    small files (under 8 MiB) go up without one."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=size < 8 << 20,
    )


def print_invalid(exc: VerificationError) -> None:
    out.print(
        f"[bold red]INVALID[/bold red] at step [bold]{exc.step}[/bold]: {escape(exc.reason)}",
        soft_wrap=True,
    )


def end_failed_check(exc: VerificationError, *, as_json: bool = False) -> NoReturn:
    """A check of a status document failed: NOT TRUSTED (exit 4) when the policy does not vouch
    for its signer or its certificates' (``NotTrustedError``), else INVALID (exit 1)."""
    from ipnotary.sdk.errors import NotTrustedError

    untrusted = isinstance(exc, NotTrustedError)
    if as_json:
        out.print_json(
            data={
                "verdict": "not_trusted" if untrusted else "invalid",
                "valid": False,
                "failed_step": exc.step,
                "reason": exc.reason,
            }
        )
    elif untrusted:
        print_not_trusted(exc)
    else:
        print_invalid(exc)
    raise typer.Exit(EXIT_NOT_TRUSTED if untrusted else 1)


def print_not_trusted(exc: VerificationError) -> None:
    """A check your policy does not vouch for: not an alteration (``NotTrustedError``)."""
    out.print(
        f"[bold yellow]NOT TRUSTED[/bold yellow] at step [bold]{exc.step}[/bold]: "
        f"{escape(exc.reason)}",
        soft_wrap=True,
    )


Line = tuple[str, str]


def print_section(title: str, lines: Sequence[Line]) -> None:
    """A header, then ``name  value`` lines. Never a table, and never wrapped by us: a table cuts
    long ids to fit the terminal, and an id or digest copied from here must be whole."""
    if not lines:
        return
    out.print(f"[bold]{escape(title)}[/bold]")
    for name, value in lines:
        out.print(f"  {name:<18} {value}", soft_wrap=True, highlight=False, markup=False)


def _party(party: object) -> str | None:
    """``Name (type:id)`` or ``Name (principal id)``; None for what is not a party."""
    if not isinstance(party, Mapping) or not party.get("name"):
        return None
    if party.get("id_type"):
        return f"{party['name']} ({party['id_type']}:{party.get('id')})"
    return f"{party['name']} ({party['id']})" if party.get("id") else str(party["name"])


def _content_lines(label: str, content: object) -> list[Line]:
    if not isinstance(content, Mapping):
        return []
    declared = set(content.get("declared") or ())
    lines: list[Line] = []
    if isinstance(content.get("size"), int):
        lines.append((f"{label} size", f"{content['size']} bytes"))
    for name in ("sha256", "sm3", "cid", "cid_v1"):
        if content.get(name):
            note = " (declared by the submitter, not measured)" if name in declared else ""
            lines.append(
                (f"{label} {name}" if label != "content" else name, f"{content[name]}{note}")
            )
    return lines


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def record_lines(record: Mapping[str, Any]) -> list[Line]:
    """What a record is, for a person: its kind and id, what it is about (title, owner, authors,
    holder, authority), its digests and when the service received it. Read from the record's JSON
    as it is, so a kind this SDK does not model still shows what it has."""
    # Any: a record body is JSON; each kind has its own members, read here only to be shown.
    lines: list[Line] = [("kind", str(record.get("kind"))), ("record id", str(record.get("id")))]
    work: Mapping[str, Any] = _mapping(record.get("work"))
    metadata: Mapping[str, Any] = _mapping(record.get("metadata"))
    title = work.get("title") or metadata.get("title") or record.get("label")
    if title:
        lines.append(("title", str(title)))
    if work:
        kind = work.get("work_type")
        if kind:
            detail = work.get("work_type_detail")
            lines.append(("work type", f"{kind} ({detail})" if detail else str(kind)))
        owner = _party(work.get("copyright_owner"))
        if owner:
            lines.append(("copyright owner", owner))
        authors = [
            f"{a['name']} ({a['pen_name']})" if a.get("pen_name") else str(a.get("name"))
            for a in work.get("authors") or ()
            if isinstance(a, Mapping)
        ]
        if authors:
            lines.append(("authors", ", ".join(authors)))
        if work.get("completed_on"):
            lines.append(("completed on", str(work["completed_on"])))
        published = work.get("first_publication")
        if isinstance(published, Mapping):
            lines.append(("first published", f"{published.get('date')}, {published.get('place')}"))
    for name in ("description", "source_url", "captured_at", "case_reference"):
        if metadata.get(name):
            lines.append((name.replace("_", " "), str(metadata[name])))
    if metadata.get("tags"):
        lines.append(("tags", ", ".join(map(str, metadata["tags"]))))
    for name in ("holder", "authority", "registrar", "notary"):
        who = _party(record.get(name))
        if who:
            lines.append((name, who))
    for name in ("action", "conduct", "severity", "publicity_start", "publicity_end"):
        if record.get(name):
            lines.append((name.replace("_", " "), str(record[name])))
    asset = record.get("asset")
    if isinstance(asset, Mapping):
        lines.append(("asset", " ".join(str(v) for v in asset.values())))
    pledge = record.get("pledge")
    if isinstance(pledge, Mapping) and pledge.get("pledge_id") is not None:
        lines.append(("pledge", f"{pledge['pledge_id']} (transaction {pledge.get('tx_hash')})"))
    filing = record.get("filing")
    if isinstance(filing, Mapping) and filing.get("id"):
        lines.append(("filing", str(filing["id"])))
    recipient = _party(record.get("recipient"))
    if recipient:
        lines.append(("disclosed to", recipient))
    lines += _content_lines("content", record.get("content"))
    lines += _content_lines("ciphertext", record.get("ciphertext"))
    for name in ("commitment", "entry_commitment"):
        if record.get(name):
            lines.append((name.replace("_", " "), str(record[name])))
    for prior in record.get("prior_registrations") or ():
        if isinstance(prior, Mapping):
            lines.append(
                (
                    "registered earlier",
                    f"{prior.get('id')} by {prior.get('copyright_owner')} "
                    f"(received {prior.get('received_at')})",
                )
            )
    if record.get("received_at"):
        lines.append(("received", str(record["received_at"])))
    return lines


def exit_if_untrusted(policy: TrustPolicy | None) -> None:
    """End with ``EXIT_NOT_TRUSTED`` when the answer was checked under no policy."""
    if policy is None:
        err.print(
            "[yellow]NOT TRUSTED: no trust policy was given (--policy), so nobody you trust "
            "vouches for this answer; it is only self-consistent.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)
