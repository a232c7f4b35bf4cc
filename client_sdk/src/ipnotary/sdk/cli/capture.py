"""``notary capture URL``: have the service capture a web page as evidence (docs/capture.md),
and save the signed WACZ and, once anchored, its certificate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import out

if TYPE_CHECKING:
    from ipnotary.sdk.client import NotaryClient

__all__ = ["capture"]


def capture(
    page: Annotated[str, typer.Argument(metavar="URL", help="The page to capture (http or https)")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Save the WACZ here (ID.wacz)"),
    ] = None,
    certificate: Annotated[
        Path | None,
        typer.Option(
            "--certificate",
            metavar="FILE",
            help="Wait until the record is anchored and save its certificate here",
        ),
    ] = None,
    wait: Annotated[
        float, typer.Option(metavar="SECONDS", help="How long to wait for the certificate")
    ] = 60.0,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable answer")] = False,
) -> None:
    """Capture a web page: screenshot, PDF, MHTML, WARC, TLS chains, DNS answers and the
    clean-environment check in one signed WACZ, anchored as one record."""
    from ipnotary.sdk.kinds import RecordKind

    submission = options.call(url, api_key, lambda client: client.capture(page))
    record = submission.receipt.record
    wacz = output or Path(f"{submission.id}.wacz")
    options.call(
        url,
        api_key,
        lambda client: client.download_content(submission.id, wacz, kind=RecordKind.capture),
    )
    saved_certificate = None
    if certificate is not None:

        def fetch(client: NotaryClient) -> bytes:
            client.wait_anchored(submission.id, timeout=wait, kind=RecordKind.capture)
            return client.certificate(submission.id, kind=RecordKind.capture).to_json_bytes()

        certificate.write_bytes(options.call(url, api_key, fetch))
        saved_certificate = str(certificate)
    answer = {
        "record_id": submission.id,
        "url": record.get("url"),
        "final_url": record.get("final_url"),
        "captured_at": record.get("captured_at"),
        "environment_clean": record.get("environment", {}).get("clean"),
        "blocked_requests": record.get("blocked_requests"),
        "wacz": str(wacz),
        "certificate": saved_certificate,
    }
    if as_json:
        out.print_json(data=answer)
        return
    for name, value in answer.items():
        out.print(f"{name:<20} {value}", soft_wrap=True, highlight=False)
