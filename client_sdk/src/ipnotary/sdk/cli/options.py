"""Options several command groups share, and what they open: the service (``--url``,
``--api-key``), the trust policy (``--policy``), the chain (``--rpc`` or ``--chain-data``), the
moment asked about (``--as-of``) and the key files.

Commands reach the service through :func:`open_client` looked up on this module when they run
(``options.open_client(...)``, never a name imported from here), so a test can hand every command
a client over its own transport by replacing that one function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ipnotary.sdk.cli.output import fail

if TYPE_CHECKING:  # imported when a command runs: `notary --help` stays quick
    from ipnotary.sdk.chain_view import RegistryChainView
    from ipnotary.sdk.client import NotaryClient
    from ipnotary.sdk.policy import TrustPolicy

__all__ = [
    "DEFAULT_URL",
    "AsOfOpt",
    "ChainDataOpt",
    "ChainSource",
    "JsonFile",
    "KeyOpt",
    "KeysOpt",
    "PasswordOpt",
    "PolicyOpt",
    "RpcOpt",
    "UrlOpt",
    "call",
    "chain_source",
    "load_policy",
    "open_chain_view",
    "open_client",
]

T = TypeVar("T")

UrlOpt = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="NOTARY_URL",
        metavar="URL",
        help="The notary service's base URL (or NOTARY_URL)",
    ),
]
KeyOpt = Annotated[
    str,
    typer.Option(
        "--api-key",
        envvar="NOTARY_API_KEY",
        metavar="KEY",
        show_default=False,
        help="Your API key (or NOTARY_API_KEY)",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"

PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        envvar="NOTARY_TRUST_POLICY",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        help="Your trust policy (JSON; docs/trust.md says how to obtain one out of band)",
    ),
]
# Where a command reads the chain: any node of it, or (beside a service with the embedded chain)
# its data directory. Neither: the answer is checked offline only.
RpcOpt = Annotated[
    str | None,
    typer.Option(
        "--rpc", metavar="URL", help="Any JSON-RPC node of the chain (the SDK's 'chain' extra)"
    ),
]
ChainDataOpt = Annotated[
    Path | None,
    typer.Option(
        "--chain-data",
        metavar="DIR",
        help="An embedded chain's data directory (read-only), instead of --rpc",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIME",
        help="The moment asked about (RFC 3339, UTC without an offset; default: now)",
    ),
]
KeysOpt = Annotated[
    Path,
    typer.Option("--keys", metavar="FILE", help="Your private key file ('notary keys generate')"),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="NOTARY_KEY_PASSWORD",
        metavar="PASSWORD",
        show_default=False,
        help="Key file password (or NOTARY_KEY_PASSWORD)",
    ),
]
JsonFile = Annotated[
    Path,
    typer.Option(
        "--file",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        help="The JSON document to send (see the command's docs)",
    ),
]


def open_client(url: str, api_key: str | None, policy: TrustPolicy | None = None) -> NotaryClient:
    """The client every command that talks to the service uses."""
    from ipnotary.sdk.client import NotaryClient

    return NotaryClient(url, api_key, policy=policy)


def call(
    url: str,
    api_key: str,
    fn: Callable[[NotaryClient], T],
    *,
    policy: TrustPolicy | None = None,
) -> T:
    """``fn(client)``; the service's refusal, or no answer, ends the command in one line."""
    from ipnotary.sdk.errors import ClientSDKError, VerificationError

    try:
        with open_client(url, api_key, policy) as client:
            return fn(client)
    except VerificationError:
        raise  # the caller reports a failed check as INVALID
    except ClientSDKError as exc:
        fail(str(exc))


def load_policy(path: Path | None) -> TrustPolicy | None:
    """The trust policy at ``path`` (None without one); one that does not parse: exit 2."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    if path is None:
        return None
    try:
        return TrustPolicy.load(path)
    except FormatError as exc:
        fail(str(exc), 2)


@dataclass(frozen=True)
class ChainSource:
    """Where a command reads the chain: a node (``rpc_url``) or an embedded chain's directory
    (``embedded_dir``); exactly one is set. The arguments of ``open_chain_view`` and
    ``open_pledge_reader``."""

    rpc_url: str | None
    embedded_dir: Path | None


def chain_source(rpc: str | None, chain_data: Path | None) -> ChainSource | None:
    """Where ``--rpc``/``--chain-data`` say to read the chain, or None to check offline only."""
    if rpc and chain_data:
        fail("give --rpc or --chain-data, not both", 2)
    if not rpc and not chain_data:
        return None
    return ChainSource(rpc_url=rpc, embedded_dir=chain_data)


def open_chain_view(rpc: str | None, chain_data: Path | None) -> RegistryChainView | None:
    """The verifier's view of the chain ``--rpc``/``--chain-data`` name; None without either."""
    source = chain_source(rpc, chain_data)
    if source is None:
        return None
    from ipnotary.sdk.chain_view import open_chain_view as open_view

    return open_view(rpc_url=source.rpc_url, embedded_dir=source.embedded_dir)
