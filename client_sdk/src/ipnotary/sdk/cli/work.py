"""``notary work``: register a work (copyright) with its content or only its fingerprint, and
look up who registered a content first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import Line, err, fail, out, print_rows, print_section, upload_progress

__all__ = ["work_app"]

work_app = typer.Typer(
    no_args_is_help=True,
    help="Register works (copyright) and look up who registered content first.",
)


def _load_work(path: Path) -> dict[str, Any]:
    # Any: the work's details are the JSON object docs/works.md describes; the service checks it.
    try:
        work = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        fail(f"{path}: not JSON describing a work ({exc})", 2)
    if not isinstance(work, dict):
        fail(
            f"{path}: a work is a JSON object (title, work_type, authors, copyright_owner, "
            "completed_on; docs/works.md)",
            2,
        )
    return work


@work_app.command("register")
def work_register(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The work's content")
    ],
    work: Annotated[
        Path,
        typer.Option(
            "--work", exists=True, dir_okay=False, help="JSON describing the work (docs/works.md)"
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    digest_only: Annotated[
        bool, typer.Option(help="Send only the fingerprint; keep the file")
    ] = False,
    receipt_dir: Annotated[Path | None, typer.Option(help="Save the signed receipt here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Register a work (holder): prints its id (wk_...). Content someone else registered earlier
    is accepted but flagged, here and in the record."""
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.fingerprint import fingerprint_file

    details = _load_work(work)
    try:
        with options.open_client(url, api_key) as client:
            if digest_only:
                fp = fingerprint_file(file)
                sub = client.register_work_digest(
                    details, sha256=fp.sha256, size=fp.size, sm3=fp.sm3
                )
            else:
                size = file.stat().st_size
                with upload_progress(size) as progress:
                    task = progress.add_task(file.name, total=size)
                    sub = client.register_work(
                        file, details, progress=lambda n: progress.advance(task, n)
                    )
    except ClientSDKError as exc:
        fail(f"{file}: {exc}")
    if receipt_dir:
        receipt_dir.mkdir(parents=True, exist_ok=True)
        (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
    sha256 = sub.receipt.record["content"]["sha256"]
    prior = list(sub.prior_registrations)
    if as_json:
        out.print_json(
            data={
                "id": sub.id,
                "created": sub.created,
                "status": sub.status,
                "sha256": sha256,
                "prior_registrations": prior,
            }
        )
        return
    print_rows(
        [{"file": str(file), "record_id": sub.id, "created": sub.created, "sha256": sha256}],
        as_json=False,
        ids=("record_id", "sha256"),
    )
    for p in prior:
        err.print(
            f"[yellow]registered earlier by someone else:[/yellow] {p['id']} "
            f"({p['copyright_owner']}, {p['received_at']})",
            soft_wrap=True,
        )


@work_app.command("lookup")
def work_lookup(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Content to look up (hashed here)"
        ),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="Its SHA-256 instead (hex)")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Who registered this content as a work, in anchor order: the first (prior) registered it
    first. Owners' identity numbers are masked unless you may read them."""
    import hashlib

    if (file is None) == (sha256 is None):
        fail("give the content's FILE or --sha256 HEX (one of them)", 2)
    if file is not None:
        with open(file, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    else:
        digest = (sha256 or "").strip().lower()
    try:
        registrations = options.call(url, api_key, lambda c: c.work_registrations(digest))
    except ValueError as exc:
        fail(str(exc), 2)
    if as_json:
        out.print_json(data={"sha256": digest, "registrations": list(registrations)})
        return
    if not registrations:
        err.print(f"nobody has registered content {digest} as a work here", soft_wrap=True)
        return
    out.print(f"Registrations of content {digest}, first registered first", soft_wrap=True)
    for n, r in enumerate(registrations, 1):
        work: dict[str, Any] = r.get("work") or {}
        first = " (registered it first)" if r.get("prior") else ""
        lines: list[Line] = [("record id", str(r["id"]))]
        if work.get("title"):
            lines.append(("title", str(work["title"])))
        owner = work.get("copyright_owner") or {}
        if owner:
            masked = " (identity number masked)" if r.get("identities_masked") else ""
            lines.append(
                (
                    "copyright owner",
                    f"{owner.get('name')} ({owner.get('id_type')}:{owner.get('id')}){masked}",
                )
            )
        authors = ", ".join(str(a.get("name")) for a in work.get("authors") or ())
        if authors:
            lines.append(("authors", authors))
        holder = r.get("holder") or {}
        if holder:
            lines.append(("holder", f"{holder.get('name')} ({holder.get('id')})"))
        lines.append(("received", str(r.get("received_at"))))
        lines.append(
            (
                "anchored",
                f"{r.get('anchored_at')} in block {r.get('block_number')}"
                if r.get("anchored")
                else "not yet",
            )
        )
        print_section(f"{n}. {r['id']}{first}", lines)
    err.print(
        "[yellow]As the service states it: to rely on a registration, verify its certificate "
        "(from its registrant) with notary verify.[/yellow]"
    )
