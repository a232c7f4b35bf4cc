"""``notary fingerprint``: the digests and CIDs of files, computed here as the service would."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli.output import out

__all__ = ["fingerprint"]


def fingerprint(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="FILE",
            help="The files to fingerprint (nothing is sent anywhere)",
            show_default=False,
        ),
    ],
) -> None:
    """Print SHA-256, SM3 and IPFS CIDs of files, as the service would compute them."""
    from ipnotary.sdk.fingerprint import fingerprint_file

    for path in files:
        fp = fingerprint_file(path)
        out.print_json(
            data={
                "file": str(path),
                "size": fp.size,
                "sha256": fp.sha256,
                "sm3": fp.sm3,
                "cid": fp.cid,
                "cid_v1": fp.cid_v1,
            }
        )
