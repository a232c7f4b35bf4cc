"""The service's commands of ``notary``: run it, deploy it, manage principals and keys, show the
log's identity and reconcile a restored database.

The verifier's and the client's commands live in the SDK (:mod:`ipnotary.sdk.cli`); these are added
to the same ``notary`` command, by :func:`main` here and, for the SDK's console script, through the
``ipnotary.cli`` entry point (:func:`add_service_commands`). They read the same ``NOTARY_*``
variables as the service (``ipnotary.service.config.Settings``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from ipnotary.sdk import cli as sdk_cli
from ipnotary.sdk.cli import err, fail, out
from ipnotary.service.errors import NotaryError

if TYPE_CHECKING:  # each command imports what it needs when it runs: `notary --help` stays quick
    from sqlmodel import Session

    from ipnotary.chain import AnchorReader, EvidenceRegistryClient
    from ipnotary.service.adapters.registry_roles import RoleGrant
    from ipnotary.service.config import Settings
    from ipnotary.service.runtime import Runtime
    from ipnotary.service.services.principals import IssuedKey
    from ipnotary.service.services.reconcile import ReconcileReport
    from ipnotary.service.storage.models import ApiKey

T = TypeVar("T")

# The service's own commands, added to the SDK's app below (`app` is that whole command, as the
# tests and `python -c "from ipnotary.service.cli import main"` use it).
commands = typer.Typer()
principal_app = typer.Typer(no_args_is_help=True, help="Create principals and API keys.")
commands.add_typer(principal_app, name="principal")
log_app = typer.Typer(no_args_is_help=True, help="The service's append-only log (its identity).")
commands.add_typer(log_app, name="log")
trust_app = typer.Typer(
    no_args_is_help=True,
    help="The fleet's trust settings: witnesses, quorums, TSAs and the policy it serves.",
)
commands.add_typer(trust_app, name="trust")
registry_app = typer.Typer(
    no_args_is_help=True, help="Roles in the deployment's registries (admin, anchorer, registrar)."
)
commands.add_typer(registry_app, name="registry")


@commands.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (NOTARY_BIND_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (NOTARY_BIND_PORT)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (NOTARY_DATA_DIR)")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (NOTARY_WORKERS)")] = None,
) -> None:
    """Run the service (embedded chain, content store and SQLite unless configured otherwise)."""
    import logging

    import uvicorn

    from ipnotary.service.config import (
        Environment,
        load_settings,
        report_unknown_variables,
    )
    from ipnotary.service.errors import ConfigurationError
    from ipnotary.service.observability.logs import configure_logging, event, logging_config
    from ipnotary.service.observability.metrics import prepare_multiprocess_dir

    for name, value in (
        ("BIND_HOST", host),
        ("BIND_PORT", port),
        ("DATA_DIR", data_dir),
        ("WORKERS", workers),
    ):
        if value is not None:
            os.environ[f"NOTARY_{name}"] = str(value)
    try:
        settings = load_settings(report_unknown=False)
    except ConfigurationError as exc:
        if not _production_requested():
            raise  # development: the CLI's one "error:" line
        _refuse_to_start(exc)  # production: a JSON line, like every other line it writes
    # Once here, and by uvicorn in each worker it spawns (log_config); the app writes the access
    # lines itself, with the request id (notary.api.request_telemetry).
    fmt, redactor = settings.resolved_log_format, settings.redactor()
    log_config = logging_config(level=settings.log_level, fmt=fmt, redactor=redactor)
    configure_logging(level=settings.log_level, fmt=fmt, redactor=redactor)
    try:
        report_unknown_variables(settings)
        settings.check_safety()
        _wait_for_database(settings)
        if settings.env is Environment.production:
            _preflight(settings)
    except NotaryError as exc:
        _refuse_to_start(exc)
    # A log line, not a print: a pipeline reading JSON lines on stderr must parse every line.
    logging.getLogger("ipnotary.service.cli").info(
        "serving on http://%s:%s (data in %s, chain %s, content %s, %d worker(s))",
        settings.bind_host,
        settings.bind_port,
        settings.data_dir.resolve(),
        settings.chain_backend.value,
        settings.content_backend.value,
        settings.workers,
        extra=event(
            "service_starting",
            bind=f"{settings.bind_host}:{settings.bind_port}",
            workers=settings.workers,
        ),
    )
    remove_metrics_dir = prepare_multiprocess_dir(settings.workers)
    try:
        uvicorn.run(
            "ipnotary.service.api.app:create_app",
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


def _production_requested() -> bool:
    """Whether the environment asks for production, read without the settings (which may be
    what failed to load)."""
    return os.environ.get("NOTARY_ENV", "").strip().lower() == "production"


def _refuse_to_start(exc: NotaryError) -> NoReturn:
    """One ``startup_refused`` line, exit 2. Before the settings loaded, logging is configured
    here: JSON in production (unless ``NOTARY_LOG_FORMAT`` says text), so that a log pipeline
    parses the one line that says why the process is not running."""
    import logging

    from ipnotary.service.config import LogFormat
    from ipnotary.service.observability.logs import configure_logging, event

    if not logging.getLogger().handlers:
        requested = os.environ.get("NOTARY_LOG_FORMAT", "").strip().lower()
        fmt = (
            LogFormat(requested)
            if requested in {f.value for f in LogFormat}
            else LogFormat.json
            if _production_requested()
            else LogFormat.text
        )
        configure_logging(level="INFO", fmt=fmt)
    logging.getLogger("ipnotary.service.cli").error(
        "refusing to start: %s", exc.detail, extra=event("startup_refused", code=exc.code)
    )
    raise typer.Exit(2)


def _wait_for_database(settings: Settings) -> None:
    """Before uvicorn builds the app: the database answers (waited for up to
    ``NOTARY_STARTUP_TIMEOUT_SECONDS``) and lets this service in, or one line says why not."""
    from ipnotary.service.storage.db import create_db_engine, wait_for_database

    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        wait_for_database(engine, timeout=settings.startup_timeout_seconds)
    finally:
        engine.dispose()


def _preflight(settings: Settings) -> None:
    """Production: this process must belong to the deployment its database records (same keys,
    chain, registries and trust settings) and its key must be able to anchor, or it does not
    start: one line (:func:`_refuse_to_start`)."""
    from ipnotary.service.runtime import Runtime
    from ipnotary.service.services.deployment import preflight

    runtime = Runtime.build(settings)
    try:
        preflight(runtime)
    finally:
        runtime.close()


@commands.command()
def deploy(
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON")] = False,
) -> None:
    """Create a new deployment once: the issuer and log keys (where NOTARY_ISSUER_KEY_FILE and
    NOTARY_LOG_KEY_FILE point, if missing), the registries (unless their addresses are set), and
    the deployment's identity in the database; prints the settings every process must share.
    Run again, it changes nothing and prints the same settings."""
    from ipnotary.service.config import Environment, load_settings
    from ipnotary.service.errors import ConfigurationError
    from ipnotary.service.runtime import Runtime
    from ipnotary.service.services.deployment import (
        check_anchoring_account,
        check_facts,
        deployment_facts,
        wait_for_chain,
    )

    settings = load_settings()
    try:
        settings.check_safety()
    except ConfigurationError as exc:
        if exc.code != "production_settings_missing":  # what deploy is here to create
            raise
    # The one command that makes a deployment's missing keys.
    runtime = Runtime.build(
        settings.model_copy(update={"env": Environment.development}), create_keys=True
    )
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
        fail(account.problem or "the chain key cannot anchor")


@contextmanager
def _operator_session(*, init: bool = False) -> Iterator[Session]:
    """A session on the service's database, for the operator's commands on the server host.

    Says which database it uses, and refuses to create a new SQLite database unless ``init``:
    run from the wrong directory, it would otherwise print keys the service never sees."""
    from sqlmodel import Session

    from ipnotary.service.config import load_settings
    from ipnotary.service.storage.db import create_db_engine, migrate

    settings = load_settings()
    if settings.database_url is None:
        db_file = (settings.data_dir / "notary.db").resolve()
        if not db_file.exists() and not init:
            fail(
                f"no service database at {db_file}: run this where the service runs, set "
                "NOTARY_DATA_DIR (or NOTARY_DATABASE_URL), or pass --init to create a new one",
                2,
            )
        err.print(f"database: {db_file}", soft_wrap=True)
    else:
        from ipnotary.sdk.redaction import redact_url

        err.print(f"database: {redact_url(settings.database_url)}", soft_wrap=True)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _operator_act(act: Callable[[Session], T], *, init: bool = False) -> T:
    """Run ``act(session)`` as the operator; a refusal is printed, exit status 1."""
    from ipnotary.service.errors import NotaryError

    try:
        with _operator_session(init=init) as session:
            return act(session)
    except NotaryError as exc:
        fail(exc.detail)


ExpiresOpt = Annotated[
    datetime | None,
    typer.Option(
        "--expires-at",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
        help="When the key stops working, e.g. 2027-01-01T00:00:00+00:00 "
        "(a bare date: midnight UTC); default never",
    ),
]


def _aware(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _key_json(row: ApiKey) -> dict[str, str | None]:
    return {
        "id": row.id,
        "principal_id": row.principal_id,
        "created_at": row.created_at.isoformat(),
        "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
        "revoked_at": None if row.revoked_at is None else row.revoked_at.isoformat(),
        "replaced_by": row.replaced_by,
        "parent_id": row.parent_id,
    }


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
    from ipnotary.service.services.principals import create_principal

    new = _operator_act(
        lambda session: create_principal(
            session, name=name, role=role, identifier=subject, key_expires_at=_aware(key_expires_at)
        ),
        init=init,
    )
    out.print_json(
        data={
            "id": new.principal.id,
            "name": new.principal.name,
            "role": new.principal.role,
            "api_key": new.api_key,
            "key_id": new.key_id,
        }
    )
    err.print("[yellow]Store the API key now: only its hash is kept.[/yellow]")


@principal_app.command("keys")
def principal_keys(
    principal_id: Annotated[
        str, typer.Argument(metavar="ID", help="The principal's id (prn_...)", show_default=False)
    ],
) -> None:
    """List a principal's API keys: id, created, expires, revoked, replaced by (never the key)."""
    from ipnotary.service.services.principals import keys_of

    rows = _operator_act(lambda session: keys_of(session, principal_id))
    out.print_json(data=[_key_json(row) for row in rows])


@principal_app.command("issue-key")
def principal_issue_key(
    principal_id: Annotated[
        str, typer.Argument(metavar="ID", help="The principal's id (prn_...)", show_default=False)
    ],
    expires_at: ExpiresOpt = None,
) -> None:
    """Give a principal another API key (printed once); its other keys keep working."""
    from ipnotary.service.services.principals import Actor, issue_api_key

    def act(session: Session) -> IssuedKey:
        issued = issue_api_key(
            session,
            principal_id=principal_id,
            actor=Actor.operator(),
            expires_at=_aware(expires_at),
        )
        session.commit()
        return issued

    issued = _operator_act(act)
    out.print_json(data={**_key_json(issued.row), "api_key": issued.api_key})
    err.print("[yellow]Store the API key now: only its hash is kept.[/yellow]")


@principal_app.command("revoke-key")
def principal_revoke_key(
    key_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="The API key's id (as principal keys lists it; never the key)",
            show_default=False,
        ),
    ],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log")] = None,
) -> None:
    """Revoke an API key. A running service refuses it within 5 s (its key cache's lifetime)."""
    from ipnotary.service.services.principals import Actor, revoke_api_key

    row = _operator_act(
        lambda session: revoke_api_key(
            session, key_id=key_id, actor=Actor.operator(), reason=reason
        )
    )
    out.print_json(data=_key_json(row))


@principal_app.command("rotate-key")
def principal_rotate_key(
    key_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="The API key's id (as principal keys lists it; never the key)",
            show_default=False,
        ),
    ],
    expires_at: ExpiresOpt = None,
) -> None:
    """Replace an API key: print a new key for the same principal and revoke the old one."""
    from ipnotary.service.services.principals import Actor, rotate_api_key

    issued = _operator_act(
        lambda session: rotate_api_key(
            session, key_id=key_id, actor=Actor.operator(), expires_at=_aware(expires_at)
        )
    )
    out.print_json(data={**_key_json(issued.row), "api_key": issued.api_key, "replaces": key_id})
    err.print(
        "[yellow]Store the API key now: only its hash is kept. The old key is revoked.[/yellow]"
    )


@principal_app.command("disable")
def principal_disable(
    principal_id: str,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log")] = None,
) -> None:
    """Disable a principal: every key of it answers 401 (within 5 s in a running service) until it
    is enabled again; the keys are kept."""
    from ipnotary.service.services.principals import Actor, set_disabled

    row = _operator_act(
        lambda session: set_disabled(
            session, principal_id=principal_id, disabled=True, actor=Actor.operator(), reason=reason
        )
    )
    out.print_json(data={"id": row.id, "name": row.name, "role": row.role, "disabled": True})


@principal_app.command("enable")
def principal_enable(
    principal_id: str,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log")] = None,
) -> None:
    """Enable a disabled principal again: its keys that are neither revoked nor expired work."""
    from ipnotary.service.services.principals import Actor, set_disabled

    row = _operator_act(
        lambda session: set_disabled(
            session,
            principal_id=principal_id,
            disabled=False,
            actor=Actor.operator(),
            reason=reason,
        )
    )
    out.print_json(data={"id": row.id, "name": row.name, "role": row.role, "disabled": False})


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
    from ipnotary.service.services.principals import audit_events

    events = _operator_act(
        lambda session: audit_events(
            session, limit=limit, after=after, action=action, target_id=target
        )
    )
    out.print_json(
        data=[
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor_id": e.actor_id,
                "actor": e.actor,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "detail": None if e.detail is None else json.loads(e.detail),
            }
            for e in events
        ]
    )


@log_app.command("show")
def log_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON")] = False,
    init: Annotated[
        bool,
        typer.Option(
            "--init",
            help="Make the log key if there is none yet: a new deployment, before its first "
            "start, so that witnesses can register the log",
        ),
    ] = False,
) -> None:
    """Print the log's origin and verifier key, as each witness operator registers them:
    `notary witness add-log --origin ORIGIN --key VKEY`. Run it where the service runs: it reads
    the log key (NOTARY_LOG_KEY_FILE) and makes one only with --init."""
    from ipnotary.service.config import load_settings
    from ipnotary.service.errors import ConfigurationError
    from ipnotary.service.runtime import build_log

    # Only with --init: a key made here by accident, in the wrong directory, would be printed as
    # the one to publish while the service signs with another.
    try:
        log = build_log(load_settings(), create=init)
    except ConfigurationError as exc:
        fail(exc.detail, 2)
    if as_json:
        out.print_json(data={"origin": log.origin, "vkey": log.vkey})
    else:
        out.print(f"origin {log.origin}\nvkey   {log.vkey}", soft_wrap=True)


@commands.command()
def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
    receipts: Annotated[
        Path | None,
        typer.Option(
            "--receipts",
            exists=True,
            file_okay=False,
            help="A directory of holders' receipts (*.json) to place in the log",
        ),
    ] = None,
    restore: Annotated[
        bool, typer.Option("--restore", help="Re-insert the records those receipts give back")
    ] = False,
) -> None:
    """After a restore, compare the database with the chain, the witnesses and its own log; name
    every anchored batch, log entry and receipted record it cannot account for. Exit 0: all
    accounted for; 1: something is missing; 2: the chain could not be read."""
    import time

    from ipnotary.service.config import load_settings
    from ipnotary.service.errors import ChainUnusable
    from ipnotary.service.services import reconcile as rc

    if restore and receipts is None:
        fail("--restore needs --receipts DIR", 2)
    settings = load_settings()
    started = time.perf_counter()
    anchors = _open_anchor_reader(settings)
    try:
        with _operator_session() as session:
            try:
                witnesses = [(w.url, w.key) for w in settings.witnesses]
                report = rc.reconcile(session, anchors, witnesses=witnesses)
                anchored = rc.read_anchored_checkpoints(anchors) if receipts else []
            except ChainUnusable as exc:
                fail(exc.detail, 2)
                return
            if receipts is not None:
                found = rc.check_receipts(
                    session,
                    rc.load_receipts(receipts),
                    issuer_keys=_issuer_keys(settings),
                    report=report,
                    anchored=anchored,
                    restore=restore,
                )
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


def _open_anchor_reader(settings: Settings) -> AnchorReader:
    """The registry, read-only: never deploys, needs no key. Exit 2 when it cannot be read."""
    from ipnotary.chain import AnchorReader
    from ipnotary.chain.errors import ChainError
    from ipnotary.service.config import ChainBackend

    try:
        if settings.chain_backend is ChainBackend.embedded:
            return AnchorReader.from_embedded(
                settings.chain_dir, registry_address=settings.registry_address
            )
        from ipnotary.chain._deployments import recorded_address

        address = settings.registry_address
        if address is None:
            if settings.chain_id is None:
                fail(
                    "set NOTARY_REGISTRY_ADDRESS (or NOTARY_CHAIN_ID, to read the address "
                    f"recorded in {settings.chain_dir})",
                    2,
                )
            address = recorded_address(settings.chain_dir, settings.chain_id, "EvidenceRegistry")
        assert settings.chain_rpc_url is not None  # Settings refuse the rpc backend without one
        return AnchorReader.from_rpc(
            settings.chain_rpc_url, registry_address=address, expected_chain_id=settings.chain_id
        )
    except ChainError as exc:
        fail(settings.redactor()(f"cannot read the registry: {exc}"), 2)


def _issuer_keys(settings: Settings) -> dict[str, str]:
    """Key id -> public key of every issuer key this deployment signs or signed receipts with."""
    from ipnotary.sdk.signing import key_id, public_key_from_b64, public_key_to_b64
    from ipnotary.service.adapters.keys import load_or_create_ed25519_key

    keys = {
        key_id(public_key_from_b64(k.public_key)): k.public_key
        for k in settings.issuer_retired_keys
    }
    path = settings.resolved_issuer_key_file
    if path.exists():  # never create one here: a new key would sign nothing a holder has
        public = load_or_create_ed25519_key(
            path, purpose="issuer", passphrase=settings.resolved_key_passphrase
        ).public_key()
        keys[key_id(public)] = public_key_to_b64(public)
    elif not keys:
        fail(f"no issuer key at {path} (NOTARY_ISSUER_KEY_FILE) to check receipts against", 2)
    return keys


def _print_reconcile(report: ReconcileReport) -> None:
    out.print(
        f"chain {report.chain_id}, registry {report.registry}: "
        f"{report.anchored_checkpoints} checkpoints anchored, up to log size "
        f"{report.anchored_size}",
        soft_wrap=True,
        highlight=False,
    )
    out.print(
        f"database: log size {report.database_log_size}, {report.database_batches} batches, "
        f"{report.pending_records} records pending",
        soft_wrap=True,
        highlight=False,
    )
    for w in report.witnesses:
        size = "unknown" if w.size is None else str(w.size)
        out.print(
            f"witness {w.name}: size {size} (cosignatures here up to "
            f"{w.cosigned_in_database}){': ' + w.error if w.error else ''}",
            soft_wrap=True,
            highlight=False,
        )
    if report.lost is not None:
        out.print(
            f"LOST log entries {report.lost} ({report.lost.count})", soft_wrap=True, highlight=False
        )
    for p in report.problems:
        out.print(f"MISSING {p.code}: {p.message}", soft_wrap=True, highlight=False)
    for f in report.database:
        label = "DATABASE" if f.severity == "problem" else "NOTICE"
        out.print(f"{label} {f.code}: {f.message}", soft_wrap=True, highlight=False)
    for r in report.receipts:
        out.print(
            f"receipt {r.source}: {r.outcome.value}: {r.message}", soft_wrap=True, highlight=False
        )
    verdict = (
        "everything anchored, witnessed and receipted is accounted for"
        if report.ok
        else "the database cannot account for everything above, or cannot take commits"
    )
    out.print(f"{verdict} ({report.seconds:.2f} s)", soft_wrap=True, highlight=False)


@contextmanager
def _runtime_for_operator() -> Iterator[Runtime]:
    """The service's runtime on this host's settings, for an operator's command: nothing is
    started, no key is created, production's start-up checks are not run."""
    from ipnotary.service.config import Environment, load_settings
    from ipnotary.service.runtime import Runtime

    settings = load_settings()
    runtime = Runtime.build(
        settings.model_copy(update={"env": Environment.development}), create_keys=False
    )
    try:
        yield runtime
    finally:
        runtime.close()


@trust_app.command("show")
def trust_show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Compare this environment's trust settings with the fleet's recorded ones. Exit 1 when they
    differ (a process started with these settings would refuse to start)."""
    from ipnotary.service.services.deployment import TRUST_FACTS, recorded_facts, trust_facts

    with _runtime_for_operator() as runtime:
        here = trust_facts(runtime)
        recorded = recorded_facts(runtime.engine)
    rows = [
        {
            "name": name,
            "setting": TRUST_FACTS[name],
            "here": here[name],
            "fleet": recorded.get(name),
            "same": recorded.get(name) == here[name],
        }
        for name in TRUST_FACTS
    ]
    if as_json:
        out.print_json(data=rows)
    else:
        for row in rows:
            mark = "same" if row["same"] else "DIFFERS"
            out.print(
                f"{row['name']}: {mark}\n  here:  {row['here']}\n  fleet: {row['fleet']}",
                soft_wrap=True,
                highlight=False,
            )
    if not all(row["same"] for row in rows):
        raise typer.Exit(1)


@trust_app.command("set")
def trust_set(
    reason: Annotated[
        str | None, typer.Option(help="Why, for the audit log (e.g. the witness added)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record this environment's trust settings (NOTARY_WITNESSES, NOTARY_WITNESS_QUORUM,
    NOTARY_TSA_URLS, NOTARY_TSA_QUORUM, NOTARY_TSA_CA_FILE, and the policy they give) as the
    fleet's, audited as deployment.trust_changed. Processes still running the old settings then
    report themselves not ready until restarted with the new ones."""
    from ipnotary.service.services.deployment import change_trust

    with _runtime_for_operator() as runtime:
        change = change_trust(runtime, reason=reason)
    if as_json:
        out.print_json(
            data={n: {"from": old, "to": new} for n, (old, new) in change.changed.items()}
        )
        return
    if not change.changed:
        out.print("nothing to change: the fleet already records these trust settings")
    for name, (old, new) in change.changed.items():
        out.print(f"{name}: {old} -> {new}", soft_wrap=True, highlight=False)


@contextmanager
def _registry_client() -> Iterator[EvidenceRegistryClient]:
    from ipnotary.service.adapters.chain_gateway import connect_chain
    from ipnotary.service.config import load_settings

    settings = load_settings()
    client = connect_chain(settings)()
    try:
        yield client
    finally:
        client.close()


def _grant_json(grant: RoleGrant) -> dict[str, str]:
    return {
        "registry": grant.registry,
        "address": grant.address,
        "role": grant.role,
        "account": grant.account,
        "action": grant.action,
        "tx_hash": grant.tx_hash,
    }


@registry_app.command("roles")
def registry_roles(
    account: Annotated[
        str | None, typer.Argument(help="An account (0x...); default the chain key's")
    ] = None,
) -> None:
    """Which roles an account holds in each registry."""
    from ipnotary.service.adapters.registry_roles import holds_role

    with _registry_client() as client:
        who = account or str(client.account)
        held = {
            "account": who,
            "evidence": {
                r: holds_role(client, r, who, registry="evidence") for r in ("admin", "anchorer")
            },
            "pledge": {
                r: holds_role(client, r, who, registry="pledge") for r in ("admin", "registrar")
            },
        }
    out.print_json(data=held)


@registry_app.command("grant")
def registry_grant(
    role: Annotated[str, typer.Argument(help="admin, anchorer or registrar")],
    account: Annotated[str, typer.Argument(help="The account (0x...) that gets it")],
    registry: Annotated[
        str | None, typer.Option(help="evidence or pledge (default: the role's own)")
    ] = None,
) -> None:
    """Grant a role, sent by NOTARY_CHAIN_PRIVATE_KEY's account (which must hold admin)."""
    from ipnotary.service.adapters.registry_roles import grant_role

    with _registry_client() as client:
        grant = _operator_call(lambda: grant_role(client, role, account, registry=registry))
    out.print_json(data=_grant_json(grant))


@registry_app.command("renounce")
def registry_renounce(
    role: Annotated[str, typer.Argument(help="admin or anchorer")],
    successor: Annotated[
        str | None,
        typer.Option(help="For admin: the account that holds it already (checked first)"),
    ] = None,
    registry: Annotated[str | None, typer.Option(help="evidence (default) or pledge")] = None,
) -> None:
    """NOTARY_CHAIN_PRIVATE_KEY's own account gives up a role (the admin role only to a
    successor that holds it already)."""
    from ipnotary.service.adapters.registry_roles import renounce_role

    with _registry_client() as client:
        grant = _operator_call(
            lambda: renounce_role(client, role, registry=registry, successor=successor)
        )
    out.print_json(data=_grant_json(grant))


def _operator_call(act: Callable[[], T]) -> T:
    """A refusal of the service's (a role nobody holds, a bad name) as one line, exit 1."""
    try:
        return act()
    except NotaryError as exc:
        fail(exc.detail)


def add_service_commands(command: typer.Typer) -> tuple[type[Exception], ...]:
    """Add the service's commands to ``command`` (the ``ipnotary.cli`` entry point); adding them
    twice changes nothing. Returns the service's user-error root for the one-line reports."""
    present = {info.callback for info in command.registered_commands}
    command.registered_commands.extend(
        info for info in commands.registered_commands if info.callback not in present
    )
    groups = {info.typer_instance for info in command.registered_groups}
    command.registered_groups.extend(
        info for info in commands.registered_groups if info.typer_instance not in groups
    )
    return (NotaryError,)


# The whole `notary` command: the SDK's app with the service's commands (importing this module
# adds them, as the entry point would).
app = sdk_cli.app
_USER_ERRORS = add_service_commands(app)


def main() -> None:
    """``notary`` with the service's commands whether or not the entry point is installed, and
    those of every other installed distribution (the witness's)."""
    sdk_cli.run(app, (*_USER_ERRORS, *sdk_cli.add_installed_commands(app)))
