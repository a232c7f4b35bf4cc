"""``notary witness``: run a C2SP tlog-witness for a log you do not operate.

A notary office, arbitration commission, court or platform runs this on its own machine::

    notary witness init --name court.example/witness      # prints the vkey to give the log operator
                                        # (--algorithm ml-dsa-44: a post-quantum cosigning key)
    notary witness add-log --origin <log origin> --key <the log's vkey>
    notary witness serve --listen 127.0.0.1:7380          # put TLS in front to expose it
    notary witness show

Everything lives in one directory (``--dir``, or ``NOTARY_WITNESS_DIR``): the key
(``witness-key.pem``, mode 0600) and the state (``witness.db``). Nothing here reads the notary
service's settings or database.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ipnotary.sdk.numerals import is_ascii_digits
from ipnotary.witness.errors import WitnessError
from ipnotary.witness.protocol import Witness, init_witness, open_witness

__all__ = ["add_witness_commands", "witness_app"]

witness_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Run a C2SP tlog-witness: cosign a log's checkpoints with your own key.",
)

DEFAULT_DIR = Path("notary-witness")
DEFAULT_LISTEN = "127.0.0.1:7380"
DirOpt = Annotated[
    Path,
    typer.Option("--dir", envvar="NOTARY_WITNESS_DIR", help="Witness directory (key and state)"),
]


def _fail(exc: Exception) -> typer.Exit:
    print(f"error: {exc}", file=sys.stderr)
    return typer.Exit(1)


def _open(directory: Path) -> Witness:
    try:
        return open_witness(directory)
    except WitnessError as exc:
        raise _fail(exc) from None


def _parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not is_ascii_digits(port) or not 0 < int(port) < 65536:
        raise typer.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:7380", param_hint="--listen")
    return host, int(port)


@witness_app.command()
def init(
    name: Annotated[str, typer.Option(help="The witness's name, e.g. court.example/witness")],
    directory: DirOpt = DEFAULT_DIR,
    algorithm: Annotated[
        str,
        typer.Option(
            metavar="ed25519|ml-dsa-44",
            help="The cosignature key: ed25519 (cosignature/v1, what every client reads) or "
            "ml-dsa-44 (post-quantum, C2SP tlog-cosignature; for clients that read it)",
        ),
    ] = "ed25519",
) -> None:
    """Create the witness key and state; print the vkey to give to the log operator."""
    try:
        witness = init_witness(directory, name, algorithm=algorithm)
    except WitnessError as exc:
        raise _fail(exc) from None
    print(witness.vkey)


@witness_app.command("add-log")
def add_log(
    origin: Annotated[str, typer.Option(help="The log's checkpoint origin line")],
    key: Annotated[str, typer.Option(help="The log's verifier key (vkey, Ed25519 type 0x01)")],
    directory: DirOpt = DEFAULT_DIR,
) -> None:
    """Follow a log (from size 0), or trust another key for it (rotation)."""
    witness = _open(directory)
    try:
        changed = witness.add_log(origin, key)
    except WitnessError as exc:
        raise _fail(exc) from None
    key_name = key.split("+", 1)[0]
    if key_name != origin:
        print(f"warning: the key is named {key_name!r}, not the origin {origin!r}", file=sys.stderr)
    print(f"{'added' if changed else 'already known'}: {origin}", file=sys.stderr)


@witness_app.command()
def serve(
    listen: Annotated[str, typer.Option(help="HOST:PORT to listen on")] = DEFAULT_LISTEN,
    directory: DirOpt = DEFAULT_DIR,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Answer POST /add-checkpoint until stopped."""
    import uvicorn

    from ipnotary.witness.app import create_app

    host, port = _parse_listen(listen)
    witness = _open(directory)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(
            "warning: listening beyond loopback; terminate TLS in front of the witness",
            file=sys.stderr,
        )
    print(
        f"notary witness {witness.name}: serving on http://{listen}\n  vkey {witness.vkey}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(witness),
        host=host,
        port=port,
        log_level=log_level,
        timeout_keep_alive=30,
        server_header=False,
    )


@witness_app.command()
def show(
    directory: DirOpt = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print the witness's vkey and, for each log, the size and root last cosigned."""
    witness = _open(directory)
    logs = witness.state.logs()
    if as_json:
        print(
            json.dumps(
                {
                    "name": witness.name,
                    "vkey": witness.vkey,
                    "logs": [
                        {
                            "origin": log.origin,
                            "size": log.size,
                            "root": base64.b64encode(log.root).decode(),
                            "keys": list(log.keys),
                            "updated_at": log.updated_at,
                            "refused_checkpoints": log.refusals,
                        }
                        for log in logs
                    ],
                },
                indent=2,
            )
        )
        return
    print(f"name: {witness.name}\nvkey: {witness.vkey}")
    for log in logs:
        print(f"log {log.origin}\n  size {log.size}  root {base64.b64encode(log.root).decode()}")
        for key in log.keys:
            print(f"  key {key}")
        if log.refusals:
            print(f"  refused checkpoints kept as evidence: {log.refusals}")


def add_witness_commands(command: typer.Typer) -> tuple[type[Exception], ...]:
    """The ``ipnotary.cli`` entry point: ``notary witness ...`` on the SDK's command; the error
    types its commands raise for a user's mistake. Adding them twice changes nothing."""
    if all(group.typer_instance is not witness_app for group in command.registered_groups):
        command.add_typer(witness_app, name="witness")
    return (WitnessError,)
