"""The ``notary`` command: run the service, manage principals, and use it as a client.

Service commands read the same ``NOTARY_*`` variables as the service (``notary.config.Settings``);
client commands take ``--url``/``--api-key`` or ``NOTARY_URL``/``NOTARY_API_KEY``. ``verify`` needs
neither: it checks a certificate with the file and, optionally, any node of the chain.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from notary.witness.cli import witness_app

# No pretty tracebacks: main() turns every error into one line (NOTARY_DEBUG=1 for the traceback).
app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__,
                  pretty_exceptions_enable=False)


def _show_version(value: bool) -> None:
    if value:
        from client_sdk._version import __version__

        typer.echo(f"notary {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the release (as /healthz reports the service's) and exit")] = False) -> None:
    """IP notary: evidence, works, trade secrets, credit and pledges, verifiable without trusting
    the operator."""


principal_app = typer.Typer(no_args_is_help=True, help="Create principals and API keys.")
app.add_typer(principal_app, name="principal")
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
work_app = typer.Typer(no_args_is_help=True,
                       help="Register works (copyright) and look up who registered content first.")
app.add_typer(work_app, name="work")
policy_app = typer.Typer(no_args_is_help=True, help="Trust policies for verifying certificates.")
app.add_typer(policy_app, name="policy")
log_app = typer.Typer(no_args_is_help=True, help="The service's append-only log (its identity).")
app.add_typer(log_app, name="log")
proof_app = typer.Typer(
    no_args_is_help=True, help="Export a certificate's log proof for other tools."
)
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
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)  # one line, however long
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

    from notary.config import Environment, Settings

    for name, value in (("BIND_HOST", host), ("BIND_PORT", port), ("DATA_DIR", data_dir),
                        ("WORKERS", workers)):
        if value is not None:
            os.environ[f"NOTARY_{name}"] = str(value)
    settings = Settings()
    settings.check_safety()
    import logging

    from notary.observability.logs import configure_logging, event, logging_config
    from notary.observability.metrics import prepare_multiprocess_dir
    from notary.runtime import redactor_for

    # Once here, and by uvicorn in each worker it spawns (log_config); the app writes the access
    # lines itself, with the request id (notary.api.request_telemetry).
    fmt, redactor = settings.resolved_log_format, redactor_for(settings)
    log_config = logging_config(level=settings.log_level, fmt=fmt, redactor=redactor)
    configure_logging(level=settings.log_level, fmt=fmt, redactor=redactor)
    if settings.env is Environment.production:
        _preflight(settings)
    # A log line, not a print: a pipeline reading JSON lines on stderr must parse every line.
    logging.getLogger("notary.cli").info(
        "serving on http://%s:%s (data in %s, chain %s, content %s, %d worker(s))",
        settings.bind_host, settings.bind_port, settings.data_dir.resolve(),
        settings.chain_backend.value, settings.content_backend.value, settings.workers,
        extra=event("service_starting", bind=f"{settings.bind_host}:{settings.bind_port}",
                    workers=settings.workers))
    remove_metrics_dir = prepare_multiprocess_dir(settings.workers)
    try:
        uvicorn.run(
            "notary.api.app:create_app",
            factory=True,
            host=settings.bind_host,
            port=settings.bind_port,
            workers=settings.workers,
            log_config=log_config,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        remove_metrics_dir()


def _preflight(settings: Any) -> None:
    """Production: this process must belong to the deployment its database records (same keys,
    chain and registries) and its key must be able to anchor, or it does not start: one line."""
    import logging

    from notary.errors import ConfigurationError
    from notary.observability.logs import event
    from notary.runtime import Runtime
    from notary.services.deployment import preflight

    try:
        runtime = Runtime.build(settings)
        try:
            preflight(runtime)
        finally:
            runtime.close()
    except ConfigurationError as exc:
        logging.getLogger("notary.cli").error("refusing to start: %s", exc.detail,
                                              extra=event("startup_refused", code=exc.code))
        raise typer.Exit(2) from None


@app.command()
def deploy(
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON")] = False,
) -> None:
    """Create a new deployment once: the issuer and log keys (where NOTARY_ISSUER_KEY_FILE and
    NOTARY_LOG_KEY_FILE point, if missing), the registries (unless their addresses are set), and
    the deployment's identity in the database; prints the settings every process must share.
    Run again, it changes nothing and prints the same settings."""
    from notary.config import Environment, Settings
    from notary.errors import ConfigurationError
    from notary.runtime import Runtime
    from notary.services.deployment import (
        check_anchoring_account,
        check_facts,
        deployment_facts,
        wait_for_chain,
    )

    settings = Settings()
    try:
        settings.check_safety()
    except ConfigurationError as exc:
        if exc.code != "production_settings_missing":  # what deploy is here to create
            raise
    runtime = Runtime.build(settings.model_copy(update={"env": Environment.development}))
    try:
        wait_for_chain(runtime, settings.startup_timeout_seconds)
        facts = deployment_facts(runtime)
        check_facts(runtime.engine, facts)
        account = check_anchoring_account(runtime.chain.anchoring_account())
    finally:
        runtime.close()
    env = {
        "NOTARY_ENV": "production",
        "NOTARY_ISSUER_KEY_FILE": str(settings.resolved_issuer_key_file.resolve()),
        "NOTARY_LOG_KEY_FILE": str(settings.resolved_log_key_file.resolve()),
        "NOTARY_LOG_ORIGIN": facts["log_origin"],
        "NOTARY_CHAIN_ID": facts["chain_id"],
        "NOTARY_REGISTRY_ADDRESS": facts["registry_address"],
        "NOTARY_PLEDGE_REGISTRY_ADDRESS": facts["pledge_registry_address"],
    }
    if as_json:
        out.print_json(json.dumps({"settings": env, "facts": facts, "account": account.detail}))
    else:
        for name, value in env.items():
            out.print(f"{name}={value}", soft_wrap=True, highlight=False)
    if not account.ok:
        _fail(account.problem or "the chain key cannot anchor")


@contextmanager
def _operator_session(*, init: bool = False) -> Iterator[Any]:
    """A session on the service's database, for the operator's commands on the server host.

    Says which database it uses, and refuses to create a new SQLite database unless ``init``:
    run from the wrong directory, it would otherwise print keys the service never sees."""
    from sqlmodel import Session

    from notary.config import Settings
    from notary.storage.db import create_db_engine, migrate

    settings = Settings()
    if settings.database_url is None:
        db_file = (settings.data_dir / "notary.db").resolve()
        if not db_file.exists() and not init:
            _fail(f"no service database at {db_file}: run this where the service runs, set "
                  "NOTARY_DATA_DIR (or NOTARY_DATABASE_URL), or pass --init to create a new one", 2)
        err.print(f"database: {db_file}", soft_wrap=True)
    else:
        from client_sdk.redaction import redact_url

        err.print(f"database: {redact_url(settings.database_url)}", soft_wrap=True)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _operator_act(act: Any, *, init: bool = False) -> Any:
    """Run ``act(session)`` as the operator; a refusal is printed, exit status 1."""
    from notary.errors import NotaryError

    try:
        with _operator_session(init=init) as session:
            return act(session)
    except NotaryError as exc:
        _fail(exc.detail)


ExpiresOpt = Annotated[datetime | None, typer.Option(
    "--expires-at", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
    help="When the key stops working, e.g. 2027-01-01T00:00:00+00:00 (a bare date: midnight UTC); "
         "default never")]


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _key_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "principal_id": row.principal_id,
            **{k: (None if getattr(row, k) is None else getattr(row, k).isoformat())
               for k in ("created_at", "expires_at", "revoked_at")},
            "replaced_by": row.replaced_by}


@principal_app.command("create")
def principal_create(
    name: Annotated[str, typer.Option(help="Display name, e.g. the company or office")],
    role: Annotated[
        str,
        typer.Option(
            help="holder, notary, arbitrator, platform, credit_authority, pledge_registrar or admin"
        ),
    ],
    subject: Annotated[
        str | None,
        typer.Option(
            help="The subject this principal speaks for, checked by you: type:id, e.g. "
            "uscc:91350100M000100Y43 (lets it apply for credit repair)"
        ),
    ] = None,
    key_expires_at: Annotated[
        datetime | None,
        typer.Option(
            "--key-expires-at",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
            help="When its first API key stops working; default never",
        ),
    ] = None,
    init: Annotated[
        bool,
        typer.Option(
            "--init", help="Create the service's database if there is none yet (a new deployment)"
        ),
    ] = False,
) -> None:
    """Create a principal in the service's database and print its API key (shown once)."""
    from notary.services.principals import create_principal

    new = _operator_act(lambda session: create_principal(
        session, name=name, role=role, identifier=subject, key_expires_at=_aware(key_expires_at)),
        init=init)
    out.print_json(data={"id": new.principal.id, "name": new.principal.name,
                         "role": new.principal.role, "api_key": new.api_key, "key_id": new.key_id})
    err.print("[yellow]Store the API key now: only its hash is kept.[/yellow]")


@principal_app.command("keys")
def principal_keys(principal_id: str) -> None:
    """List a principal's API keys: id, created, expires, revoked, replaced by (never the key)."""
    from notary.services.principals import keys_of

    rows = _operator_act(lambda session: keys_of(session, principal_id))
    out.print_json(data=[_key_json(row) for row in rows])


@principal_app.command("issue-key")
def principal_issue_key(principal_id: str, expires_at: ExpiresOpt = None) -> None:
    """Give a principal another API key (printed once); its other keys keep working."""
    from notary.services.principals import Actor, issue_api_key

    def act(session: Any) -> Any:
        issued = issue_api_key(session, principal_id=principal_id, actor=Actor.operator(),
                               expires_at=_aware(expires_at))
        session.commit()
        return issued

    issued = _operator_act(act)
    out.print_json(data={**_key_json(issued.row), "api_key": issued.api_key})
    err.print("[yellow]Store the API key now: only its hash is kept.[/yellow]")


@principal_app.command("revoke-key")
def principal_revoke_key(
    key_id: str,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log")] = None,
) -> None:
    """Revoke an API key. A running service refuses it within 5 s (its key cache's lifetime)."""
    from notary.services.principals import Actor, revoke_api_key

    row = _operator_act(
        lambda session: revoke_api_key(
            session, key_id=key_id, actor=Actor.operator(), reason=reason
        )
    )
    out.print_json(data=_key_json(row))


@principal_app.command("rotate-key")
def principal_rotate_key(key_id: str, expires_at: ExpiresOpt = None) -> None:
    """Replace an API key: print a new key for the same principal and revoke the old one."""
    from notary.services.principals import Actor, rotate_api_key

    issued = _operator_act(lambda session: rotate_api_key(
        session, key_id=key_id, actor=Actor.operator(), expires_at=_aware(expires_at)))
    out.print_json(data={**_key_json(issued.row), "api_key": issued.api_key, "replaces": key_id})
    err.print("[yellow]Store the API key now: only its hash is kept. The old key is revoked."
              "[/yellow]")


@principal_app.command("audit")
def principal_audit(
    limit: Annotated[int, typer.Option(min=1, max=500, help="Events to print")] = 100,
    after: Annotated[
        int | None, typer.Option(help="Only events after this sequence number")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this act, e.g. api_key.revoke, principal.create")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Only acts on this principal or key id")
    ] = None,
) -> None:
    """Print the audit log of administrative acts (who, what, when, target), oldest first."""
    from notary.services.principals import audit_events

    events = _operator_act(lambda session: audit_events(session, limit=limit, after=after,
                                                        action=action, target_id=target))
    out.print_json(data=[{"seq": e.seq, "at": e.at.isoformat(), "actor_id": e.actor_id,
                          "actor": e.actor, "action": e.action, "target_type": e.target_type,
                          "target_id": e.target_id,
                          "detail": None if e.detail is None else json.loads(e.detail)}
                         for e in events])


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
    from client_sdk.errors import ClientSDKError
    from client_sdk.fingerprint import fingerprint_file

    metadata = {"title": title, "description": description, "source_url": source_url,
                "case_reference": case_reference, "tags": tag or None}
    metadata = {k: v for k, v in metadata.items() if v}
    rows: list[dict[str, Any]] = []
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
                                                 progress=lambda n, t=task: progress.advance(t, n))
            except ClientSDKError as exc:
                _fail(f"{path}: {exc}")
                return
            if receipt_dir:
                receipt_dir.mkdir(parents=True, exist_ok=True)
                (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
            rows.append({"file": str(path), "record_id": sub.id, "created": sub.created,
                         "sha256": sub.receipt.record["content"]["sha256"]})
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
        table.add_column(key.replace("_", " "), no_wrap=key in ids,
                         min_width=longest if key in ids else None)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
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
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="[FILE] CERT: the notarised file (optional) and the certificate JSON",
            metavar="[FILE] CERT",
        ),
    ],
    policy: PolicyOpt = None,
    rpc: Annotated[
        str | None, typer.Option(help="Any JSON-RPC node of the certificate's chain")
    ] = None,
    chain_data: Annotated[
        Path | None,
        typer.Option(help="An embedded chain's data directory (read-only), instead of --rpc"),
    ] = None,
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
    # Plain "name  value" lines, never a table: a table cuts long ids to fit the terminal, and a
    # key id or record id copied from here must be whole.
    lines = [("existed by", f"{report['proven_time']} ({result.time_source.value})")]
    lines += [(f"  {e.source.value}", f"{e.time.isoformat()}: {e.detail}")
              for e in result.time_evidence]
    for key in ("record_id", "kind", "certificate_version", "log_origin", "leaf_index", "tree_size",
                "witnesses", "chain_id", "contract", "block_number", "anchored_at",
                "confirmations", "issuer_key_id", "content_checked", "chain_checked", "steps"):
        value = report[key]
        lines.append((key, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    for name, value in lines:
        out.print(f"{name:<20} {value}", soft_wrap=True, highlight=False)
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
    chain_data: Annotated[
        Path | None, typer.Option(help="An embedded chain's data directory")
    ] = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check an infringement complaint. Exit 0 = supported, 1 = not supported, 3 = inconclusive."""
    from datetime import date, datetime

    from client_sdk.claims import Claimant, Complaint, check_infringement_claim
    from client_sdk.errors import ChainReadError, FormatError

    try:
        when: date | datetime = (datetime.fromisoformat(listing_date)
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
        # One line a finding, never wrapped by us: a digest or id in a detail is copied whole.
        for f in verdict.findings:
            out.print(f"{f.check:<16} {f.outcome.value:<12} {f.detail}", soft_wrap=True,
                      highlight=False, markup=False)
    raise typer.Exit({"supported": 0, "not_supported": 1}.get(verdict.verdict, 3))


@app.command()
def fingerprint(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Print SHA-256, SM3 and IPFS CIDs of files, as the service would compute them."""
    from client_sdk.fingerprint import fingerprint_file

    for path in files:
        fp = fingerprint_file(path)
        out.print_json(data={"file": str(path), "size": fp.size, "sha256": fp.sha256, "sm3": fp.sm3,
                             "cid": fp.cid, "cid_v1": fp.cid_v1})


KeysOpt = Annotated[
    Path, typer.Option("--keys", help="Your private key file ('notary keys generate')")
]
PasswordOpt = Annotated[str | None, typer.Option(
    "--password", envvar="NOTARY_KEY_PASSWORD", help="Key file password (or NOTARY_KEY_PASSWORD)")]


def _load_keys(path: Path, password: str | None) -> Any:
    from client_sdk.errors import ClientSDKError
    from client_sdk.trade_secret import RecipientKeys

    try:
        return RecipientKeys.load(path, password=password)
    except (ClientSDKError, OSError) as exc:
        _fail(f"cannot load keys from {path}: {exc}", 2)


def _print_key_ids(keys: Any) -> None:
    # soft_wrap: an id broken across lines would be copied wrong.
    err.print(f"key id (encryption):  {keys.key_id}", soft_wrap=True)
    if keys.signing_key_id is None:
        err.print("[yellow]no signing key:[/yellow] this file predates signed key documents; "
                  "'notary keys upgrade' adds one (the key id stays, old filings still open)")
        return
    err.print(f"signing key id:       {keys.signing_key_id}", soft_wrap=True)
    err.print("Give the signing key id to anyone who will disclose a secret to you, out of band "
              "(in person, a signed letter, a call you place): they pass it as --signing-key-id, "
              "and their SDK refuses any key document it did not sign.")


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
    from client_sdk.trade_secret import RecipientKeys

    keys = RecipientKeys.generate(post_quantum=not classic_only)
    keys.save(output, password=password)
    out.print_json(data=keys.public_document())
    err.print(f"private keys written to {output}", soft_wrap=True)
    _print_key_ids(keys)


@keys_app.command("show")
def keys_show(keys_file: KeysOpt, password: PasswordOpt = None) -> None:
    """Print the ids of your keys (the signing key id is the one to give out of band)."""
    keys = _load_keys(keys_file, password)
    out.print_json(data={"key_id": keys.key_id, "signing_key_id": keys.signing_key_id,
                         "post_quantum": keys.has_hybrid})
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
        _fail(str(exc), 2)
        return
    err.print(f"private keys written to {output}; register them again ('notary keys register')")
    _print_key_ids(upgraded)


@keys_app.command("register")
def keys_register(keys_file: KeysOpt, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "",
                  password: PasswordOpt = None) -> None:
    """Publish your signed key document so filings and disclosures can be sealed to it."""
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            key_id = client.register_encryption_key(keys)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print(f"registered key {key_id}, signed by {keys.signing_key_id}", soft_wrap=True)


AllowClassicOpt = Annotated[bool, typer.Option(
    "--allow-classic",
    help="Accept classic X25519 key wrapping when the recipient has no ML-KEM-768 key "
         "(a future quantum computer could open it); refused otherwise")]


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
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            sub = client.file_trade_secret(path, keys, label=label, allow_classic=allow_classic)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    out.print_json(data={"id": sub.id, "created": sub.created,
                         "commitment": sub.receipt.record["commitment"]})


@secret_app.command("disclose")
def secret_disclose(
    filing_id: str,
    to: Annotated[str, typer.Option("--to", help="The arbitrator's or notary's principal id")],
    signing_key_id: Annotated[str, typer.Option(
        "--signing-key-id",
        help="The recipient's signing key id, as they gave it to you out of band ('notary keys "
             "show' prints it); any key document it did not sign is refused")],
    keys_file: KeysOpt,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = "",
    password: PasswordOpt = None,
    allow_classic: AllowClassicOpt = False,
) -> None:
    """Disclose a filing to one arbitrator or notary; the disclosure itself is anchored."""
    from client_sdk.errors import ClientSDKError

    keys = _load_keys(keys_file, password)
    try:
        with _client(url, api_key) as client:
            sub = client.disclose_trade_secret(filing_id, keys, to, signing_key_id=signing_key_id,
                                               allow_classic=allow_classic)
    except ClientSDKError as exc:
        _fail(str(exc))
        return
    recipient = sub.receipt.record["recipient"]
    err.print(f"sealed to {to}'s key {recipient['key_id']}, signed by {signing_key_id}",
              soft_wrap=True)
    out.print_json(data={"disclosure_id": sub.id, "filing_id": filing_id, "recipient": to,
                         "key_id": recipient["key_id"]})


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
    as_of: Annotated[str | None, typer.Option()] = None,
    rpc: Annotated[str | None, typer.Option(help="Check the entries against this node")] = None,
    chain_data: Annotated[Path | None, typer.Option()] = None,
    policy: PolicyOpt = None,
) -> None:
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
def credit_apply(entry_id: str, statement: Annotated[str, typer.Option()],
                 evidence_sha256: Annotated[list[str] | None, typer.Option(
                     "--evidence-sha256", help="SHA-256 of a document you send the authority "
                     "(repeat for each)")] = None,
                 url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """Apply for repair of an entry about you. Keep the id it prints: `notary credit repair ID`
    shows the decision."""
    out.print_json(data=_call(url, api_key, lambda c: c.apply_credit_repair(entry_id, statement,
                                                                            evidence_sha256 or ())))


@credit_app.command("repairs")
def credit_repairs(
    status: Annotated[str, typer.Option(help="pending, approved or rejected")] = "pending",
    url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Repair applications on the entries you recorded (credit authority): the id that
    `decide-repair` takes, the applicant's statement and the digests of its evidence."""
    rows = _call(url, api_key, lambda c: c.credit_repairs(status))
    if as_json:
        out.print_json(data=rows)
        return
    _print_rows([{"id": r["id"], "entry_id": r["entry_id"], "submitted_at": r["submitted_at"],
                  "decision": r["decision"], "statement": r["statement"] or "(erased)",
                  "evidence_sha256": " ".join(r["evidence_sha256"]) or "-"} for r in rows],
                as_json=False, ids=("id", "entry_id", "evidence_sha256"))


@credit_app.command("repair")
def credit_repair(repair_id: int, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
    """One repair application and its decision (the applicant, or the deciding authority)."""
    out.print_json(data=_call(url, api_key, lambda c: c.credit_repair(repair_id)))


@credit_app.command("decide-repair")
def credit_decide(repair_id: int, reason: Annotated[str, typer.Option()],
                  approve: Annotated[bool, typer.Option("--approve/--reject")] = True,
                  url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = "") -> None:
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
    idempotency_key: Annotated[str | None, typer.Option(
        "--idempotency-key",
        help="Same on every retry of this registration, new for a new pledge (default: the file's "
             "SHA-256, so re-running the command answers with the first registration)")] = None,
) -> None:
    """Register a pledge: --file holds {"asset": {...}, "terms": {...}} (see docs/pledges.md); the
    terms name the pledgee's key (pledgee_key, from 'notary pledge keygen')."""
    import hashlib

    raw = file.read_bytes()
    body = json.loads(raw)
    key = idempotency_key or f"sha256-{hashlib.sha256(raw).hexdigest()}"
    out.print_json(data=_call(url, api_key, lambda c: c.register_pledge(
        body["asset"], body["terms"], idempotency_key=key)))


@pledge_app.command("amend")
def pledge_amend(
    pledge_id: int, file: JsonFile, url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = ""
) -> None:
    """Replace a pledge's terms (--file holds the new terms; the parties and pledgee key cannot
    change)."""
    terms = json.loads(file.read_text())
    out.print_json(data=_call(url, api_key, lambda c: c.amend_pledge(pledge_id, terms)))


PledgeeKeyOpt = Annotated[Path, typer.Option(
    "--key", help="The pledgee's private signing key file ('notary pledge keygen')")]
ConsentOpt = Annotated[Path, typer.Option(
    "--consent", exists=True, dir_okay=False,
    help="The pledgee's signed consent ('notary pledge consent' on the pledgee's side)")]


def _load_pledgee_key(path: Path, password: str | None) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password.encode() if password else None)
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"cannot load the signing key from {path}: {exc}", 2)
    if not isinstance(key, Ed25519PrivateKey):
        _fail(f"{path} holds no Ed25519 key", 2)
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

    from client_sdk.signing import public_key_to_b64

    key = Ed25519PrivateKey.generate()
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _fail(f"{output} exists; choose another file", 2)
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
    from client_sdk.errors import FormatError
    from client_sdk.pledges import pledge_act, sign_pledge_act

    signer = _load_pledgee_key(key, password)
    if None in (chain_id, contract, party_id_type, party_id):
        view = _call(url, "", lambda c: c.pledge(pledge_id))
        pledgee = view["terms"]["pledgee"]
        chain_id = view["chain_id"] if chain_id is None else chain_id
        contract = view["contract"] if contract is None else contract
        party_id_type = pledgee["id_type"] if party_id_type is None else party_id_type
        party_id = pledgee["id"] if party_id is None else party_id
        err.print(f"pledge {pledge_id}: {json.dumps(view['asset'], ensure_ascii=False)}, pledgee "
                  f"{pledgee['name']}, status {view['status']}", soft_wrap=True)
    assert chain_id is not None and contract is not None
    assert party_id_type is not None and party_id is not None
    try:
        act = pledge_act(chain_id=chain_id, contract=contract, pledge_id=pledge_id, action=action,
                         party={"id_type": party_id_type, "id": party_id})
    except FormatError as exc:
        _fail(str(exc), 2)
    output.write_text(json.dumps(sign_pledge_act(signer, act), indent=2) + "\n")
    out.print_json(data=act)


def _close_pledge(method: str, pledge_id: int, consent: Path, url: str, api_key: str) -> None:
    signed = json.loads(consent.read_text())
    out.print_json(data=_call(url, api_key, lambda c: getattr(c, method)(pledge_id, signed)))


@pledge_app.command("release")
def pledge_release(pledge_id: int, consent: ConsentOpt, url: UrlOpt = DEFAULT_URL,
                   api_key: KeyOpt = "") -> None:
    """Release a pledge you registered, with the pledgee's signed consent."""
    _close_pledge("release_pledge", pledge_id, consent, url, api_key)


@pledge_app.command("enforce")
def pledge_enforce(pledge_id: int, consent: ConsentOpt, url: UrlOpt = DEFAULT_URL,
                   api_key: KeyOpt = "") -> None:
    """Record enforcement of a pledge you registered, on the pledgee's signed demand."""
    _close_pledge("enforce_pledge", pledge_id, consent, url, api_key)


@pledge_app.command("status")
def pledge_status(
    asset_type: Annotated[str, typer.Option()],
    number: Annotated[str, typer.Option()],
    url: UrlOpt = DEFAULT_URL,
    as_of: Annotated[str | None, typer.Option()] = None,
    rpc: Annotated[str | None, typer.Option(help="Check the answer on this node")] = None,
    chain_data: Annotated[Path | None, typer.Option()] = None,
    policy: PolicyOpt = None,
) -> None:
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
        _fail(f"{path}: not JSON describing a work ({exc})", 2)
    if not isinstance(work, dict):
        _fail(f"{path}: a work is a JSON object (title, work_type, authors, copyright_owner, "
              "completed_on; docs/works.md)", 2)
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
    from client_sdk.errors import ClientSDKError
    from client_sdk.fingerprint import fingerprint_file

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
                with Progress("[progress.description]{task.description}", BarColumn(),
                              DownloadColumn(), TransferSpeedColumn(), console=err,
                              transient=True, disable=size < 8 << 20) as progress:
                    task = progress.add_task(file.name, total=size)
                    sub = client.register_work(file, details,
                                               progress=lambda n: progress.advance(task, n))
    except ClientSDKError as exc:
        _fail(f"{file}: {exc}")
        return
    if receipt_dir:
        receipt_dir.mkdir(parents=True, exist_ok=True)
        (receipt_dir / f"{sub.id}.receipt.json").write_bytes(sub.receipt.to_json_bytes())
    sha256 = sub.receipt.record["content"]["sha256"]
    prior = list(sub.prior_registrations)
    if as_json:
        out.print_json(data={"id": sub.id, "created": sub.created, "status": sub.status,
                             "sha256": sha256, "prior_registrations": prior})
        return
    _print_rows(
        [{"file": str(file), "record_id": sub.id, "created": sub.created, "sha256": sha256}],
        as_json=False,
        ids=("record_id", "sha256"),
    )
    for p in prior:
        err.print(f"[yellow]registered earlier by someone else:[/yellow] {p['id']} "
                  f"({p['copyright_owner']}, {p['received_at']})", soft_wrap=True)


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
        _fail("give the content's FILE or --sha256 HEX (one of them)", 2)
    if file is not None:
        with open(file, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    else:
        digest = (sha256 or "").strip().lower()
    try:
        registrations = _call(url, api_key, lambda c: c.work_registrations(digest))
    except ValueError as exc:
        _fail(str(exc), 2)
    if as_json:
        out.print_json(data={"sha256": digest, "registrations": list(registrations)})
        return
    if not registrations:
        err.print(f"nobody has registered content {digest} as a work here", soft_wrap=True)
        return
    _print_rows([{"id": r["id"], "prior": r["prior"], "anchored": r["anchored"],
                  "received_at": r["received_at"], "holder": r["holder"].get("name", ""),
                  "copyright_owner": r["work"].get("copyright_owner", {}).get("name", ""),
                  "title": r["work"].get("title", "")} for r in registrations],
                as_json=False, ids=("id", "received_at"))


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


@app.command()
def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
    receipts: Annotated[Path | None, typer.Option(
        "--receipts", exists=True, file_okay=False,
        help="A directory of holders' receipts (*.json) to place in the log")] = None,
    restore: Annotated[bool, typer.Option(
        "--restore", help="Re-insert the records those receipts give back")] = False,
) -> None:
    """After a restore, compare the database with the chain, the witnesses and its own log; name
    every anchored batch, log entry and receipted record it cannot account for. Exit 0: all
    accounted for; 1: something is missing; 2: the chain could not be read."""
    import time

    from notary.config import Settings
    from notary.errors import ChainUnusable
    from notary.services import reconcile as rc

    if restore and receipts is None:
        _fail("--restore needs --receipts DIR", 2)
    settings = Settings()
    started = time.perf_counter()
    anchors = _open_anchor_reader(settings)
    try:
        with _operator_session() as session:
            try:
                witnesses = [(w.url, w.key) for w in settings.witnesses]
                report = rc.reconcile(session, anchors, witnesses=witnesses)
                anchored = rc.read_anchored_checkpoints(anchors) if receipts else []
            except ChainUnusable as exc:
                _fail(exc.detail, 2)
                return
            if receipts is not None:
                found = rc.check_receipts(
                    session, rc.load_receipts(receipts), issuer_keys=_issuer_keys(settings),
                    report=report, anchored=anchored, restore=restore)
                if any(f.outcome is rc.ReceiptOutcome.restored for f in found):
                    report = rc.reconcile(session, anchors, witnesses=witnesses)  # as it is now
                report.receipts = found
    finally:
        anchors.close()
    report.seconds = round(time.perf_counter() - started, 3)
    if as_json:
        out.print_json(json.dumps(report.to_json()))
    else:
        _print_reconcile(report)
    if not report.ok:
        raise typer.Exit(1)


def _open_anchor_reader(settings: Any) -> Any:
    """The registry, read-only: never deploys, needs no key. Exit 2 when it cannot be read."""
    from chain import AnchorReader
    from chain.errors import ChainError
    from notary.config import ChainBackend

    try:
        if settings.chain_backend is ChainBackend.embedded:
            return AnchorReader.from_embedded(settings.chain_dir,
                                              registry_address=settings.registry_address)
        from chain._deployments import recorded_address

        address = settings.registry_address
        if address is None:
            if settings.chain_id is None:
                _fail("set NOTARY_REGISTRY_ADDRESS (or NOTARY_CHAIN_ID, to read the address "
                      f"recorded in {settings.chain_dir})", 2)
            address = recorded_address(settings.chain_dir, settings.chain_id, "EvidenceRegistry")
        return AnchorReader.from_rpc(settings.chain_rpc_url, registry_address=address,
                                     expected_chain_id=settings.chain_id)
    except ChainError as exc:
        from notary.runtime import redactor_for

        _fail(redactor_for(settings)(f"cannot read the registry: {exc}"), 2)


def _issuer_keys(settings: Any) -> dict[str, str]:
    """Key id -> public key of every issuer key this deployment signs or signed receipts with."""
    from client_sdk.signing import key_id, public_key_from_b64, public_key_to_b64
    from notary.services.keys import load_or_create_ed25519_key

    keys = {key_id(public_key_from_b64(k.public_key)): k.public_key
            for k in settings.issuer_retired_keys}
    path = settings.resolved_issuer_key_file
    if path.exists():  # never create one here: a new key would sign nothing a holder has
        public = load_or_create_ed25519_key(path, purpose="issuer",
                                            passphrase=settings.resolved_key_passphrase).public_key()
        keys[key_id(public)] = public_key_to_b64(public)
    elif not keys:
        _fail(f"no issuer key at {path} (NOTARY_ISSUER_KEY_FILE) to check receipts against", 2)
    return keys


def _print_reconcile(report: Any) -> None:
    out.print(f"chain {report.chain_id}, registry {report.registry}: "
              f"{report.anchored_checkpoints} checkpoints anchored, up to log size "
              f"{report.anchored_size}", soft_wrap=True, highlight=False)
    out.print(f"database: log size {report.database_log_size}, {report.database_batches} batches, "
              f"{report.pending_records} records pending", soft_wrap=True, highlight=False)
    for w in report.witnesses:
        size = "unknown" if w.size is None else str(w.size)
        out.print(f"witness {w.name}: size {size} (cosignatures here up to "
                  f"{w.cosigned_in_database}){': ' + w.error if w.error else ''}",
                  soft_wrap=True, highlight=False)
    if report.lost is not None:
        out.print(f"LOST log entries {report.lost} ({report.lost.count})", soft_wrap=True,
                  highlight=False)
    for p in report.problems:
        out.print(f"MISSING {p.code}: {p.message}", soft_wrap=True, highlight=False)
    for r in report.receipts:
        out.print(f"receipt {r.source}: {r.outcome.value}: {r.message}", soft_wrap=True,
                  highlight=False)
    verdict = ("everything anchored, witnessed and receipted is accounted for" if report.ok
               else "the database cannot account for everything above")
    out.print(f"{verdict} ({report.seconds:.2f} s)", soft_wrap=True, highlight=False)


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
def policy_show(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Show what a trust policy trusts, with the fingerprints to compare out of band."""
    from client_sdk.errors import FormatError
    from client_sdk.policy import TrustPolicy

    try:
        policy = TrustPolicy.load(file)
    except FormatError as exc:
        _fail(str(exc), 2)
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
        rows.append({"trusts": "issuer", "what": f"{issuer.name or 'issuer'} ({window})",
                     "key": issuer.key_id})
    rows += [{"trusts": "witness", "what": w.name, "key": w.key} for w in policy.witnesses.members]
    rows.append(
        {
            "trusts": "quorum",
            "what": f"{policy.witnesses.quorum} of {len(policy.witnesses.members)}",
            "key": "",
        }
    )
    rows += [{"trusts": "TSA", "what": tsa.name, "key": _cert_fingerprint(root)}
             for tsa in policy.timestamp_authorities for root in tsa.roots]
    rows += [{"trusts": "chain (time)", "what": f"chain {c.chain_id}, registry {c.registry}",
              "key": c.genesis_hash} for c in policy.chains]
    _print_rows(rows, as_json=as_json, ids=("key",))
    if policy.notice:
        err.print(f"[yellow]{policy.notice}[/yellow]")
    if not policy.require_independent_time:
        err.print("[yellow]This policy accepts certificates whose time only the operator "
                  "attests.[/yellow]")


def _cert_fingerprint(certificate: Any) -> str:
    from cryptography.hazmat.primitives import hashes

    return "SHA-256 " + certificate.fingerprint(hashes.SHA256()).hex()


def main() -> None:
    """The ``notary`` command. Every error a user can cause ends in one line that says what
    went wrong (exit status 2), never a traceback; ``NOTARY_DEBUG=1`` shows the traceback."""
    from client_sdk.errors import ClientSDKError
    from notary.errors import NotaryError

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (ClientSDKError, NotaryError, OSError, ValueError) as exc:
        if os.environ.get("NOTARY_DEBUG"):
            raise
        detail = exc.detail if isinstance(exc, NotaryError) else str(exc)
        err.print(f"[red]error:[/red] {detail or type(exc).__name__}", soft_wrap=True)
        sys.exit(2)
    except Exception as exc:  # a bug: still one line, and how to see more
        if os.environ.get("NOTARY_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
            "(run again with NOTARY_DEBUG=1 for the traceback, and report it)",
            soft_wrap=True,
        )
        sys.exit(70)
