"""``notary secret``: file a trade secret (encrypted here), disclose it to one arbitrator or
notary, and open a filing disclosed to you."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.keys import load_keys
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, KeysOpt, PasswordOpt, UrlOpt
from ipnotary.sdk.cli.output import err, fail, out

__all__ = ["secret_app"]

secret_app = typer.Typer(no_args_is_help=True, help="File, disclose and open trade secrets.")

AllowClassicOpt = Annotated[
    bool,
    typer.Option(
        "--allow-classic",
        help="Accept classic X25519 key wrapping when the recipient has no ML-KEM-768 key "
        "(a future quantum computer could open it); refused otherwise",
    ),
]


@secret_app.command("file")
def secret_file(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            metavar="FILE",
            help="The secret to file (encrypted here; only ciphertext leaves this machine)",
            show_default=False,
        ),
    ],
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
    label: Annotated[
        str | None, typer.Option(help="Public label; must not reveal the secret")
    ] = None,
    allow_classic: AllowClassicOpt = False,
) -> None:
    """Encrypt a trade secret here and file only the ciphertext and a salted commitment; the
    data key is wrapped to the keys in your key file, never to a document the service sends."""
    from ipnotary.sdk.errors import ClientSDKError

    keys = load_keys(keys_file, password)
    try:
        with options.open_client(url, api_key) as client:
            sub = client.file_trade_secret(path, keys, label=label, allow_classic=allow_classic)
    except ClientSDKError as exc:
        fail(str(exc))
    out.print_json(
        data={"id": sub.id, "created": sub.created, "commitment": sub.receipt.record["commitment"]}
    )


@secret_app.command("disclose")
def secret_disclose(
    filing_id: Annotated[
        str, typer.Argument(metavar="ID", help="The filing's id (ts_...)", show_default=False)
    ],
    to: Annotated[str, typer.Option("--to", help="The arbitrator's or notary's principal id")],
    signing_key_id: Annotated[
        str,
        typer.Option(
            "--signing-key-id",
            help="The recipient's signing key id, as they gave it to you out of band ('notary keys "
            "show' prints it); any key document it did not sign is refused",
        ),
    ],
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
    allow_classic: AllowClassicOpt = False,
) -> None:
    """Disclose a filing to one arbitrator or notary; the disclosure itself is anchored."""
    from ipnotary.sdk.errors import ClientSDKError

    keys = load_keys(keys_file, password)
    try:
        with options.open_client(url, api_key) as client:
            sub = client.disclose_trade_secret(
                filing_id, keys, to, signing_key_id=signing_key_id, allow_classic=allow_classic
            )
    except ClientSDKError as exc:
        fail(str(exc))
    recipient = sub.receipt.record["recipient"]
    err.print(
        f"sealed to {to}'s key {recipient['key_id']}, signed by {signing_key_id}", soft_wrap=True
    )
    out.print_json(
        data={
            "disclosure_id": sub.id,
            "filing_id": filing_id,
            "recipient": to,
            "key_id": recipient["key_id"],
        }
    )


@secret_app.command("open")
def secret_open(
    filing_id: Annotated[
        str, typer.Argument(metavar="ID", help="The filing's id (ts_...)", show_default=False)
    ],
    keys_file: KeysOpt,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", metavar="FILE", help="Where to write the opened secret"),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
) -> None:
    """Decrypt a filing disclosed to you (or your own) and check it against its commitment."""
    from ipnotary.sdk.errors import ClientSDKError

    keys = load_keys(keys_file, password)
    try:
        with options.open_client(url, api_key) as client:
            opened = client.open_trade_secret(filing_id, keys, output)
    except ClientSDKError as exc:
        fail(str(exc))
    out.print_json(
        data={
            "path": str(opened.path),
            "size": opened.size,
            "sha256": opened.sha256,
            "commitment": opened.commitment,
        }
    )
