"""Database engine and schema migrations, and the database's failures said in the operator's words.

SQLite in the data directory by default, PostgreSQL by URL (``postgres://`` or ``postgresql://``,
as psql takes them, used through psycopg 3). The schema is owned by Alembic: the service runs
``upgrade head`` on start, so a new version migrates an old data directory in place.

A database is a component like the chain: at start the service waits for one that is not up yet
(:func:`wait_for_database`, up to ``NOTARY_STARTUP_TIMEOUT_SECONDS``) and refuses at once one that
answers "no" (a wrong password, an unknown database, no ``pg_hba.conf`` entry), in one line naming
the setting; while serving, a database that went away is a 503 ``database_unavailable``
(:func:`database_unavailable`, used by ``api/errors.py``), never an "unexpected error".
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import create_engine

from ipnotary.sdk.redaction import redact_url
from ipnotary.service.errors import ConfigurationError, DependencyUnavailable, NotaryError

__all__ = [
    "create_db_engine",
    "database_unavailable",
    "is_database_outage",
    "migrate",
    "purge_erased_rows",
    "sqlalchemy_url",
    "wait_for_database",
]

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")
# Advisory lock id held while migrating PostgreSQL ("NOTM"); the leader lock uses another.
_MIGRATION_LOCK_ID = 0x4E4F544D
# libpq waits forever for a host that drops packets; a request thread must not.
_CONNECT_TIMEOUT_SECONDS = 10

# What the server says when it will never let this client in, whatever the wait: the operator
# must change a setting (libpq gives no SQLSTATE for these, only the server's FATAL text).
_REFUSALS = (
    ("password authentication failed", "check the user and password in NOTARY_DATABASE_URL"),
    ("does not exist", "check the user and database names in NOTARY_DATABASE_URL"),
    ("no pg_hba.conf entry", "allow this host and user in the server's pg_hba.conf"),
    ("authentication failed", "check the credentials in NOTARY_DATABASE_URL"),
    ("certificate", "check the TLS settings (sslmode, sslrootcert) in NOTARY_DATABASE_URL"),
    ("invalid connection option", "check the parameters after ? in NOTARY_DATABASE_URL"),
    ("invalid sslmode", "check sslmode in NOTARY_DATABASE_URL"),
)


def sqlalchemy_url(url: str) -> str:
    """``url`` as SQLAlchemy takes it: ``postgres://`` and ``postgresql://`` through psycopg 3."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("postgres", "postgresql", "postgres+psycopg"):
        return f"postgresql+psycopg://{rest}"
    return url


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for the backend: WAL SQLite for one machine, pooled PostgreSQL beyond."""
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the writer; synchronous=FULL makes each acknowledged
            # receipt survive power loss, not only a killed process.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Erased personal data (repaired credit entries) must not linger in free pages.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    connect_args = {}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = _CONNECT_TIMEOUT_SECONDS
    # pre_ping: after a server restart every pooled connection is dead; each is tested (and
    # replaced) on checkout instead of failing the request that drew it.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is the database being unreachable or going away (as opposed to a query's
    own error, which is a bug or a conflict): connection failures, connections dropped under a
    query, a pool with no connection free."""
    if isinstance(exc, (PoolTimeout, DisconnectionError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        from sqlalchemy.exc import InterfaceError, OperationalError

        return isinstance(exc, (OperationalError, InterfaceError))
    return False


def _server_says(exc: BaseException) -> str:
    """The driver's own one-line reason, without SQLAlchemy's "(Background on this error...)"."""
    orig = getattr(exc, "orig", None) or exc
    text_ = " ".join(str(orig).split())
    return text_.removeprefix("connection failed: ")[:400]


def _refusal_hint(reason: str) -> str | None:
    lowered = reason.lower()
    for marker, hint in _REFUSALS:
        if marker in lowered:
            return hint
    return None


def database_unavailable(exc: BaseException, *, url: str | None = None) -> NotaryError:
    """The service's error for a database failure: ``ConfigurationError`` (``database_refused``)
    when the server will not let this client in, else ``DependencyUnavailable``
    (``database_unavailable``, a 503 the SDK's client retries)."""
    reason = _server_says(exc)
    where = f" at {redact_url(url)}" if url else ""
    hint = _refusal_hint(reason)
    if hint is not None:
        return ConfigurationError(
            f"the database{where} refuses this service: {reason}: {hint}", code="database_refused"
        )
    if isinstance(exc, PoolTimeout):
        reason = "no database connection came free in time (the pool is exhausted)"
    return DependencyUnavailable(
        f"the database{where} is unavailable: {reason}", code="database_unavailable"
    )


def wait_for_database(engine: Engine, *, timeout: float) -> None:
    """Connect, waiting up to ``timeout`` seconds for a server that is not up yet (refused
    connections, "starting up", "shutting down"); a server that refuses this client fails at once.
    Raises the error of :func:`database_unavailable`, naming the setting."""
    if engine.dialect.name != "postgresql":
        return
    url = engine.url.render_as_string(hide_password=True)
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except SQLAlchemyError as exc:
            error = database_unavailable(exc, url=url)
            left = deadline - time.monotonic()
            if isinstance(error, ConfigurationError) or left <= 0:
                if not isinstance(error, ConfigurationError):
                    error = DependencyUnavailable(
                        f"{error.detail} (waited {timeout:g} s, NOTARY_STARTUP_TIMEOUT_SECONDS): "
                        "is PostgreSQL running and reachable at the host and port of "
                        "NOTARY_DATABASE_URL?",
                        code="database_unavailable",
                    )
                raise error from None
            log.warning(
                "the database does not answer yet; retrying in %.1fs",
                delay,
                extra={"event": "startup_waiting_for_database", "retry_in": delay},
            )
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine, *, wait_seconds: float = 0.0) -> None:
    """Bring the schema to the newest revision (idempotent), first waiting up to
    ``wait_seconds`` for a database that is not up yet. A database that cannot be reached or
    refuses this client raises the service's error (:func:`database_unavailable`), in one line."""
    wait_for_database(engine, timeout=wait_seconds)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # API processes that start together on a fresh database would each create the
                # tables and all but one fail; the lock makes them migrate one after another.
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        if not is_database_outage(exc):
            raise
        raise database_unavailable(
            exc, url=engine.url.render_as_string(hide_password=True)
        ) from None


def purge_erased_rows(engine: Engine, *tables: str) -> None:
    """Make erased values unrecoverable from the database files, not just unreadable by SQL.

    SQLite (with ``secure_delete``) overwrites old page contents once the WAL is checkpointed;
    PostgreSQL keeps dead row versions until VACUUM.
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                if not table.isidentifier():
                    raise ValueError(f"not a table name: {table!r}")
                conn.exec_driver_sql(f"VACUUM {table}")
