"""``notary proof export``: a version 2 certificate's record and log proof in the formats other
tools read (C2SP tlog-proof, torchwood's spicy bundle)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli.output import err, fail

__all__ = ["proof_app"]

proof_app = typer.Typer(
    no_args_is_help=True, help="Export a certificate's log proof for other tools."
)


@proof_app.command("export")
def proof_export(
    cert: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A version 2 certificate")
    ],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Directory to write into")] = Path("."),
) -> None:
    """Write the record as the log's leaf entry (RECORD.json, RFC 8785 canonical JSON) with its
    inclusion proof and cosigned checkpoint beside it, as a C2SP tlog-proof (RECORD.json.tlog-proof)
    and as a torchwood spicy bundle (RECORD.json.spicy: `spicy -verify LOG_VKEY RECORD.json`), so
    that tools that are not ours can check it."""
    from ipnotary.sdk.canonical import canonical_json
    from ipnotary.sdk.certificate import Certificate, parse_certificate
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.tlog_proof import format_spicy_bundle, format_tlog_proof

    try:
        parsed = parse_certificate(cert.read_bytes())
    except FormatError as exc:
        fail(str(exc), 2)
    if not isinstance(parsed, Certificate):
        fail("a version 1 certificate has no log proof to export", 2)
    proof = [bytes.fromhex(h) for h in parsed.log.inclusion_proof]
    out_dir.mkdir(parents=True, exist_ok=True)
    entry = out_dir / f"{parsed.record_id}.json"
    entry.write_bytes(canonical_json(parsed.record))
    Path(f"{entry}.tlog-proof").write_text(
        format_tlog_proof(parsed.log.leaf_index, proof, parsed.log.checkpoint), encoding="utf-8"
    )
    Path(f"{entry}.spicy").write_text(
        format_spicy_bundle(parsed.log.leaf_index, proof, parsed.log.checkpoint), encoding="utf-8"
    )
    typer.echo(str(entry))  # plain: scripts read the path (rich would wrap it)
    err.print(f"wrote {entry} (the leaf entry) with .tlog-proof and .spicy beside it")
