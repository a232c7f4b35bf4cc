"""Database engine and schema migrations.

SQLite in the data directory by default, PostgreSQL by URL. The schema is owned by Alembic: the
service runs ``upgrade head`` on start, so a new version migrates an old data directory in place.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, text
from sqlmodel import create_engine

__all__ = ["create_db_engine", "migrate", "purge_erased_rows"]

_MIGRATIONS = Path(__file__).with_name("migrations")
# Advisory lock id held while migrating PostgreSQL ("NOTM"); the leader lock uses another.
_MIGRATION_LOCK_ID = 0x4E4F544D


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine tuned for the backend: WAL SQLite for one machine, pooled PostgreSQL beyond."""
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
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # API processes that start together on a fresh database would each create the
            # tables and all but one fail; the lock makes them migrate one after another.
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


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
