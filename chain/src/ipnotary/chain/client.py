"""Talk to the EvidenceRegistry contract on any chain: embedded or a JSON-RPC node.

Start with :class:`EvidenceRegistryClient` (anchors checkpoints of the one
append-only log; needs a private key) and :class:`AnchorReader` (reads anchors;
needs no key, e.g. for the SDK verifier). Both are built by their ``connect_*`` /
``from_*`` class methods, which check the chain id and the code at the contract
address before returning.

Registry versions: version 2 (the current build) anchors checkpoints (root, tree
size) of one log and refuses a tree size that does not grow. Version 1 anchored one
independent tree per batch; certificates of version 1 point at such registries, so
:class:`AnchorReader` also attaches to the frozen version 1 code
(``artifacts/legacy/``) and says which it found
(:attr:`AnchorReader.registry_version`). Only version 2 is anchored into: a client
whose deployments book records a version 1 registry deploys version 2 beside it.

The client is written once for every backend: transactions are signed locally and
sent raw, the embedded chain answers like a node (see :mod:`ipnotary.chain._embedded`), and
everything third-party that can go wrong is translated into :mod:`ipnotary.chain.errors` by
:class:`ipnotary.chain._connection.ChainConnection`. Sending (nonces, fees, receipts) lives in
:class:`ipnotary.chain._sender.TransactionSender`, which the client shares with the
:class:`ipnotary.chain.pledges.PledgeRegistryClient` it hands out
(:meth:`EvidenceRegistryClient.pledge_registry`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

if TYPE_CHECKING:  # py-evm is loaded only when an embedded chain is opened
    from ipnotary.chain._embedded import EmbeddedChain

from ipnotary.chain._artifacts import ContractArtifact, load_artifact, load_legacy_artifact
from ipnotary.chain._connection import ChainConnection, ContractView, hex_str, http_web3
from ipnotary.chain._deployments import DeploymentBook
from ipnotary.chain._sender import TransactionPolicy, TransactionSender
from ipnotary.chain.errors import (
    AnchorEventNotFound,
    ChainError,
    ContractMismatch,
    ContractReverted,
    InvalidAnchorInput,
    RootAlreadyAnchored,
    TransactionReorged,
    TreeSizeNotGrowing,
    UnknownBatch,
    UnknownRoot,
)
from ipnotary.chain.pledges import PledgeRegistryClient
from ipnotary.chain.types import (
    DEFAULT_CHAIN_ID,
    Address,
    AnchoredBatch,
    AnchoringAccount,
    AnchorReceipt,
    BatchId,
    BlockNumber,
    TxHash,
)

__all__ = ["ANCHOR_GAS", "AnchorReader", "EvidenceRegistryClient", "TransactionPolicy"]

REGISTRY: Final = "EvidenceRegistry"
REGISTRY_VERSION: Final = 2
"""Version of the EvidenceRegistry this package builds and anchors into."""
SIGNER_KEY_FILE: Final = "signer.key"
ANCHOR_GAS: Final = 150_000
"""Gas budgeted per anchor when counting the anchors an account can pay for: ``anchor`` uses about
78k (one stored checkpoint and its event); the margin covers storage costs changing."""
_UINT64_MAX: Final = 2**64 - 1
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def _registry_artifacts() -> dict[int, ContractArtifact]:
    """Every EvidenceRegistry version this package recognises, current first."""
    return {
        REGISTRY_VERSION: load_artifact(REGISTRY),
        1: load_legacy_artifact(REGISTRY, 1),
    }


# Per version: the anchoring event and the name of its tree-size argument.
_ANCHOR_EVENTS: Final = {2: ("CheckpointAnchored", "treeSize"), 1: ("BatchAnchored", "leafCount")}


class AnchorReader(ContractView):
    """Read-only view of one EvidenceRegistry: checkpoints, roots, blocks. Needs no key.

    Build with :meth:`from_rpc` or :meth:`from_embedded`; :meth:`check` re-verifies
    that the node is reachable, on the right chain, and that the contract is ours.
    Attaches to the current (version 2) registry code or the frozen version 1 code;
    :attr:`registry_version` says which.
    """

    CONTRACT = REGISTRY
    _ACCEPTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({REGISTRY_VERSION, 1})

    def _attach(self, address: str) -> None:
        known = _registry_artifacts()
        checksummed = self._conn.bind(known[REGISTRY_VERSION], address).address
        found = self._conn.match_code(checksummed, list(known.values()))
        version = next(v for v, artifact in known.items() if artifact is found)
        if version not in self._ACCEPTED_VERSIONS:
            raise ContractMismatch(
                f"{checksummed} on chain {self._chain_id} holds a version {version} "
                f"{REGISTRY} (one Merkle tree per batch), which this version reads but does not "
                f"anchor into: configure the address of a version {REGISTRY_VERSION} registry, or "
                "leave it unset to deploy one (certificates anchored in this one stay verifiable "
                "by its address)"
            )
        self._registry_version = version
        self._artifact = found
        self._contract = self._conn.bind(found, checksummed)
        event_name, self._size_arg = _ANCHOR_EVENTS[version]
        self._anchored_event = self._contract.events[event_name]
        self._anchored_topic = HexBytes(event_abi_to_log_topic(cast(Any, self._anchored_event.abi)))

    # -- public API -----------------------------------------------------------------

    @property
    def registry_version(self) -> int:
        """2 for a registry of log checkpoints (current), 1 for a frozen one-tree-per-batch
        registry."""
        return self._registry_version

    def find_root(self, root: bytes) -> AnchoredBatch | None:
        """The checkpoint (v1: batch) that anchored ``root``, or None if it was never anchored."""
        _check_root(root)
        try:
            with self._rpc("looking up a root", function="findRoot"):
                batch_id, batch = self._contract.functions.findRoot(root).call()
        except UnknownRoot:
            return None
        return _anchored_batch(batch_id, batch)

    def get_batch(self, batch_id: int) -> AnchoredBatch:
        """Checkpoint ``batch_id`` (1-based); raises :class:`ipnotary.chain.errors.UnknownBatch`."""
        if (
            not isinstance(batch_id, int)
            or isinstance(batch_id, bool)
            or not 0 <= batch_id <= _UINT64_MAX
        ):
            raise InvalidAnchorInput(f"batch_id must be an int in 0..2**64-1, got {batch_id!r}")
        with self._rpc("reading a batch", function="getBatch"):
            batch = self._contract.functions.getBatch(batch_id).call()
        return _anchored_batch(batch_id, batch)

    def batch_count(self) -> int:
        """Number of checkpoints anchored so far, which is also the id of the latest one."""
        with self._rpc("reading the batch count", function="batchCount"):
            return int(self._contract.functions.batchCount().call())

    def latest_checkpoint(self) -> AnchoredBatch | None:
        """The newest checkpoint, the one with the largest tree size; None before the first.

        On a version 1 registry: the newest batch (whose tree is its own, not a log's).
        """
        if self._registry_version == 1:
            count = self.batch_count()
            return None if count == 0 else self.get_batch(count)
        try:
            with self._rpc("reading the latest checkpoint", function="latestCheckpoint"):
                batch_id, batch = self._contract.functions.latestCheckpoint().call()
        except UnknownBatch:  # the contract's answer while nothing is anchored
            return None
        return _anchored_batch(batch_id, batch)

    def anchor_receipt_for_root(self, root: bytes) -> AnchorReceipt | None:
        """Rebuild the full anchor (tx hash, block hash, gas) of ``root`` from the chain.

        ``findRoot`` gives the block; the anchoring log in that block gives the
        transaction. None if the root was never anchored.
        """
        batch = self.find_root(root)
        if batch is None:
            return None
        # Hex strings, not bytes: eth-tester silently matches nothing for bytes topics.
        topics = [
            hex_str(self._anchored_topic),
            hex_str(batch.batch_id.to_bytes(32, "big")),
            hex_str(root),
        ]
        with self._rpc(f"reading the {self._anchored_event.event_name} log"):
            logs = self._w3.eth.get_logs(
                {
                    "address": self._contract.address,
                    "fromBlock": batch.block_number,
                    "toBlock": batch.block_number,
                    "topics": cast(Any, topics),
                }
            )
        if not logs:
            raise ChainError(
                f"{REGISTRY} at {self._contract.address} reports root 0x{root.hex()} as batch "
                f"{batch.batch_id} in block {batch.block_number}, but that block has no "
                f"{self._anchored_event.event_name} log for it; the node may be pruning logs: "
                "use an archive node"
            )
        tx_hash = hex_str(logs[0]["transactionHash"])
        with self._rpc("reading the anchoring transaction", tx_hash=tx_hash):
            receipt = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        return self._anchor_receipt(receipt, expected_root=root)

    def anchor_from_transaction(self, tx_hash: str, *, root: bytes | None = None) -> AnchorReceipt:
        """The anchor that transaction ``tx_hash`` made in this registry, read from its receipt.

        Checks a claimed anchor against the chain: the transaction must be mined on
        the canonical chain and have emitted this registry's anchoring event
        (``CheckpointAnchored``; ``BatchAnchored`` on a version 1 registry). With
        ``root``, the event must anchor that root; without it, the transaction must
        anchor exactly one. Raises :class:`ipnotary.chain.errors.AnchorEventNotFound` when the
        transaction is unknown, failed, or anchored nothing (or another root) here.
        """
        if not isinstance(tx_hash, str) or not _TX_HASH.fullmatch(tx_hash):
            raise InvalidAnchorInput(
                f"a transaction hash is 0x and 64 hex digits, got {tx_hash!r:.80}"
            )
        if root is not None:
            _check_root(root)
        tx_hash = tx_hash.lower()
        with self._rpc("reading a transaction receipt", tx_hash=tx_hash):
            try:
                receipt: TxReceipt | None = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
            except TransactionNotFound:
                receipt = None
        if receipt is None:
            raise AnchorEventNotFound(
                f"transaction {tx_hash} is not mined on chain {self._chain_id} "
                f"({self._conn.endpoint}): it belongs to another chain, or is still pending, "
                "or the hash is wrong",
                tx_hash=tx_hash,
            )
        return self._anchor_receipt(receipt, expected_root=root)

    # -- shared machinery -------------------------------------------------------------

    def _anchor_receipt(self, receipt: TxReceipt, *, expected_root: bytes | None) -> AnchorReceipt:
        tx_hash = hex_str(receipt["transactionHash"])
        event_name = self._anchored_event.event_name
        here = f"{REGISTRY} at {self._contract.address}"
        anchored = [
            self._anchored_event().process_log(entry)
            for entry in receipt["logs"]
            if str(entry["address"]).lower() == self._contract.address.lower()
            and entry["topics"]
            and HexBytes(entry["topics"][0]) == self._anchored_topic
        ]
        if not anchored:
            failed = " failed (status 0) and" if receipt["status"] != 1 else ""
            raise AnchorEventNotFound(
                f"transaction {tx_hash}{failed} emitted no {event_name} event of {here}: "
                "it anchored nothing in this registry; check the transaction hash and the "
                "registry address",
                tx_hash=tx_hash,
            )
        if expected_root is not None:
            matching = [e for e in anchored if bytes(e["args"]["root"]) == expected_root]
            if not matching:
                shown = ", ".join(f"0x{bytes(e['args']['root']).hex()}" for e in anchored)
                raise AnchorEventNotFound(
                    f"transaction {tx_hash} anchored {shown} in {here}, "
                    f"not 0x{expected_root.hex()}",
                    tx_hash=tx_hash,
                )
            anchored = matching
        if len(anchored) > 1:
            raise ChainError(
                f"transaction {tx_hash} anchored {len(anchored)} roots in {here}; "
                "pass root= to say which anchor to read"
            )
        args = anchored[0]["args"]
        block = self.block(int(receipt["blockNumber"]))
        if block.hash != hex_str(receipt["blockHash"]):
            raise TransactionReorged(
                f"block {block.number} was replaced on chain {self._chain_id}; "
                "wait for the transaction to be mined again and retry",
                tx_hash=tx_hash,
            )
        return AnchorReceipt(
            chain_id=self._chain_id,
            contract=Address(self._contract.address),
            batch_id=BatchId(int(args["batchId"])),
            root=bytes(args["root"]),
            tree_size=int(args[self._size_arg]),
            tx_hash=TxHash(tx_hash),
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=int(receipt["gasUsed"]),
        )


class EvidenceRegistryClient(AnchorReader):
    """Anchors checkpoints of the append-only log in an EvidenceRegistry and reads them back.

    Safe to share between threads: nonces are assigned under a lock, and waiting for
    receipts happens outside it. :meth:`anchor_root` is idempotent, so after a crash
    the caller simply calls it again for every checkpoint not known to be anchored.
    :meth:`pledge_registry` gives a PledgeRegistry client that sends through the same
    :class:`~chain._sender.TransactionSender`, so both can use the key concurrently.
    Attaches only to a version 2 registry (:data:`REGISTRY_VERSION`).
    """

    _ACCEPTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({REGISTRY_VERSION})

    def __init__(
        self,
        w3: Web3,
        *,
        private_key: str | bytes,
        registry_address: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        expected_chain_id: int | None = None,
        endpoint: str | None = None,
        policy: TransactionPolicy | None = None,
        embedded: EmbeddedChain | None = None,
    ) -> None:
        """Use any ``Web3``; see :meth:`connect_rpc` for the meaning of the arguments.

        ``embedded`` (an open :class:`EmbeddedChain` whose ``w3`` this is) is closed by
        :meth:`close`; pass None to keep it open for other clients.
        """
        try:
            account: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError):
            # from None: the chained exception could show the key material.
            raise ChainError(
                "the configured private key is not a 32-byte secp256k1 key (hex or bytes)"
            ) from None
        connection = ChainConnection(
            w3, endpoint=endpoint, embedded=embedded, expected_chain_id=expected_chain_id
        )
        self._sender = TransactionSender(connection, account, policy or TransactionPolicy())
        self._open(connection, owned=embedded)
        self._state_dir = state_dir
        if registry_address is None:
            if state_dir is None:
                raise ChainError(
                    "neither a contract address nor a state directory is configured: set the "
                    "EvidenceRegistry address, or a state directory where the deployment is "
                    "recorded"
                )
            registry_address = self._sender.deploy_or_reuse(
                DeploymentBook(state_dir),
                self._artifact,
                [account.address],
                lost="every anchor",
                superseded={
                    f"{REGISTRY}/{version}": artifact.deployed_bytecode
                    for version, artifact in _registry_artifacts().items()
                    if version != REGISTRY_VERSION
                },
            )
        self._attach(registry_address)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def connect_embedded(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        private_key: str | bytes | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        registry_address: str | None = None,
        timeout: float = 120.0,
        key_passphrase: bytes | None = None,
    ) -> EvidenceRegistryClient:
        """Open (or create) the embedded chain in ``data_dir`` and attach or deploy the registry.

        On the first start the chain's genesis funds the signing account, and the
        registry is deployed with that account as admin and anchorer (also when the
        directory records a version 1 registry from an earlier release: version 2 is
        deployed beside it, and the old one stays readable by its address). Without
        ``private_key`` a key is created once in ``data_dir/signer.key`` (mode 0600; encrypted
        under ``key_passphrase`` if given: :func:`load_or_create_signer_key`).
        The embedded chain is final at one block, so there is no confirmations setting.
        """
        key = (
            private_key
            if private_key is not None
            else load_or_create_signer_key(data_dir, passphrase=key_passphrase)
        )
        try:
            address = Account.from_key(key).address
        except (ValueError, TypeError):
            raise ChainError(
                "the configured private key is not a 32-byte secp256k1 key (hex or bytes)"
            ) from None
        from ipnotary.chain._embedded import EmbeddedChain

        chain = EmbeddedChain.open(data_dir, chain_id=chain_id, genesis_accounts=[address])
        try:
            return cls(
                chain.w3,
                private_key=key,
                registry_address=registry_address,
                state_dir=data_dir,
                expected_chain_id=chain_id,
                endpoint=f"embedded chain {Path(data_dir)}",
                policy=TransactionPolicy(receipt_timeout=timeout, poll_interval=0.02),
                embedded=chain,
            )
        except BaseException:
            chain.close()
            raise

    @classmethod
    def connect_rpc(
        cls,
        url: str,
        *,
        private_key: str | bytes,
        expected_chain_id: int | None = None,
        registry_address: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        confirmations: int = 1,
        timeout: float = 120.0,
        request_timeout: float = 10.0,
    ) -> EvidenceRegistryClient:
        """Connect to a JSON-RPC node; attach to ``registry_address`` or deploy-and-record.

        Without ``registry_address``, ``state_dir`` must be given: the deployment is recorded there
        (per chain id) and reused on later starts; a recorded version 1 registry is kept in the
        record as ``EvidenceRegistry/1`` and version 2 deployed. ``timeout`` bounds the wait for a
        transaction to be mined and ``confirmations`` deep; ``request_timeout`` bounds each RPC
        request.
        """
        return cls(
            http_web3(url, request_timeout),
            private_key=private_key,
            registry_address=registry_address,
            state_dir=state_dir,
            expected_chain_id=expected_chain_id,
            endpoint=url,
            policy=TransactionPolicy(confirmations=confirmations, receipt_timeout=timeout),
        )

    # -- public API -----------------------------------------------------------------

    @property
    def account(self) -> Address:
        """Address of the signing account."""
        return self._sender.account

    @property
    def sender(self) -> TransactionSender:
        """The sender of this account's transactions; share it with every client of the key."""
        return self._sender

    def anchoring_account(self) -> AnchoringAccount:
        """Whether this client's account can anchor: ``ANCHORER_ROLE`` in the registry, and the
        wei for how many anchors at the current fee. A service checks it on every process, so a
        follower whose key cannot anchor is found out before it becomes the leader."""
        with self._rpc("reading the anchorer role", function="hasRole"):
            role = self._contract.functions.ANCHORER_ROLE().call()
            has_role = bool(self._contract.functions.hasRole(role, self.account).call())
        balance, fee = self._sender.balance(), self._sender.fee_per_gas()
        affordable = balance // (fee * ANCHOR_GAS) if fee > 0 else None
        return AnchoringAccount(self.account, has_role, balance, fee, affordable)

    def pledge_registry(
        self,
        registry_address: str | None = None,
        *,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> PledgeRegistryClient:
        """A PledgeRegistry client on this chain, signing with this key through this sender.

        Attaches to ``registry_address`` (its code must be the shipped PledgeRegistry's),
        or, without it, deploys-or-reuses the PledgeRegistry recorded in the deployments
        book of ``state_dir`` (default: this client's state directory, the data directory
        on the embedded chain), exactly as this client does for the EvidenceRegistry.
        The new client shares this one's connection and embedded chain: closing this
        client closes the chain under both; the pledge client's own ``close()`` does not.
        """
        return PledgeRegistryClient(
            self._sender,
            registry_address=registry_address,
            state_dir=self._state_dir if state_dir is None else state_dir,
        )

    def anchor_root(
        self, root: bytes, tree_size: int, *, allow_existing: bool = True
    ) -> AnchorReceipt:
        """Anchor the log's checkpoint: root hash ``root`` at ``tree_size`` leaves.

        ``tree_size`` must be larger than that of the latest anchored checkpoint; the
        contract refuses anything else with :class:`ipnotary.chain.errors.TreeSizeNotGrowing`
        (the log would have shrunk or forked). Idempotent: if ``root`` is already
        anchored with this tree size (by an earlier call that crashed before recording
        the result, or by a concurrent sender), the existing anchor is returned; the
        same root anchored with another tree size raises
        :class:`ipnotary.chain.errors.InvalidAnchorInput`. With ``allow_existing=False`` the
        contract's :class:`ipnotary.chain.errors.RootAlreadyAnchored` is raised instead. Raises
        other :class:`ipnotary.chain.errors.ContractReverted` subclasses for bad input
        (``ZeroRoot``) and missing permission (``MissingRole``).
        """
        _check_root(root)
        if (
            not isinstance(tree_size, int)
            or isinstance(tree_size, bool)
            or not 0 <= tree_size <= _UINT64_MAX
        ):
            raise InvalidAnchorInput(f"tree_size must be an int in 1..2**64-1, got {tree_size!r}")
        if allow_existing:
            existing = self._existing_anchor(root, tree_size)
            if existing is not None:
                return existing
        data = self._contract.encode_abi("anchor", [root, tree_size])
        sender = self._sender
        deadline = sender.deadline()
        try:
            tx_hash = sender.send(
                {"to": self._contract.address, "data": data},
                function="anchor",
                contract=REGISTRY,
                address=self._contract.address,
            )
        except RootAlreadyAnchored:
            # Anchored by someone else between our look-up and our gas estimate.
            existing = self._existing_anchor(root, tree_size) if allow_existing else None
            if existing is None:
                raise
            return existing
        receipt = sender.await_receipt(
            tx_hash, deadline, retry_hint="call anchor_root() again later (it is idempotent)"
        )
        if receipt["status"] != 1:
            # Lost a race to another sender of the same root? Then that anchor is ours too.
            existing = self._existing_anchor(root, tree_size) if allow_existing else None
            if existing is not None:
                return existing
            raise self._anchor_failure(receipt, data, tree_size)
        return self._anchor_receipt(receipt, expected_root=root)

    # -- sending --------------------------------------------------------------------

    def _existing_anchor(self, root: bytes, tree_size: int) -> AnchorReceipt | None:
        existing = self.anchor_receipt_for_root(root)
        if existing is not None and existing.tree_size != tree_size:
            raise InvalidAnchorInput(
                f"root 0x{root.hex()} is already anchored as batch {existing.batch_id} with "
                f"tree_size {existing.tree_size}, not {tree_size}: one root cannot be the log's "
                "head at two sizes; check how the checkpoint was computed"
            )
        return existing

    def _anchor_failure(self, receipt: TxReceipt, data: str, tree_size: int) -> ContractReverted:
        """Why a mined anchor transaction failed, as the typed revert."""
        error = self._sender.replayed_revert(
            receipt, self._contract.address, data, function="anchor", contract=REGISTRY
        )
        if error.error_name is None:
            # The replay runs on the state before the block, so it misses a checkpoint
            # anchored earlier in the same block; the latest one shows it.
            latest = self.latest_checkpoint()
            if latest is not None and latest.tree_size >= tree_size:
                return TreeSizeNotGrowing(
                    "EvidenceRegistryTreeSizeNotGrowing",
                    {"treeSize": tree_size, "latestTreeSize": latest.tree_size},
                    tx_hash=hex_str(receipt["transactionHash"]),
                    contract=REGISTRY,
                    address=self._contract.address,
                    function="anchor",
                )
        return error


# -- helpers -----------------------------------------------------------------------


def load_or_create_signer_key(
    data_dir: str | os.PathLike[str], *, passphrase: bytes | None = None
) -> str:
    """The embedded chain's signing key (0x-hex), created on first use in ``data_dir/signer.key``
    (mode 0600); it never leaves the directory.

    With ``passphrase`` the file is a standard Ethereum keystore (Web3 Secret Storage v3: scrypt
    and AES-128-CTR, as geth and every wallet read it; ``eth_account`` writes and opens it), and
    a plaintext key file found is encrypted in place. Opening it costs scrypt's ~1 s, once per
    start.
    """
    path = Path(data_dir) / SIGNER_KEY_FILE
    try:
        stored = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = None
    if stored is None:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        key = "0x" + os.urandom(32).hex()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another starter won the race: use its key
            return load_or_create_signer_key(data_dir, passphrase=passphrase)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_signer_file(key, passphrase))
            handle.flush()
            os.fsync(handle.fileno())
        return key
    if stored.startswith("{"):
        if passphrase is None:
            raise ChainError(f"the signer key {path} is encrypted: give its passphrase")
        try:
            # eth_account types the password as str but reads bytes too (eth_keyfile to_bytes)
            return "0x" + bytes(Account.decrypt(stored, cast(str, passphrase))).hex()
        except ValueError:  # eth_account: "MAC mismatch"
            raise ChainError(f"the passphrase does not open the signer key {path}") from None
    if passphrase is not None:
        scratch = path.with_name(path.name + ".tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_signer_file(stored, passphrase))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    return stored


def _signer_file(key: str, passphrase: bytes | None) -> str:
    if passphrase is None:
        return key + "\n"
    return json.dumps(Account.encrypt(cast(HexStr, key), cast(str, passphrase))) + "\n"


def _check_root(root: bytes) -> None:
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        shown = f"{len(root)} bytes" if isinstance(root, bytes | bytearray) else type(root).__name__
        raise InvalidAnchorInput(f"a Merkle root is 32 bytes, got {shown}")


def _anchored_batch(batch_id: int, batch: Any) -> AnchoredBatch:
    root, tree_size, timestamp, block_number = batch
    return AnchoredBatch(
        batch_id=BatchId(int(batch_id)),
        root=bytes(root),
        tree_size=int(tree_size),
        timestamp=int(timestamp),
        block_number=BlockNumber(int(block_number)),
    )
