"""``notary submit`` and ``notary status``: preserve files as evidence, and see a record."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import (
    Line,
    err,
    fail,
    out,
    print_section,
    record_lines,
    upload_progress,
)

if TYPE_CHECKING:
    from ipnotary.sdk.client import Submission

__all__ = ["status", "submit"]


def submit(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE",
            help="The files to preserve as evidence",
            show_default=False,
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    title: Annotated[
        str | None, typer.Option(metavar="TEXT", help="What the evidence is, in a few words")
    ] = None,
    description: Annotated[
        str | None, typer.Option(metavar="TEXT", help="A longer description")
    ] = None,
    source_url: Annotated[
        str | None, typer.Option(metavar="URL", help="Where the evidence was found")
    ] = None,
    case_reference: Annotated[
        str | None,
        typer.Option(metavar="TEXT", help="Your case or matter number, for your own lookups"),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(metavar="TEXT", help="A tag (repeat for several)")
    ] = None,
    digest_only: Annotated[
        bool,
        typer.Option(
            help="Send only the fingerprint (SHA-256, SM3, size) and keep the file on this machine"
        ),
    ] = False,
    receipt_dir: Annotated[
        Path | None,
        typer.Option(metavar="DIR", file_okay=False, help="Save each signed receipt in DIR"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answers as JSON instead")
    ] = False,
) -> None:
    """Preserve files as evidence: prints, for each, its record id, whether it is new and its
    digests, and saves the signed receipts (--receipt-dir)."""
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.fingerprint import fingerprint_file

    given: dict[str, str | list[str] | None] = {
        "title": title,
        "description": description,
        "source_url": source_url,
        "case_reference": case_reference,
        "tags": tag or None,
    }
    metadata = {k: v for k, v in given.items() if v}
    rows: list[dict[str, object]] = []
    with options.open_client(url, api_key) as client:
        for path in files:
            try:
                if digest_only:
                    fp = fingerprint_file(path)
                    sub = client.submit_digest(
                        sha256=fp.sha256, sm3=fp.sm3, size=fp.size, metadata=metadata
                    )
                else:
                    size = path.stat().st_size
                    with upload_progress(size) as progress:
                        task = progress.add_task(path.name, total=size)
                        sub = client.submit_file(
                            path,
                            metadata=metadata,
                            progress=partial(progress.advance, task),
                        )
            except ClientSDKError as exc:
                fail(f"{path}: {exc}")
            saved = None
            if receipt_dir:
                receipt_dir.mkdir(parents=True, exist_ok=True)
                saved = receipt_dir / f"{sub.id}.receipt.json"
                saved.write_bytes(sub.receipt.to_json_bytes())
            # The service's warnings about this submission (details sent again for a record that
            # already existed are not changed, say): shown to the person, kept in the JSON.
            warnings = [str(w) for w in getattr(sub, "warnings", None) or ()]
            if as_json:
                rows.append(
                    {
                        "file": str(path),
                        "record_id": sub.id,
                        "created": sub.created,
                        "sha256": sub.receipt.record["content"]["sha256"],
                        **({"warnings": warnings} if warnings else {}),
                    }
                )
                continue
            _print_submission(path, sub, saved)
            for warning in warnings:
                err.print(f"[yellow]warning:[/yellow] {path}: {escape(warning)}", soft_wrap=True)
    if as_json:
        out.print_json(data=rows)


def _print_submission(path: Path, sub: Submission, saved: Path | None) -> None:
    new = (
        "yes"
        if sub.created
        else "no: this content was submitted before; this is the existing record"
    )
    lines: list[Line] = [("new record", new), ("status", sub.status)]
    lines += [line for line in record_lines(sub.receipt.record) if line[0] != "kind"]
    lines.append(
        (
            "receipt",
            f"saved to {saved}" if saved else "signed (keep it with --receipt-dir DIR)",
        )
    )
    print_section(f"Evidence {path}", lines)


def status(
    record_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The record's id (ev_..., wk_..., ts_...)", show_default=False
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Show a record and whether it is anchored."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with options.open_client(url, api_key) as client:
            view = client.get(record_id)
    except ClientSDKError as exc:
        fail(str(exc))
    out.print_json(data=view)
