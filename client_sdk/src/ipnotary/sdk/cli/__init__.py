"""The ``notary`` command, the verifier's and the client's side of it.

It comes with the SDK (``pip install ip-notary-sdk``), so a notary's, a court's or a platform's
machine checks certificates with nothing of the server installed: ``verify``, ``fingerprint``,
``claim-check``, ``secret open``, ``policy``, ``proof export`` and the status checks of the credit
and pledge registers, and the client commands that talk to a service (``submit``,
``certificate``, ``work``, ``credit``, ``pledge``, ``secret``, ``keys``). Client commands take
``--url``/``--api-key`` or ``NOTARY_URL``/``NOTARY_API_KEY``; ``verify`` needs neither.

An installed service adds its own commands (``serve``, ``deploy``, ``principal`` ...) through the
``ipnotary.cli`` entry point (see :func:`main`), so there is one ``notary`` command whatever is
installed.

One module per command or command group: :mod:`~ipnotary.sdk.cli.records` (``submit``,
``status``), :mod:`~ipnotary.sdk.cli.certificate`, :mod:`~ipnotary.sdk.cli.verify`,
:mod:`~ipnotary.sdk.cli.claims` (``claim-check``), :mod:`~ipnotary.sdk.cli.fingerprint`,
:mod:`~ipnotary.sdk.cli.keys`, :mod:`~ipnotary.sdk.cli.secret`, :mod:`~ipnotary.sdk.cli.credit`,
:mod:`~ipnotary.sdk.cli.pledge`, :mod:`~ipnotary.sdk.cli.work`, :mod:`~ipnotary.sdk.cli.policy`
and :mod:`~ipnotary.sdk.cli.proof`. The options they share and the client they open are in
:mod:`~ipnotary.sdk.cli.options`, what they print and how they end in
:mod:`~ipnotary.sdk.cli.output`. Each imports the rest of the SDK only when its command runs, so
``notary --help`` stays quick. This module puts them together in the order ``notary --help``
lists them, and runs the whole.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Annotated, Any

import typer
from rich.markup import escape

from ipnotary.sdk.cli import (
    capture,
    case,
    certificate,
    claims,
    complaint,
    credit,
    fingerprint,
    keys,
    notarial,
    pledge,
    policy,
    proof,
    records,
    secret,
    verify,
    work,
)
from ipnotary.sdk.cli.output import err, fail, out

__all__ = [
    "COMMANDS_ENTRY_POINT",
    "AddCommands",
    "add_installed_commands",
    "app",
    "err",
    "fail",
    "main",
    "out",
    "run",
]

_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "int range": "INTEGER"}


def _readable_types() -> None:
    """Help names what to give, not Python types: Typer 0.29 prints ``<bool>`` beside every
    flag, ``<list[Path]>`` beside every argument whatever its metavar, and ``<str>``,
    ``<float>`` or a strptime format beside an option without one. A flag takes nothing; an
    argument's metavar (``FILE``) already says what it takes; the rest read as click writes them
    (``TEXT``, ``INTEGER``, ``PATH``, ``TIME``)."""
    from typer.core import TyperArgument, TyperOption

    option_type = TyperOption.display_type_rich

    # Any: Typer passes its own vendored click's Context, which it does not export.
    def option(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        shown = option_type(self, ctx)
        if shown is None or not shown.startswith("<"):
            return shown  # a metavar of ours
        label = shown.strip("<>.").removeprefix("list[").removesuffix("]")
        return "TIME" if "%" in label else _TYPE_NAMES.get(label, label.upper())

    def argument(self: TyperArgument, ctx: Any) -> str | None:
        return None

    TyperOption.display_type_rich = option  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument  # type: ignore[method-assign, assignment]


_readable_types()

# No pretty tracebacks: main() turns every error into one line (NOTARY_DEBUG=1 for the traceback).
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="IP notary: evidence, works, trade secrets, credit and pledges, verifiable "
    "without trusting the operator.",
)


def _show_version(value: bool) -> None:
    if value:
        from ipnotary.sdk._version import __version__

        typer.echo(f"notary {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the release (as /healthz reports the service's) and exit",
        ),
    ] = False,
) -> None:
    """IP notary: evidence, works, trade secrets, credit and pledges, verifiable without trusting
    the operator."""


app.command()(records.submit)
app.command()(records.status)
app.command()(certificate.certificate)
app.command()(verify.verify)
app.command()(capture.capture)
app.command("claim-check")(claims.claim_check)
app.command()(fingerprint.fingerprint)
app.add_typer(keys.keys_app, name="keys")
app.add_typer(secret.secret_app, name="secret")
app.add_typer(credit.credit_app, name="credit")
app.add_typer(pledge.pledge_app, name="pledge")
app.add_typer(work.work_app, name="work")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(proof.proof_app, name="proof")
app.add_typer(notarial.notarial_app, name="notarial")
app.add_typer(case.case_app, name="case")
app.add_typer(complaint.complaint_app, name="complaint")


# Commands another installed distribution adds to `notary` (the service: serve, deploy, principal
# ...): each entry point names a function that adds them to the app and returns the error types
# its commands raise for a user's mistake, which main() then reports in one line too.
COMMANDS_ENTRY_POINT = "ipnotary.cli"
AddCommands = Callable[[typer.Typer], tuple[type[Exception], ...]]


def add_installed_commands(command: typer.Typer) -> tuple[type[Exception], ...]:
    """Add every installed distribution's commands to ``command``; their user-error types."""
    user_errors: list[type[Exception]] = []
    for entry in entry_points(group=COMMANDS_ENTRY_POINT):
        add: AddCommands = entry.load()
        user_errors.extend(add(command))
    return tuple(user_errors)


def run(command: typer.Typer, user_errors: tuple[type[Exception], ...] = ()) -> None:
    """Run ``command``. Every error a user can cause ends in one line that says what went wrong
    (exit status 2), never a traceback; ``NOTARY_DEBUG=1`` shows the traceback."""
    from ipnotary.sdk.errors import ClientSDKError

    expected: tuple[type[Exception], ...] = (ClientSDKError, OSError, ValueError, *user_errors)
    try:
        command()
    except KeyboardInterrupt:
        sys.exit(130)
    except expected as exc:
        if os.environ.get("NOTARY_DEBUG"):
            raise
        err.print(f"[red]error:[/red] {escape(str(exc) or type(exc).__name__)}", soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # a bug: still one line, and how to see more
        if os.environ.get("NOTARY_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with NOTARY_DEBUG=1 for the traceback, and report it)",
            soft_wrap=True,
        )
        sys.exit(70)


def main() -> None:
    """The ``notary`` console script: the SDK's commands and those of every installed plugin."""
    run(app, add_installed_commands(app))
