"""A throwaway PostgreSQL server for the integration suites, and a fresh database per test.

The server binaries are looked up in ``NOTARY_PG_BIN`` (a directory holding ``initdb`` and
``postgres``), then ``/usr/lib/postgresql/<newest>/bin`` (Debian's ``postgresql`` package, which
``scripts/install-components.sh`` installs). Without them the tests that need the server skip with
the reason, except under ``CI=true`` where that is a failure.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` system user
(created by the Debian package) and lives in a directory under ``/tmp`` that user can reach
(pytest's own temporary directories are private to root). The server listens on 127.0.0.1 on a free
port with its socket in that directory, ``fsync=off`` (a crashed test run needs no durable data),
and a non-UTC ``TimeZone`` so that code which stores local instead of UTC times shows up in the
tests.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import free_port, missing_component

__all__ = ["PostgresServer", "find_pg_bin", "postgres_server", "postgres_url"]

# The product's users are in China: a server there may well run on Asia/Shanghai (UTC+8).
SERVER_TIMEZONE = "Asia/Shanghai"


def find_pg_bin() -> tuple[Path | None, str]:
    """The directory with ``initdb`` and ``postgres``, or None and every place searched."""
    tried: list[str] = []
    env = os.environ.get("NOTARY_PG_BIN")
    candidates = [Path(env)] if env else []
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += debian
    for directory in candidates:
        tried.append(str(directory))
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "postgres")):
            return directory, ""
    return None, (
        "PostgreSQL server binaries not found (NOTARY_PG_BIN="
        f"{env or 'unset'}; tried {', '.join(tried) or '/usr/lib/postgresql/*/bin'}): "
        "run scripts/install-components.sh (apt package postgresql) or set NOTARY_PG_BIN"
    )


@dataclass
class PostgresServer:
    """One cluster: ``start()`` runs initdb and the postmaster, ``stop()`` removes everything."""

    bin_dir: Path
    port: int = field(default_factory=free_port)
    user: str = "notary"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Extra addresses (and pg_hba.conf lines for their clients), e.g. for a network namespace.
    listen_addresses: tuple[str, ...] = ("127.0.0.1",)
    hba_lines: tuple[str, ...] = ()
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    # Server settings on top of (or instead of) the ones below, e.g. WAL archiving.
    extra_settings: dict[str, str] = field(default_factory=dict)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """A ``postgresql://`` URL, as an operator would put in ``NOTARY_DATABASE_URL``."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def _run_as(self) -> dict[str, Any]:
        """Popen arguments that drop root to the ``postgres`` user (initdb refuses root)."""
        if os.geteuid() != 0:
            return {}
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            missing_component(
                "running as root and there is no 'postgres' user for initdb "
                "(install the Debian postgresql package, or run the tests as a normal user)"
            )
            raise
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def make_root(self) -> Path:
        """A new directory the server's user owns (what ``start`` puts the cluster in)."""
        run_as = self._run_as()
        self.root = Path(tempfile.mkdtemp(prefix="notary-pg-"))
        if run_as:
            os.chown(self.root, run_as["user"], run_as["group"])
        return self.root

    def start(self, timeout: float = 60.0) -> PostgresServer:
        run_as = self._run_as()
        self.make_root()
        assert self.root is not None
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if run_as:
            os.chown(pwfile, run_as["user"], run_as["group"])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        initdb = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=False,
            env=env,
            cwd=self.root,
            capture_output=True,
            timeout=120,
            **run_as,
        )
        pwfile.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{initdb.stdout.decode()}{initdb.stderr.decode()}")
        if self.hba_lines:
            with open(self.data_dir / "pg_hba.conf", "a") as hba:
                hba.writelines(line + "\n" for line in self.hba_lines)
        return self.run_postmaster(timeout)

    def run_postmaster(self, timeout: float = 60.0) -> PostgresServer:
        """Start the postmaster on the cluster in ``data_dir`` (made by ``start``, or restored
        there from a backup) and wait until it accepts connections."""
        run_as = self._run_as()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        settings = {
            "listen_addresses": ",".join(self.listen_addresses),
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "timezone": SERVER_TIMEZONE,
            **self.extra_settings,
        }
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - the postmaster keeps writing to it
        try:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **run_as,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"postgres not ready after {timeout}s:\n{self.log()}"
                    ) from None
                time.sleep(0.1)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def create_database(self, prefix: str = "t") -> str:
        """A new, empty database; returns its ``postgresql://`` URL."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, ending its sessions first."""
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown: end sessions, write nothing we need.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, started on first use."""
    bin_dir, reason = find_pg_bin()
    if bin_dir is None:
        missing_component(reason)
    assert bin_dir is not None
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database for one test, as a ``postgresql://`` URL for ``NOTARY_DATABASE_URL``."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
