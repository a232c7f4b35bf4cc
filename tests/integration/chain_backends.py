"""The chain client test suite, written once, and the chain backends it runs against.

:class:`RegistryClientSuite` holds every behaviour test of
:class:`chain.EvidenceRegistryClient` and :class:`chain.AnchorReader`. A test module
subclasses it once per backend and provides a ``backend`` fixture returning a
:class:`ChainBackend`:

* ``tests/unit/chain/test_registry_client.py`` - the embedded py-evm chain;
* ``tests/integration/test_chain_nodes.py`` - a Hardhat node and geth ``--dev``.

Node fixtures live here too: they start a node on a free loopback port and skip
with the reason when its binary is missing, unless ``CI=true`` (then they fail).

Each test's registry is fresh, so its log starts empty: every test anchors
checkpoints of growing tree sizes, as the one log of a deployment does.
"""

from __future__ import annotations

import abc
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest
from eth_account import Account
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from chain import (
    AnchorReader,
    EmbeddedChain,
    EvidenceRegistryClient,
    PledgeAction,
    PledgeReader,
    PledgeRegistryClient,
    PledgeStatus,
    RegistrarFunding,
    TransactionPolicy,
    errors,
    load_artifact,
)
from chain._artifacts import load_legacy_artifact
from chain._deployments import DEPLOYMENTS_FILE, Deployment, DeploymentBook
from tests.conftest import IN_CI, free_port, missing_component

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
    return IN_CI


def skip_or_fail(reason: str) -> NoReturn:
    """Missing node binaries skip a developer's run but fail CI, which must run everything."""
    missing_component(reason)


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


def start_geth(tmp: Path, *, http_port: int | None = None) -> NodeProcess:
    """geth --dev with its data in ``tmp/geth``; the same ``tmp`` and port restart the same
    chain."""
    geth = geth_binary()
    if geth is None:
        skip_or_fail(
            "geth is not installed: run scripts/install-geth.sh (or set GETH=/path/to/geth)"
        )
    assert geth is not None
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
        assert client.registry_version == 2
        assert (receipt.batch_id, receipt.root, receipt.tree_size) == (1, root, 1000)
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
        assert (batch.batch_id, batch.root, batch.tree_size) == (1, root, 1000)
        assert (batch.timestamp, batch.block_number) == (
            receipt.block_timestamp,
            receipt.block_number,
        )
        assert client.get_batch(1) == batch
        assert client.anchor_receipt_for_root(root) == receipt
        assert client.batch_count() == 1
        assert client.anchor_root(unique_root(), 1001).batch_id == 2

    def test_anchor_root_is_idempotent(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        first = client.anchor_root(root, 3)
        nonce = client.w3.eth.get_transaction_count(client.account)
        assert client.anchor_root(root, 3) == first
        # A fresh client (e.g. after a crash) gets the same anchor back, sending nothing,
        # even after the log has grown past that checkpoint.
        client.anchor_root(unique_root(), 5)
        assert backend.connect().anchor_root(root, 3) == first
        assert client.w3.eth.get_transaction_count(client.account) == nonce + 1
        assert client.batch_count() == 2

    def test_duplicate_root_on_a_fresh_client_is_decoded(self, backend: ChainBackend) -> None:
        root = unique_root()
        anchored = backend.connect().anchor_root(root, 3)
        fresh = backend.connect()
        with pytest.raises(errors.RootAlreadyAnchored) as info:
            fresh.anchor_root(root, 3, allow_existing=False)
        assert info.value.error_name == "EvidenceRegistryRootAlreadyAnchored"
        assert info.value.error_args == {"root": root, "batchId": anchored.batch_id}
        assert "anchor_receipt_for_root" in str(info.value)

    def test_same_root_with_another_tree_size_is_refused(
        self, client: EvidenceRegistryClient
    ) -> None:
        root = unique_root()
        client.anchor_root(root, 3)
        with pytest.raises(
            errors.InvalidAnchorInput, match="already anchored as batch 1 with tree_size 3, not 4"
        ):
            client.anchor_root(root, 4)

    def test_tree_size_that_does_not_grow_is_refused(self, client: EvidenceRegistryClient) -> None:
        client.anchor_root(unique_root(), 10)
        nonce = client.w3.eth.get_transaction_count(client.account)
        for tree_size in (10, 9, 1):
            root = unique_root()
            with pytest.raises(errors.TreeSizeNotGrowing) as info:
                client.anchor_root(root, tree_size)
            assert (info.value.tree_size, info.value.latest_tree_size) == (tree_size, 10)
            assert info.value.error_name == "EvidenceRegistryTreeSizeNotGrowing"
            assert isinstance(info.value, ValueError)
            assert client.find_root(root) is None
        message = str(info.value)
        assert "checkpoint of 10 leaves" in message and "shrunk or forked" in message
        assert "latest_checkpoint()" in message
        # Refused at the gas estimate: nothing was sent, and the log goes on from 10.
        assert client.w3.eth.get_transaction_count(client.account) == nonce
        assert client.anchor_root(unique_root(), 11).batch_id == 2

    def test_empty_log_is_refused(self, client: EvidenceRegistryClient) -> None:
        with pytest.raises(
            errors.TreeSizeNotGrowing, match="an empty log has no checkpoint"
        ) as info:
            client.anchor_root(unique_root(), 0)
        assert (info.value.tree_size, info.value.latest_tree_size) == (0, 0)
        assert client.batch_count() == 0

    def test_zero_root_is_refused(self, client: EvidenceRegistryClient) -> None:
        nonce = client.w3.eth.get_transaction_count(client.account)
        with pytest.raises(errors.ZeroRoot) as info:
            client.anchor_root(bytes(32), 5)
        assert info.value.error_name == "EvidenceRegistryZeroRoot"
        assert "anchor the real root" in str(info.value)
        assert isinstance(info.value, ValueError)
        assert client.w3.eth.get_transaction_count(client.account) == nonce  # nothing was sent

    @pytest.mark.parametrize(
        ("root", "tree_size"),
        [
            (b"\x01" * 31, 1),
            ("ab" * 32, 1),
            (b"\x01" * 32, -1),
            (b"\x01" * 32, 2**64),
            (b"\x01" * 32, True),
        ],
        ids=["short-root", "str-root", "negative-size", "size-over-uint64", "bool-size"],
    )
    def test_malformed_input_is_refused_before_any_rpc(
        self, client: EvidenceRegistryClient, root: Any, tree_size: Any
    ) -> None:
        with pytest.raises(errors.InvalidAnchorInput):
            client.anchor_root(root, tree_size)

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

    def test_latest_checkpoint_follows_the_log(self, backend: ChainBackend) -> None:
        client = backend.connect()
        reader = backend.reader(client.registry_address)
        assert client.latest_checkpoint() is None and reader.latest_checkpoint() is None
        client.anchor_root(unique_root(), 4)
        newest = client.anchor_root(unique_root(), 7)
        latest = reader.latest_checkpoint()
        assert latest is not None
        assert (latest.batch_id, latest.root, latest.tree_size) == (2, newest.root, 7)
        assert (latest.timestamp, latest.block_number) == (
            newest.block_timestamp,
            newest.block_number,
        )
        assert latest == client.get_batch(client.batch_count())

    def test_anchor_from_transaction_reads_the_event_of_this_registry(
        self, backend: ChainBackend
    ) -> None:
        client = backend.connect()
        first = client.anchor_root(unique_root(), 2)
        second = client.anchor_root(unique_root(), 6)
        reader = backend.reader(client.registry_address)
        assert reader.anchor_from_transaction(first.tx_hash) == first
        assert reader.anchor_from_transaction(second.tx_hash.upper().replace("0X", "0x")) == second
        assert reader.anchor_from_transaction(second.tx_hash, root=second.root) == second

        # The certificate names a transaction that anchored another checkpoint.
        with pytest.raises(errors.AnchorEventNotFound, match="not 0x") as info:
            reader.anchor_from_transaction(first.tx_hash, root=second.root)
        assert info.value.tx_hash == first.tx_hash and isinstance(info.value, LookupError)

        # The same transaction read against another registry anchored nothing there.
        elsewhere = backend.connect(state_dir=backend.state_dir / "elsewhere")
        with pytest.raises(errors.AnchorEventNotFound, match="anchored nothing in this registry"):
            backend.reader(elsewhere.registry_address).anchor_from_transaction(first.tx_hash)

        # A transaction that is no anchor at all, and one that never happened.
        grant = grant_anchorer(client, OTHER)
        with pytest.raises(errors.AnchorEventNotFound, match="emitted no CheckpointAnchored"):
            reader.anchor_from_transaction("0x" + bytes(grant["transactionHash"]).hex())
        with pytest.raises(errors.AnchorEventNotFound, match="is not mined on chain"):
            reader.anchor_from_transaction("0x" + "ab" * 32)
        for malformed in ("0x1234", "ab" * 32, b"\xab" * 32):
            with pytest.raises(errors.InvalidAnchorInput, match="0x and 64 hex digits"):
                reader.anchor_from_transaction(malformed)

    def test_genesis_hash_names_the_chain(self, backend: ChainBackend) -> None:
        client = backend.connect()
        genesis = client.genesis_hash()
        assert genesis == "0x" + bytes(backend.w3.eth.get_block(0)["hash"]).hex()
        assert genesis == genesis.lower() and len(genesis) == 66
        assert backend.reader(client.registry_address).genesis_hash() == genesis
        # The same hash the deployments book pins against a reset chain.
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        assert book["deployments"][str(backend.chain_id)]["EvidenceRegistry"]["genesis_hash"] == (
            genesis
        )

    def test_reader_without_key_reads_anchors(self, backend: ChainBackend) -> None:
        client = backend.connect()
        root = unique_root()
        receipt = client.anchor_root(root, 9)
        reader = backend.reader(client.registry_address)
        reader.check()
        assert reader.chain_id == client.chain_id
        assert reader.registry_version == 2
        assert reader.anchor_receipt_for_root(root) == receipt
        assert reader.find_root(root) == client.find_root(root)
        assert reader.head() >= receipt.block_number
        block = reader.block(receipt.block_hash)
        assert (block.number, block.timestamp) == (receipt.block_number, receipt.block_timestamp)
        assert not hasattr(reader, "anchor_root")

    # version 1 registries ------------------------------------------------------------------

    def test_recorded_v1_registry_stays_readable_and_v2_is_deployed_beside_it(
        self, backend: ChainBackend
    ) -> None:
        # A data directory from an earlier release: its book records a v1 registry
        # holding the anchors of v1 certificates.
        v1_address = deploy_v1_registry(backend.w3, backend.state_dir)
        v1_root = unique_root()
        v1_tx = anchor_in_v1(backend.w3, v1_address, v1_root, 5)

        client = backend.connect()  # starts instead of refusing the old code
        assert client.registry_address != v1_address
        assert client.registry_version == 2
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entries = book["deployments"][str(backend.chain_id)]
        assert entries["EvidenceRegistry"]["address"] == client.registry_address
        assert entries["EvidenceRegistry/1"]["address"] == v1_address
        # The new log starts empty: v1 batches do not count as its checkpoints.
        assert client.anchor_root(unique_root(), 1).batch_id == 1
        assert backend.connect().registry_address == client.registry_address  # no third deploy

        reader = backend.reader(v1_address)
        reader.check()
        assert reader.registry_version == 1
        found = reader.find_root(v1_root)
        assert found is not None and (found.batch_id, found.tree_size) == (1, 5)
        receipt = reader.anchor_receipt_for_root(v1_root)
        assert receipt is not None
        assert (receipt.contract, receipt.root, receipt.tree_size) == (v1_address, v1_root, 5)
        assert receipt.tx_hash == "0x" + bytes(v1_tx["transactionHash"]).hex()
        assert receipt.block_number == v1_tx["blockNumber"]
        assert reader.anchor_from_transaction(receipt.tx_hash) == receipt
        assert reader.latest_checkpoint() == found
        # The v2 reader of the new registry does not take the v1 event for its own.
        with pytest.raises(errors.AnchorEventNotFound):
            backend.reader(client.registry_address).anchor_from_transaction(receipt.tx_hash)

    def test_v1_registry_is_never_anchored_into(self, backend: ChainBackend) -> None:
        v1_address = deploy_v1_registry(backend.w3, backend.state_dir / "old")
        with pytest.raises(errors.ContractMismatch, match="holds a version 1") as info:
            backend.connect(registry_address=v1_address)
        assert "reads but does not anchor into" in str(info.value)

    # concurrency and restarts -------------------------------------------------------------

    def test_concurrent_anchors_share_one_key(self, backend: ChainBackend) -> None:
        # Two clients with the same key and separate nonce locks, each anchoring its own
        # log (its own registry): their nonces clash and must be retried, never lost or
        # duplicated, and each log stays in order.
        first = backend.connect()
        second = backend.connect(state_dir=backend.state_dir / "second")
        assert first.registry_address != second.registry_address
        roots = {
            client.registry_address: [unique_root() for _ in range(4)] for client in (first, second)
        }

        def anchor_log(client: EvidenceRegistryClient) -> list[Any]:
            log = roots[client.registry_address]
            return [client.anchor_root(root, size) for size, root in enumerate(log, start=1)]

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(anchor_log, (first, second)))
        for client, receipts in zip((first, second), results, strict=True):
            assert [(r.batch_id, r.tree_size) for r in receipts] == [(i, i) for i in range(1, 5)]
            assert [r.root for r in receipts] == roots[client.registry_address]
            latest = client.latest_checkpoint()
            assert latest is not None and latest.tree_size == 4
        nonces = [
            int(first.w3.eth.get_transaction(r.tx_hash)["nonce"])
            for receipts in results
            for r in receipts
        ]
        assert len(set(nonces)) == len(nonces) == 8

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

    def test_racing_checkpoints_never_shrink_the_log(self, backend: ChainBackend) -> None:
        # Two senders anchoring different checkpoints at once: whichever lands second
        # must be larger, or be refused as not growing (at the estimate, or mined in the
        # same block after the other and reverted), never as an unexplained revert.
        first = backend.connect()
        second = backend.connect(registry_address=first.registry_address)
        start = threading.Barrier(2)
        outcomes: dict[int, Any] = {}

        def anchor(client: EvidenceRegistryClient, tree_size: int) -> None:
            start.wait()
            try:
                outcomes[tree_size] = client.anchor_root(unique_root(), tree_size)
            except errors.ChainError as exc:
                outcomes[tree_size] = exc

        threads = [
            threading.Thread(target=anchor, args=(first, 10)),
            threading.Thread(target=anchor, args=(second, 5)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not isinstance(outcomes[10], Exception), outcomes[10]
        small = outcomes[5]
        if isinstance(small, Exception):
            assert isinstance(small, errors.TreeSizeNotGrowing), small
            assert (small.tree_size, small.latest_tree_size) == (5, 10)
            assert first.batch_count() == 1
        else:
            assert (small.batch_id, outcomes[10].batch_id) == (1, 2)
        sizes = [first.get_batch(i).tree_size for i in range(1, first.batch_count() + 1)]
        assert sizes == sorted(set(sizes))

    def test_restart_continues_with_the_same_registry(self, backend: ChainBackend) -> None:
        client = backend.connect()
        one = client.anchor_root(unique_root(), 1)
        client.close()
        restarted = backend.connect()
        two = restarted.anchor_root(unique_root(), 2)
        assert restarted.registry_address == one.contract
        assert two.batch_id == one.batch_id + 1


# -- the pledge suite ---------------------------------------------------------------------


def h32() -> bytes:
    """A fresh 32-byte commitment (asset id, party hash or terms digest)."""
    return os.urandom(32)


def grant_registrar(pledges: PledgeRegistryClient, account: str) -> None:
    abi = load_artifact("PledgeRegistry").abi
    contract = pledges.w3.eth.contract(address=pledges.registry_address, abi=list(abi))
    role = contract.functions.REGISTRAR_ROLE().call()
    data = contract.encode_abi("grantRole", [role, account])
    send_signed(pledges.w3, ADMIN_KEY, {"to": pledges.registry_address, "data": data})


class PledgeClientSuite:
    """Behaviour of :class:`chain.PledgeRegistryClient` / :class:`chain.PledgeReader` on every
    backend.

    Each test gets a fresh state directory, so ``backend.connect().pledge_registry()``
    deploys a fresh EvidenceRegistry and PledgeRegistry on the (possibly shared) chain.
    """

    register_gas_limit: ClassVar[int] = 240_000
    """Cancun/Prague pricing: about 230,200 for the first pledge, 213,100 after."""
    change_gas_limit: ClassVar[int] = 45_000
    """amend, release, enforce: about 36,000 to 37,500 each."""

    @pytest.fixture
    def registry(self, backend: ChainBackend) -> Iterator[EvidenceRegistryClient]:
        client = backend.connect()
        yield client
        client.close()

    @pytest.fixture
    def pledges(self, registry: EvidenceRegistryClient) -> PledgeRegistryClient:
        return registry.pledge_registry()

    @staticmethod
    def nonce(pledges: PledgeRegistryClient) -> int:
        return int(pledges.w3.eth.get_transaction_count(pledges.account))

    # deploy or attach -----------------------------------------------------------------

    def test_deployed_next_to_the_evidence_registry_and_reused(
        self, backend: ChainBackend, tmp_path: Path
    ) -> None:
        registry = backend.connect()
        pledges = registry.pledge_registry()
        assert pledges.registry_address != registry.registry_address
        assert (pledges.chain_id, pledges.account) == (registry.chain_id, registry.account)
        book = json.loads((backend.state_dir / DEPLOYMENTS_FILE).read_text())
        entries = book["deployments"][str(backend.chain_id)]
        assert entries["PledgeRegistry"]["address"] == pledges.registry_address
        assert entries["PledgeRegistry"]["genesis_hash"] == pledges.block(0).hash
        assert entries["EvidenceRegistry"]["address"] == registry.registry_address
        pledges.check()

        again = backend.connect().pledge_registry()
        assert again.registry_address == pledges.registry_address
        attached = registry.pledge_registry(pledges.registry_address, state_dir=tmp_path / "unused")
        assert attached.registry_address == pledges.registry_address
        assert not (tmp_path / "unused" / DEPLOYMENTS_FILE).exists()

    def test_pledge_deployment_sent_before_a_crash_is_adopted(self, backend: ChainBackend) -> None:
        first = backend.connect().pledge_registry()
        path = backend.state_dir / DEPLOYMENTS_FILE
        document = json.loads(path.read_text())
        document["deployments"][str(backend.chain_id)]["PledgeRegistry"]["address"] = None
        path.write_text(json.dumps(document))
        assert backend.connect().pledge_registry().registry_address == first.registry_address

    def test_other_code_at_the_pledge_address_is_refused(
        self, registry: EvidenceRegistryClient
    ) -> None:
        with pytest.raises(errors.ContractMismatch, match="is not the PledgeRegistry"):
            registry.pledge_registry(registry.registry_address)
        with pytest.raises(errors.ContractNotFound, match="deployed PledgeRegistry"):
            registry.pledge_registry("0x1234")

    # the life of a pledge ------------------------------------------------------------------

    def test_register_receipt_matches_the_chain(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms = h32(), h32(), h32(), h32()
        before = time.time()
        receipt = pledges.register(asset, pledgor, pledgee, terms)

        assert (receipt.pledge_id, receipt.action) == (1, PledgeAction.REGISTERED)
        assert (receipt.asset_id, receipt.terms_digest, receipt.party) == (asset, terms, None)
        assert (receipt.consent_digest, receipt.registrar) == (None, pledges.account)
        assert (receipt.chain_id, receipt.contract) == (pledges.chain_id, pledges.registry_address)
        block = pledges.block(receipt.block_number)
        assert (block.hash, block.timestamp) == (receipt.block_hash, receipt.block_timestamp)
        assert int(before) - 1 <= receipt.block_timestamp <= time.time() + 300
        tx = pledges.w3.eth.get_transaction(receipt.tx_hash)
        assert tx["blockNumber"] == receipt.block_number
        assert 21_000 < receipt.gas_used < self.register_gas_limit

        pledge = pledges.get_pledge(receipt.pledge_id)
        assert (pledge.asset_id, pledge.pledgor, pledge.pledgee, pledge.terms_digest) == (
            asset,
            pledgor,
            pledgee,
            terms,
        )
        assert (pledge.registered_at, pledge.released_at) == (receipt.block_timestamp, None)
        assert pledge.registrar == pledges.account
        assert pledge.status is PledgeStatus.ACTIVE and pledge.active
        assert pledges.active_pledge_of(asset) == 1
        assert pledges.pledges_of(asset) == (1,)
        assert pledges.pledge_count() == 1
        assert pledges.active_pledge_of(h32()) == 0 and pledges.pledges_of(h32()) == ()
        assert pledges.pledge_receipts(1) == (receipt,)

    def test_amend_release_enforce(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms, new_terms = h32(), h32(), h32(), h32(), h32()
        registered = pledges.register(asset, pledgor, pledgee, terms)
        amended = pledges.amend(registered.pledge_id, new_terms)
        assert (amended.action, amended.pledge_id, amended.terms_digest) == (
            PledgeAction.AMENDED,
            1,
            new_terms,
        )
        assert amended.gas_used < self.change_gas_limit
        assert pledges.get_pledge(1).terms_digest == new_terms

        consent = h32()
        released = pledges.release(1, pledgee, consent)  # with the pledgee's consent
        assert (released.action, released.party, released.asset_id) == (
            PledgeAction.RELEASED,
            pledgee,
            asset,
        )
        assert released.consent_digest == consent
        assert released.gas_used < self.change_gas_limit
        pledge = pledges.get_pledge(1)
        assert pledge.status is PledgeStatus.RELEASED and not pledge.active
        assert pledge.released_at == released.block_timestamp
        assert pledges.active_pledge_of(asset) == 0

        # The asset is free again: a new pledge, then enforced by its pledgee.
        second = pledges.register(asset, pledgor, pledgee, terms)
        assert second.pledge_id == 2 and second.gas_used < self.register_gas_limit
        enforced = pledges.enforce(2, pledgee, consent)
        assert (enforced.action, enforced.party) == (PledgeAction.ENFORCED, pledgee)
        assert enforced.gas_used < self.change_gas_limit
        assert pledges.get_pledge(2).status is PledgeStatus.ENFORCED
        assert pledges.pledges_of(asset) == (1, 2)
        assert pledges.pledge_receipts(1) == (registered, amended, released)
        assert pledges.pledge_receipts(2) == (second, enforced)

    # refusals ----------------------------------------------------------------------------

    def test_second_pledge_on_an_asset_is_refused(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor = h32(), h32()
        pledges.register(asset, pledgor, h32(), h32())
        nonce = self.nonce(pledges)
        with pytest.raises(errors.AssetAlreadyPledged) as info:
            pledges.register(asset, pledgor, h32(), h32())
        assert (info.value.asset_id, info.value.active_pledge_id) == (asset, 1)
        assert isinstance(info.value, ValueError)
        assert "active pledge 1" in str(info.value) and "release or enforce it" in str(info.value)
        assert info.value.function == "register"
        assert info.value.address == pledges.registry_address
        assert self.nonce(pledges) == nonce  # refused at the estimate: nothing sent

    def test_identical_pledge_with_allow_existing_false_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        values = (h32(), h32(), h32(), h32())
        pledges.register(*values)
        with pytest.raises(errors.AssetAlreadyPledged):
            pledges.register(*values, allow_existing=False)

    def test_release_by_a_stranger_or_the_pledgor_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor = h32()
        pledge_id = pledges.register(h32(), pledgor, h32(), h32()).pledge_id
        stranger = h32()
        with pytest.raises(errors.NotAParty) as info:
            pledges.release(pledge_id, stranger, h32())
        assert (info.value.pledge_id, info.value.party) == (pledge_id, stranger)
        assert isinstance(info.value, PermissionError)
        assert "neither the pledgor nor the pledgee" in str(info.value)
        with pytest.raises(errors.NotPledgee) as not_pledgee:
            pledges.release(pledge_id, pledgor, h32())  # the pledgee consents, not the pledgor
        assert "consent" in str(not_pledgee.value)
        assert pledges.get_pledge(pledge_id).active

    def test_enforce_by_the_pledgor_or_a_stranger_is_refused(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor = h32()
        pledge_id = pledges.register(h32(), pledgor, h32(), h32()).pledge_id
        with pytest.raises(errors.NotPledgee) as info:
            pledges.enforce(pledge_id, pledgor, h32())
        assert info.value.party == pledgor and isinstance(info.value, PermissionError)
        assert "only the pledgee can consent to its release or enforce it" in str(info.value)
        with pytest.raises(errors.NotAParty):
            pledges.enforce(pledge_id, h32(), h32())
        assert pledges.get_pledge(pledge_id).active

    def test_release_without_consent_is_refused(self, pledges: PledgeRegistryClient) -> None:
        pledgee = h32()
        pledge_id = pledges.register(h32(), h32(), pledgee, h32()).pledge_id
        for close in (pledges.release, pledges.enforce):
            with pytest.raises(errors.ZeroPledgeValue) as info:
                close(pledge_id, pledgee, bytes(32))
            assert info.value.field == "consentDigest"
        assert pledges.get_pledge(pledge_id).active

    # registrars ------------------------------------------------------------------------------

    def test_each_registrar_changes_only_its_own_pledges(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        first, second = pledges.for_registrar("prn_first"), pledges.for_registrar("prn_second")
        granted = pledges.provision_registrar("prn_first")
        assert granted.address == first.account != pledges.account
        assert granted.granted_tx is not None and granted.funded_wei > 0
        assert pledges.is_registrar(first.account) and not pledges.is_registrar(second.account)
        pledges.provision_registrar("prn_second")
        # Provisioned already and funded: nothing is sent.
        nonce = self.nonce(pledges)
        assert pledges.provision_registrar("prn_first").granted_tx is None
        assert self.nonce(pledges) == nonce
        assert pledges.for_registrar("prn_first") is first  # one client (one sender) per registrar

        pledgee = h32()
        mine = first.register(h32(), h32(), pledgee, h32())
        assert mine.registrar == first.account
        assert pledges.get_pledge(mine.pledge_id).registrar == first.account
        for change in (
            lambda c: c.amend(mine.pledge_id, h32()),
            lambda c: c.release(mine.pledge_id, pledgee, h32()),
            lambda c: c.enforce(mine.pledge_id, pledgee, h32()),
        ):
            for other in (second, pledges):  # another registrar, or the admin
                with pytest.raises(errors.NotRegistrar) as info:
                    change(other)
                assert (info.value.pledge_id, info.value.registrar, info.value.caller) == (
                    mine.pledge_id,
                    first.account,
                    other.account,
                )
                assert isinstance(info.value, PermissionError)
                assert "only that account" in str(info.value)
        assert first.release(mine.pledge_id, pledgee, h32()).registrar == first.account

    def test_registrar_accounts_are_derived_again_after_a_restart(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        address = pledges.provision_registrar("prn_restart").address
        again = backend.connect().pledge_registry()
        assert again.registrar_address("prn_restart") == address
        assert again.for_registrar("prn_restart").account == address
        assert again.registrar_address("prn_other") != address
        # Another admin key derives other accounts: the derivation is keyed.
        assert backend.connect(private_key=OTHER_KEY).pledge_registry(
            pledges.registry_address
        ).registrar_address("prn_restart") != address

    def test_a_registrar_running_low_is_topped_up(self, pledges: PledgeRegistryClient) -> None:
        funding = RegistrarFunding(gas_per_transaction=300_000, transactions=4, low_water=2)
        first = pledges.provision_registrar("prn_low", funding=funding)
        assert first.granted_tx is not None
        balance = pledges.w3.eth.get_balance(first.address)
        assert balance == first.funded_wei
        # Costlier transactions: what it holds is now under the low-water mark.
        richer = RegistrarFunding(gas_per_transaction=3_000_000, transactions=4, low_water=2)
        topped = pledges.provision_registrar("prn_low", funding=richer)
        assert topped.granted_tx is None and topped.funded_tx is not None
        assert pledges.w3.eth.get_balance(first.address) == balance + topped.funded_wei

    def test_closed_pledge_cannot_change(self, pledges: PledgeRegistryClient) -> None:
        pledgor, pledgee = h32(), h32()
        pledge_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        pledges.release(pledge_id, pledgee, h32())
        with pytest.raises(errors.PledgeNotActive) as info:
            pledges.amend(pledge_id, h32())
        assert (info.value.pledge_id, info.value.status) == (pledge_id, PledgeStatus.RELEASED)
        assert "already released" in str(info.value) and "register()" in str(info.value)
        with pytest.raises(errors.PledgeNotActive):
            pledges.enforce(pledge_id, pledgee, h32())  # released, so not enforceable
        with pytest.raises(errors.PledgeNotActive):
            pledges.release(pledge_id, pledgee, h32())  # another consent: not a retry

    def test_unknown_pledge(self, pledges: PledgeRegistryClient) -> None:
        with pytest.raises(errors.UnknownPledge) as info:
            pledges.get_pledge(99)
        assert info.value.pledge_id == 99 and isinstance(info.value, LookupError)
        assert "pledge_count()" in str(info.value)
        for call in (
            lambda: pledges.release(99, h32(), h32()),
            lambda: pledges.enforce(99, h32(), h32()),
            lambda: pledges.amend(99, h32()),
        ):
            with pytest.raises(errors.UnknownPledge):
                call()

    @pytest.mark.parametrize("field", ["assetId", "pledgor", "pledgee", "termsDigest"])
    def test_zero_values_are_refused(self, pledges: PledgeRegistryClient, field: str) -> None:
        values = {"assetId": h32(), "pledgor": h32(), "pledgee": h32(), "termsDigest": h32()}
        values[field] = bytes(32)
        with pytest.raises(errors.ZeroPledgeValue) as info:
            pledges.register(*values.values())
        assert info.value.field == field and isinstance(info.value, ValueError)
        assert f"{field} is all zero bytes" in str(info.value)

    def test_zero_terms_in_an_amendment_are_refused(self, pledges: PledgeRegistryClient) -> None:
        pledge_id = pledges.register(h32(), h32(), h32(), h32()).pledge_id
        with pytest.raises(errors.ZeroPledgeValue, match="termsDigest"):
            pledges.amend(pledge_id, bytes(32))

    def test_same_party_on_both_sides_is_refused(self, pledges: PledgeRegistryClient) -> None:
        party = h32()
        with pytest.raises(errors.SameParty) as info:
            pledges.register(h32(), party, party, h32())
        assert info.value.error_args == {"party": party}
        assert "same party" in str(info.value) and isinstance(info.value, ValueError)

    @pytest.mark.parametrize(
        "call",
        [
            lambda p: p.register(b"\x01" * 31, h32(), h32(), h32()),
            lambda p: p.register(h32(), "ab" * 32, h32(), h32()),
            lambda p: p.release(-1, h32(), h32()),
            lambda p: p.enforce(2**64, h32(), h32()),
            lambda p: p.release(1, h32(), b"short consent"),
            lambda p: p.for_registrar(""),
            lambda p: p.amend(True, h32()),
            lambda p: p.get_pledge(1, block=-1),
            lambda p: p.active_pledge_of(h32(), block="latest"),
        ],
        ids=[
            "short-asset",
            "str-party",
            "negative-id",
            "id-over-uint64",
            "short-consent",
            "empty-registrar-label",
            "bool-id",
            "negative-block",
            "str-block",
        ],
    )
    def test_malformed_input_is_refused_before_any_rpc(
        self, pledges: PledgeRegistryClient, call: Any
    ) -> None:
        with pytest.raises(errors.InvalidPledgeInput):
            call(pledges)

    def test_missing_registrar_role_names_account_role_and_fix(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        outsider_registry = backend.connect(private_key=OTHER_KEY)
        outsider = outsider_registry.pledge_registry(pledges.registry_address)
        with pytest.raises(errors.MissingRole) as info:
            outsider.register(h32(), h32(), h32(), h32())
        message = str(info.value)
        assert info.value.error_args["account"].lower() == OTHER.lower()
        assert "REGISTRAR_ROLE" in message and "grantRole(" in message
        assert pledges.registry_address in message and "PledgeRegistry" in message
        assert isinstance(info.value, PermissionError)

        grant_registrar(pledges, OTHER)  # the fix the message names works
        backend.fund(OTHER)
        assert outsider.register(h32(), h32(), h32(), h32()).pledge_id == 1

    # retries -------------------------------------------------------------------------------

    def test_register_retry_returns_the_pledge_and_sends_nothing(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        values = (h32(), h32(), h32(), h32())
        first = pledges.register(*values)
        nonce = self.nonce(pledges)
        assert pledges.register(*values) == first
        # A fresh client (e.g. after a crash) gets the same receipt back.
        assert backend.connect().pledge_registry().register(*values) == first
        assert self.nonce(pledges) == nonce
        assert pledges.pledge_count() == 1

    def test_register_after_release_is_a_new_pledge(self, pledges: PledgeRegistryClient) -> None:
        # Not idempotent by design: the chain cannot tell a retry from a new pledge here.
        values = (h32(), h32(), h32(), h32())
        first = pledges.register(*values)
        pledges.release(first.pledge_id, values[2], h32())
        assert pledges.register(*values).pledge_id == first.pledge_id + 1

    def test_release_and_enforce_retries_return_the_first_receipt(
        self, pledges: PledgeRegistryClient
    ) -> None:
        pledgor, pledgee = h32(), h32()
        released_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        enforced_id = pledges.register(h32(), pledgor, pledgee, h32()).pledge_id
        consent = h32()
        released = pledges.release(released_id, pledgee, consent)
        enforced = pledges.enforce(enforced_id, pledgee, consent)
        nonce = self.nonce(pledges)
        assert pledges.release(released_id, pledgee, consent) == released
        assert pledges.enforce(enforced_id, pledgee, consent) == enforced
        assert self.nonce(pledges) == nonce
        with pytest.raises(errors.PledgeNotActive):
            pledges.release(released_id, pledgee, consent, allow_existing=False)

    def test_amend_retry_returns_the_transaction_that_set_the_terms(
        self, pledges: PledgeRegistryClient
    ) -> None:
        terms, new_terms = h32(), h32()
        registered = pledges.register(h32(), h32(), h32(), terms)
        nonce = self.nonce(pledges)
        # Terms already as asked: the registration set them; nothing is sent.
        assert pledges.amend(registered.pledge_id, terms) == registered
        assert self.nonce(pledges) == nonce
        amended = pledges.amend(registered.pledge_id, new_terms)
        assert pledges.amend(registered.pledge_id, new_terms) == amended
        assert self.nonce(pledges) == nonce + 1

    def test_racing_registrations_of_one_pledge_register_it_once(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        # Separate senders (separate nonce locks) sending the same pledge at once.
        other = backend.connect().pledge_registry()
        values = (h32(), h32(), h32(), h32())
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(pool.map(lambda i: (pledges, other)[i % 2].register(*values), range(4)))
        assert len(set(receipts)) == 1
        assert pledges.pledge_count() == 1

    # state as of a time ------------------------------------------------------------------

    def test_state_as_of_past_blocks_and_times(self, pledges: PledgeRegistryClient) -> None:
        asset, pledgor, pledgee, terms, new_terms = h32(), h32(), h32(), h32(), h32()
        a = pledges.register(asset, pledgor, pledgee, terms)
        m = pledges.amend(a.pledge_id, new_terms)
        b = pledges.release(a.pledge_id, pledgee, h32())
        assert a.block_number < m.block_number < b.block_number

        assert pledges.active_pledge_of(asset, block=a.block_number) == a.pledge_id
        assert pledges.active_pledge_of(asset, block=b.block_number) == 0
        assert pledges.active_pledge_of(asset, block=a.block_number - 1) == 0
        assert pledges.get_pledge(a.pledge_id, block=a.block_number).terms_digest == terms
        assert pledges.get_pledge(a.pledge_id, block=m.block_number).terms_digest == new_terms
        at_b = pledges.get_pledge(a.pledge_id, block=b.block_number)
        assert (at_b.status, at_b.released_at) == (PledgeStatus.RELEASED, b.block_timestamp)
        assert pledges.pledge_count(block=a.block_number - 1) == 0
        with pytest.raises(errors.UnknownPledge):
            pledges.get_pledge(a.pledge_id, block=a.block_number - 1)

        # Block times strictly increase, so each receipt's time finds its own block.
        found = pledges.block_at_or_before(a.block_timestamp)
        assert (found.number, found.hash) == (a.block_number, a.block_hash)
        assert pledges.block_at_or_before(b.block_timestamp).number == b.block_number
        before_b = pledges.block_at_or_before(b.block_timestamp - 1)
        assert a.block_number <= before_b.number < b.block_number

        snapshot = pledges.pledge_as_of(asset, a.block_timestamp)
        assert snapshot.block.number == a.block_number
        assert snapshot.pledge is not None and snapshot.pledge.pledgee == pledgee
        assert snapshot.pledge.terms_digest == terms
        assert pledges.pledge_as_of(asset, b.block_timestamp).pledge is None
        assert pledges.pledge_as_of(asset, b.block_timestamp - 1).pledge is not None

    def test_times_outside_the_chain(self, pledges: PledgeRegistryClient) -> None:
        genesis = pledges.block(0)
        with pytest.raises(errors.BlockNotFound, match="genesis block") as info:
            pledges.block_at_or_before(genesis.timestamp - 1)
        assert isinstance(info.value, LookupError)
        assert pledges.block_at_or_before(genesis.timestamp).number == 0
        # "As of" before the chain existed: its first state, where nothing is pledged.
        early = pledges.pledge_as_of(h32(), genesis.timestamp - 86_400)
        assert early.block.number == 0 and early.pledge is None
        head = pledges.block("latest")
        assert pledges.block_at_or_before(head.timestamp + 10**6).number >= head.number
        with pytest.raises(errors.BlockNotFound, match="not on chain"):
            pledges.active_pledge_of(h32(), block=head.number + 1000)

    def test_before_deployment_the_registry_is_empty(self, pledges: PledgeRegistryClient) -> None:
        asset = h32()
        pledges.register(asset, h32(), h32(), h32())
        assert pledges.active_pledge_of(asset, block=0) == 0
        assert pledges.pledges_of(asset, block=0) == ()
        assert pledges.pledge_count(block=0) == 0
        with pytest.raises(errors.UnknownPledge):
            pledges.get_pledge(1, block=0)

    # readers, concurrency, restarts -----------------------------------------------------------

    def test_reader_without_key_reads_pledges_as_of_blocks(
        self, backend: ChainBackend, pledges: PledgeRegistryClient
    ) -> None:
        asset, pledgor, pledgee = h32(), h32(), h32()
        a = pledges.register(asset, pledgor, pledgee, h32())
        b = pledges.enforce(a.pledge_id, pledgee, h32())
        reader = backend.pledge_reader(pledges.registry_address)
        reader.check()
        assert reader.chain_id == pledges.chain_id
        assert reader.get_pledge(a.pledge_id) == pledges.get_pledge(a.pledge_id)
        assert reader.active_pledge_of(asset, block=a.block_number) == a.pledge_id
        assert reader.active_pledge_of(asset, block=b.block_number) == 0
        assert reader.pledges_of(asset, block=a.block_number) == (a.pledge_id,)
        assert reader.block_at_or_before(a.block_timestamp).number == a.block_number
        assert reader.pledge_receipts(a.pledge_id) == (a, b)
        assert not hasattr(reader, "register") and not hasattr(reader, "release")

    def test_anchoring_and_pledging_from_two_threads_share_the_nonces(
        self, registry: EvidenceRegistryClient, pledges: PledgeRegistryClient
    ) -> None:
        assert pledges.account == registry.account
        start = int(registry.w3.eth.get_transaction_count(registry.account))
        count = 6

        def anchor_all() -> list[Any]:
            return [registry.anchor_root(unique_root(), size) for size in range(1, count + 1)]

        def pledge_all() -> list[Any]:
            return [pledges.register(h32(), h32(), h32(), h32()) for _ in range(count)]

        with ThreadPoolExecutor(max_workers=2) as pool:
            anchors, pledged = pool.submit(anchor_all), pool.submit(pledge_all)
            anchor_receipts, pledge_receipts = anchors.result(), pledged.result()

        assert sorted(r.batch_id for r in anchor_receipts) == list(range(1, count + 1))
        assert sorted(r.pledge_id for r in pledge_receipts) == list(range(1, count + 1))
        # One sender, one lock: no nonce was ever taken twice, so none was retried.
        assert registry.sender is pledges._sender
        assert registry.sender.nonce_clashes == 0
        nonces = sorted(
            int(registry.w3.eth.get_transaction(r.tx_hash)["nonce"])
            for r in [*anchor_receipts, *pledge_receipts]
        )
        assert nonces == list(range(start, start + 2 * count))

    def test_restart_continues_with_the_same_pledge_registry(self, backend: ChainBackend) -> None:
        registry = backend.connect()
        pledges = registry.pledge_registry()
        one = pledges.register(h32(), h32(), h32(), h32())
        registry.close()
        restarted = backend.connect().pledge_registry()
        assert restarted.registry_address == one.contract
        assert restarted.get_pledge(one.pledge_id).active
        assert restarted.register(h32(), h32(), h32(), h32()).pledge_id == one.pledge_id + 1
