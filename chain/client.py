"""Talk to the EvidenceRegistry contract on any chain: embedded or a JSON-RPC node.

Start with :class:`EvidenceRegistryClient` (anchors roots; needs a private key) and
:class:`AnchorReader` (reads anchors; needs no key, e.g. for the SDK verifier).
Both are built by their ``connect_*`` / ``from_*`` class methods, which check the
chain id and the code at the contract address before returning.

The client is written once for every backend: transactions are signed locally and
sent raw, the embedded chain answers like a node (see :mod:`chain._embedded`), and
everything third-party that can go wrong is translated into :mod:`chain.errors` in
:meth:`AnchorReader._rpc`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound as Web3BlockNotFound
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint, TxParams, TxReceipt

from ._artifacts import ContractArtifact, RevertDecoder, load_artifact
from ._deployments import Deployment, DeploymentBook
from ._embedded import DEFAULT_CHAIN_ID, EmbeddedChain
from .errors import (
    BlockNotFound,
    ChainError,
    ChainReset,
    ChainUnavailable,
    ContractMismatch,
    ContractNotFound,
    ContractReverted,
    InsufficientFunds,
    InvalidAnchorInput,
    RootAlreadyAnchored,
    TransactionReorged,
    TransactionTimeout,
    UnknownRoot,
    WrongChainId,
    revert_error_class,
)
from .types import (
    Address,
    AnchoredBatch,
    AnchorReceipt,
    BatchId,
    BlockHash,
    BlockInfo,
    BlockNumber,
    ChainId,
    TxHash,
)

__all__ = ["AnchorReader", "EvidenceRegistryClient", "TransactionPolicy"]

log = logging.getLogger(__name__)

REGISTRY: Final = "EvidenceRegistry"
SIGNER_KEY_FILE: Final = "signer.key"
_UINT64_MAX: Final = 2**64 - 1
_GWEI: Final = 10**9


@dataclass(frozen=True)
class TransactionPolicy:
    """How transactions are sent and awaited."""

    confirmations: int = 1
    """Blocks that must exist on top of (and including) the receipt's block; 1 = mined.
    The embedded chain and Hardhat's automine are final at 1; on a real network use more."""
    receipt_timeout: float = 120.0
    """Seconds to wait for a transaction to be mined and confirmed."""
    poll_interval: float = 0.25
    gas_margin: float = 1.25
    """Multiplier on the node's gas estimate (the estimate can be tight when state moves)."""
    max_send_attempts: int = 5
    """Re-sends after a nonce clash (another sender using the same key)."""
    default_priority_fee: int = 1 * _GWEI
    """Tip used when the node cannot suggest one."""

    def __post_init__(self) -> None:
        if self.confirmations < 1:
            raise ValueError("confirmations must be at least 1")
        if self.receipt_timeout <= 0 or self.poll_interval <= 0:
            raise ValueError("receipt_timeout and poll_interval must be positive")
        if self.gas_margin < 1:
            raise ValueError("gas_margin must be at least 1")


class AnchorReader:
    """Read-only view of one EvidenceRegistry: roots, batches, blocks. Needs no key.

    Build with :meth:`from_rpc` or :meth:`from_embedded`; :meth:`check` re-verifies
    that the node is reachable, on the right chain, and that the contract is ours.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        registry_address: str,
        expected_chain_id: int | None = None,
        endpoint: str | None = None,
        embedded: EmbeddedChain | None = None,
    ) -> None:
        """Use any ``Web3`` (IPC, websocket, an open :class:`EmbeddedChain`'s ``w3``).

        ``endpoint`` names the node in error messages; ``embedded`` is closed by :meth:`close`.
        """
        self._setup(w3, endpoint=endpoint, embedded=embedded, expected_chain_id=expected_chain_id)
        self._attach(registry_address)

    def _setup(
        self,
        w3: Web3,
        *,
        endpoint: str | None,
        embedded: EmbeddedChain | None,
        expected_chain_id: int | None,
    ) -> None:
        self._w3 = w3
        self._endpoint = endpoint or str(
            getattr(w3.provider, "endpoint_uri", None) or type(w3.provider).__name__
        )
        self._embedded = embedded
        self._artifact: ContractArtifact = load_artifact(REGISTRY)
        self._decoder = RevertDecoder([self._artifact.abi])
        with self._rpc("reading the chain id"):
            actual = int(self._w3.eth.chain_id)
        if expected_chain_id is not None and actual != expected_chain_id:
            raise WrongChainId(expected_chain_id, actual)
        self._chain_id = ChainId(actual)

    def _attach(self, registry_address: str) -> None:
        self._contract = self._bind(registry_address)
        self._verify_code(self._contract.address)
        event = self._contract.events.BatchAnchored
        self._anchored_topic = HexBytes(event_abi_to_log_topic(cast(Any, event.abi)))

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_rpc(
        cls,
        url: str,
        *,
        registry_address: str,
        expected_chain_id: int | None = None,
        request_timeout: float = 10.0,
    ) -> AnchorReader:
        """Read the registry at ``registry_address`` through the JSON-RPC node at ``url``."""
        return cls(
            _http_web3(url, request_timeout),
            registry_address=registry_address,
            expected_chain_id=expected_chain_id,
            endpoint=url,
        )

    @classmethod
    def from_embedded(
        cls, data_dir: str | os.PathLike[str], *, registry_address: str | None = None
    ) -> AnchorReader:
        """Read an embedded chain's directory without locking it (the service may run).

        Without ``registry_address`` the address the service recorded in the
        directory's ``deployments.json`` is used.
        """
        chain = EmbeddedChain.open_read_only(data_dir)
        try:
            if registry_address is None:
                deployment = DeploymentBook(data_dir).get(chain.chain_id, REGISTRY)
                if deployment is None or deployment.address is None:
                    raise ContractNotFound(
                        f"no {REGISTRY} deployment is recorded in {Path(data_dir)}; "
                        "pass registry_address, or start the service once to deploy it"
                    )
                registry_address = deployment.address
            return cls(
                chain.w3,
                registry_address=registry_address,
                expected_chain_id=chain.chain_id,
                endpoint=f"embedded chain {Path(data_dir)}",
                embedded=chain,
            )
        except BaseException:
            chain.close()
            raise

    # -- public API -----------------------------------------------------------------

    @property
    def chain_id(self) -> ChainId:
        return self._chain_id

    @property
    def registry_address(self) -> Address:
        """Checksummed address of the EvidenceRegistry this object talks to."""
        return Address(self._contract.address)

    @property
    def w3(self) -> Web3:
        """The underlying web3 instance (tests and tooling; errors are not translated)."""
        return self._w3

    def head(self) -> BlockNumber:
        """Number of the newest block."""
        with self._rpc("reading the head block number"):
            return BlockNumber(self._w3.eth.block_number)

    def block(self, block: int | str) -> BlockInfo:
        """A canonical block by number, by 0x-hash, or ``"latest"``."""
        with self._rpc(f"reading block {block}"):
            try:
                data = self._w3.eth.get_block(cast(Any, block))
            except Web3BlockNotFound:
                raise BlockNotFound(f"block {block} is not on chain {self._chain_id}") from None
        return BlockInfo(
            number=BlockNumber(data["number"]),
            hash=BlockHash(_hex(data["hash"])),
            timestamp=int(data["timestamp"]),
        )

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
            _hex(self._anchored_topic),
            _hex(batch.batch_id.to_bytes(32, "big")),
            _hex(root),
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
        tx_hash = _hex(entry["transactionHash"])
        with self._rpc("reading the anchoring transaction"):
            receipt = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        return self._anchor_receipt(receipt, expected_root=root)

    def check(self) -> None:
        """Readiness: the node answers, serves the configured chain, and the contract is ours."""
        with self._rpc("checking the chain id"):
            actual = int(self._w3.eth.chain_id)
        if actual != self._chain_id:
            raise WrongChainId(self._chain_id, actual)
        self._verify_code(self._contract.address)

    def close(self) -> None:
        """Release the embedded chain (if any). The object is unusable afterwards."""
        if self._embedded is not None:
            self._embedded.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- shared machinery -------------------------------------------------------------

    def _bind(self, address: str) -> Contract:
        try:
            checksummed = to_checksum_address(address)
        except (ValueError, TypeError) as exc:
            raise ContractNotFound(
                f"{address!r} is not an Ethereum address; set the contract address to the "
                "0x-prefixed 20-byte address of the deployed EvidenceRegistry"
            ) from exc
        return self._w3.eth.contract(address=checksummed, abi=cast(Any, list(self._artifact.abi)))

    def _verify_code(self, address: str) -> None:
        with self._rpc("reading the contract code"):
            code = bytes(self._w3.eth.get_code(cast(Any, address)))
            head = self._w3.eth.block_number
        if not code:
            raise ContractNotFound(
                f"no contract code at {address} on chain {self._chain_id} (head block {head}): "
                "check the configured contract address and that the node is the right one, "
                "or leave the address unset to deploy a new EvidenceRegistry"
            )
        expected = self._artifact.deployed_bytecode
        if code != expected:
            raise ContractMismatch(
                f"the code at {address} on chain {self._chain_id} is not the {self._artifact.name} "
                f"this version was built with ({len(code)} bytes, keccak 0x{keccak(code).hex()[:16]}..; "
                f"expected {len(expected)} bytes, keccak 0x{keccak(expected).hex()[:16]}..): "
                "configure the address of a registry deployed by this version, "
                "or leave it unset to deploy one"
            )

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
                f"transaction {_hex(receipt['transactionHash'])} emitted no BatchAnchored event"
            )
        event = self._contract.events.BatchAnchored().process_log(anchored[0])
        args = event["args"]
        if bytes(args["root"]) != expected_root:
            raise ChainError(
                f"transaction {_hex(receipt['transactionHash'])} anchored 0x{bytes(args['root']).hex()}, "
                f"not 0x{expected_root.hex()}"
            )
        block = self.block(int(receipt["blockNumber"]))
        if block.hash != _hex(receipt["blockHash"]):
            raise TransactionReorged(
                f"block {block.number} was replaced on chain {self._chain_id}; "
                "wait for the transaction to be mined again and retry",
                tx_hash=_hex(receipt["transactionHash"]),
            )
        return AnchorReceipt(
            chain_id=self._chain_id,
            contract=Address(self._contract.address),
            batch_id=BatchId(int(args["batchId"])),
            root=expected_root,
            leaf_count=int(args["leafCount"]),
            tx_hash=TxHash(_hex(receipt["transactionHash"])),
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=int(receipt["gasUsed"]),
        )

    @contextmanager
    def _rpc(
        self, action: str, *, function: str | None = None, tx_hash: str | None = None
    ) -> Iterator[None]:
        """Translate every third-party failure inside the block into :mod:`chain.errors`."""
        try:
            yield
        except ChainError:
            raise
        except ContractLogicError as exc:
            raise self._reverted(
                _revert_data(exc.data),
                str(exc.message or exc),
                function=function,
                tx_hash=tx_hash,
            ) from exc
        except (
            requests.ConnectionError,
            requests.Timeout,
            ProviderConnectionError,
            TimeExhausted,
            ConnectionError,
        ) as exc:
            raise ChainUnavailable(
                f"cannot reach the chain node ({self._endpoint}) while {action}: {exc}; "
                "check that the node is running and the RPC URL setting"
            ) from exc
        except requests.RequestException as exc:
            raise ChainUnavailable(
                f"the chain node ({self._endpoint}) failed while {action}: {exc}"
            ) from exc
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            data = _revert_data(_rpc_error_data(exc))
            if data or "revert" in message.lower():
                # Hardhat executes a transaction on send and reports its revert right there.
                raise self._reverted(data, message, function=function, tx_hash=tx_hash) from exc
            if _is_insufficient_funds(message):
                raise self._insufficient_funds(message, tx_hash) from exc
            raise ChainUnavailable(
                f"the chain node ({self._endpoint}) refused {action}: {message}"
            ) from exc
        except (Web3Exception, EthUtilsValidationError) as exc:
            raise ChainError(f"{action} failed on {self._endpoint}: {exc}") from exc

    def _reverted(
        self,
        data: bytes,
        message: str,
        *,
        function: str | None,
        tx_hash: str | None,
    ) -> ContractReverted:
        decoded = self._decoder.decode(data)
        bound = getattr(self, "_contract", None)  # not yet bound while deploying
        address = None if bound is None else bound.address
        if decoded.name is None and not data:
            # Some nodes send only a reason text ("execution reverted: ...").
            return ContractReverted(
                "Error",
                {"message": message},
                tx_hash=tx_hash,
                contract=self._artifact.name,
                address=address,
                function=function,
            )
        return revert_error_class(decoded.name)(
            decoded.name,
            decoded.args,
            data=data,
            tx_hash=tx_hash,
            contract=self._artifact.name,
            address=address,
            function=function,
        )

    def _insufficient_funds(self, message: str, tx_hash: str | None) -> InsufficientFunds:
        hint = "fund it, or configure the key of a funded account"
        if self._embedded is not None:
            funded = ", ".join(self._embedded.genesis_accounts) or "no account"
            hint = (
                f"the embedded chain funded only {funded} when it was created; configure "
                "that account's key, or start a new embedded chain in an empty directory"
            )
        return InsufficientFunds(
            f"the signing account cannot pay for gas on chain {self._chain_id} ({message}): {hint}",
            tx_hash=tx_hash,
        )


class EvidenceRegistryClient(AnchorReader):
    """Anchors Merkle roots in an EvidenceRegistry and reads them back.

    Safe to share between threads: nonces are assigned under a lock, and waiting for
    receipts happens outside it. :meth:`anchor_root` is idempotent, so after a crash
    the caller simply calls it again for every batch not known to be anchored.
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
            self._account: LocalAccount = Account.from_key(private_key)
        except (ValueError, TypeError):
            # from None: the chained exception could show the key material.
            raise ChainError(
                "the configured private key is not a 32-byte secp256k1 key (hex or bytes)"
            ) from None
        self._policy = policy or TransactionPolicy()
        self._send_lock = threading.Lock()
        self._setup(w3, endpoint=endpoint, embedded=embedded, expected_chain_id=expected_chain_id)
        if registry_address is None:
            if state_dir is None:
                raise ChainError(
                    "neither a contract address nor a state directory is configured: set the "
                    "EvidenceRegistry address, or a state directory where the deployment is recorded"
                )
            registry_address = self._deploy_or_reuse(DeploymentBook(state_dir))
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
            _http_web3(url, request_timeout),
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
        return Address(self._account.address)

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
        deadline = time.monotonic() + self._policy.receipt_timeout
        try:
            tx_hash = self._send({"to": self._contract.address, "data": data}, function="anchor")
        except RootAlreadyAnchored:
            # Anchored by someone else between our look-up and our gas estimate.
            existing = self._existing_anchor(root, leaf_count) if allow_existing else None
            if existing is None:
                raise
            return existing
        receipt = self._await_receipt(tx_hash, deadline)
        if receipt["status"] != 1:
            # Lost a race to another sender of the same root? Then that anchor is ours too.
            existing = self._existing_anchor(root, leaf_count) if allow_existing else None
            if existing is not None:
                return existing
            raise self._replayed_revert(receipt, self._contract.address, data, function="anchor")
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

    def _send(
        self,
        tx: TxParams,
        *,
        function: str,
        before_send: Callable[[str], None] | None = None,
    ) -> str:
        """Estimate, sign and send ``tx``; return its hash once the node accepted it.

        ``before_send`` gets the hash after signing and before sending, so a caller
        can record it durably first (see :meth:`_deploy`).
        """
        tx = {**tx, "from": self._account.address, "chainId": self._chain_id}
        with self._rpc(f"estimating gas for {function}", function=function):
            estimate = self._w3.eth.estimate_gas(tx)
            fees = self._fees()
        gas = int(estimate * self._policy.gas_margin)
        with self._send_lock:
            attempt = 0
            while True:
                attempt += 1
                # The node's pending count, not a local counter: it survives restarts and
                # other senders, and a dropped transaction cannot leave a gap behind.
                with self._rpc("reading the account nonce"):
                    nonce = self._w3.eth.get_transaction_count(self._account.address, "pending")
                signed = self._account.sign_transaction(
                    cast(Any, {**tx, **fees, "gas": gas, "nonce": nonce})
                )
                tx_hash = _hex(signed.hash)
                if before_send is not None:
                    before_send(tx_hash)
                try:
                    self._w3.eth.send_raw_transaction(signed.raw_transaction)
                except Web3RPCError as exc:
                    message = _rpc_message(exc).lower()
                    if "already known" in message or "known transaction" in message:
                        pass  # the node already holds this very transaction
                    elif _is_nonce_clash(message) and attempt < self._policy.max_send_attempts:
                        log.warning("nonce %d clashed (%s); retrying", nonce, message)
                        continue
                    else:
                        with self._rpc(f"sending {function}", function=function, tx_hash=tx_hash):
                            raise
                except Exception:
                    with self._rpc(f"sending {function}", function=function, tx_hash=tx_hash):
                        raise
                log.info("sent %s tx %s nonce %d gas %d", function, tx_hash, nonce, gas)
                return tx_hash

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fee fields when the chain has a base fee, else a legacy gas price."""
        latest = self._w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(self._w3.eth.gas_price)}
        try:
            raw = self._w3.manager.request_blocking(RPCEndpoint("eth_maxPriorityFeePerGas"), [])
            tip = raw if isinstance(raw, int) else int(raw, 16)
        except (Web3RPCError, ValueError, TypeError):
            tip = self._policy.default_priority_fee
        # 2x base fee rides out several full blocks of base-fee growth before inclusion.
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base_fee) + tip}

    def _await_receipt(self, tx_hash: str, deadline: float) -> TxReceipt:
        """Wait until ``tx_hash`` is mined, confirmed, and its block still canonical."""
        policy = self._policy
        while True:
            with self._rpc("waiting for a receipt", tx_hash=tx_hash):
                try:
                    receipt: TxReceipt | None = self._w3.eth.get_transaction_receipt(
                        cast(Any, tx_hash)
                    )
                except TransactionNotFound:
                    receipt = None
            if receipt is not None:
                number = int(receipt["blockNumber"])
                if self.head() >= number + policy.confirmations - 1:
                    if self.block(number).hash == _hex(receipt["blockHash"]):
                        return receipt
                    log.warning("tx %s: block %d was replaced; waiting again", tx_hash, number)
            if time.monotonic() >= deadline:
                if receipt is None:
                    raise TransactionTimeout(
                        f"not mined within {policy.receipt_timeout:.0f}s: the node may be "
                        "congested, not mining, or the fee too low; call anchor_root() again "
                        "later (it is idempotent)",
                        tx_hash=tx_hash,
                    )
                raise TransactionTimeout(
                    f"mined in block {receipt['blockNumber']} but not {policy.confirmations} "
                    f"blocks deep within {policy.receipt_timeout:.0f}s: is the node producing "
                    "blocks? lower the confirmations setting on chains that only mine on demand",
                    tx_hash=tx_hash,
                )
            time.sleep(policy.poll_interval)

    def _replayed_revert(
        self, receipt: TxReceipt, to: str | None, data: str, *, function: str
    ) -> ContractReverted:
        """Why did a mined transaction fail? Replay it as a call on the state before its block."""
        tx_hash = _hex(receipt["transactionHash"])
        call: TxParams = {"from": self._account.address, "data": cast(Any, data)}
        if to is not None:
            call["to"] = cast(Any, to)
        try:
            with self._rpc("replaying a failed transaction", function=function, tx_hash=tx_hash):
                self._w3.eth.call(call, int(receipt["blockNumber"]) - 1)
        except ContractReverted as exc:
            return exc
        return ContractReverted(
            None, tx_hash=tx_hash, contract=self._artifact.name, function=function
        )

    # -- deploy or reuse ----------------------------------------------------------------

    def _deploy_or_reuse(self, book: DeploymentBook) -> str:
        genesis = self._genesis_hash()
        recorded = book.get(self._chain_id, REGISTRY)
        if recorded is not None and recorded.genesis_hash != genesis:
            raise ChainReset(
                f"{book.path} records {REGISTRY} at {recorded.address} on chain {self._chain_id} "
                f"with genesis {recorded.genesis_hash}, but the node's genesis is {genesis}: either "
                "the chain was reset (and every anchor on it is gone) or this is another chain "
                "with the same id. Point the RPC URL at the original chain, or move "
                f"{book.path} away to deploy a new registry on this one"
            )
        if recorded is not None and recorded.address is not None:
            return recorded.address
        if recorded is not None:
            # A deployment was sent before a crash: adopt it if it was mined.
            address = self._deployed_address(recorded.tx_hash)
            if address is not None:
                book.put(
                    self._chain_id,
                    REGISTRY,
                    Deployment(
                        tx_hash=recorded.tx_hash,
                        genesis_hash=genesis,
                        address=address,
                    ),
                )
                return address
        return self._deploy(book, genesis)

    def _deploy(self, book: DeploymentBook, genesis: str) -> str:
        factory = self._w3.eth.contract(
            abi=cast(Any, list(self._artifact.abi)), bytecode=self._artifact.bytecode
        )
        data = factory.constructor(self._account.address).data_in_transaction
        deadline = time.monotonic() + self._policy.receipt_timeout

        def record_pending(tx_hash: str) -> None:
            # Durable before the node sees it: a crash after sending finds this deployment.
            book.put(self._chain_id, REGISTRY, Deployment(tx_hash=tx_hash, genesis_hash=genesis))

        tx_hash = self._send({"data": data}, function="constructor", before_send=record_pending)
        receipt = self._await_receipt(tx_hash, deadline)
        created = receipt.get("contractAddress")
        if receipt["status"] != 1 or not created:
            raise self._replayed_revert(receipt, None, data, function="constructor")
        address = to_checksum_address(created)
        book.put(
            self._chain_id,
            REGISTRY,
            Deployment(
                tx_hash=tx_hash,
                genesis_hash=genesis,
                address=address,
                block_number=int(receipt["blockNumber"]),
            ),
        )
        log.info(
            "deployed %s at %s on chain %d (tx %s)", REGISTRY, address, self._chain_id, tx_hash
        )
        return address

    def _deployed_address(self, tx_hash: str) -> str | None:
        with self._rpc("looking up an earlier deployment", tx_hash=tx_hash):
            try:
                receipt = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
            except TransactionNotFound:
                return None
        created = receipt.get("contractAddress")
        if receipt["status"] != 1 or not created:
            return None
        return to_checksum_address(created)

    def _genesis_hash(self) -> str:
        return self.block(0).hash


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


def _http_web3(url: str, request_timeout: float) -> Web3:
    # No automatic retries: the caller (the anchoring worker) retries on its own
    # schedule and readiness should report an unreachable node at once.
    provider = HTTPProvider(
        url, request_kwargs={"timeout": request_timeout}, exception_retry_configuration=None
    )
    return Web3(provider)


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


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def _revert_data(data: Any) -> bytes:
    """Raw revert bytes from the shapes nodes use: "0x..", {"data": "0x.."}, nested dicts."""
    for _ in range(3):
        if isinstance(data, Mapping):
            data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return b""


def _rpc_error_data(exc: Web3RPCError) -> Any:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping):
            return error.get("data")
    return None


def _rpc_message(exc: Web3RPCError) -> str:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return str(exc.message if hasattr(exc, "message") else exc)


def _is_insufficient_funds(message: str) -> bool:
    lowered = message.lower()
    return "insufficient funds" in lowered or "enough funds" in lowered


def _is_nonce_clash(message: str) -> bool:
    return any(
        clash in message
        for clash in (
            "nonce too low",
            "replacement transaction underpriced",
            "nonce has already been used",
            "already imported",
        )
    )
