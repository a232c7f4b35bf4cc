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
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

if TYPE_CHECKING:  # the commands import the SDK when they run: `notary --help` stays quick
    from ipnotary.sdk.errors import VerificationError

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


keys_app = typer.Typer(
    no_args_is_help=True, help="Trade-secret recipient keys (kept on your machine)."
)
app.add_typer(keys_app, name="keys")
secret_app = typer.Typer(no_args_is_help=True, help="File, disclose and open trade secrets.")
app.add_typer(secret_app, name="secret")
credit_app = typer.Typer(no_args_is_help=True, help="The IP credit register (Art. 34).")
app.add_typer(credit_app, name="credit")
pledge_app = typer.Typer(no_args_is_help=True, help="IP pledge registrations (Art. 27).")
app.add_typer(pledge_app, name="pledge")
work_app = typer.Typer(
    no_args_is_help=True,
    help="Register works (copyright) and look up who registered content first.",
)
app.add_typer(work_app, name="work")
policy_app = typer.Typer(no_args_is_help=True, help="Trust policies for verifying certificates.")
app.add_typer(policy_app, name="policy")
proof_app = typer.Typer(
    no_args_is_help=True, help="Export a certificate's log proof for other tools."
)
app.add_typer(proof_app, name="proof")

out = Console()
err = Console(stderr=True)

UrlOpt = Annotated[str, typer.Option("--url", envvar="NOTARY_URL", help="Service base URL")]
KeyOpt = Annotated[str, typer.Option("--api-key", envvar="NOTARY_API_KEY", help="Your API key")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _client(url: str, api_key: str | None, policy: Any = None) -> Any:
    from ipnotary.sdk.client import NotaryClient

    return NotaryClient(url, api_key, policy=policy)


def fail(message: str, code: int = 1) -> None:
    # One line, however long; the message is text, not markup (`[chain]` in it must stay).
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def submit(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    source_url: Annotated[str | None, typer.Option()] = None,
    case_reference: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Repeatable")] = None,
    digest_only: Annotated[
        bool, typer.Option(help="Send only the fingerprint; keep the file")
    ] = False,
    receipt_dir: Annotated[Path | None, typer.Option(help="Save each signed receipt here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Preserve files as evidence; prints each record id and saves receipts."""
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.fingerprint import fingerprint_file

    metadata = {
        "title": title,
        "description": description,
        "source_url": source_url,
        "case_reference": case_reference,
        "tags": tag or None,
    }
    metadata = {k: v for k, v in metadata.items() if v}
    rows: list[dict[str, Any]] = []
    with _client(url, api_key) as client:
        for path in files:
            try:
                if digest_only:
                    fp = fingerprint_file(path)
                    sub = client.submit_digest(
                        sha256=fp.sha256, sm3=fp.sm3, size=fp.size, metadata=metadata
                    )
                else:
                    size = path.stat().st_size
                    with Progress(
                        "[progress.description]{task.description}",
                        BarColumn(),
                        DownloadColumn(),
                        TransferSpeedColumn(),
                        console=err,
                        transient=True,
                        disable=size < 8 << 20,
                    ) as progress:
                        task = progress.add_task(path.name, total=size)
                        sub = client.submit_file(
                            path,
                            metadata=metadata,
                            progress=lambda n, t=task: progress.advance(t, n),
                        )
            except ClientSDKError as exc:
                fail(f"{path}: {exc}")
                return
            if receipt_dir:
                receipt_dir.mkdir(parents=True, exist_ok=True)
                (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
            rows.append(
                {
                    "file": str(path),
                    "record_id": sub.id,
                    "created": sub.created,
                    "sha256": sub.receipt.record["content"]["sha256"],
                }
            )
    _print_rows(rows, as_json=as_json, ids=("record_id", "sha256"))


def _print_rows(rows: list[dict[str, Any]], *, as_json: bool, ids: tuple[str, ...] = ()) -> None:
    """Rows as JSON (``--json``), as tab-separated lines when piped, or as a table on a terminal;
    an identifier is never cut or wrapped (a copied id must be the whole id)."""
    if as_json:
        out.print_json(data=rows)
        return
    if not rows:
        return
    if not sys.stdout.isatty():
        for row in rows:
            typer.echo("\t".join(str(v) for v in row.values()))
        return
    table = Table()
    for key in rows[0]:
        longest = max(len(str(r[key])) for r in rows)
        table.add_column(
            key.replace("_", " "), no_wrap=key in ids, min_width=longest if key in ids else None
        )
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)


@app.command()
def status(record_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Show a record and whether it is anchored."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with _client(url, api_key) as client:
            view = client.get(record_id)
    except ClientSDKError as exc:
        fail(str(exc))
        return
    out.print_json(data=view)


@app.command()
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
        with _client(url, api_key) as client:
            if wait > 0:
                client.wait_anchored(record_id, timeout=wait)
            cert = client.certificate(record_id)
    except (ClientSDKError, TimeoutError) as exc:
        fail(str(exc))
        return
    output.write_bytes(cert.to_json_bytes())
    err.print(f"certificate for {record_id} written to {output}")


PolicyOpt = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        envvar="NOTARY_TRUST_POLICY",
        exists=True,
        dir_okay=False,
        help="Your trust policy (JSON; docs/trust.md says how to obtain one out of band)",
    ),
]
# Where a command reads the chain: any node of it, or (beside a service with the embedded chain)
# its data directory. Neither: the answer is checked offline only.
RpcOpt = Annotated[
    str | None,
    typer.Option("--rpc", help="Any JSON-RPC node of the chain (the SDK's 'chain' extra)"),
]
ChainDataOpt = Annotated[
    Path | None,
    typer.Option(
        "--chain-data", help="An embedded chain's data directory (read-only), instead of --rpc"
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="The moment asked about (RFC 3339, UTC without an offset; default: now)"
    ),
]

# Exit statuses of `verify`: 0 valid under the policy, 1 invalid, 2 could not check (bad input,
# unreadable chain), 4 self-consistent but not trusted (no policy given).
EXIT_NOT_TRUSTED = 4


@app.command()
def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="[FILE] CERT: the notarised file (optional) and the certificate JSON",
            metavar="[FILE] CERT",
        ),
    ],
    policy: PolicyOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    confirmations: Annotated[
        int | None,
        typer.Option(min=1, help="Blocks required on top of the anchor (default: the policy's)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Verify a certificate under your trust policy, offline or against the chain.

    Exit status 0 = valid, 1 = invalid, 2 = could not check, 4 = not trusted (no policy given:
    the certificate is self-consistent, but nobody you trust vouches for it).
    """
    from ipnotary.sdk.errors import ChainReadError, FormatError, VerificationError
    from ipnotary.sdk.policy import TrustPolicy
    from ipnotary.sdk.verify import verify_certificate

    if len(paths) > 2:
        fail("give at most two paths: [FILE] CERT", 2)
    file, cert = (paths[0], paths[1]) if len(paths) == 2 else (None, paths[0])
    try:
        raw = cert.read_bytes()
        trust = TrustPolicy.load(policy) if policy else None
    except OSError as exc:
        fail(f"cannot read {cert}: {exc}", 2)
        return
    except FormatError as exc:
        fail(str(exc), 2)
        return
    chain = None
    try:
        chain = _open_chain_view(rpc, chain_data)
        result = verify_certificate(
            raw, trust, content=file, chain=chain, min_confirmations=confirmations
        )
    except VerificationError as exc:
        if as_json:
            out.print_json(
                data={
                    "verdict": "invalid",
                    "valid": False,
                    "failed_step": exc.step,
                    "reason": exc.reason,
                }
            )
        else:
            _print_invalid(exc)
        raise typer.Exit(1) from None
    except ChainReadError as exc:
        fail(f"could not read the chain: {exc}", 2)
        return
    finally:
        if chain is not None and hasattr(chain, "close"):
            chain.close()
    report = _verification_report(result)
    if as_json:
        out.print_json(data=report)
    else:
        _print_verification(result, report)
    if not result.trusted:
        raise typer.Exit(EXIT_NOT_TRUSTED)


def _verification_report(result: Any) -> dict[str, Any]:
    return {
        "verdict": result.verdict.value,
        "valid": result.trusted,
        "record_id": result.record_id,
        "kind": result.kind,
        "certificate_version": result.certificate_version,
        "proven_time": result.proven_time.isoformat(),
        "time_source": result.time_source.value,
        "time_evidence": [
            {"source": e.source.value, "time": e.time.isoformat(), "detail": e.detail}
            for e in result.time_evidence
        ],
        "log_origin": result.log_origin,
        "leaf_index": result.leaf_index,
        "tree_size": result.tree_size,
        "witnesses": list(result.witnesses),
        "chain_id": result.chain_id,
        "contract": result.contract,
        "batch_id": result.batch_id,
        "block_number": result.block_number,
        "anchored_at": result.anchored_at.isoformat(),
        "confirmations": result.confirmations,
        "issuer_key_id": result.issuer_key_id,
        "content_checked": result.content_checked,
        "chain_checked": result.chain_checked,
        "steps": list(result.steps),
        "notes": list(result.notes),
    }


def _print_verification(result: Any, report: dict[str, Any]) -> None:
    from ipnotary.sdk.verify import TimeSource

    if not result.trusted:
        out.print(
            "[bold yellow]NOT TRUSTED[/bold yellow]: the certificate is self-consistent, but "
            "no trust policy was given, so nobody you trust vouches for it (--policy FILE)"
        )
    elif result.time_source is TimeSource.OPERATOR:
        out.print(
            "[bold green]VALID[/bold green] [yellow](the time rests on the operator alone)[/yellow]"
        )
    else:
        out.print("[bold green]VALID[/bold green]")
    # Plain "name  value" lines, never a table: a table cuts long ids to fit the terminal, and a
    # key id or record id copied from here must be whole.
    lines = [("existed by", f"{report['proven_time']} ({result.time_source.value})")]
    lines += [
        (f"  {e.source.value}", f"{e.time.isoformat()}: {e.detail}") for e in result.time_evidence
    ]
    for key in (
        "record_id",
        "kind",
        "certificate_version",
        "log_origin",
        "leaf_index",
        "tree_size",
        "witnesses",
        "chain_id",
        "contract",
        "block_number",
        "anchored_at",
        "confirmations",
        "issuer_key_id",
        "content_checked",
        "chain_checked",
        "steps",
    ):
        value = report[key]
        lines.append((key, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    for name, value in lines:
        out.print(f"{name:<20} {value}", soft_wrap=True, highlight=False)
    for note in result.notes:
        err.print(f"[yellow]note:[/yellow] {note}")
    if not result.chain_checked:
        err.print(
            "[yellow]The chain was not consulted; pass --rpc (or --chain-data) to check the "
            "anchor on chain.[/yellow]"
        )


def _chain_source(rpc: str | None, chain_data: Path | None) -> dict[str, Any] | None:
    """Where a command reads the chain (``open_chain_view``/``open_pledge_reader`` arguments),
    or None to check offline only."""
    if rpc and chain_data:
        fail("give --rpc or --chain-data, not both", 2)
    if not rpc and not chain_data:
        return None
    return {"rpc_url": rpc, "embedded_dir": chain_data}


def _open_chain_view(rpc: str | None, chain_data: Path | None) -> Any:
    source = _chain_source(rpc, chain_data)
    if source is None:
        return None
    from ipnotary.sdk.chain_view import open_chain_view

    return open_chain_view(**source)


def _print_invalid(exc: VerificationError) -> None:
    out.print(f"[bold red]INVALID[/bold red] at step [bold]{exc.step}[/bold]: {exc.reason}")


@app.command("claim-check")
def claim_check(
    cert: Annotated[list[Path], typer.Option("--cert", help="A certificate (repeatable)")],
    claimant_name: Annotated[str, typer.Option()],
    claimant_id_type: Annotated[str, typer.Option(help="uscc, cn_resident_id, passport or other")],
    claimant_id: Annotated[str, typer.Option()],
    listing_date: Annotated[str, typer.Option(help="YYYY-MM-DD or an RFC 3339 time")],
    listing_file: Annotated[Path | None, typer.Option(help="The listing's content")] = None,
    listing_sha256: Annotated[str | None, typer.Option(help="Or its SHA-256")] = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check an infringement complaint. Exit 0 = supported, 1 = not supported, 3 = inconclusive."""
    from datetime import date, datetime

    from ipnotary.sdk.claims import Claimant, Complaint, check_infringement_claim
    from ipnotary.sdk.errors import ChainReadError, FormatError

    try:
        when: date | datetime = (
            datetime.fromisoformat(listing_date)
            if "T" in listing_date
            else date.fromisoformat(listing_date)
        )
    except ValueError:
        fail(f"--listing-date {listing_date!r} is not YYYY-MM-DD or an RFC 3339 time", 2)
        return
    complaint = Complaint(
        certificates=[p.read_bytes() for p in cert],
        claimant=Claimant(claimant_name, claimant_id_type, claimant_id),
        listing_date=when,
        listing_content=listing_file,
        listing_sha256=listing_sha256,
    )
    from ipnotary.sdk.policy import TrustPolicy

    chain = _open_chain_view(rpc, chain_data)
    try:
        trust = TrustPolicy.load(policy) if policy else None
        verdict = check_infringement_claim(complaint, policy=trust, chain=chain)
    except (FormatError, ChainReadError) as exc:
        fail(str(exc), 2)
        return
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(
            data={
                "verdict": verdict.verdict,
                "summary": verdict.summary(),
                "findings": [
                    {
                        "check": f.check,
                        "outcome": f.outcome.value,
                        "detail": f.detail,
                        "record_id": f.record_id,
                    }
                    for f in verdict.findings
                ],
            }
        )
    else:
        colour = {"supported": "green", "not_supported": "red"}.get(verdict.verdict, "yellow")
        out.print(f"[bold {colour}]{verdict.verdict.upper()}[/bold {colour}]")
        # One line a finding, never wrapped by us: a digest or id in a detail is copied whole.
        for f in verdict.findings:
            out.print(
                f"{f.check:<16} {f.outcome.value:<12} {f.detail}",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
    raise typer.Exit({"supported": 0, "not_supported": 1}.get(verdict.verdict, 3))


@app.command()
def fingerprint(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
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


KeysOpt = Annotated[
    Path, typer.Option("--keys", help="Your private key file ('notary keys generate')")
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="NOTARY_KEY_PASSWORD",
        help="Key file password (or NOTARY_KEY_PASSWORD)",
    ),
]


def _load_keys(path: Path, password: str | None) -> Any:
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.trade_secret import RecipientKeys

    try:
        return RecipientKeys.load(path, password=password)
    except (ClientSDKError, OSError) as exc:
        fail(f"cannot load keys from {path}: {exc}", 2)


def _print_key_ids(keys: Any) -> None:
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
    keys = _load_keys(keys_file, password)
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
    keys = _load_keys(keys_file, password)
    try:
        upgraded = keys.with_signing_key()
        upgraded.save(output, password=password)
    except (ValueError, OSError) as exc:
        fail(str(exc), 2)
        return
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

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            key_id = client.register_encryption_key(keys)
    except ClientSDKError as exc:
        fail(str(exc))
        return
    out.print(f"registered key {key_id}, signed by {keys.signing_key_id}", soft_wrap=True)


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
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
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

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            sub = client.file_trade_secret(path, keys, label=label, allow_classic=allow_classic)
    except ClientSDKError as exc:
        fail(str(exc))
        return
    out.print_json(
        data={"id": sub.id, "created": sub.created, "commitment": sub.receipt.record["commitment"]}
    )


@secret_app.command("disclose")
def secret_disclose(
    filing_id: str,
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

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            sub = client.disclose_trade_secret(
                filing_id, keys, to, signing_key_id=signing_key_id, allow_classic=allow_classic
            )
    except ClientSDKError as exc:
        fail(str(exc))
        return
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
    filing_id: str,
    keys_file: KeysOpt,
    output: Annotated[Path, typer.Option("-o", "--output")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
) -> None:
    """Decrypt a filing disclosed to you (or your own) and check it against its commitment."""
    from ipnotary.sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            opened = client.open_trade_secret(filing_id, keys, output)
    except ClientSDKError as exc:
        fail(str(exc))
        return
    out.print_json(
        data={
            "path": str(opened.path),
            "size": opened.size,
            "sha256": opened.sha256,
            "commitment": opened.commitment,
        }
    )


JsonFile = Annotated[Path, typer.Option("--file", exists=True, dir_okay=False, help="JSON body")]


def _call(url: str, api_key: str, fn: Any, *, policy: Any = None) -> Any:
    from ipnotary.sdk.errors import ClientSDKError, VerificationError

    try:
        with _client(url, api_key, policy) as client:
            return fn(client)
    except VerificationError:
        raise  # the caller reports a failed check as INVALID
    except ClientSDKError as exc:
        fail(str(exc))


def _load_policy(path: Path | None) -> Any:
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    if path is None:
        return None
    try:
        return TrustPolicy.load(path)
    except FormatError as exc:
        fail(str(exc), 2)


def _untrusted_exit(policy: Any) -> None:
    if policy is None:
        err.print(
            "[yellow]NOT TRUSTED: no trust policy was given (--policy), so nobody you trust "
            "vouches for this answer; it is only self-consistent.[/yellow]"
        )
        raise typer.Exit(EXIT_NOT_TRUSTED)


@credit_app.command("record")
def credit_record(
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    opening_out: Annotated[Path | None, typer.Option(help="Save the opening here")] = None,
) -> None:
    """Record a good or dishonest conduct entry (credit authority). Keep the opening it prints."""
    sub, opening = _call(
        url, api_key, lambda c: c.record_credit_entry(json.loads(file.read_text()))
    )
    if opening_out:
        opening_out.write_text(json.dumps(opening, indent=2))
    out.print_json(data={"id": sub.id, "opening": opening})


@credit_app.command("status")
def credit_status(
    subject: Annotated[str, typer.Argument(help="type:id, e.g. uscc:91350100M000100Y43")],
    url: UrlOpt = DEFAULT_URL,
    as_of: AsOfOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """A subject's credit class and public entries, verified under your trust policy (on chain
    with --rpc/--chain-data). Exit 4 without a policy: nobody you trust vouches for the answer."""
    from ipnotary.sdk.errors import VerificationError

    trust = _load_policy(policy)
    chain = _open_chain_view(rpc, chain_data)
    try:
        status = _call(
            url, "", lambda c: c.credit_status(subject, as_of=as_of, chain=chain), policy=trust
        )
    except VerificationError as exc:
        _print_invalid(exc)
        raise typer.Exit(1) from None
    finally:
        if chain is not None:
            chain.close()
    out.print_json(
        data={
            "subject": status.subject,
            "class": status.credit_class,
            "as_of": status.as_of.isoformat(),
            "chain_checked": status.chain_checked,
            "trusted": trust is not None,
            "entries": list(status.entries),
            "unchecked": [
                {"entry_id": u.entry_id, "counted": u.counted, "reason": u.reason}
                for u in status.unchecked
            ],
        }
    )
    _untrusted_exit(trust)


@credit_app.command("apply-repair")
def credit_apply(
    entry_id: str,
    statement: Annotated[str, typer.Option()],
    evidence_sha256: Annotated[
        list[str] | None,
        typer.Option(
            "--evidence-sha256",
            help="SHA-256 of a document you send the authority (repeat for each)",
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Apply for repair of an entry about you. Keep the id it prints: `notary credit repair ID`
    shows the decision."""
    out.print_json(
        data=_call(
            url,
            api_key,
            lambda c: c.apply_credit_repair(entry_id, statement, evidence_sha256 or ()),
        )
    )


@credit_app.command("repairs")
def credit_repairs(
    status: Annotated[str, typer.Option(help="pending, approved or rejected")] = "pending",
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Repair applications on the entries you recorded (credit authority): the id that
    `decide-repair` takes, the applicant's statement and the digests of its evidence."""
    rows = _call(url, api_key, lambda c: c.credit_repairs(status))
    if as_json:
        out.print_json(data=rows)
        return
    _print_rows(
        [
            {
                "id": r["id"],
                "entry_id": r["entry_id"],
                "submitted_at": r["submitted_at"],
                "decision": r["decision"],
                "statement": r["statement"] or "(erased)",
                "evidence_sha256": " ".join(r["evidence_sha256"]) or "-",
            }
            for r in rows
        ],
        as_json=False,
        ids=("id", "entry_id", "evidence_sha256"),
    )


@credit_app.command("repair")
def credit_repair(repair_id: int, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """One repair application and its decision (the applicant, or the deciding authority)."""
    out.print_json(data=_call(url, api_key, lambda c: c.credit_repair(repair_id)))


@credit_app.command("decide-repair")
def credit_decide(
    repair_id: int,
    reason: Annotated[str, typer.Option()],
    approve: Annotated[bool, typer.Option("--approve/--reject")] = True,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
) -> None:
    """Approve or reject a repair application (the authority that recorded the entry)."""
    out.print_json(
        data=_call(
            url,
            api_key,
            lambda c: c.decide_credit_repair(repair_id, approve=approve, reason=reason),
        )
    )


@pledge_app.command("register")
def pledge_register(
    file: JsonFile,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            help="Same on every retry of this registration, new for a new pledge "
            "(default: the file's SHA-256, so re-running the command answers with the first "
            "registration)",
        ),
    ] = None,
) -> None:
    """Register a pledge: --file holds {"asset": {...}, "terms": {...}} (see docs/pledges.md); the
    terms name the pledgee's key (pledgee_key, from 'notary pledge keygen')."""
    import hashlib

    raw = file.read_bytes()
    body = json.loads(raw)
    key = idempotency_key or f"sha256-{hashlib.sha256(raw).hexdigest()}"
    out.print_json(
        data=_call(
            url,
            api_key,
            lambda c: c.register_pledge(body["asset"], body["terms"], idempotency_key=key),
        )
    )


@pledge_app.command("amend")
def pledge_amend(
    pledge_id: int, file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = ""
) -> None:
    """Replace a pledge's terms (--file holds the new terms; the parties and pledgee key cannot
    change)."""
    terms = json.loads(file.read_text())
    out.print_json(data=_call(url, api_key, lambda c: c.amend_pledge(pledge_id, terms)))


PledgeeKeyOpt = Annotated[
    Path,
    typer.Option("--key", help="The pledgee's private signing key file ('notary pledge keygen')"),
]
ConsentOpt = Annotated[
    Path,
    typer.Option(
        "--consent",
        exists=True,
        dir_okay=False,
        help="The pledgee's signed consent ('notary pledge consent' on the pledgee's side)",
    ),
]


def _load_pledgee_key(path: Path, password: str | None) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password.encode() if password else None)
    except (OSError, ValueError, TypeError) as exc:
        fail(f"cannot load the signing key from {path}: {exc}", 2)
    if not isinstance(key, Ed25519PrivateKey):
        fail(f"{path} holds no Ed25519 key", 2)
    return key


@pledge_app.command("keygen")
def pledge_keygen(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Private key file to create (0600)")
    ],
    password: PasswordOpt = None,
) -> None:
    """Create a pledgee's Ed25519 signing key. Prints the public key: put it in the pledge's terms
    as pledgee_key. Releases and enforcements then need a consent signed with this key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from ipnotary.sdk.signing import public_key_to_b64

    key = Ed25519PrivateKey.generate()
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{output} exists; choose another file", 2)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    out.print_json(data={"pledgee_key": public_key_to_b64(key.public_key())})
    err.print(f"private key written to {output}; keep it: it alone consents to releases")


@pledge_app.command("consent")
def pledge_consent(
    pledge_id: int,
    action: Annotated[str, typer.Option(help="release or enforce")],
    key: PledgeeKeyOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the consent")],
    party_id_type: Annotated[
        str | None,
        typer.Option(
            "--party-id-type",
            help="Your id type as the pledgee (default: as the register shows it)",
        ),
    ] = None,
    party_id: Annotated[
        str | None,
        typer.Option(
            "--party-id", help="Your id as the pledgee (default: as the register shows it)"
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    chain_id: Annotated[
        int | None, typer.Option(help="Sign offline: the pledge's chain id")
    ] = None,
    contract: Annotated[str | None, typer.Option(help="Sign offline: its registry address")] = None,
    password: PasswordOpt = None,
) -> None:
    """As the pledgee: sign your consent to release (or your demand to enforce) one pledge. The
    consent names the pledge, its registry and chain, so it is good for nothing else; hand the
    file to the pledge registrar ('notary pledge release ID --consent FILE')."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.pledges import pledge_act, sign_pledge_act

    signer = _load_pledgee_key(key, password)
    if None in (chain_id, contract, party_id_type, party_id):
        view = _call(url, "", lambda c: c.pledge(pledge_id))
        pledgee = view["terms"]["pledgee"]
        chain_id = view["chain_id"] if chain_id is None else chain_id
        contract = view["contract"] if contract is None else contract
        party_id_type = pledgee["id_type"] if party_id_type is None else party_id_type
        party_id = pledgee["id"] if party_id is None else party_id
        err.print(
            f"pledge {pledge_id}: {json.dumps(view['asset'], ensure_ascii=False)}, pledgee "
            f"{pledgee['name']}, status {view['status']}",
            soft_wrap=True,
        )
    assert chain_id is not None and contract is not None
    assert party_id_type is not None and party_id is not None
    try:
        act = pledge_act(
            chain_id=chain_id,
            contract=contract,
            pledge_id=pledge_id,
            action=action,
            party={"id_type": party_id_type, "id": party_id},
        )
    except FormatError as exc:
        fail(str(exc), 2)
    output.write_text(json.dumps(sign_pledge_act(signer, act), indent=2) + "\n")
    out.print_json(data=act)


def _close_pledge(method: str, pledge_id: int, consent: Path, url: str, api_key: str) -> None:
    signed = json.loads(consent.read_text())
    out.print_json(data=_call(url, api_key, lambda c: getattr(c, method)(pledge_id, signed)))


@pledge_app.command("release")
def pledge_release(
    pledge_id: int, consent: ConsentOpt, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = ""
) -> None:
    """Release a pledge you registered, with the pledgee's signed consent."""
    _close_pledge("release_pledge", pledge_id, consent, url, api_key)


@pledge_app.command("enforce")
def pledge_enforce(
    pledge_id: int, consent: ConsentOpt, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = ""
) -> None:
    """Record enforcement of a pledge you registered, on the pledgee's signed demand."""
    _close_pledge("enforce_pledge", pledge_id, consent, url, api_key)


@pledge_app.command("status")
def pledge_status(
    asset_type: Annotated[str, typer.Option()],
    number: Annotated[str, typer.Option()],
    url: UrlOpt = DEFAULT_URL,
    as_of: AsOfOpt = None,
    rpc: RpcOpt = None,
    chain_data: ChainDataOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """Is the asset pledged (as of a time), and to whom; verified under your trust policy, on chain
    with --rpc/--chain-data. Exit 4 without a policy: nobody you trust vouches for the answer."""
    from ipnotary.sdk.chain_view import open_pledge_reader
    from ipnotary.sdk.errors import VerificationError
    from ipnotary.sdk.pledges import verify_pledge_status

    trust = _load_policy(policy)
    source = _chain_source(rpc, chain_data)
    doc = _call(url, "", lambda c: c.pledge_status(asset_type, number, as_of=as_of, verify=False))
    # An unreadable chain or a missing dependency is a ChainReadError: one line, exit 2 (run()).
    reader = (
        None
        if source is None
        else open_pledge_reader(registry_address=doc["chain"]["contract"], **source)
    )
    try:
        verified = verify_pledge_status(doc, reader=reader, policy=trust)
    except VerificationError as exc:
        _print_invalid(exc)
        raise typer.Exit(1) from None
    finally:
        if reader is not None:
            reader.close()
    out.print_json(
        data={
            "asset": verified.asset_key,
            "as_of": verified.as_of.isoformat(),
            "pledged": verified.pledged,
            "pledge_id": verified.pledge_id,
            "pledgee": verified.pledgee,
            "pledgor": verified.pledgor,
            "block_number": verified.block_number,
            "chain_checked": verified.chain_checked,
            "trusted": trust is not None,
        }
    )
    _untrusted_exit(trust)


def _load_work(path: Path) -> dict[str, Any]:
    try:
        work = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        fail(f"{path}: not JSON describing a work ({exc})", 2)
    if not isinstance(work, dict):
        fail(
            f"{path}: a work is a JSON object (title, work_type, authors, copyright_owner, "
            "completed_on; docs/works.md)",
            2,
        )
    return work


@work_app.command("register")
def work_register(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The work's content")
    ],
    work: Annotated[
        Path,
        typer.Option(
            "--work", exists=True, dir_okay=False, help="JSON describing the work (docs/works.md)"
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    digest_only: Annotated[
        bool, typer.Option(help="Send only the fingerprint; keep the file")
    ] = False,
    receipt_dir: Annotated[Path | None, typer.Option(help="Save the signed receipt here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Register a work (holder): prints its id (wk_...). Content someone else registered earlier
    is accepted but flagged, here and in the record."""
    from ipnotary.sdk.errors import ClientSDKError
    from ipnotary.sdk.fingerprint import fingerprint_file

    details = _load_work(work)
    try:
        with _client(url, api_key) as client:
            if digest_only:
                fp = fingerprint_file(file)
                sub = client.register_work_digest(
                    details, sha256=fp.sha256, size=fp.size, sm3=fp.sm3
                )
            else:
                size = file.stat().st_size
                with Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=err,
                    transient=True,
                    disable=size < 8 << 20,
                ) as progress:
                    task = progress.add_task(file.name, total=size)
                    sub = client.register_work(
                        file, details, progress=lambda n: progress.advance(task, n)
                    )
    except ClientSDKError as exc:
        fail(f"{file}: {exc}")
        return
    if receipt_dir:
        receipt_dir.mkdir(parents=True, exist_ok=True)
        (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
    sha256 = sub.receipt.record["content"]["sha256"]
    prior = list(sub.prior_registrations)
    if as_json:
        out.print_json(
            data={
                "id": sub.id,
                "created": sub.created,
                "status": sub.status,
                "sha256": sha256,
                "prior_registrations": prior,
            }
        )
        return
    _print_rows(
        [{"file": str(file), "record_id": sub.id, "created": sub.created, "sha256": sha256}],
        as_json=False,
        ids=("record_id", "sha256"),
    )
    for p in prior:
        err.print(
            f"[yellow]registered earlier by someone else:[/yellow] {p['id']} "
            f"({p['copyright_owner']}, {p['received_at']})",
            soft_wrap=True,
        )


@work_app.command("lookup")
def work_lookup(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Content to look up (hashed here)"
        ),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option("--sha256", help="Its SHA-256 instead (hex)")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Who registered this content as a work, in anchor order: the first (prior) registered it
    first. Owners' identity numbers are masked unless you may read them."""
    import hashlib

    if (file is None) == (sha256 is None):
        fail("give the content's FILE or --sha256 HEX (one of them)", 2)
    if file is not None:
        with open(file, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    else:
        digest = (sha256 or "").strip().lower()
    try:
        registrations = _call(url, api_key, lambda c: c.work_registrations(digest))
    except ValueError as exc:
        fail(str(exc), 2)
    if as_json:
        out.print_json(data={"sha256": digest, "registrations": list(registrations)})
        return
    if not registrations:
        err.print(f"nobody has registered content {digest} as a work here", soft_wrap=True)
        return
    _print_rows(
        [
            {
                "id": r["id"],
                "prior": r["prior"],
                "anchored": r["anchored"],
                "received_at": r["received_at"],
                "holder": r["holder"].get("name", ""),
                "copyright_owner": r["work"].get("copyright_owner", {}).get("name", ""),
                "title": r["work"].get("title", ""),
            }
            for r in registrations
        ],
        as_json=False,
        ids=("id", "received_at"),
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
        return
    if not isinstance(parsed, Certificate):
        fail("a version 1 certificate has no log proof to export", 2)
        return
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


@policy_app.command("fetch")
def policy_fetch(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the policy")],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Save the trust policy a service suggests. Check every key in it out of band before you
    rely on it: taking it from the service is trusting the service (docs/trust.md)."""
    from ipnotary.sdk.errors import ClientSDKError

    try:
        with _client(url, None) as client:
            policy = client.trust_policy()
    except ClientSDKError as exc:
        fail(str(exc))
        return
    output.write_bytes(policy.to_json_bytes())
    _print_policy(policy)
    err.print(
        f"[yellow]Written to {output}. This is what the operator suggests: confirm the log "
        "key with the operator's published statement and each witness key with that "
        "witness before relying on it.[/yellow]"
    )


@policy_app.command("show")
def policy_show(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Show what a trust policy trusts, with the fingerprints to compare out of band."""
    from ipnotary.sdk.errors import FormatError
    from ipnotary.sdk.policy import TrustPolicy

    try:
        policy = TrustPolicy.load(file)
    except FormatError as exc:
        fail(str(exc), 2)
        return
    _print_policy(policy, as_json=as_json)


def _print_policy(policy: Any, *, as_json: bool = False) -> None:
    rows: list[dict[str, Any]] = []
    if policy.log:
        rows += [
            {"trusts": "log", "what": policy.log.origin, "key": key} for key in policy.log.keys
        ]
    for issuer in policy.issuers:
        window = f"{issuer.not_before or '…'} to {issuer.not_after or '…'}"
        rows.append(
            {
                "trusts": "issuer",
                "what": f"{issuer.name or 'issuer'} ({window})",
                "key": issuer.key_id,
            }
        )
    rows += [{"trusts": "witness", "what": w.name, "key": w.key} for w in policy.witnesses.members]
    rows.append(
        {
            "trusts": "quorum",
            "what": f"{policy.witnesses.quorum} of {len(policy.witnesses.members)}",
            "key": "",
        }
    )
    rows += [
        {"trusts": "TSA", "what": tsa.name, "key": _cert_fingerprint(root)}
        for tsa in policy.timestamp_authorities
        for root in tsa.roots
    ]
    rows += [
        {
            "trusts": "chain (time)",
            "what": f"chain {c.chain_id}, registry {c.registry}",
            "key": c.genesis_hash,
        }
        for c in policy.chains
    ]
    _print_rows(rows, as_json=as_json, ids=("key",))
    if policy.notice:
        err.print(f"[yellow]{policy.notice}[/yellow]")
    if not policy.require_independent_time:
        err.print(
            "[yellow]This policy accepts certificates whose time only the operator "
            "attests.[/yellow]"
        )


def _cert_fingerprint(certificate: Any) -> str:
    from cryptography.hazmat.primitives import hashes

    return "SHA-256 " + certificate.fingerprint(hashes.SHA256()).hex()


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
