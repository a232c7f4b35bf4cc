"""The ``notary`` command: run the service, manage principals, and use it as a client.

Service commands read the same ``NOTARY_*`` variables as the service (``notary.config.Settings``);
client commands take ``--url``/``--api-key`` or ``NOTARY_URL``/``NOTARY_API_KEY``. ``verify`` needs
neither: it checks a certificate with the file and, optionally, any node of the chain.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from notary.witness.cli import witness_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
principal_app = typer.Typer(no_args_is_help=True, help="Create principals and API keys.")
app.add_typer(principal_app, name="principal")
keys_app = typer.Typer(no_args_is_help=True, help="Trade-secret recipient keys (kept on your machine).")
app.add_typer(keys_app, name="keys")
secret_app = typer.Typer(no_args_is_help=True, help="File, disclose and open trade secrets.")
app.add_typer(secret_app, name="secret")
credit_app = typer.Typer(no_args_is_help=True, help="The IP credit register (Art. 34).")
app.add_typer(credit_app, name="credit")
pledge_app = typer.Typer(no_args_is_help=True, help="IP pledge registrations (Art. 27).")
app.add_typer(pledge_app, name="pledge")
policy_app = typer.Typer(no_args_is_help=True, help="Trust policies for verifying certificates.")
app.add_typer(policy_app, name="policy")
log_app = typer.Typer(no_args_is_help=True, help="The service's append-only log (its identity).")
app.add_typer(log_app, name="log")
proof_app = typer.Typer(no_args_is_help=True, help="Export a certificate's log proof for other tools.")
app.add_typer(proof_app, name="proof")
app.add_typer(witness_app, name="witness")

out = Console()
err = Console(stderr=True)

UrlOpt = Annotated[str, typer.Option("--url", envvar="NOTARY_URL", help="Service base URL")]
KeyOpt = Annotated[str, typer.Option("--api-key", envvar="NOTARY_API_KEY", help="Your API key")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _client(url: str, api_key: str | None, policy: Any = None) -> Any:
    from client_sdk.client import NotaryClient

    return NotaryClient(url, api_key, policy=policy)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (NOTARY_BIND_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (NOTARY_BIND_PORT)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (NOTARY_DATA_DIR)")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (NOTARY_WORKERS)")] = None,
) -> None:
    """Run the service (embedded chain, content store and SQLite unless configured otherwise)."""
    import uvicorn

    from notary.config import Settings

    for name, value in (("BIND_HOST", host), ("BIND_PORT", port), ("DATA_DIR", data_dir),
                        ("WORKERS", workers)):
        if value is not None:
            os.environ[f"NOTARY_{name}"] = str(value)
    settings = Settings()
    settings.check_safety()
    err.print(f"notary: serving on http://{settings.bind_host}:{settings.bind_port} "
              f"(data in {settings.data_dir.resolve()}, chain {settings.chain_backend.value}, "
              f"content {settings.content_backend.value})")
    uvicorn.run(
        "notary.api.app:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.bind_port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )


@principal_app.command("create")
def principal_create(
    name: Annotated[str, typer.Option(help="Display name, e.g. the company or office")],
    role: Annotated[str, typer.Option(help="holder, notary, arbitrator, platform, "
                                           "credit_authority, pledge_registrar or admin")],
    subject: Annotated[str | None, typer.Option(
        help="The subject this principal speaks for, checked by you: type:id, e.g. "
             "uscc:91350100M000100Y43 (lets it apply for credit repair)")] = None,
) -> None:
    """Create a principal in the service's database and print its API key (shown once)."""
    from sqlmodel import Session

    from notary.config import Settings
    from notary.errors import NotaryError
    from notary.services.principals import create_principal
    from notary.storage.db import create_db_engine, migrate

    settings = Settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    try:
        with Session(engine) as session:
            new = create_principal(session, name=name, role=role, identifier=subject)
    except NotaryError as exc:
        _fail(exc.detail)
        return
    finally:
        engine.dispose()
    out.print_json(data={"id": new.principal.id, "name": new.principal.name,
                         "role": new.principal.role, "api_key": new.api_key})
    err.print("[yellow]Store the API key now: only its hash is kept.[/yellow]")


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
    digest_only: Annotated[bool, typer.Option(help="Send only the fingerprint; keep the file")] = False,
    receipt_dir: Annotated[Path | None, typer.Option(help="Save each signed receipt here")] = None,
) -> None:
    """Preserve files as evidence; prints each record id and saves receipts."""
    from client_sdk.errors import ClientSDKError
    from client_sdk.fingerprint import fingerprint_file

    metadata = {"title": title, "description": description, "source_url": source_url,
                "case_reference": case_reference, "tags": tag or None}
    metadata = {k: v for k, v in metadata.items() if v}
    table = Table("file", "record id", "new", "sha256")
    with _client(url, api_key) as client:
        for path in files:
            try:
                if digest_only:
                    fp = fingerprint_file(path)
                    sub = client.submit_digest(sha256=fp.sha256, sm3=fp.sm3, size=fp.size,
                                               metadata=metadata)
                else:
                    size = path.stat().st_size
                    with Progress("[progress.description]{task.description}", BarColumn(),
                                  DownloadColumn(), TransferSpeedColumn(), console=err,
                                  transient=True, disable=size < 8 << 20) as progress:
                        task = progress.add_task(path.name, total=size)
                        sub = client.submit_file(path, metadata=metadata,
                                                 progress=lambda n: progress.advance(task, n))
            except ClientSDKError as exc:
                _fail(f"{path}: {exc}")
                return
            if receipt_dir:
                receipt_dir.mkdir(parents=True, exist_ok=True)
                (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
            table.add_row(str(path), sub.id, "yes" if sub.created else "no",
                          sub.receipt.record["content"]["sha256"][:16] + "…")
    out.print(table)


@app.command()
def status(record_id: str, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Show a record and whether it is anchored."""
    from client_sdk.errors import ClientSDKError

    try:
        with _client(url, api_key) as client:
            view = client.get(record_id)
    except ClientSDKError as exc:
        _fail(str(exc))
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
    from client_sdk.errors import ClientSDKError

    try:
        with _client(url, api_key) as client:
            if wait > 0:
                client.wait_anchored(record_id, timeout=wait)
            cert = client.certificate(record_id)
    except (ClientSDKError, TimeoutError) as exc:
        _fail(str(exc))
        return
    output.write_bytes(cert.to_json_bytes())
    err.print(f"certificate for {record_id} written to {output}")


PolicyOpt = Annotated[Path | None, typer.Option(
    "--policy", envvar="NOTARY_TRUST_POLICY", exists=True, dir_okay=False,
    help="Your trust policy (JSON; docs/trust.md says how to obtain one out of band)")]

# Exit statuses of `verify`: 0 valid under the policy, 1 invalid, 2 could not check (bad input,
# unreadable chain), 4 self-consistent but not trusted (no policy given).
EXIT_NOT_TRUSTED = 4


@app.command()
def verify(
    paths: Annotated[list[Path], typer.Argument(
        help="[FILE] CERT: the notarised file (optional) and the certificate JSON",
        metavar="[FILE] CERT")],
    policy: PolicyOpt = None,
    rpc: Annotated[str | None, typer.Option(help="Any JSON-RPC node of the certificate's chain")] = None,
    chain_data: Annotated[Path | None, typer.Option(
        help="An embedded chain's data directory (read-only), instead of --rpc")] = None,
    confirmations: Annotated[int | None, typer.Option(
        min=1, help="Blocks required on top of the anchor (default: the policy's)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Verify a certificate under your trust policy, offline or against the chain.

    Exit status 0 = valid, 1 = invalid, 2 = could not check, 4 = not trusted (no policy given:
    the certificate is self-consistent, but nobody you trust vouches for it).
    """
    from client_sdk.errors import ChainReadError, FormatError, VerificationError
    from client_sdk.policy import TrustPolicy
    from client_sdk.verify import verify_certificate

    if len(paths) > 2:
        _fail("give at most two paths: [FILE] CERT", 2)
    file, cert = (paths[0], paths[1]) if len(paths) == 2 else (None, paths[0])
    try:
        raw = cert.read_bytes()
        trust = TrustPolicy.load(policy) if policy else None
    except OSError as exc:
        _fail(f"cannot read {cert}: {exc}", 2)
        return
    except FormatError as exc:
        _fail(str(exc), 2)
        return
    chain = None
    try:
        chain = _open_chain_view(rpc, chain_data)
        result = verify_certificate(raw, trust, content=file, chain=chain,
                                    min_confirmations=confirmations)
    except VerificationError as exc:
        if as_json:
            out.print_json(data={"verdict": "invalid", "valid": False, "failed_step": exc.step,
                                 "reason": exc.reason})
        else:
            out.print(f"[bold red]INVALID[/bold red] at step [bold]{exc.step}[/bold]: {exc.reason}")
        raise typer.Exit(1) from None
    except ChainReadError as exc:
        _fail(f"could not read the chain: {exc}", 2)
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
        "time_evidence": [{"source": e.source.value, "time": e.time.isoformat(), "detail": e.detail}
                          for e in result.time_evidence],
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
    from client_sdk.verify import TimeSource

    if not result.trusted:
        out.print("[bold yellow]NOT TRUSTED[/bold yellow]: the certificate is self-consistent, but "
                  "no trust policy was given, so nobody you trust vouches for it (--policy FILE)")
    elif result.time_source is TimeSource.OPERATOR:
        out.print("[bold green]VALID[/bold green] [yellow](the time rests on the operator alone)"
                  "[/yellow]")
    else:
        out.print("[bold green]VALID[/bold green]")
    table = Table(show_header=False)
    table.add_row("existed by", f"{report['proven_time']} ({result.time_source.value})")
    for e in result.time_evidence:
        table.add_row(f"  {e.source.value}", f"{e.time.isoformat()}: {e.detail}")
    for key in ("record_id", "kind", "certificate_version", "log_origin", "leaf_index", "tree_size",
                "witnesses", "chain_id", "contract", "block_number", "anchored_at",
                "confirmations", "issuer_key_id", "content_checked", "chain_checked", "steps"):
        value = report[key]
        table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    out.print(table)
    for note in result.notes:
        err.print(f"[yellow]note:[/yellow] {note}")
    if not result.chain_checked:
        err.print("[yellow]The chain was not consulted; pass --rpc (or --chain-data) to check the "
                  "anchor on chain.[/yellow]")


def _open_chain_view(rpc: str | None, chain_data: Path | None) -> Any:
    if rpc and chain_data:
        _fail("give --rpc or --chain-data, not both", 2)
    if not rpc and not chain_data:
        return None
    from client_sdk.chain_view import open_chain_view

    return open_chain_view(rpc_url=rpc, embedded_dir=chain_data)


@app.command("claim-check")
def claim_check(
    cert: Annotated[list[Path], typer.Option("--cert", help="A certificate (repeatable)")],
    claimant_name: Annotated[str, typer.Option()],
    claimant_id_type: Annotated[str, typer.Option(help="uscc, cn_resident_id, passport or other")],
    claimant_id: Annotated[str, typer.Option()],
    listing_date: Annotated[str, typer.Option(help="YYYY-MM-DD or an RFC 3339 time")],
    listing_file: Annotated[Path | None, typer.Option(help="The listing's content")] = None,
    listing_sha256: Annotated[str | None, typer.Option(help="Or its SHA-256")] = None,
    rpc: Annotated[str | None, typer.Option(help="Any JSON-RPC node of the chain")] = None,
    chain_data: Annotated[Path | None, typer.Option(help="An embedded chain's data directory")] = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check an infringement complaint. Exit 0 = supported, 1 = not supported, 3 = inconclusive."""
    from datetime import date, datetime

    from client_sdk.claims import Claimant, Complaint, check_infringement_claim
    from client_sdk.errors import ChainReadError, FormatError

    try:
        when: date | datetime = (datetime.fromisoformat(listing_date.replace("Z", "+00:00"))
                                 if "T" in listing_date else date.fromisoformat(listing_date))
    except ValueError:
        _fail(f"--listing-date {listing_date!r} is not YYYY-MM-DD or an RFC 3339 time", 2)
        return
    complaint = Complaint(
        certificates=[p.read_bytes() for p in cert],
        claimant=Claimant(claimant_name, claimant_id_type, claimant_id),
        listing_date=when, listing_content=listing_file, listing_sha256=listing_sha256,
    )
    from client_sdk.policy import TrustPolicy

    chain = _open_chain_view(rpc, chain_data)
    try:
        trust = TrustPolicy.load(policy) if policy else None
        verdict = check_infringement_claim(complaint, policy=trust, chain=chain)
    except (FormatError, ChainReadError) as exc:
        _fail(str(exc), 2)
        return
    finally:
        if chain is not None:
            chain.close()
    if as_json:
        out.print_json(data={"verdict": verdict.verdict, "summary": verdict.summary(),
                             "findings": [{"check": f.check, "outcome": f.outcome.value,
                                           "detail": f.detail, "record_id": f.record_id}
                                          for f in verdict.findings]})
    else:
        colour = {"supported": "green", "not_supported": "red"}.get(verdict.verdict, "yellow")
        out.print(f"[bold {colour}]{verdict.verdict.upper()}[/bold {colour}]")
        table = Table("check", "outcome", "detail")
        for f in verdict.findings:
            table.add_row(f.check, f.outcome.value, f.detail)
        out.print(table)
    raise typer.Exit({"supported": 0, "not_supported": 1}.get(verdict.verdict, 3))


@app.command()
def fingerprint(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Print SHA-256, SM3 and IPFS CIDs of files, as the service would compute them."""
    from client_sdk.fingerprint import fingerprint_file

    for path in files:
        fp = fingerprint_file(path)
        out.print_json(data={"file": str(path), "size": fp.size, "sha256": fp.sha256, "sm3": fp.sm3,
                             "cid": fp.cid, "cid_v1": fp.cid_v1})


KeysOpt = Annotated[Path, typer.Option("--keys", help="Your private key file ('notary keys generate')")]
PasswordOpt = Annotated[str | None, typer.Option(
    "--password", envvar="NOTARY_KEY_PASSWORD", help="Key file password (or NOTARY_KEY_PASSWORD)")]


def _load_keys(path: Path, password: str | None) -> Any:
    from client_sdk.errors import ClientSDKError
    from client_sdk.trade_secret import RecipientKeys

    try:
        return RecipientKeys.load(path, password=password)
    except (ClientSDKError, OSError) as exc:
        _fail(f"cannot load keys from {path}: {exc}", 2)


@keys_app.command("generate")
def keys_generate(
    output: Annotated[Path, typer.Option("-o", "--output", help="Private key file to create (0600)")],
    password: PasswordOpt = None,
    classic_only: Annotated[bool, typer.Option(help="X25519 only, no ML-KEM-768 (not advised)")] = False,
) -> None:
    """Create your recipient keys (hybrid ML-KEM-768 + X25519). Keep the file; back it up."""
    from client_sdk.trade_secret import RecipientKeys

    keys = RecipientKeys.generate(post_quantum=not classic_only)
    keys.save(output, password=password)
    out.print_json(data=keys.public_document())
    err.print(f"private keys written to {output}; key id {keys.key_id}")


@keys_app.command("register")
def keys_register(keys_file: KeysOpt, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "",
                  password: PasswordOpt = None) -> None:
    """Publish your public key so filings and disclosures can be sealed to it."""
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            key_id = client.register_encryption_key(keys)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print(f"registered key {key_id}")


@secret_app.command("file")
def secret_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
    label: Annotated[str | None, typer.Option(help="Public label; must not reveal the secret")] = None,
) -> None:
    """Encrypt a trade secret here and file only the ciphertext and a salted commitment."""
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            sub = client.file_trade_secret(path, keys, label=label)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print_json(data={"id": sub.id, "created": sub.created,
                         "commitment": sub.receipt.record["commitment"]})


@secret_app.command("disclose")
def secret_disclose(
    filing_id: str,
    to: Annotated[str, typer.Option("--to", help="The arbitrator's or notary's principal id")],
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
) -> None:
    """Disclose a filing to one arbitrator or notary; the disclosure itself is anchored."""
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            recipient = client.encryption_key(to)
            err.print(f"sealing to {to}, key id {recipient['key_id']}: compare it with the id "
                      "the recipient gave you")
            sub = client.disclose_trade_secret(filing_id, keys, to)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print_json(data={"disclosure_id": sub.id, "filing_id": filing_id, "recipient": to})


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
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            opened = client.open_trade_secret(filing_id, keys, output)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print_json(data={"path": str(opened.path), "size": opened.size, "sha256": opened.sha256,
                         "commitment": opened.commitment})


JsonFile = Annotated[Path, typer.Option("--file", exists=True, dir_okay=False, help="JSON body")]


def _call(url: str, api_key: str, fn: Any, *, policy: Any = None) -> Any:
    from client_sdk.errors import ClientSDKError, VerificationError

    try:
        with _client(url, api_key, policy) as client:
            return fn(client)
    except VerificationError:
        raise  # the caller reports a failed check as INVALID
    except ClientSDKError as exc:
        _fail(str(exc))


def _load_policy(path: Path | None) -> Any:
    from client_sdk.errors import FormatError
    from client_sdk.policy import TrustPolicy

    if path is None:
        return None
    try:
        return TrustPolicy.load(path)
    except FormatError as exc:
        _fail(str(exc), 2)


def _untrusted_exit(policy: Any) -> None:
    if policy is None:
        err.print("[yellow]NOT TRUSTED: no trust policy was given (--policy), so nobody you trust "
                  "vouches for this answer; it is only self-consistent.[/yellow]")
        raise typer.Exit(EXIT_NOT_TRUSTED)


def _party(name: str, id_type: str, id_: str) -> dict[str, str]:
    return {"name": name, "id_type": id_type, "id": id_}


@credit_app.command("record")
def credit_record(file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "",
                  opening_out: Annotated[Path | None, typer.Option(help="Save the opening here")] = None) -> None:
    """Record a good or dishonest conduct entry (credit authority). Keep the opening it prints."""
    sub, opening = _call(url, api_key, lambda c: c.record_credit_entry(json.loads(file.read_text())))
    if opening_out:
        opening_out.write_text(json.dumps(opening, indent=2))
    out.print_json(data={"id": sub.id, "opening": opening})


@credit_app.command("status")
def credit_status(subject: Annotated[str, typer.Argument(help="type:id, e.g. uscc:91350100M000100Y43")],
                  url: UrlOpt = DEFAULT_URL, as_of: Annotated[str | None, typer.Option()] = None,
                  rpc: Annotated[str | None, typer.Option(help="Check the entries against this node")] = None,
                  chain_data: Annotated[Path | None, typer.Option()] = None,
                  policy: PolicyOpt = None) -> None:
    """A subject's credit class and public entries, verified under your trust policy (on chain
    with --rpc/--chain-data). Exit 4 without a policy: nobody you trust vouches for the answer."""
    from client_sdk.errors import VerificationError

    trust = _load_policy(policy)
    chain = _open_chain_view(rpc, chain_data)
    try:
        status = _call(url, "", lambda c: c.credit_status(subject, as_of=as_of, chain=chain),
                       policy=trust)
    except VerificationError as exc:
        out.print(f"[bold red]INVALID[/bold red] at step {exc.step}: {exc.reason}")
        raise typer.Exit(1) from None
    finally:
        if chain is not None:
            chain.close()
    out.print_json(data={"subject": status.subject, "class": status.credit_class,
                         "as_of": status.as_of.isoformat(), "chain_checked": status.chain_checked,
                         "trusted": trust is not None, "entries": list(status.entries)})
    _untrusted_exit(trust)


@credit_app.command("apply-repair")
def credit_apply(entry_id: str, statement: Annotated[str, typer.Option()],
                 url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Apply for repair of an entry about you."""
    out.print_json(data=_call(url, api_key, lambda c: c.apply_credit_repair(entry_id, statement)))


@credit_app.command("decide-repair")
def credit_decide(repair_id: int, reason: Annotated[str, typer.Option()],
                  approve: Annotated[bool, typer.Option("--approve/--reject")] = True,
                  url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Approve or reject a repair application (the authority that recorded the entry)."""
    out.print_json(data=_call(url, api_key, lambda c: c.decide_credit_repair(repair_id, approve=approve,
                                                                             reason=reason)))


@pledge_app.command("register")
def pledge_register(file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Register a pledge: --file holds {"asset": {...}, "terms": {...}} (see docs/pledges.md)."""
    body = json.loads(file.read_text())
    out.print_json(data=_call(url, api_key, lambda c: c.register_pledge(body["asset"], body["terms"])))


@pledge_app.command("amend")
def pledge_amend(pledge_id: int, file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Replace a pledge's terms (--file holds the new terms; the parties cannot change)."""
    terms = json.loads(file.read_text())
    out.print_json(data=_call(url, api_key, lambda c: c.amend_pledge(pledge_id, terms)))


PartyName = Annotated[str, typer.Option("--party-name")]
PartyIdType = Annotated[str, typer.Option("--party-id-type", help="uscc, cn_resident_id, passport, other")]
PartyIdOpt = Annotated[str, typer.Option("--party-id")]


def _close_pledge(method: str, pledge_id: int, party: dict[str, str], url: str, api_key: str) -> None:
    out.print_json(data=_call(url, api_key, lambda c: getattr(c, method)(pledge_id, party)))


@pledge_app.command("release")
def pledge_release(pledge_id: int, party_name: PartyName, party_id_type: PartyIdType, party_id: PartyIdOpt,
                   url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Release a pledge at the request of its pledgor or pledgee."""
    _close_pledge("release_pledge", pledge_id, _party(party_name, party_id_type, party_id), url, api_key)


@pledge_app.command("enforce")
def pledge_enforce(pledge_id: int, party_name: PartyName, party_id_type: PartyIdType, party_id: PartyIdOpt,
                   url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Record enforcement of a pledge by its pledgee."""
    _close_pledge("enforce_pledge", pledge_id, _party(party_name, party_id_type, party_id), url, api_key)


@pledge_app.command("status")
def pledge_status(asset_type: Annotated[str, typer.Option()], number: Annotated[str, typer.Option()],
                  url: UrlOpt = DEFAULT_URL, as_of: Annotated[str | None, typer.Option()] = None,
                  rpc: Annotated[str | None, typer.Option(help="Check the answer on this node")] = None,
                  chain_data: Annotated[Path | None, typer.Option()] = None,
                  policy: PolicyOpt = None) -> None:
    """Is the asset pledged (as of a time), and to whom; verified under your trust policy, on chain
    with --rpc/--chain-data. Exit 4 without a policy: nobody you trust vouches for the answer."""
    trust = _load_policy(policy)
    doc = _call(url, "", lambda c: c.pledge_status(asset_type, number, as_of=as_of, verify=False))
    from chain import PledgeReader
    from client_sdk.errors import VerificationError
    from client_sdk.pledges import verify_pledge_status

    reader = None
    contract = doc["chain"]["contract"]
    if rpc:
        reader = PledgeReader.from_rpc(rpc, registry_address=contract)
    elif chain_data:
        reader = PledgeReader.from_embedded(chain_data, registry_address=contract)
    try:
        verified = verify_pledge_status(doc, reader=reader, policy=trust)
    except VerificationError as exc:
        out.print(f"[bold red]INVALID[/bold red] at step {exc.step}: {exc.reason}")
        raise typer.Exit(1) from None
    finally:
        if reader is not None:
            reader.close()
    out.print_json(data={"asset": verified.asset_key, "as_of": verified.as_of.isoformat(),
                         "pledged": verified.pledged, "pledge_id": verified.pledge_id,
                         "pledgee": verified.pledgee, "pledgor": verified.pledgor,
                         "block_number": verified.block_number, "chain_checked": verified.chain_checked,
                         "trusted": trust is not None})
    _untrusted_exit(trust)


@log_app.command("show")
def log_show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the log's origin and verifier key (creating the key on first use), as each witness
    operator registers them: `notary witness add-log --origin ORIGIN --key VKEY`."""
    from notary.config import Settings
    from notary.runtime import build_log

    log = build_log(Settings())
    if as_json:
        out.print_json(data={"origin": log.origin, "vkey": log.vkey})
    else:
        out.print(f"origin {log.origin}\nvkey   {log.vkey}", soft_wrap=True)


@proof_app.command("export")
def proof_export(
    cert: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A version 2 certificate")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Directory to write into")] = Path("."),
) -> None:
    """Write the record as the log's leaf entry (RECORD.json, RFC 8785 canonical JSON) with its
    inclusion proof and cosigned checkpoint beside it, as a C2SP tlog-proof (RECORD.json.tlog-proof)
    and as a torchwood spicy bundle (RECORD.json.spicy: `spicy -verify LOG_VKEY RECORD.json`), so
    that tools that are not ours can check it."""
    from client_sdk.canonical import canonical_json
    from client_sdk.certificate import Certificate, parse_certificate
    from client_sdk.errors import FormatError
    from client_sdk.tlog_proof import format_spicy_bundle, format_tlog_proof

    try:
        parsed = parse_certificate(cert.read_bytes())
    except FormatError as exc:
        _fail(str(exc), 2)
        return
    if not isinstance(parsed, Certificate):
        _fail("a version 1 certificate has no log proof to export", 2)
        return
    proof = [bytes.fromhex(h) for h in parsed.log.inclusion_proof]
    out_dir.mkdir(parents=True, exist_ok=True)
    entry = out_dir / f"{parsed.record_id}.json"
    entry.write_bytes(canonical_json(parsed.record))
    Path(f"{entry}.tlog-proof").write_text(
        format_tlog_proof(parsed.log.leaf_index, proof, parsed.log.checkpoint), encoding="utf-8")
    Path(f"{entry}.spicy").write_text(
        format_spicy_bundle(parsed.log.leaf_index, proof, parsed.log.checkpoint), encoding="utf-8")
    typer.echo(str(entry))  # plain: scripts read the path (rich would wrap it)
    err.print(f"wrote {entry} (the leaf entry) with .tlog-proof and .spicy beside it")


@policy_app.command("fetch")
def policy_fetch(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the policy")],
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Save the trust policy a service suggests. Check every key in it out of band before you
    rely on it: taking it from the service is trusting the service (docs/trust.md)."""
    from client_sdk.errors import ClientSDKError

    try:
        with _client(url, None) as client:
            policy = client.trust_policy()
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    output.write_bytes(policy.to_json_bytes())
    _print_policy(policy)
    err.print(f"[yellow]Written to {output}. This is what the operator suggests: confirm the log "
              "key with the operator's published statement and each witness key with that "
              "witness before relying on it.[/yellow]")


@policy_app.command("show")
def policy_show(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Show what a trust policy trusts, with the fingerprints to compare out of band."""
    from client_sdk.errors import FormatError
    from client_sdk.policy import TrustPolicy

    try:
        policy = TrustPolicy.load(file)
    except FormatError as exc:
        _fail(str(exc), 2)
        return
    _print_policy(policy)


def _print_policy(policy: Any) -> None:
    table = Table("trusts", "what", "fingerprint / key")
    if policy.log:
        for key in policy.log.keys:
            table.add_row("log", policy.log.origin, key)
    for issuer in policy.issuers:
        window = f"{issuer.not_before or '…'} to {issuer.not_after or '…'}"
        table.add_row("issuer", f"{issuer.name or 'issuer'} ({window})", issuer.key_id)
    for w in policy.witnesses.members:
        table.add_row("witness", w.name, w.key)
    table.add_row("quorum", f"{policy.witnesses.quorum} of {len(policy.witnesses.members)}", "")
    for tsa in policy.timestamp_authorities:
        for root in tsa.roots:
            table.add_row("TSA", tsa.name, _cert_fingerprint(root))
    for c in policy.chains:
        table.add_row("chain (time)", f"chain {c.chain_id}, registry {c.registry}", c.genesis_hash)
    out.print(table)
    if policy.notice:
        err.print(f"[yellow]{policy.notice}[/yellow]")
    if not policy.require_independent_time:
        err.print("[yellow]This policy accepts certificates whose time only the operator "
                  "attests.[/yellow]")


def _cert_fingerprint(certificate: Any) -> str:
    from cryptography.hazmat.primitives import hashes

    return "SHA-256 " + certificate.fingerprint(hashes.SHA256()).hex()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
