"""``notary keys``: the trade-secret recipient keys, kept in a file on your machine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ipnotary.sdk.cli import options
from ipnotary.sdk.cli.options import DEFAULT_URL, KeyOpt, KeysOpt, PasswordOpt, UrlOpt
from ipnotary.sdk.cli.output import err, fail, out

if TYPE_CHECKING:
    from ipnotary.sdk.trade_secret import RecipientKeys

__all__ = ["keys_app", "load_keys"]

keys_app = typer.Typer(
    no_args_is_help=True, help="Trade-secret recipient keys (kept on your machine)."
)


def load_keys(path: Path, password: str | None) -> RecipientKeys:
    """The key file at ``path``; one that does not open: exit 2."""
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.trade_secret import RecipientKeys

    try:
        return RecipientKeys.load(path, password=password)
    except (ClientSDKError, OSError) as exc:
        fail(f"cannot load keys from {path}: {exc}", 2)


def _print_key_ids(keys: RecipientKeys) -> None:
    # soft_wrap: an id broken across lines would be copied wrong.
    err.print(f"key id (encryption):  {keys.key_id}", soft_wrap=True)
    if keys.signing_key_id is None:
        err.print(
            "[yellow]no signing key:[/yellow] this file predates signed key documents; "
            "'notary keys upgrade' adds one (the key id stays, old filings still open)"
        )
        return
    err.print(f"signing key id:       {keys.signing_key_id}", soft_wrap=True)
    err.print(
        "Give the signing key id to anyone who will disclose a secret to you, out of band "
        "(in person, a signed letter, a call you place): they pass it as --signing-key-id, "
        "and their SDK refuses any key document it did not sign."
    )


@keys_app.command("generate")
def keys_generate(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Private key file to create (0600)")
    ],
    password: PasswordOpt = None,
    classic_only: Annotated[
        bool, typer.Option(help="X25519 only, no ML-KEM-768 (not advised)")
    ] = False,
) -> None:
    """Create your recipient keys (hybrid ML-KEM-768 + X25519, and the Ed25519 key that signs
    your key document). Keep the file; back it up."""
    from ipnotary.sdk.trade_secret import RecipientKeys

    keys = RecipientKeys.generate(post_quantum=not classic_only)
    keys.save(output, password=password)
    out.print_json(data=keys.public_document())
    err.print(f"private keys written to {output}", soft_wrap=True)
    _print_key_ids(keys)


@keys_app.command("show")
def keys_show(keys_file: KeysOpt, password: PasswordOpt = None) -> None:
    """Print the ids of your keys (the signing key id is the one to give out of band)."""
    keys = load_keys(keys_file, password)
    out.print_json(
        data={
            "key_id": keys.key_id,
            "signing_key_id": keys.signing_key_id,
            "post_quantum": keys.has_hybrid,
        }
    )
    _print_key_ids(keys)


@keys_app.command("upgrade")
def keys_upgrade(
    keys_file: KeysOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="New private key file (0600)")],
    password: PasswordOpt = None,
) -> None:
    """Add a signing key to a key file made before key documents were signed. The encryption
    keys and their key id stay, so filings wrapped to the old file open with the new one."""
    keys = load_keys(keys_file, password)
    try:
        upgraded = keys.with_signing_key()
        upgraded.save(output, password=password)
    except (ValueError, OSError) as exc:
        fail(str(exc), 2)
    err.print(f"private keys written to {output}; register them again ('notary keys register')")
    _print_key_ids(upgraded)


@keys_app.command("register")
def keys_register(
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
) -> None:
    """Publish your signed key document so filings and disclosures can be sealed to it."""
    from ipnotary.sdk.errors import ClientSDKError

    keys = load_keys(keys_file, password)
    try:
        with options.open_client(url, api_key) as client:
            key_id = client.register_encryption_key(keys)
    except ClientSDKError as exc:
        fail(str(exc))
    out.print(f"registered key {key_id}, signed by {keys.signing_key_id}", soft_wrap=True)
