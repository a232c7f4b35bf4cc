"""Support code for the chain tests: keys, transactions, chain backends and node processes.

Nothing here is a test. The suites that run on every backend live beside it and import it:

* :mod:`tests.integration.registry_suite` - :class:`RegistryClientSuite`, the behaviour of
  :class:`chain.EvidenceRegistryClient` and :class:`chain.AnchorReader`;
* :mod:`tests.integration.pledge_suite` - :class:`PledgeClientSuite`, the behaviour of
  :class:`chain.PledgeRegistryClient` and :class:`chain.PledgeReader`.

A test module subclasses a suite once per backend and provides a ``backend`` fixture returning
a :class:`ChainBackend`: :class:`EmbeddedBackend` (the in-process py-evm chain, in
``tests/integration/chain``) or :class:`NodeBackend` (a JSON-RPC node, in ``tests/integration``).

:func:`start_hardhat` and :func:`start_geth` start a node (a :class:`NodeProcess`) on free
loopback ports; when its binary is missing they skip with the reason, or fail under ``CI=true``
(:func:`tests.conftest.missing_component`).
"""

from __future__ import annotations

import abc
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from eth_account import Account
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from ipnotary.chain import (
    AnchorReader,
    EmbeddedChain,
    EvidenceRegistryClient,
    PledgeReader,
    TransactionPolicy,
    load_artifact,
)
from ipnotary.chain._artifacts import load_legacy_artifact
from ipnotary.chain._deployments import Deployment, DeploymentBook
from tests.conftest import REPO, find_tool, free_port, missing_component

ADMIN_KEY = "0x" + "a1" * 32  # deploys the registry: admin + anchorer
OTHER_KEY = "0x" + "b2" * 32  # funded, holds no role
POOR_KEY = "0x" + "c3" * 32  # holds ANCHORER_ROLE, never funded
ADMIN = Account.from_key(ADMIN_KEY).address
OTHER = Account.from_key(OTHER_KEY).address
POOR = Account.from_key(POOR_KEY).address

# Runtime code "STOP": any contract that is not the EvidenceRegistry.
_STOP_CONTRACT_INIT = bytes.fromhex("6001600c60003960016000f300")


def unique_root() -> bytes:
    return os.urandom(32)


# -- transactions the tests need beyond the client (funding, granting, foreign code) --


def send_signed(w3: Web3, key: str, tx: dict[str, Any]) -> Any:
    """Sign with ``key``, send raw, wait for the receipt: works on every backend."""
    account = Account.from_key(key)
    latest = w3.eth.get_block("latest")
    base_fee = int(latest.get("baseFeePerGas") or 0)
    full = {
        "from": account.address,
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "value": 0,
        "maxPriorityFeePerGas": 10**9,
        "maxFeePerGas": 2 * base_fee + 10**9,
        **tx,
    }
    full.setdefault(
        "gas", int(w3.eth.estimate_gas({k: v for k, v in full.items() if k != "gas"}) * 1.3)
    )
    signed = account.sign_transaction(full)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.05)
    assert receipt["status"] == 1, receipt
    return receipt


def grant_anchorer(client: EvidenceRegistryClient, account: str) -> Any:
    """Grant ANCHORER_ROLE from the admin key; returns the receipt of the grant."""
    abi = load_artifact("EvidenceRegistry").abi
    contract = client.w3.eth.contract(address=client.registry_address, abi=list(abi))
    role = contract.functions.ANCHORER_ROLE().call()
    data = contract.encode_abi("grantRole", [role, account])
    return send_signed(client.w3, ADMIN_KEY, {"to": client.registry_address, "data": data})


def deploy_foreign_contract(w3: Web3) -> str:
    receipt = send_signed(w3, ADMIN_KEY, {"data": _STOP_CONTRACT_INIT})
    return str(receipt["contractAddress"])


def deploy_v1_registry(w3: Web3, state_dir: Path) -> str:
    """A version 1 EvidenceRegistry, recorded in ``state_dir``'s book as an earlier release did."""
    v1 = load_legacy_artifact("EvidenceRegistry", 1)
    factory = w3.eth.contract(abi=list(v1.abi), bytecode=v1.bytecode)
    receipt = send_signed(w3, ADMIN_KEY, {"data": factory.constructor(ADMIN).data_in_transaction})
    address = str(receipt["contractAddress"])
    DeploymentBook(state_dir).put(
        int(w3.eth.chain_id),
        "EvidenceRegistry",
        Deployment(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            genesis_hash="0x" + bytes(w3.eth.get_block(0)["hash"]).hex(),
            address=address,
            block_number=int(receipt["blockNumber"]),
        ),
    )
    return address


def anchor_in_v1(w3: Web3, address: str, root: bytes, leaf_count: int) -> Any:
    """``anchor(root, leafCount)`` on a version 1 registry, as an earlier release sent it."""
    v1 = load_legacy_artifact("EvidenceRegistry", 1)
    data = w3.eth.contract(address=address, abi=list(v1.abi)).encode_abi(
        "anchor", [root, leaf_count]
    )
    return send_signed(w3, ADMIN_KEY, {"to": address, "data": data})


# -- backends -------------------------------------------------------------------------


class ChainBackend(abc.ABC):
    """One chain to run the suite on; clients made here share it."""

    name: ClassVar[str]

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    @property
    @abc.abstractmethod
    def w3(self) -> Web3: ...

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @abc.abstractmethod
    def connect(
        self,
        *,
        private_key: str = ADMIN_KEY,
        registry_address: str | None = None,
        state_dir: Path | None = None,
        expected_chain_id: int | None = None,
    ) -> EvidenceRegistryClient: ...

    @abc.abstractmethod
    def reader(self, registry_address: str) -> AnchorReader: ...

    @abc.abstractmethod
    def pledge_reader(self, registry_address: str) -> PledgeReader: ...

    @abc.abstractmethod
    def fund(self, address: str, wei: int = 10**19) -> None: ...

    def close(self) -> None:  # noqa: B027 - a backend without a process has nothing to close
        pass


class EmbeddedBackend(ChainBackend):
    """The in-process chain, opened once; every client is built on its ``w3``."""

    name = "embedded"

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.chain = EmbeddedChain.open(state_dir / "chain", genesis_accounts=[ADMIN, OTHER])

    @property
    def w3(self) -> Web3:
        return self.chain.w3

    def connect(
        self,
        *,
        private_key: str = ADMIN_KEY,
        registry_address: str | None = None,
        state_dir: Path | None = None,
        expected_chain_id: int | None = None,
    ) -> EvidenceRegistryClient:
        return EvidenceRegistryClient(
            self.chain.w3,
            private_key=private_key,
            registry_address=registry_address,
            state_dir=self.state_dir if state_dir is None else state_dir,
            expected_chain_id=expected_chain_id,
            endpoint="embedded test chain",
            policy=TransactionPolicy(poll_interval=0.01, receipt_timeout=30),
        )

    def reader(self, registry_address: str) -> AnchorReader:
        return AnchorReader(self.chain.w3, registry_address=registry_address)

    def pledge_reader(self, registry_address: str) -> PledgeReader:
        return PledgeReader(self.chain.w3, registry_address=registry_address)

    def fund(self, address: str, wei: int = 10**19) -> None:
        send_signed(self.w3, ADMIN_KEY, {"to": address, "value": wei})

    def close(self) -> None:
        self.chain.close()


class NodeBackend(ChainBackend):
    """A JSON-RPC node that a fixture started; it has one unlocked, funded account."""

    def __init__(self, state_dir: Path, url: str) -> None:
        super().__init__(state_dir)
        self.url = url
        self._w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        self._funder = self._w3.eth.accounts[0]
        self._fund_lock = threading.Lock()

    @property
    def w3(self) -> Web3:
        return self._w3

    def connect(
        self,
        *,
        private_key: str = ADMIN_KEY,
        registry_address: str | None = None,
        state_dir: Path | None = None,
        expected_chain_id: int | None = None,
    ) -> EvidenceRegistryClient:
        return EvidenceRegistryClient.connect_rpc(
            self.url,
            private_key=private_key,
            registry_address=registry_address,
            state_dir=self.state_dir if state_dir is None else state_dir,
            expected_chain_id=expected_chain_id,
            timeout=60,
        )

    def reader(self, registry_address: str) -> AnchorReader:
        return AnchorReader.from_rpc(self.url, registry_address=registry_address)

    def pledge_reader(self, registry_address: str) -> PledgeReader:
        return PledgeReader.from_rpc(self.url, registry_address=registry_address)

    def fund(self, address: str, wei: int = 10**19) -> None:
        with self._fund_lock:
            tx_hash = self._w3.eth.send_transaction(
                {"from": self._funder, "to": address, "value": wei}
            )
            receipt = self._w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=60, poll_latency=0.05
            )
        assert receipt["status"] == 1


class NodeProcess:
    """A node process in its own process group, killed with that group."""

    def __init__(self, argv: list[str], *, url: str, log_path: Path, cwd: Path) -> None:
        self.url = url
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float) -> None:
        w3 = Web3(HTTPProvider(self.url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.tail()}")
            try:
                if w3.eth.block_number >= 0 and w3.eth.accounts:
                    return
            except Exception:  # noqa: BLE001, S110 - not up yet
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"node not ready within {timeout}s: {self.tail()}")

    def tail(self) -> str:
        self._log.flush()
        return self.log_path.read_bytes()[-2000:].decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()


def start_hardhat(tmp: Path) -> NodeProcess:
    hardhat = REPO / "node_modules" / ".bin" / "hardhat"
    if shutil.which("node") is None or not hardhat.exists():
        missing_component("Hardhat is not installed: run `npm ci` in the repository root")
    port = free_port()
    node = NodeProcess(
        [str(hardhat), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        log_path=tmp / "hardhat.log",
        cwd=REPO,
    )
    node.wait_ready(timeout=90)
    return node


def start_geth(tmp: Path, *, http_port: int | None = None) -> NodeProcess:
    """geth --dev with its data in ``tmp/geth``; the same ``tmp`` and port restart the same
    chain."""
    geth = find_tool("geth", "GETH")
    if geth is None:
        missing_component(
            "geth is not installed: run scripts/install-geth.sh (or set GETH=/path/to/geth)"
        )
    http_port, auth_port = http_port or free_port(), free_port()
    node = NodeProcess(
        [
            geth,
            "--dev",
            "--dev.period",
            "1",
            "--datadir",
            str(tmp / "geth"),
            "--http",
            "--http.addr",
            "127.0.0.1",
            "--http.port",
            str(http_port),
            "--http.api",
            "eth,net,web3",
            "--authrpc.addr",
            "127.0.0.1",
            "--authrpc.port",
            str(auth_port),
            "--port",
            "0",
            "--nodiscover",
            "--maxpeers",
            "0",
            "--ipcdisable",
            "--verbosity",
            "2",
        ],
        url=f"http://127.0.0.1:{http_port}",
        log_path=tmp / f"geth-{time.monotonic_ns()}.log",
        cwd=tmp,
    )
    node.wait_ready(timeout=60)
    return node
