"""Sending transactions for one account: the machinery every writing client shares.

One :class:`TransactionSender` per signing account and chain. The service signs
EvidenceRegistry anchors and PledgeRegistry updates with the same key, possibly
from two threads at once; if each client tracked nonces on its own, both would
read the same pending nonce and one transaction would be refused. So the clients
share one sender (:meth:`chain.EvidenceRegistryClient.pledge_registry` hands its
own to the pledge client) and every nonce is assigned under its lock.

What a send does, in order (:meth:`TransactionSender.send`): estimate gas (a revert
here is decoded and raised before anything is signed), pick EIP-1559 fees (or a
legacy gas price on chains without a base fee), then under the lock read the
node's pending nonce, sign, and send raw; a nonce clash with another process
using the key is retried. :meth:`TransactionSender.await_receipt` waits outside
the lock for the receipt, the configured confirmations, and re-checks that the
block is still canonical. :meth:`TransactionSender.deploy_or_reuse` deploys a
contract once per chain and records it in the state directory's deployments book;
a recorded contract of an earlier version is kept in the book under its own name
and the current version is deployed beside it.

:meth:`TransactionSender.derived` gives the sender of an account whose key is
derived from this one's and a label (the pledge registry gives each registrar its
own account this way): nothing more to store, and one sender per derived account.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import RPCEndpoint, TxParams, TxReceipt

from ipnotary.chain._artifacts import ContractArtifact
from ipnotary.chain._connection import ChainConnection, hex_str, rpc_message
from ipnotary.chain._deployments import Deployment, DeploymentBook
from ipnotary.chain.errors import ChainReset, ContractReverted, TransactionTimeout
from ipnotary.chain.types import Address

__all__ = ["TransactionPolicy", "TransactionSender"]

log = logging.getLogger(__name__)

_GWEI: Final = 10**9
_DERIVED_KEY_TAG: Final = b"ipnotary/derived-account/v1\x00"
_SECP256K1_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_MAX_LABEL_BYTES: Final = 200


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


class TransactionSender:
    """Signs, sends and awaits the transactions of one account; thread-safe.

    Obtain it from a writing client (``EvidenceRegistryClient.sender``); build one
    per account and chain, and hand the same one to every client using the key.
    """

    def __init__(
        self, connection: ChainConnection, account: LocalAccount, policy: TransactionPolicy
    ) -> None:
        self.connection = connection
        self.policy = policy
        self._account = account
        self._send_lock = threading.Lock()
        self._deploy_lock = threading.Lock()
        self._derived: dict[str, TransactionSender] = {}
        self._derived_lock = threading.Lock()
        self.nonce_clashes = 0
        """Sends retried because the nonce was taken (by a process sharing the key)."""

    @property
    def account(self) -> Address:
        """Address of the signing account."""
        return Address(self._account.address)

    # -- derived accounts ---------------------------------------------------------------

    def derived(self, label: str) -> TransactionSender:
        """The sender of the account derived from this account's key and ``label``.

        Its key is HMAC-SHA256(this key, tag ‖ label) taken as a secp256k1 scalar, so it
        is never stored: this key re-derives it after any restart, in any process, and
        neither a derived key nor its label reveals this key or another label's. One
        sender per label (one nonce lock per derived account), with this one's
        connection and policy. The account starts without funds or roles.
        """
        if not isinstance(label, str) or not label or len(label.encode()) > _MAX_LABEL_BYTES:
            raise ValueError(f"a derived account's label is 1 to {_MAX_LABEL_BYTES} bytes of text")
        with self._derived_lock:
            sender = self._derived.get(label)
            if sender is None:
                account = Account.from_key(_derive_key(bytes(self._account.key), label))
                sender = TransactionSender(self.connection, account, self.policy)
                self._derived[label] = sender
            return sender

    def balance(self, address: str | None = None) -> int:
        """Wei held by ``address`` (default: this account) at the latest block."""
        who = self._account.address if address is None else to_checksum_address(address)
        with self.connection.rpc("reading an account balance", address=who):
            return int(self.connection.w3.eth.get_balance(who))

    def fee_per_gas(self) -> int:
        """The most a transaction sent now pays per unit of gas (max fee, or the gas price)."""
        with self.connection.rpc("reading the gas price"):
            fees = self._fees()
        return int(fees.get("maxFeePerGas", fees.get("gasPrice", 0)))

    def deadline(self) -> float:
        """``time.monotonic()`` value by which a transaction sent now must be confirmed."""
        return time.monotonic() + self.policy.receipt_timeout

    # -- sending ------------------------------------------------------------------------

    def send(
        self,
        tx: TxParams,
        *,
        function: str,
        contract: str,
        address: str | None = None,
        before_send: Callable[[str], None] | None = None,
    ) -> str:
        """Estimate, sign and send ``tx``; return its hash once the node accepted it.

        ``contract`` and ``address`` name the callee in revert messages.
        ``before_send`` gets the hash after signing and before sending, so a caller
        can record it durably first (see :meth:`deploy_or_reuse`).
        """
        conn = self.connection
        w3 = conn.w3

        def rpc(action: str, tx_hash: str | None = None) -> Any:
            return conn.rpc(
                action, function=function, tx_hash=tx_hash, contract=contract, address=address
            )

        tx = {**tx, "from": self._account.address, "chainId": conn.chain_id}
        with rpc(f"estimating gas for {function}"):
            estimate = w3.eth.estimate_gas(tx)
            fees = self._fees()
        gas = int(estimate * self.policy.gas_margin)
        with self._send_lock:
            attempt = 0
            while True:
                attempt += 1
                # The node's pending count, not a local counter: it survives restarts and
                # other senders, and a dropped transaction cannot leave a gap behind.
                with rpc("reading the account nonce"):
                    nonce = w3.eth.get_transaction_count(self._account.address, "pending")
                signed = self._account.sign_transaction(
                    cast(Any, {**tx, **fees, "gas": gas, "nonce": nonce})
                )
                tx_hash = hex_str(signed.hash)
                if before_send is not None:
                    before_send(tx_hash)
                try:
                    w3.eth.send_raw_transaction(signed.raw_transaction)
                except Web3RPCError as exc:
                    message = rpc_message(exc).lower()
                    if "already known" in message or "known transaction" in message:
                        pass  # the node already holds this very transaction
                    elif _is_nonce_clash(message) and attempt < self.policy.max_send_attempts:
                        self.nonce_clashes += 1
                        log.warning("nonce %d clashed (%s); retrying", nonce, message)
                        continue
                    else:
                        with rpc(f"sending {function}", tx_hash):
                            raise
                except Exception:
                    with rpc(f"sending {function}", tx_hash):
                        raise
                log.info("sent %s tx %s nonce %d gas %d", function, tx_hash, nonce, gas)
                return tx_hash

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fee fields when the chain has a base fee, else a legacy gas price."""
        w3 = self.connection.w3
        latest = w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(w3.eth.gas_price)}
        try:
            raw = w3.manager.request_blocking(RPCEndpoint("eth_maxPriorityFeePerGas"), [])
            tip = raw if isinstance(raw, int) else int(raw, 16)
        except (Web3RPCError, ValueError, TypeError):
            tip = self.policy.default_priority_fee
        # 2x base fee rides out several full blocks of base-fee growth before inclusion.
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base_fee) + tip}

    def await_receipt(self, tx_hash: str, deadline: float, *, retry_hint: str) -> TxReceipt:
        """Wait until ``tx_hash`` is mined, confirmed, and its block still canonical.

        ``retry_hint`` tells the caller of a timed-out transaction what to do.
        """
        conn = self.connection
        policy = self.policy
        while True:
            with conn.rpc("waiting for a receipt", tx_hash=tx_hash):
                try:
                    receipt: TxReceipt | None = conn.w3.eth.get_transaction_receipt(
                        cast(Any, tx_hash)
                    )
                except TransactionNotFound:
                    receipt = None
            if receipt is not None:
                number = int(receipt["blockNumber"])
                if conn.head() >= number + policy.confirmations - 1:
                    if conn.block(number).hash == hex_str(receipt["blockHash"]):
                        return receipt
                    log.warning("tx %s: block %d was replaced; waiting again", tx_hash, number)
            if time.monotonic() >= deadline:
                if receipt is None:
                    raise TransactionTimeout(
                        f"not mined within {policy.receipt_timeout:.0f}s: the node may be "
                        f"congested, not mining, or the fee too low; {retry_hint}",
                        tx_hash=tx_hash,
                    )
                raise TransactionTimeout(
                    f"mined in block {receipt['blockNumber']} but not {policy.confirmations} "
                    f"blocks deep within {policy.receipt_timeout:.0f}s: is the node producing "
                    "blocks? lower the confirmations setting on chains that only mine on demand",
                    tx_hash=tx_hash,
                )
            time.sleep(policy.poll_interval)

    def replayed_revert(
        self,
        receipt: TxReceipt,
        to: str | None,
        data: str,
        *,
        function: str,
        contract: str,
    ) -> ContractReverted:
        """Why did a mined transaction fail? Replay it as a call on the state before its block."""
        tx_hash = hex_str(receipt["transactionHash"])
        call: TxParams = {"from": self._account.address, "data": cast(Any, data)}
        if to is not None:
            call["to"] = cast(Any, to)
        try:
            with self.connection.rpc(
                "replaying a failed transaction",
                function=function,
                tx_hash=tx_hash,
                contract=contract,
                address=to,
            ):
                self.connection.w3.eth.call(call, int(receipt["blockNumber"]) - 1)
        except ContractReverted as exc:
            return exc
        return ContractReverted(None, tx_hash=tx_hash, contract=contract, function=function)

    # -- deploy or reuse ----------------------------------------------------------------

    def deploy_or_reuse(
        self,
        book: DeploymentBook,
        artifact: ContractArtifact,
        constructor_args: Sequence[Any],
        *,
        lost: str,
        superseded: Mapping[str, bytes] | None = None,
    ) -> str:
        """Address of ``artifact``'s deployment recorded in ``book``; deploy it if there is none.

        ``lost`` says what a reset chain has lost (for the message). ``superseded``
        maps a book name (e.g. ``"EvidenceRegistry/1"``) to the runtime code of an
        earlier version of the contract: if the recorded deployment has that code, its
        record is kept under that name and the current version is deployed and
        recorded under ``artifact.name``. The book is locked for the whole
        look-up-and-deploy, so two starters (threads or processes) sharing a state
        directory deploy once.
        """
        with self._deploy_lock, book.lock():
            return self._deploy_or_reuse(
                book, artifact, constructor_args, lost=lost, superseded=superseded or {}
            )

    def _deploy_or_reuse(
        self,
        book: DeploymentBook,
        artifact: ContractArtifact,
        constructor_args: Sequence[Any],
        *,
        lost: str,
        superseded: Mapping[str, bytes],
    ) -> str:
        name = artifact.name
        chain_id = self.connection.chain_id
        genesis = self.connection.genesis_hash()
        recorded = book.get(chain_id, name)
        if recorded is not None and recorded.genesis_hash != genesis:
            raise ChainReset(
                f"{book.path} records {name} at {recorded.address} on chain {chain_id} "
                f"with genesis {recorded.genesis_hash}, but the node's genesis is {genesis}: "
                f"either the chain was reset (and {lost} on it is gone) or this is another chain "
                "with the same id. Point the RPC URL at the original chain, or move "
                f"{book.path} away to deploy a new registry on this one"
            )
        if recorded is not None and recorded.address is None:
            # A deployment was sent before a crash: adopt it if it was mined.
            address = self._deployed_address(recorded.tx_hash)
            if address is not None:
                recorded = Deployment(
                    tx_hash=recorded.tx_hash, genesis_hash=genesis, address=address
                )
                book.put(chain_id, name, recorded)
        if recorded is not None and recorded.address is not None:
            retired_as = self._superseded_name(recorded.address, superseded)
            if retired_as is None:
                return recorded.address
            # Written before the new deployment's record replaces this one, so a crash in
            # between finds the old contract again and retires it the same way.
            if book.get(chain_id, retired_as) is None:
                book.put(chain_id, retired_as, recorded)
            log.info(
                "%s at %s on chain %d is %s; deploying the current version beside it",
                name,
                recorded.address,
                chain_id,
                retired_as,
            )
        return self._deploy(book, artifact, constructor_args, genesis)

    def _superseded_name(self, address: str, superseded: Mapping[str, bytes]) -> str | None:
        """The name under which ``superseded`` lists the code at ``address``, if it does."""
        if not superseded:
            return None
        conn = self.connection
        with conn.rpc("reading the code of the recorded deployment", address=address):
            code = bytes(conn.w3.eth.get_code(cast(Any, address)))
        return next((name for name, old in superseded.items() if old == code), None)

    def _deploy(
        self,
        book: DeploymentBook,
        artifact: ContractArtifact,
        constructor_args: Sequence[Any],
        genesis: str,
    ) -> str:
        w3 = self.connection.w3
        chain_id = self.connection.chain_id
        factory = w3.eth.contract(abi=cast(Any, list(artifact.abi)), bytecode=artifact.bytecode)
        data = factory.constructor(*constructor_args).data_in_transaction
        deadline = self.deadline()

        def record_pending(tx_hash: str) -> None:
            # Durable before the node sees it: a crash after sending finds this deployment.
            book.put(chain_id, artifact.name, Deployment(tx_hash=tx_hash, genesis_hash=genesis))

        tx_hash = self.send(
            {"data": data},
            function="constructor",
            contract=artifact.name,
            before_send=record_pending,
        )
        receipt = self.await_receipt(
            tx_hash,
            deadline,
            retry_hint="start again: the recorded deployment is adopted once it is mined",
        )
        created = receipt.get("contractAddress")
        if receipt["status"] != 1 or not created:
            raise self.replayed_revert(
                receipt, None, data, function="constructor", contract=artifact.name
            )
        address = to_checksum_address(created)
        book.put(
            chain_id,
            artifact.name,
            Deployment(
                tx_hash=tx_hash,
                genesis_hash=genesis,
                address=address,
                block_number=int(receipt["blockNumber"]),
            ),
        )
        log.info("deployed %s at %s on chain %d (tx %s)", artifact.name, address, chain_id, tx_hash)
        return address

    def _deployed_address(self, tx_hash: str) -> str | None:
        conn = self.connection
        with conn.rpc("looking up an earlier deployment", tx_hash=tx_hash):
            try:
                receipt = conn.w3.eth.get_transaction_receipt(cast(Any, tx_hash))
            except TransactionNotFound:
                return None
        created = receipt.get("contractAddress")
        if receipt["status"] != 1 or not created:
            return None
        return to_checksum_address(created)


def _derive_key(parent: bytes, label: str) -> bytes:
    counter = 0
    while True:  # a digest outside 1..n-1 has probability 2**-128: try the next counter
        digest = hmac.new(
            parent, _DERIVED_KEY_TAG + label.encode() + bytes([counter]), hashlib.sha256
        ).digest()
        if 0 < int.from_bytes(digest, "big") < _SECP256K1_ORDER:
            return digest
        counter += 1


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
