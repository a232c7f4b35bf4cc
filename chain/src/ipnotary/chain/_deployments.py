"""The small JSON file that remembers where our contracts were deployed.

Without a configured contract address the client deploys on first start and
records the address here, keyed by chain id and contract name, together with the
chain's genesis hash so that a reset development chain is noticed instead of
silently anchoring into a contract that no longer exists. The deployment
transaction's hash is recorded *before* it is sent, so a crash between sending
and recording finds the contract again instead of deploying a second one. Every
contract of a chain shares the file; :meth:`DeploymentBook.lock` serialises the
look-up-and-deploy of starters (threads or processes) sharing the directory.

File shape (version 1)::

    {"version": 1,
     "deployments": {"1337": {"EvidenceRegistry": {
         "address": "0x..." | null, "tx_hash": "0x...", "genesis_hash": "0x...",
         "block_number": 1 | null},
                   "EvidenceRegistry/1": {...},
                   "PledgeRegistry": {...}}}}

A contract name holds the deployment of the current version. When a started
client finds that it records a contract of an earlier version (by its runtime
code; see ``superseded`` in :meth:`ipnotary.chain._sender.TransactionSender.deploy_or_reuse`),
the record moves to the name plus ``/<version>`` (``"EvidenceRegistry/1"``, as that
contract's ``version()`` says) and the current version is deployed beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ipnotary.chain.errors import ChainError, ContractNotFound

__all__ = [
    "DEPLOYMENTS_FILE",
    "DEPLOYMENTS_LOCK_FILE",
    "Deployment",
    "DeploymentBook",
    "recorded_address",
]

DEPLOYMENTS_FILE = "deployments.json"
DEPLOYMENTS_LOCK_FILE = "deployments.lock"
_VERSION = 1


@dataclass(frozen=True)
class Deployment:
    tx_hash: str
    genesis_hash: str
    address: str | None = None
    """None while the deployment transaction has been sent but not yet seen mined."""
    block_number: int | None = None


class DeploymentBook:
    """Reads and atomically rewrites ``<state_dir>/deployments.json``."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.path = Path(state_dir) / DEPLOYMENTS_FILE
        self.lock_path = Path(state_dir) / DEPLOYMENTS_LOCK_FILE

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the book exclusively (blocking) for a read-deploy-record sequence.

        An ``flock`` on a separate file, so readers of the book never wait, and a
        killed holder's lock goes with its process. Not re-entrant: take it once.
        """
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def get(self, chain_id: int, contract: str) -> Deployment | None:
        entry = self._read()["deployments"].get(str(chain_id), {}).get(contract)
        if entry is None:
            return None
        try:
            return Deployment(**entry)
        except TypeError as exc:
            raise ChainError(
                f"{self.path} has a malformed entry for {contract} on chain {chain_id} ({exc}); "
                "fix or move the file away"
            ) from exc

    def put(self, chain_id: int, contract: str, deployment: Deployment) -> None:
        document = self._read()
        document["deployments"].setdefault(str(chain_id), {})[contract] = asdict(deployment)
        self._write(document)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": _VERSION, "deployments": {}}
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise ChainError(
                f"{self.path} is not valid JSON ({exc}); fix or move the file away"
            ) from exc
        if not isinstance(document, dict) or document.get("version") != _VERSION:
            raise ChainError(
                f"{self.path} is not a version-{_VERSION} deployments file; fix or move it away"
            )
        document.setdefault("deployments", {})
        return document

    def _write(self, document: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename (with fsyncs) so a crash leaves the old or the new file, never half.
        fd, tmp = tempfile.mkstemp(prefix=".deployments.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def recorded_address(state_dir: str | os.PathLike[str], chain_id: int, contract: str) -> str:
    """The address of ``contract`` on ``chain_id`` recorded in ``state_dir``'s book."""
    deployment = DeploymentBook(state_dir).get(chain_id, contract)
    if deployment is None or deployment.address is None:
        raise ContractNotFound(
            f"no {contract} deployment is recorded in {Path(state_dir)}; "
            "pass registry_address, or start the service once to deploy it"
        )
    return deployment.address
