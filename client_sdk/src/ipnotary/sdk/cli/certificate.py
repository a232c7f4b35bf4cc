"""``notary certificate``: download a record's certificate, checked offline before it is saved
(``--pdf``: the signed, printable PDF with the certificate attached; ``--vc``: the certificate as
a W3C Verifiable Credential)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import err, fail

__all__ = ["certificate"]


def certificate(
    record_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The record's id (ev_..., wk_..., ts_...)", show_default=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Where to write it (--pdf: ID.certificate.pdf, --vc: ID.certificate.vc.json)",
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    wait: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Wait up to SECONDS for the certificate (sealing, anchoring, witnesses, TSAs)",
        ),
    ] = 0.0,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="The signed, printable PDF (the JSON attached to it)")
    ] = False,
    vc: Annotated[
        bool,
        typer.Option(
            "--vc", help="The certificate as a W3C Verifiable Credential (docs/credentials.md)"
        ),
    ] = False,
) -> None:
    """Download a record's certificate (checked offline before it is saved)."""
    from ipnotary.sdk.client import STAGES
    from ipnotary.sdk.errors import ClientSDKError

    if pdf and vc:
        fail("give --pdf or --vc, not both", 2)
    if output is None and not (pdf or vc):
        fail("give -o FILE: where to write the certificate", 2)
    target = output or Path(f"{record_id}.certificate.{'vc.json' if vc else 'pdf'}")
    shared = None

    def waiting(stage: str) -> None:
        err.print(f"waiting for {STAGES.get(stage, stage)}", soft_wrap=True)

    try:
        with options.open_client(url, api_key) as client:
            if wait > 0:
                client.wait_anchored(record_id, timeout=wait, on_stage=waiting)
            if pdf:
                document = client.certificate_pdf(record_id)  # its signature and attachment
                data, shared = document.data, document.shared_link
            elif vc:
                data = client.credential(record_id)  # its proof, then its certificate
            else:
                data = client.certificate(record_id).to_json_bytes()
    except (ClientSDKError, TimeoutError) as exc:
        fail(str(exc))
    target.write_bytes(data)
    err.print(f"certificate for {record_id} written to {target}")
    if shared:
        err.print(f"anyone with this link can open it (no API key): {shared}", soft_wrap=True)
