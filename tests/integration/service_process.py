"""Runs the real service (``notary serve``) as a separate process on a free loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import REPO, free_port

NOTARY = [sys.executable, "-c", "from ipnotary.service.cli import main; main()"]


@dataclass
class ServiceProcess:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
        env.update(
            {
                "NOTARY_DATA_DIR": str(self.data_dir),
                "NOTARY_BIND_HOST": "127.0.0.1",
                "NOTARY_BIND_PORT": str(self.port),
                "NOTARY_BATCH_INTERVAL_SECONDS": "0.5",
                "NOTARY_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(self.env)
        return env

    def create_principal(self, name: str, role: str) -> str:
        out = subprocess.run(
            [*NOTARY, "principal", "create", "--name", name, "--role", role, "--init"],
            env=self._env(),
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=120,
        )
        return str(json.loads(out.stdout)["api_key"])

    def start(self, timeout: float = 120.0) -> ServiceProcess:
        self.log_path = self.data_dir.parent / f"service-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [*NOTARY, "serve"],
            env=self._env(),
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"service did not come up:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def kill(self) -> None:
        """``kill -9``: no cleanup, no flush, like a power cut to the process."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def peak_rss_bytes(self) -> int:
        """High-water resident memory of the server process (Linux VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")


class DigestSubmitter:
    """Submits ``total`` digests from several threads, ``per_request`` per many-digests request,
    retrying every request until it is acknowledged (a killed server is simply retried later).

    ``acknowledged`` maps each record id to the leaf hash its signed receipt promised.
    """

    def __init__(
        self, svc: ServiceProcess, key: str, *, total: int, per_request: int = 25, threads: int = 4
    ) -> None:
        self._svc, self._key, self.total, self._per = svc, key, total, per_request
        self._todo = list(range(0, total, per_request))
        self._lock = threading.Lock()
        self.acknowledged: dict[str, str] = {}
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    @staticmethod
    def digest(i: int) -> dict[str, object]:
        return {"sha256": f"{i:064x}", "size": i, "metadata": {"title": f"item {i}"}}

    def _run(self) -> None:
        from ipnotary.sdk import NotaryClient
        from ipnotary.sdk.errors import APIError, TransportError

        try:
            while True:
                with self._lock:
                    if not self._todo:
                        return
                    start = self._todo.pop()
                items = [self.digest(i) for i in range(start, min(start + self._per, self.total))]
                try:
                    with NotaryClient(self._svc.url, self._key, timeout=30) as client:
                        subs = client.submit_digests(items)
                except (APIError, TransportError):  # answered with an error, or not at all
                    with self._lock:
                        self._todo.append(start)
                    time.sleep(0.2)
                    continue
                with self._lock:
                    for s in subs:
                        self.acknowledged[s.id] = s.receipt.leaf_hash
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            self.errors.append(exc)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)

    def join(self, timeout: float = 300) -> None:
        for t in self._threads:
            t.join(timeout=timeout)
        assert not self.errors, self.errors


def start_all(nodes: list[ServiceProcess]) -> None:
    """Start processes at the same moment, as an orchestrator does (they migrate together)."""
    errors: list[BaseException] = []

    def start(node: ServiceProcess) -> None:
        try:
            node.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
