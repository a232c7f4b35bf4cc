"""What every ``notary`` command prints, and how it ends: the two consoles, the one-line error,
rows as JSON, lines or a table, the INVALID line and the "not trusted" exit status.

Commands write their answer to ``out`` (standard output, for scripts to read) and everything said
to the person at the terminal to ``err``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

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
    "err",
    "exit_if_untrusted",
    "fail",
    "out",
    "print_invalid",
    "print_rows",
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
    out.print(f"[bold red]INVALID[/bold red] at step [bold]{exc.step}[/bold]: {exc.reason}")


def exit_if_untrusted(policy: TrustPolicy | None) -> None:
    """End with ``EXIT_NOT_TRUSTED`` when the answer was checked under no policy."""
    if policy is None:
        err.print(
            "[yellow]NOT TRUSTED: no trust policy was given (--policy), so nobody you trust "
            "vouches for this answer; it is only self-consistent.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)
