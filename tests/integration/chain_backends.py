"""The chain client test suite, written once, and the chain backends it runs against.

:class:`RegistryClientSuite` holds every behaviour test of
:class:`chain.EvidenceRegistryClient` and :class:`chain.AnchorReader`. A test module
subclasses it once per backend and provides a ``backend`` fixture returning a
:class:`ChainBackend`:

* ``tests/unit/chain/test_registry_client.py`` - the embedded py-evm chain;
* ``tests/integration/test_chain_nodes.py`` - a Hardhat node and geth ``--dev``.

Node fixtures live here too: they start a node on a free loopback port and skip
with the reason when its binary is missing, unless ``CI=true`` (then they fail).
"""

from __future__ import annotations

import abc
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eth_account import Account
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from chain import (
    AnchorReader,
    EmbeddedChain,
    EvidenceRegistryClient,
    TransactionPolicy,
    errors,
    load_artifact,
)
from chain._deployments import DEPLOYMENTS_FILE

ROOT = Path(__file__).resolve().parents[2]

ADMIN_KEY = "0x" + "a1" * 32  # deploys the registry: admin + anchorer
OTHER_KEY = "0x" + "b2" * 32  # funded, holds no role
POOR_KEY = "0x" + "c3" * 32  # holds ANCHORER_ROLE, never funded
ADMIN = Account.from_key(ADMIN_KEY).address
OTHER = Account.from_key(OTHER_KEY).address
POOR = Account.from_key(POOR_KEY).address

# Runtime code "STOP": any contract that is not the EvidenceRegistry.
_STOP_CONTRACT_INIT = bytes.fromhex("6001600c60003960016000f300")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Missing node binaries skip a developer's run but fail CI, which must run everything."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the node tests must run in CI)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def grant_anchorer(client: EvidenceRegistryClient, account: str) -> None:
    abi = load_artifact("EvidenceRegistry").abi
    contract = client.w3.eth.contract(address=client.registry_address, abi=list(abi))
    role = contract.functions.ANCHORER_ROLE().call()
    data = contract.encode_abi("grantRole", [role, account])
    send_signed(client.w3, ADMIN_KEY, {"to": client.registry_address, "data": data})


def deploy_foreign_contract(w3: Web3) -> str:
    receipt = send_signed(w3, ADMIN_KEY, {"data": _STOP_CONTRACT_INIT})
    return str(receipt["contractAddress"])


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
    def fund(self, address: str, wei: int = 10**19) -> None: ...

    def close(self) -> None:
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
    hardhat = ROOT / "node_modules" / ".bin" / "hardhat"
    if shutil.which("node") is None or not hardhat.exists():
        skip_or_fail("Hardhat is not installed: run `npm ci` in the repository root")
    port = free_port()
    node = NodeProcess(
        [str(hardhat), "node", "--hostname", "127.0.0.1", "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        log_path=tmp / "hardhat.log",
        cwd=ROOT,
    )
    node.wait_ready(timeout=90)
    return node


def geth_binary() -> str | None:
    candidates = [
        os.environ.get("GETH"),
        str(ROOT / ".tools" / "bin" / "geth"),
        shutil.which("geth"),
        str(Path.home() / "go" / "bin" / "geth"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def start_geth(tmp: Path) -> NodeProcess:
    geth = geth_binary()
    if geth is None:
        skip_or_fail(
            "geth is not installed: run scripts/install-geth.sh (or set GETH=/path/to/geth)"
        )
    assert geth is not None
    http_port, auth_port = free_port(), free_port()
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
        log_path=tmp / "geth.log",
        cwd=tmp,
    )
    node.wait_ready(timeout=60)
    return node


# -- the suite ----------------------------------------------------------------------------


class RegistryClientSuite:
    """Behaviour of the chain client that must hold on every backend.

    Each test gets a fresh state directory, so the first ``connect()`` deploys a
    fresh registry on the (possibly shared) chain.
    """

    @pytest.fixture
    def client(self, backend: ChainBackend) -> Iterator[EvidenceRegistryClient]:
        client = backend.connect()
        yield client
        client.close()

    # deploy or attach -----------------------------------------------------------------

    def test_first_start_deploys_records_and_reuses(self, backend: ChainBackend) -> None:
        first = backend.connect()
        recorded = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entry = recorded["deployments"][str(backend.chain_id)]["EvidenceRegistry"]
        assert entry["address"] == first.registry_address
        assert entry["genesis_hash"] == first.block(0).hash

        again = backend.connect()
        assert again.registry_address == first.registry_address
        assert again.chain_id == backend.chain_id
        again.check()

    def test_deployment_sent_before_a_crash_is_adopted(self, backend: ChainBackend) -> None:
        first = backend.connect()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        entry = document["deployments"][str(backend.chain_id)]["EvidenceRegistry"]
        entry["address"] = None  # as if the process died after sending the deployment
        path.write_text(json.dumps(document))
        assert backend.connect().registry_address == first.registry_address

    def test_reset_chain_is_detected(self, backend: ChainBackend) -> None:
        backend.connect()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        document["deployments"][str(backend.chain_id)]["EvidenceRegistry"]["genesis_hash"] = (
            "0x" + "00" * 32
        )
        path.write_text(json.dumps(document))
        with pytest.raises(errors.ChainReset, match="was reset") as info:
            backend.connect()
        assert "move" in str(info.value) and str(path) in str(info.value)

    def test_wrong_chain_id_says_which_setting_to_fix(self, backend: ChainBackend) -> None:
        actual = backend.chain_id
        with pytest.raises(errors.WrongChainId) as info:
            backend.connect(expected_chain_id=actual + 1)
        assert (info.value.expected, info.value.actual) == (actual + 1, actual)
        assert f"expected_chain_id={actual}" in str(info.value)
        assert isinstance(info.value, ValueError)

    def test_no_code_at_configured_address(self, backend: ChainBackend) -> None:
        empty = Account.create().address
        with pytest.raises(errors.ContractNotFound, match="no contract code") as info:
            backend.connect(registry_address=empty)
        assert empty in str(info.value) and "leave the address unset" in str(info.value)

    def test_other_code_at_configured_address(self, backend: ChainBackend) -> None:
        foreign = deploy_foreign_contract(backend.w3)
        with pytest.raises(errors.ContractMismatch, match="is not the EvidenceRegistry") as info:
            backend.connect(registry_address=foreign)
        assert "configure the address of a registry" in str(info.value)

    def test_attach_by_address_without_state(self, backend: ChainBackend, tmp_path: Path) -> None:
        address = backend.connect().registry_address
        attached = backend.connect(registry_address=address, state_dir=tmp_path / "unused")
        assert attached.registry_address == address
        assert not (tmp_path / "unused" / DEPLOYMENTS_FILE).exists()

    # anchoring --------------------------------------------------------------------------

    def test_anchor_receipt_matches_the_chain(self, client: EvidenceRegistryClient) -> None:
        root = unique_root()
        before = time.time()
        receipt = client.anchor_root(root, 1000)
        after = time.time()

        assert receipt.chain_id == client.chain_id
        assert receipt.contract == client.registry_address
        assert (receipt.batch_id, receipt.root, receipt.leaf_count) == (1, root, 1000)
        block = client.block(receipt.block_number)
        assert (block.hash, block.timestamp) == (receipt.block_hash, receipt.block_timestamp)
        # The block time is evidence: never before the anchoring (that would back-date it).
        # It may run ahead: chains that mine a block per transaction stamp each block at
        # least parent + 1, so a burst of blocks outruns the clock for a while.
        assert int(before) - 1 <= receipt.block_timestamp <= after + 300
        assert 21_000 < receipt.gas_used < 400_000
        tx = client.w3.eth.get_transaction(receipt.tx_hash)
        assert tx["blockNumber"] == receipt.block_number

        batch = client.find_root(root)
        assert batch is not None
        assert (batch.batch_id, batch.root, batch.leaf_count) == (1, root, 1000)
        assert (batch.timestamp, batch.block_number) == (
            receipt.block_timestamp,
            receipt.block_number,
        )
        assert client.get_batch(1) == batch
        assert client.anchor_receipt_for_root(root) == receipt
        assert client.batch_count() == 1
        assert client.anchor_root(unique_root(), 1).batch_id == 2

    def test_anchor_root_is_idempotent(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        first = client.anchor_root(root, 3)
        nonce = client.w3.eth.get_transaction_count(client.account)
        assert client.anchor_root(root, 3) == first
        # A fresh client (e.g. after a crash) gets the same anchor back, sending nothing.
        assert backend.connect().anchor_root(root, 3) == first
        assert client.w3.eth.get_transaction_count(client.account) == nonce
        assert client.batch_count() == 1

    def test_duplicate_root_on_a_fresh_client_is_decoded(self, backend: ChainBackend) -> None:
        root = unique_root()
        anchored = backend.connect().anchor_root(root, 3)
        fresh = backend.connect()
        with pytest.raises(errors.RootAlreadyAnchored) as info:
            fresh.anchor_root(root, 3, allow_existing=False)
        assert info.value.error_name == "EvidenceRegistryRootAlreadyAnchored"
        assert info.value.error_args == {"root": root, "batchId": anchored.batch_id}
        assert "anchor_receipt_for_root" in str(info.value)

    def test_same_root_with_another_leaf_count_is_refused(
        self, client: EvidenceRegistryClient
    ) -> None:
        root = unique_root()
        client.anchor_root(root, 3)
        with pytest.raises(
            errors.InvalidAnchorInput, match="already anchored as batch 1 with leaf_count 3"
        ):
            client.anchor_root(root, 4)

    def test_zero_root_is_refused(self, client: EvidenceRegistryClient) -> None:
        nonce = client.w3.eth.get_transaction_count(client.account)
        with pytest.raises(errors.ZeroRoot) as info:
            client.anchor_root(bytes(32), 5)
        assert info.value.error_name == "EvidenceRegistryZeroRoot"
        assert "anchor the real root" in str(info.value)
        assert isinstance(info.value, ValueError)
        assert client.w3.eth.get_transaction_count(client.account) == nonce  # nothing was sent

    def test_empty_batch_is_refused(self, client: EvidenceRegistryClient) -> None:
        root = unique_root()
        with pytest.raises(errors.EmptyBatch, match="at least one item") as info:
            client.anchor_root(root, 0)
        assert info.value.error_args == {"root": root}

    @pytest.mark.parametrize(
        ("root", "leaf_count"),
        [
            (b"\x01" * 31, 1),
            ("ab" * 32, 1),
            (b"\x01" * 32, -1),
            (b"\x01" * 32, 2**64),
            (b"\x01" * 32, True),
        ],
        ids=["short-root", "str-root", "negative-count", "count-over-uint64", "bool-count"],
    )
    def test_malformed_input_is_refused_before_any_rpc(
        self, client: EvidenceRegistryClient, root: Any, leaf_count: Any
    ) -> None:
        with pytest.raises(errors.InvalidAnchorInput):
            client.anchor_root(root, leaf_count)

    def test_missing_role_names_account_role_and_fix(self, backend: ChainBackend) -> None:
        admin = backend.connect()
        outsider = backend.connect(private_key=OTHER_KEY, registry_address=admin.registry_address)
        with pytest.raises(errors.MissingRole) as info:
            outsider.anchor_root(unique_root(), 1)
        message = str(info.value)
        assert info.value.error_args["account"].lower() == OTHER.lower()
        assert "ANCHORER_ROLE" in message and "grantRole(" in message
        assert admin.registry_address in message
        assert isinstance(info.value, PermissionError)

        grant_anchorer(admin, OTHER)  # the fix the message names works
        backend.fund(OTHER)
        assert outsider.anchor_root(unique_root(), 1).batch_id == 1

    def test_unfunded_signer_gets_insufficient_funds(self, backend: ChainBackend) -> None:
        admin = backend.connect()
        grant_anchorer(admin, POOR)
        poor = backend.connect(private_key=POOR_KEY, registry_address=admin.registry_address)
        with pytest.raises(errors.InsufficientFunds, match="cannot pay for gas") as info:
            poor.anchor_root(unique_root(), 1)
        assert "fund" in str(info.value)

    # reading ----------------------------------------------------------------------------

    def test_unknown_root_and_batch(self, client: EvidenceRegistryClient) -> None:
        assert client.find_root(unique_root()) is None
        assert client.anchor_receipt_for_root(unique_root()) is None
        with pytest.raises(errors.UnknownBatch, match="ids run from 1") as info:
            client.get_batch(7)
        assert info.value.error_args == {"batchId": 7}
        assert isinstance(info.value, LookupError)

    def test_reader_without_key_reads_anchors(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        receipt = client.anchor_root(root, 9)
        reader = backend.reader(client.registry_address)
        reader.check()
        assert reader.chain_id == client.chain_id
        assert reader.anchor_receipt_for_root(root) == receipt
        assert reader.find_root(root) == client.find_root(root)
        assert reader.head() >= receipt.block_number
        block = reader.block(receipt.block_hash)
        assert (block.number, block.timestamp) == (receipt.block_number, receipt.block_timestamp)
        assert not hasattr(reader, "anchor_root")

    # concurrency and restarts -------------------------------------------------------------

    def test_concurrent_anchors_share_one_key(self, backend: ChainBackend) -> None:
        first = backend.connect()
        # Two clients with the same key and separate nonce locks: their nonces clash
        # and must be retried, never lost or duplicated.
        second = backend.connect(registry_address=first.registry_address)
        roots = [unique_root() for _ in range(8)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(
                pool.map(
                    lambda pair: (first, second)[pair[0] % 2].anchor_root(pair[1], 2),
                    enumerate(roots),
                )
            )
        assert sorted(r.batch_id for r in receipts) == list(range(1, 9))
        assert {r.root for r in receipts} == set(roots)
        for receipt in receipts:
            assert first.find_root(receipt.root) is not None

    def test_same_root_from_racing_senders_is_anchored_once(self, backend: ChainBackend) -> None:
        first = backend.connect()
        second = backend.connect(registry_address=first.registry_address)
        root = unique_root()
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(
                pool.map(lambda i: (first, second)[i % 2].anchor_root(root, 5), range(4))
            )
        # Losers of the race (refused at estimate, or mined and reverted) return the winner.
        assert len(set(receipts)) == 1
        assert first.batch_count() == 1

    def test_restart_continues_with_the_same_registry(self, backend: ChainBackend) -> None:
        client = backend.connect()
        one = client.anchor_root(unique_root(), 1)
        client.close()
        restarted = backend.connect()
        two = restarted.anchor_root(unique_root(), 1)
        assert restarted.registry_address == one.contract
        assert two.batch_id == one.batch_id + 1
