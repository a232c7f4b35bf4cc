"""``notary submit`` and ``notary status``: preserve files as evidence, and see a record."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import fail, out, print_rows, upload_progress

__all__ = ["status", "submit"]


def submit(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    source_url: Annotated[str | None, typer.Option()] = None,
    case_reference: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    digest_only: Annotated[
        bool, typer.Option(help="Send only the fingerprint; keep the file")
    ] = False,
    receipt_dir: Annotated[Path | None, typer.Option(help="Save each signed receipt here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Preserve files as evidence; prints each record id and saves receipts."""
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
            if receipt_dir:
                receipt_dir.mkdir(parents=True, exist_ok=True)
                (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
            rows.append(
                {
                    "file": str(path),
                    "record_id": sub.id,
                    "created": sub.created,
                    "sha256": sub.receipt.record["content"]["sha256"],
                }
            )
    print_rows(rows, as_json=as_json, ids=("record_id", "sha256"))


def status(record_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Show a record and whether it is anchored."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with options.open_client(url, api_key) as client:
            view = client.get(record_id)
    except ClientSDKError as exc:
        fail(str(exc))
    out.print_json(data=view)
