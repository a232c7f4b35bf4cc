"""``notary certificate``: download a record's certificate, checked offline before it is saved."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, UrlOpt
from ipnotary.sdk.cli.output import err, fail

__all__ = ["certificate"]


def certificate(
    record_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the certificate")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    wait: Annotated[float, typer.Option(help="Seconds to wait for anchoring")] = 0.0,
) -> None:
    """Download a record's certificate (checked offline before it is saved)."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with options.open_client(url, api_key) as client:
            if wait > 0:
                client.wait_anchored(record_id, timeout=wait)
            cert = client.certificate(record_id)
    except (ClientSDKError, TimeoutError) as exc:
        fail(str(exc))
    output.write_bytes(cert.to_json_bytes())
    err.print(f"certificate for {record_id} written to {output}")
