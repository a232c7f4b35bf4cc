"""Torchwood's independent C2SP programs as test fixtures: ``litewitness`` (a tlog-witness) and
``spicy -verify`` (an offline inclusion proof checker), both v0.6.1
(``scripts/install-torchwood.sh``).

Start with :class:`LiteWitness`: a real litewitness process with its own ssh-agent, key and SQLite
state, on a free loopback port. Use it as a context manager (or through the :func:`litewitness`
fixture) so that every process it started is ended::

    with LiteWitness.create(tmp_path) as witness:
        witness.add_log(origin, log_signer.vkey())
        response = witness.add_checkpoint(old_size=0, proof=[], note=signed_checkpoint)
        CosignatureVerifier.from_vkey(witness.vkey).verify(checkpoint_text, ...)

How a log gets registered without ``witnessctl`` (which does not build: its dependency
``sigsum.org/sigsum-go`` is refused by the proxy): litewitness opens its database with
``CREATE TABLE IF NOT EXISTS log (origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, tree_hash
TEXT NOT NULL)`` and ``key (origin TEXT NOT NULL, key TEXT NOT NULL, FOREIGN KEY(origin) REFERENCES
log(origin))`` (``internal/witness/witness.go`` v0.6.1). :meth:`LiteWitness.add_log` creates the
same tables and inserts what ``witnessctl add-log``/``add-key`` would: a ``log`` row at size 0 whose
hash is the base64 of the empty tree's root, SHA-256(""), and a ``key`` row with the log's vkey.
litewitness reads both on every request, so a log may be added while it runs.

:class:`NotaryWitness` runs our own ``notary witness serve`` the same way, with the same methods, so
a test can put both witnesses through the same requests.

Binaries are found with :func:`tests.conftest.find_tool` (``$NOTARY_LITEWITNESS_BIN`` /
``$NOTARY_SPICY_BIN``, ``.tools/bin``, ``~/go/bin``, ``PATH``); when one is missing the test is
skipped, or fails under ``CI=true`` (:func:`tests.conftest.missing_component`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ipnotary.sdk.note import CosignatureSigner, Note
from tests.conftest import REPO, find_tool, free_port, missing_component

__all__ = [
    "LITEWITNESS_SCHEMA",
    "TORCHWOOD_VERSION",
    "LiteWitness",
    "NotaryWitness",
    "add_checkpoint_body",
    "litewitness",
    "litewitness_binary",
    "notary_witness",
    "run_spicy",
    "spicy_binary",
    "ssh_fingerprint",
]

TORCHWOOD_VERSION = "v0.6.1"
_INSTALL_HINT = "run scripts/install-torchwood.sh"

# The tables litewitness v0.6.1 creates (IF NOT EXISTS) when it opens its database.
LITEWITNESS_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    origin TEXT PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    tree_hash TEXT NOT NULL -- base64-encoded
);
CREATE TABLE IF NOT EXISTS key (
    origin TEXT NOT NULL,
    key TEXT NOT NULL, -- note verifier key
    FOREIGN KEY(origin) REFERENCES log(origin)
);
"""
_EMPTY_TREE_HASH_B64 = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")


def litewitness_binary() -> str:
    """The litewitness binary, or skip (fail under CI=true)."""
    found = find_tool("litewitness", "NOTARY_LITEWITNESS_BIN")
    if found is None:
        missing_component(f"litewitness {TORCHWOOD_VERSION} not found; {_INSTALL_HINT}")
        raise AssertionError("unreachable")  # missing_component always raises
    return found


def spicy_binary() -> str:
    """The spicy binary, or skip (fail under CI=true)."""
    found = find_tool("spicy", "NOTARY_SPICY_BIN")
    if found is None:
        missing_component(f"spicy {TORCHWOOD_VERSION} not found; {_INSTALL_HINT}")
        raise AssertionError("unreachable")
    return found


def _ssh_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        missing_component(f"{name} (OpenSSH client) not found; litewitness signs through ssh-agent")
        raise AssertionError("unreachable")
    return found


def ssh_fingerprint(private_key: Ed25519PrivateKey) -> str:
    """``SHA256:<unpadded base64>`` of the SSH wire-format public key, as ``ssh-keygen -l`` prints
    and litewitness's ``-key`` flag expects."""
    openssh = private_key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    blob = base64.b64decode(openssh.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: Note | str) -> bytes:
    """A tlog-witness ``add-checkpoint`` request body: ``old N``, proof lines, blank, note."""
    lines = [f"old {old_size}\n"] + [base64.b64encode(h).decode() + "\n" for h in proof]
    text = note.format() if isinstance(note, Note) else note
    return ("".join(lines) + "\n" + text).encode("utf-8")


def run_spicy(log_vkey: str, file: Path | str) -> subprocess.CompletedProcess[str]:
    """``spicy -verify LOG_VKEY FILE``: checks ``FILE.spicy`` against ``FILE``'s bytes. Exit status
    0 and "verified" on stderr when the proof holds, 1 otherwise."""
    return subprocess.run(
        [spicy_binary(), "-verify", log_vkey, str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class _WitnessProcess:
    """What both witness harnesses share: a process, its log file, and the tlog-witness call."""

    port: int
    log_path: Path
    _proc: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str:
        """The submission prefix: requests go to ``<url>/add-checkpoint``."""
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL (``kill -9``), like a power cut to the process: no shutdown, no flush."""
        _end(self._proc, signal.SIGKILL)

    def close(self) -> None:
        _end(self._proc, signal.SIGKILL)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_checkpoint(
        self, old_size: int, proof: Sequence[bytes], note: Note | str, timeout: float = 10.0
    ) -> httpx.Response:
        """``POST <url>/add-checkpoint`` (C2SP tlog-witness)."""
        return httpx.post(
            self.url + "/add-checkpoint",
            content=add_checkpoint_body(old_size, proof, note),
            timeout=timeout,
        )


def _end(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


class LiteWitness(_WitnessProcess):
    """A litewitness process with its own ssh-agent, Ed25519 key and SQLite database.

    ``stop()`` (SIGINT, clean shutdown) or ``kill()`` (SIGKILL) end the witness and keep its state
    and agent; ``start()`` runs it again on the same port, key and database. ``close()`` ends every
    process this object started.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        name: str = "witness.example/litewitness",
        private_key: Ed25519PrivateKey | None = None,
        port: int | None = None,
    ) -> None:
        self.binary = litewitness_binary()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.port = port or free_port()
        self.db_path = workdir / "litewitness.db"
        self.log_path = workdir / "litewitness.log"
        # A unix socket path is limited to ~108 bytes: keep the agent's socket under a short dir.
        self._sock_dir = Path(tempfile.mkdtemp(prefix="lw-", dir="/tmp"))
        self.agent_socket = self._sock_dir / "agent.sock"
        self._agent: subprocess.Popen[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.fingerprint = ssh_fingerprint(self.private_key)
        self.vkey = CosignatureSigner(self.name, self.private_key).vkey()

    @classmethod
    def create(
        cls,
        workdir: Path,
        *,
        name: str = "witness.example/litewitness",
        private_key: Ed25519PrivateKey | None = None,
        port: int | None = None,
    ) -> Self:
        """A started witness: agent up, key loaded, litewitness answering."""
        witness = cls(workdir, name=name, private_key=private_key, port=port)
        try:
            witness._start_agent()
            witness.start()
        except BaseException:
            witness.close()
            raise
        return witness

    # -- state ------------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=10)
        db.executescript(LITEWITNESS_SCHEMA)
        return db

    def add_log(self, origin: str, log_vkey: str) -> None:
        """Register a log as ``witnessctl add-log`` + ``add-key`` would: size 0, empty-tree hash."""
        with contextlib.closing(self._db()) as db, db:
            db.execute(
                "INSERT INTO log (origin, tree_size, tree_hash) VALUES (?, 0, ?)",
                (origin, _EMPTY_TREE_HASH_B64),
            )
            db.execute("INSERT INTO key (origin, key) VALUES (?, ?)", (origin, log_vkey))

    def tree(self, origin: str) -> tuple[int, bytes] | None:
        """The (size, root) litewitness has stored for ``origin``, read from its database."""
        with contextlib.closing(self._db()) as db:
            row = db.execute(
                "SELECT tree_size, tree_hash FROM log WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else (int(row[0]), base64.b64decode(row[1]))

    # -- processes --------------------------------------------------------------------------

    def _start_agent(self) -> None:
        agent, add = _ssh_tool("ssh-agent"), _ssh_tool("ssh-add")
        # -D keeps the agent in the foreground, so it is our child and we can end it by pid.
        self._agent = subprocess.Popen(
            [agent, "-D", "-a", str(self.agent_socket)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not self.agent_socket.exists():
            if self._agent.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ssh-agent did not create its socket")
            time.sleep(0.02)
        key_file = self._sock_dir / "witness_key"
        key_file.write_bytes(
            self.private_key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        )
        key_file.chmod(0o600)
        try:
            subprocess.run(
                [add, "-q", str(key_file)],
                check=True,
                capture_output=True,
                timeout=30,
                env={**os.environ, "SSH_AUTH_SOCK": str(self.agent_socket)},
            )
        finally:
            key_file.unlink()  # the agent holds it now; nothing else needs the private key

    def start(self, timeout: float = 30.0) -> None:
        """Run litewitness (again) and wait until it answers HTTP."""
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError("litewitness is already running")
        self._db().close()  # its tables exist before it starts, whether or not a log was added
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "-db",
                    str(self.db_path),
                    "-name",
                    self.name,
                    "-key",
                    self.fingerprint,
                    "-ssh-agent",
                    str(self.agent_socket),
                    "-listen",
                    f"127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"litewitness exited with {self._proc.returncode}:\n{self.log()}"
                )
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"litewitness not answering after {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def printed_vkey(self) -> str | None:
        """The verifier key litewitness logged at start-up (``vkey=...``)."""
        match = re.search(r"vkey=(\S+)", self.log())
        return match.group(1) if match else None

    def stop(self) -> None:
        """SIGINT: litewitness shuts its server down cleanly."""
        _end(self._proc, signal.SIGINT)

    def close(self) -> None:
        """End litewitness and its ssh-agent, and remove the agent's socket directory."""
        _end(self._proc, signal.SIGKILL)
        _end(self._agent, signal.SIGTERM)
        shutil.rmtree(self._sock_dir, ignore_errors=True)


@pytest.fixture
def litewitness(tmp_path: Path) -> Iterator[LiteWitness]:
    """A running litewitness with no logs registered yet; every process ends with the test."""
    with LiteWitness.create(tmp_path / "litewitness") as witness:
        yield witness


class NotaryWitness(_WitnessProcess):
    """``notary witness serve`` as a real process, set up through its own CLI (``init``,
    ``add-log``, ``show``). Same interface as :class:`LiteWitness`."""

    # the SDK's `notary` with the witness distribution's commands, as a witness operator has it
    PROGRAM = (sys.executable, "-c", "from ipnotary.sdk.cli import main; main()")

    def __init__(
        self,
        workdir: Path,
        *,
        name: str = "witness.example/notary",
        port: int | None = None,
        program: Sequence[str] = PROGRAM,
    ) -> None:
        self.program = list(program)
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.directory = workdir / "witness"
        self.name = name
        self.port = port or free_port()
        self.log_path = workdir / "notary-witness.log"
        self.vkey = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(
        cls,
        workdir: Path,
        *,
        name: str = "witness.example/notary",
        port: int | None = None,
        program: Sequence[str] = PROGRAM,
    ) -> Self:
        """``init`` then ``serve``: a started witness with no logs."""
        witness = cls(workdir, name=name, port=port, program=program)
        witness.vkey = witness.cli("init", "--name", name).strip()
        try:
            witness.start()
        except BaseException:
            witness.close()
            raise
        return witness

    def _command(self, *args: str) -> list[str]:
        return [*self.program, "witness", *args, "--dir", str(self.directory)]

    def _env(self) -> dict[str, str]:
        # Nothing of the service's configuration may leak in: a witness is another party.
        return {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("NOTARY_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
        }

    def cli(self, *args: str) -> str:
        """Run ``notary witness ARGS --dir DIR`` and return its stdout."""
        done = subprocess.run(
            self._command(*args),
            env=self._env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"notary witness {args[0]} failed:\n{done.stderr}")
        return done.stdout

    def add_log(self, origin: str, log_vkey: str) -> None:
        self.cli("add-log", "--origin", origin, "--key", log_vkey)

    def tree(self, origin: str) -> tuple[int, bytes] | None:
        for log in json.loads(self.cli("show", "--json"))["logs"]:
            if log["origin"] == origin:
                return int(log["size"]), base64.b64decode(log["root"])
        return None

    def start(self, timeout: float = 60.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError("the witness is already running")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(
                    "serve", "--listen", f"127.0.0.1:{self.port}", "--log-level", "warning"
                ),
                env=self._env(),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"notary witness exited with {self._proc.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"notary witness not answering after {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: uvicorn finishes in-flight requests and exits."""
        _end(self._proc, signal.SIGTERM)


@pytest.fixture
def notary_witness(tmp_path: Path) -> Iterator[NotaryWitness]:
    """A running ``notary witness serve`` with no logs; the process ends with the test."""
    with NotaryWitness.create(tmp_path / "notary-witness") as witness:
        yield witness
