"""Talk to the EvidenceRegistry contract on any chain: embedded or a JSON-RPC node.

Start with :class:`EvidenceRegistryClient` (anchors roots; needs a private key) and
:class:`AnchorReader` (reads anchors; needs no key, e.g. for the SDK verifier).
Both are built by their ``connect_*`` / ``from_*`` class methods, which check the
chain id and the code at the contract address before returning.

The client is written once for every backend: transactions are signed locally and
sent raw, the embedded chain answers like a node (see :mod:`chain._embedded`), and
everything third-party that can go wrong is translated into :mod:`chain.errors` by
:class:`chain._connection.ChainConnection`. Sending (nonces, fees, receipts) lives in
:class:`chain._sender.TransactionSender`, which the client shares with the
:class:`chain.pledges.PledgeRegistryClient` it hands out (:meth:`EvidenceRegistryClient.pledge_registry`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

from ._connection import ChainConnection, ContractView, hex_str, http_web3
from ._deployments import DeploymentBook
from ._embedded import DEFAULT_CHAIN_ID, EmbeddedChain
from ._sender import TransactionPolicy, TransactionSender
from .errors import (
    ChainError,
    InvalidAnchorInput,
    RootAlreadyAnchored,
    TransactionReorged,
    UnknownRoot,
)
from .pledges import PledgeRegistryClient
from .types import (
    Address,
    AnchoredBatch,
    AnchorReceipt,
    BatchId,
    BlockNumber,
    TxHash,
)

__all__ = ["AnchorReader", "EvidenceRegistryClient", "TransactionPolicy"]

REGISTRY: Final = "EvidenceRegistry"
SIGNER_KEY_FILE: Final = "signer.key"
_UINT64_MAX: Final = 2**64 - 1


class AnchorReader(ContractView):
    """Read-only view of one EvidenceRegistry: roots, batches, blocks. Needs no key.

    Build with :meth:`from_rpc` or :meth:`from_embedded`; :meth:`check` re-verifies
    that the node is reachable, on the right chain, and that the contract is ours.
    """

    CONTRACT = REGISTRY

    def _attach(self, address: str) -> None:
        super()._attach(address)
        event = self._contract.events.BatchAnchored
        self._anchored_topic = HexBytes(event_abi_to_log_topic(cast(Any, event.abi)))

    # -- public API -----------------------------------------------------------------
    def find_root(self, root: bytes) -> AnchoredBatch | None:
        """The batch that anchored ``root``, or None if it was never anchored."""
        _check_root(root)
        try:
            with self._rpc("looking up a root", function="findRoot"):
                batch_id, batch = self._contract.functions.findRoot(root).call()
        except UnknownRoot:
            return None
        return _anchored_batch(batch_id, batch)

    def get_batch(self, batch_id: int) -> AnchoredBatch:
        """Batch ``batch_id`` (1-based); raises :class:`chain.errors.UnknownBatch`."""
        if not isinstance(batch_id, int) or not 0 <= batch_id <= _UINT64_MAX:
            raise InvalidAnchorInput(f"batch_id must be an int in 0..2**64-1, got {batch_id!r}")
        with self._rpc("reading a batch", function="getBatch"):
            batch = self._contract.functions.getBatch(batch_id).call()
        return _anchored_batch(batch_id, batch)

    def batch_count(self) -> int:
        with self._rpc("reading the batch count", function="batchCount"):
            return int(self._contract.functions.batchCount().call())

    def anchor_receipt_for_root(self, root: bytes) -> AnchorReceipt | None:
        """Rebuild the full anchor (tx hash, block hash, gas) of ``root`` from the chain.

        ``findRoot`` gives the block; the ``BatchAnchored`` log in that block gives the
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
        with self._rpc("reading the BatchAnchored log"):
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
                "BatchAnchored log for it; the node may be pruning logs: use an archive node"
            )
        entry = logs[0]
        tx_hash = hex_str(entry["transactionHash"])
        with self._rpc("reading the anchoring transaction"):
            receipt = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        return self._anchor_receipt(receipt, expected_root=root)

    # -- shared machinery -------------------------------------------------------------

    def _anchor_receipt(self, receipt: TxReceipt, *, expected_root: bytes) -> AnchorReceipt:
        anchored = [
            entry
            for entry in receipt["logs"]
            if entry["address"] == self._contract.address
            and entry["topics"]
            and HexBytes(entry["topics"][0]) == self._anchored_topic
        ]
        if not anchored:
            raise ChainError(
                f"transaction {hex_str(receipt['transactionHash'])} emitted no BatchAnchored event"
            )
        event = self._contract.events.BatchAnchored().process_log(anchored[0])
        args = event["args"]
        if bytes(args["root"]) != expected_root:
            raise ChainError(
                f"transaction {hex_str(receipt['transactionHash'])} anchored 0x{bytes(args['root']).hex()}, "
                f"not 0x{expected_root.hex()}"
            )
        block = self.block(int(receipt["blockNumber"]))
        if block.hash != hex_str(receipt["blockHash"]):
            raise TransactionReorged(
                f"block {block.number} was replaced on chain {self._chain_id}; "
                "wait for the transaction to be mined again and retry",
                tx_hash=hex_str(receipt["transactionHash"]),
            )
        return AnchorReceipt(
            chain_id=self._chain_id,
            contract=Address(self._contract.address),
            batch_id=BatchId(int(args["batchId"])),
            root=expected_root,
            leaf_count=int(args["leafCount"]),
            tx_hash=TxHash(hex_str(receipt["transactionHash"])),
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=int(receipt["gasUsed"]),
        )


class EvidenceRegistryClient(AnchorReader):
    """Anchors Merkle roots in an EvidenceRegistry and reads them back.

    Safe to share between threads: nonces are assigned under a lock, and waiting for
    receipts happens outside it. :meth:`anchor_root` is idempotent, so after a crash
    the caller simply calls it again for every batch not known to be anchored.
    :meth:`pledge_registry` gives a PledgeRegistry client that sends through the same
    :class:`~chain._sender.TransactionSender`, so both can use the key concurrently.
    """

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
                    "EvidenceRegistry address, or a state directory where the deployment is recorded"
                )
            registry_address = self._sender.deploy_or_reuse(
                DeploymentBook(state_dir), self._artifact, [account.address], lost="every anchor"
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
    ) -> EvidenceRegistryClient:
        """Open (or create) the embedded chain in ``data_dir`` and attach or deploy the registry.

        On the first start the chain's genesis funds the signing account, and the
        registry is deployed with that account as admin and anchorer. Without
        ``private_key`` a key is created once in ``data_dir/signer.key`` (mode 0600).
        The embedded chain is final at one block, so there is no confirmations setting.
        """
        key = private_key if private_key is not None else _load_or_create_key(Path(data_dir))
        try:
            address = Account.from_key(key).address
        except (ValueError, TypeError):
            raise ChainError(
                "the configured private key is not a 32-byte secp256k1 key (hex or bytes)"
            ) from None
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

        Without ``registry_address``, ``state_dir`` must be given: the deployment is
        recorded there (per chain id) and reused on later starts. ``timeout`` bounds
        the wait for a transaction to be mined and ``confirmations`` deep;
        ``request_timeout`` bounds each RPC request.
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
        self, root: bytes, leaf_count: int, *, allow_existing: bool = True
    ) -> AnchorReceipt:
        """Anchor one batch root; return where and when it landed.

        Idempotent: if ``root`` is already anchored (by an earlier call that crashed
        before recording the result, or by a concurrent sender), the existing anchor is
        returned; with ``allow_existing=False`` the contract's
        :class:`chain.errors.RootAlreadyAnchored` is raised instead. Raises other
        :class:`chain.errors.ContractReverted` subclasses for bad input (``ZeroRoot``,
        ``EmptyBatch``) and missing permission (``MissingRole``).
        """
        _check_root(root)
        if (
            not isinstance(leaf_count, int)
            or isinstance(leaf_count, bool)
            or not 0 <= leaf_count <= _UINT64_MAX
        ):
            raise InvalidAnchorInput(f"leaf_count must be an int in 1..2**64-1, got {leaf_count!r}")
        if allow_existing:
            existing = self._existing_anchor(root, leaf_count)
            if existing is not None:
                return existing
        data = self._contract.encode_abi("anchor", [root, leaf_count])
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
            existing = self._existing_anchor(root, leaf_count) if allow_existing else None
            if existing is None:
                raise
            return existing
        receipt = sender.await_receipt(
            tx_hash, deadline, retry_hint="call anchor_root() again later (it is idempotent)"
        )
        if receipt["status"] != 1:
            # Lost a race to another sender of the same root? Then that anchor is ours too.
            existing = self._existing_anchor(root, leaf_count) if allow_existing else None
            if existing is not None:
                return existing
            raise sender.replayed_revert(
                receipt, self._contract.address, data, function="anchor", contract=REGISTRY
            )
        return self._anchor_receipt(receipt, expected_root=root)

    # -- sending --------------------------------------------------------------------

    def _existing_anchor(self, root: bytes, leaf_count: int) -> AnchorReceipt | None:
        existing = self.anchor_receipt_for_root(root)
        if existing is not None and existing.leaf_count != leaf_count:
            raise InvalidAnchorInput(
                f"root 0x{root.hex()} is already anchored as batch {existing.batch_id} with "
                f"leaf_count {existing.leaf_count}, not {leaf_count}: the same root cannot stand "
                "for batches of different sizes; check how the batch was built"
            )
        return existing


# -- helpers -----------------------------------------------------------------------


def _load_or_create_key(data_dir: Path) -> str:
    """The embedded chain's signing key, created on first use; it never leaves the directory."""
    path = data_dir / SIGNER_KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = "0x" + os.urandom(32).hex()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another starter won the race: use its key
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _check_root(root: bytes) -> None:
    if not isinstance(root, bytes | bytearray) or len(root) != 32:
        shown = f"{len(root)} bytes" if isinstance(root, bytes | bytearray) else type(root).__name__
        raise InvalidAnchorInput(f"a Merkle root is 32 bytes, got {shown}")


def _anchored_batch(batch_id: int, batch: Any) -> AnchoredBatch:
    root, leaf_count, timestamp, block_number = batch
    return AnchoredBatch(
        batch_id=BatchId(int(batch_id)),
        root=bytes(root),
        leaf_count=int(leaf_count),
        timestamp=int(timestamp),
        block_number=BlockNumber(int(block_number)),
    )
