"""IP pledges in the PledgeRegistry contract: register, amend, release, enforce, and read as of any
time.

* :class:`PledgeRegistryClient` writes; get it from an existing
  :meth:`chain.EvidenceRegistryClient.pledge_registry`, so both contracts are
  written through one :class:`~chain._sender.TransactionSender` (one nonce lock
  per key) on one connection. That client signs as the registry's admin.
* Each registrar has its own account: :meth:`PledgeRegistryClient.for_registrar`
  gives the client of the account derived from the admin key and the registrar's
  label (:meth:`~chain._sender.TransactionSender.derived`: never stored, re-derived
  on every start), and :meth:`PledgeRegistryClient.provision_registrar` grants it
  ``REGISTRAR_ROLE`` and the wei for its gas in one ``addRegistrar`` transaction
  (topped up when it runs low). The contract records the registering account in
  every pledge and refuses changes from any other (``NotRegistrar``).
* :class:`PledgeReader` reads without a key (verifiers): ``from_rpc`` or
  ``from_embedded`` (read-only, beside a running service).

Release and enforcement name the pledgee and carry ``consent_digest``, the hash of
the pledgee's signed consent (:func:`ipnotary.sdk.pledges.consent_digest`); the
contract cannot check an Ed25519 signature, so the registrar checks it and
publishes the signed consent, and the hash on chain pins what was published.

Every read takes ``block=``: the contract keeps everything in storage, so the
state "as of" a time is an ``eth_call`` at the newest block stamped at or before it
(:meth:`PledgeReader.block_at_or_before`, :meth:`PledgeReader.pledge_as_of`).
Before the registry was deployed its state reads as empty (no pledges). Reading
old blocks needs a node that keeps old state (an archive node on a real network;
Hardhat, geth ``--dev`` for recent blocks, and the embedded chain always do).

Contract values (asset ids, party hashes, terms digests) are raw 32-byte
``bytes``, computed with :mod:`ipnotary.sdk.pledges`; reverts arrive as the typed
errors of :mod:`ipnotary.chain.errors` (``AssetAlreadyPledged``, ``NotAParty`` ...).

What a retry does (after a crash, a timeout, or a race with another sender of the
same key), with ``allow_existing=True`` (the default):

=================  ======================================================  =====================================
call               returns the earlier result instead of failing when      still fails (not idempotent) when
=================  ======================================================  =====================================
``register``       the asset's *active* pledge has the same pledgor,       that pledge was released or enforced
                   pledgee, terms and registrar: its registration receipt  meanwhile: a retry then registers a
                                                                           new pledge (the chain keeps no
                                                                           request id to tell them apart:
                                                                           the service keeps idempotency keys);
                                                                           its terms were amended meanwhile
                                                                           (``AssetAlreadyPledged``)
``amend``          the active pledge's terms already equal the new         the pledge is no longer active; the
                   ones: the receipt of the transaction that set them      terms were changed again meanwhile
                   (the latest amendment to them, or the registration:     (A->B retried after B->C re-applies
                   ``receipt.action`` tells which)                         B: amend is last-writer-wins)
``release``        the pledge is released and its ``PledgeReleased``       it was released with another consent
                   event names the same party and consent: that receipt    or enforced (``PledgeNotActive``)
``enforce``        the pledge is enforced with the same party and consent  it was released (``PledgeNotActive``)
=================  ======================================================  =====================================

Each check runs before sending and again after a revert, so a lost race returns
the winner's receipt. ``allow_existing=False`` always sends and lets the contract
refuse. Rebuilding an earlier receipt reads the event logs of the blocks stamped
with the pledge's times; nodes that prune logs cannot do it (``ChainError``).
"""  # noqa: E501 - the table above is wider than 100 columns

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import BadFunctionCallOutput
from web3.types import LogReceipt, TxReceipt

from ipnotary.chain._connection import ContractView, hex_str
from ipnotary.chain._deployments import DeploymentBook
from ipnotary.chain._sender import TransactionSender
from ipnotary.chain.errors import (
    BlockNotFound,
    ChainError,
    ContractReverted,
    InvalidPledgeInput,
    TransactionReorged,
    UnknownPledge,
)
from ipnotary.chain.types import (
    Address,
    BlockInfo,
    Pledge,
    PledgeAction,
    PledgeId,
    PledgeReceipt,
    PledgeSnapshot,
    PledgeStatus,
    TxHash,
)

__all__ = [
    "PLEDGE_REGISTRY",
    "BlockRef",
    "PledgeReader",
    "PledgeRegistryClient",
    "RegistrarAccount",
    "RegistrarFunding",
]

PLEDGE_REGISTRY: Final = "PledgeRegistry"
_UINT64_MAX: Final = 2**64 - 1
_LOG_CHUNK: Final = 10_000
"""Blocks per ``eth_getLogs`` request: public nodes refuse wider ranges."""

_EVENTS: Final = {
    PledgeAction.REGISTERED: "PledgeRegistered",
    PledgeAction.AMENDED: "PledgeAmended",
    PledgeAction.RELEASED: "PledgeReleased",
    PledgeAction.ENFORCED: "PledgeEnforced",
}

BlockRef = int | BlockInfo | None
"""Where to read: a block number, a :class:`BlockInfo`, or None for the latest block."""


@dataclass(frozen=True, slots=True)
class RegistrarFunding:
    """How much gas money the admin gives a registrar account, counted in transactions.

    The wei of a transaction is ``gas_per_transaction`` times the fee per gas when the
    account is provisioned. Below ``low_water`` transactions' worth, the account is
    topped up to ``transactions``' worth.
    """

    gas_per_transaction: int = 1_200_000
    """Enough for a first register on every chain we test (geth --dev prices storage at ~1M;
    Cancun/Prague mainnet pricing needs about 230,000)."""
    transactions: int = 16
    low_water: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.low_water <= self.transactions or self.gas_per_transaction <= 0:
            raise ValueError("RegistrarFunding needs 0 < low_water <= transactions and gas > 0")


@dataclass(frozen=True, slots=True)
class RegistrarAccount:
    """A registrar's own account, and what :meth:`PledgeRegistryClient.provision_registrar` did."""

    label: str
    address: Address
    granted_tx: TxHash | None
    """The ``addRegistrar`` transaction that granted the role (and funds) now; None if it had it."""
    funded_tx: TxHash | None
    """A top-up transfer sent now (the account ran low); None otherwise."""
    funded_wei: int
    """Wei sent now, with the grant or the top-up."""


class PledgeReader(ContractView):
    """Read-only view of one PledgeRegistry, at any block. Needs no key.

    Build with :meth:`from_rpc` or :meth:`from_embedded`; :meth:`check` re-verifies
    that the node is reachable, on the right chain, and that the contract is ours.
    """

    CONTRACT = PLEDGE_REGISTRY

    def _attach(self, address: str) -> None:
        super()._attach(address)
        self._topics: dict[PledgeAction, HexBytes] = {
            action: HexBytes(
                event_abi_to_log_topic(cast(Any, getattr(self._contract.events, name).abi))
            )
            for action, name in _EVENTS.items()
        }
        self._actions = {topic: action for action, topic in self._topics.items()}

    # -- reads ----------------------------------------------------------------------

    def get_pledge(self, pledge_id: int, *, block: BlockRef = None) -> Pledge:
        """Pledge ``pledge_id`` as it stood at ``block``; raises
        :class:`~chain.errors.UnknownPledge`."""
        pledge_id = _check_pledge_id(pledge_id)
        found, value = self._read("getPledge", [pledge_id], block, action="reading a pledge")
        if not found:
            raise UnknownPledge(
                "PledgeRegistryUnknownPledge",
                {"pledgeId": pledge_id},
                contract=PLEDGE_REGISTRY,
                address=self._contract.address,
                function="getPledge",
            )
        return _pledge(pledge_id, value)

    def active_pledge_of(self, asset_id: bytes, *, block: BlockRef = None) -> PledgeId:
        """Id of the asset's active pledge at ``block``, 0 if it was not pledged."""
        asset_id = _check_bytes32(asset_id, "asset_id")
        found, value = self._read(
            "activePledgeOf", [asset_id], block, action="reading an asset's active pledge"
        )
        return PledgeId(int(value) if found else 0)

    def pledges_of(self, asset_id: bytes, *, block: BlockRef = None) -> tuple[PledgeId, ...]:
        """Every pledge of the asset registered up to ``block``, oldest first."""
        asset_id = _check_bytes32(asset_id, "asset_id")
        found, value = self._read(
            "pledgesOf", [asset_id], block, action="reading an asset's pledges"
        )
        return tuple(PledgeId(int(v)) for v in value) if found else ()

    def pledge_count(self, *, block: BlockRef = None) -> int:
        """Pledges registered up to ``block`` (the id of the newest one)."""
        found, value = self._read("pledgeCount", [], block, action="reading the pledge count")
        return int(value) if found else 0

    def pledge_as_of(self, asset_id: bytes, timestamp: int) -> PledgeSnapshot:
        """Was ``asset_id`` pledged at Unix time ``timestamp``, and to whom?

        Reads the newest block stamped at or before ``timestamp`` (see
        :meth:`block_at_or_before`, which also says what a future time means). A time before the
        genesis block reads the genesis block: nothing can have been pledged before the chain
        existed, and block 0's state says so checkably (a verifier accepts block 0 for any
        earlier time, and no other block stamped after it).
        """
        asset_id = _check_bytes32(asset_id, "asset_id")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise InvalidPledgeInput(f"timestamp must be an int, got {type(timestamp).__name__}")
        try:
            block = self.block_at_or_before(timestamp)
        except BlockNotFound:
            block = self.block(0)
            if block.timestamp <= timestamp:
                raise
        pledge_id = self.active_pledge_of(asset_id, block=block)
        pledge = self.get_pledge(pledge_id, block=block) if pledge_id else None
        return PledgeSnapshot(asset_id=asset_id, timestamp=timestamp, block=block, pledge=pledge)

    def pledge_receipts(self, pledge_id: int) -> tuple[PledgeReceipt, ...]:
        """Every transaction that changed pledge ``pledge_id``, oldest first, from the chain.

        Registration, amendments, then the release or enforcement if any; rebuilt
        from the contract's events between the blocks of the pledge's times.
        """
        pledge = self.get_pledge(pledge_id)
        first, _ = self._blocks_stamped(pledge.registered_at)
        last = (
            self.head()
            if pledge.released_at is None
            else self._blocks_stamped(pledge.released_at)[1]
        )
        return tuple(self._receipts_from_logs(pledge.pledge_id, first, last, tuple(_EVENTS)))

    # -- machinery ----------------------------------------------------------------------

    def _read(self, function: str, args: list[Any], block: BlockRef, *, action: str) -> Any:
        """``(True, value)`` of a view call at ``block``; ``(False, None)`` before deployment."""
        ident = _block_id(block)
        call = self._contract.functions[function](*args)
        try:
            with self._rpc(action, function=function):
                try:
                    return True, call.call(block_identifier=cast(Any, ident))
                except BadFunctionCallOutput:
                    pass  # empty output: no code at that block? checked below
        except Exception as exc:
            # A block past the head fails differently on every backend (Hardhat even
            # calls it a revert, without revert data); name it once.
            decoded_revert = isinstance(exc, ContractReverted) and bool(exc.data)
            if isinstance(ident, int) and not decoded_revert:
                head = self.head()
                if ident > head:
                    raise BlockNotFound(
                        f"block {ident} is not on chain {self._chain_id} yet (head {head}); "
                        "read at an existing block"
                    ) from None
            raise
        if self._conn.has_code(self._contract.address, ident):
            raise ChainError(
                f"{PLEDGE_REGISTRY}.{function} at {self._contract.address} returned no data at "
                f"block {ident} though the contract has code there; the node "
                f"({self._conn.endpoint}) may be out of sync"
            )
        return False, None  # the registry was deployed later: nothing was pledged in it yet

    def _blocks_stamped(self, timestamp: int) -> tuple[int, int]:
        """First and last canonical block numbers carrying ``timestamp``."""
        last = self.block_at_or_before(timestamp)
        if last.timestamp != timestamp:
            raise ChainError(
                f"{PLEDGE_REGISTRY} at {self._contract.address} records time {timestamp}, but no "
                f"block of chain {self._chain_id} carries it (block {last.number} has "
                f"{last.timestamp}); the node may have reorganised: retry"
            )
        first = int(last.number)
        # Block times strictly increase on every backend we know; a walk of one read.
        while first > 0 and self.block(first - 1).timestamp == timestamp:
            first -= 1
        return first, int(last.number)

    def _receipts_from_logs(
        self,
        pledge_id: int,
        first: int,
        last: int,
        actions: Sequence[PledgeAction],
    ) -> Iterable[PledgeReceipt]:
        # Hex strings, not bytes: eth-tester silently matches nothing for bytes topics.
        topics = [
            [hex_str(self._topics[action]) for action in actions],
            hex_str(pledge_id.to_bytes(32, "big")),
        ]
        receipts: dict[str, TxReceipt] = {}
        for start in range(first, last + 1, _LOG_CHUNK):
            end = min(last, start + _LOG_CHUNK - 1)
            with self._rpc(f"reading {PLEDGE_REGISTRY} events of pledge {pledge_id}"):
                entries = self._w3.eth.get_logs(
                    {
                        "address": self._contract.address,
                        "fromBlock": start,
                        "toBlock": end,
                        "topics": cast(Any, topics),
                    }
                )
            for entry in entries:
                if entry.get("removed"):
                    continue
                tx_hash = hex_str(entry["transactionHash"])
                if tx_hash not in receipts:
                    with self._rpc("reading a pledge transaction", tx_hash=tx_hash):
                        receipts[tx_hash] = self._w3.eth.get_transaction_receipt(cast(Any, tx_hash))
                yield self._receipt(receipts[tx_hash], entry)

    def _find_receipt(
        self,
        pledge_id: int,
        first: int,
        last: int,
        actions: Sequence[PledgeAction],
        matches: Callable[[PledgeReceipt], bool],
    ) -> PledgeReceipt:
        """The newest receipt of ``actions`` on the pledge in the range that ``matches``."""
        found = [r for r in self._receipts_from_logs(pledge_id, first, last, actions) if matches(r)]
        if not found:
            names = "/".join(_EVENTS[a] for a in actions)
            raise ChainError(
                f"{PLEDGE_REGISTRY} at {self._contract.address} reports pledge {pledge_id} "
                f"changed in blocks {first}..{last}, but they hold no matching {names} event; "
                "the node may be pruning logs: use an archive node"
            )
        return found[-1]

    def _receipt(self, receipt: TxReceipt, entry: LogReceipt) -> PledgeReceipt:
        action = self._actions[HexBytes(entry["topics"][0])]
        event = getattr(self._contract.events, _EVENTS[action])().process_log(entry)
        args = event["args"]
        tx_hash = hex_str(receipt["transactionHash"])
        block = self.block(int(receipt["blockNumber"]))
        if block.hash != hex_str(receipt["blockHash"]):
            raise TransactionReorged(
                f"block {block.number} was replaced on chain {self._chain_id}; "
                "wait for the transaction to be mined again and retry",
                tx_hash=tx_hash,
            )
        terms = args.get("termsDigest")
        party = args.get("party")
        consent = args.get("consentDigest")
        return PledgeReceipt(
            chain_id=self._chain_id,
            contract=Address(self._contract.address),
            pledge_id=PledgeId(int(args["pledgeId"])),
            action=action,
            asset_id=bytes(args["assetId"]),
            terms_digest=None if terms is None else bytes(terms),
            party=None if party is None else bytes(party),
            consent_digest=None if consent is None else bytes(consent),
            registrar=Address(to_checksum_address(receipt["from"])),
            tx_hash=TxHash(tx_hash),
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=int(receipt["gasUsed"]),
        )


class PledgeRegistryClient(PledgeReader):
    """Registers, amends, releases and enforces pledges; reads them like :class:`PledgeReader`.

    Get one from :meth:`chain.EvidenceRegistryClient.pledge_registry`. Thread-safe:
    sending goes through the shared :class:`~chain._sender.TransactionSender`. The
    sending account needs ``REGISTRAR_ROLE`` (the deploying account has it);
    without it every write raises :class:`~chain.errors.MissingRole`, naming the fix.
    A pledge can be changed only by the account that registered it
    (:class:`~chain.errors.NotRegistrar`). :meth:`for_registrar` gives the client of a
    registrar's own account. See the module docstring for what is idempotent.
    """

    def __init__(
        self,
        sender: TransactionSender,
        *,
        registry_address: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """Attach to ``registry_address``, or deploy-or-reuse the one recorded in ``state_dir``.

        The client shares ``sender``'s connection and never closes its chain.
        """
        self._sender = sender
        self._registrars: dict[str, PledgeRegistryClient] = {}
        self._registrar_locks: dict[str, threading.Lock] = {}
        self._registrars_lock = threading.Lock()
        self._open(sender.connection, owned=None)
        if registry_address is None:
            if state_dir is None:
                raise ChainError(
                    "neither a PledgeRegistry address nor a state directory is configured: set "
                    "the PledgeRegistry address, or a state directory where the deployment is "
                    "recorded"
                )
            registry_address = sender.deploy_or_reuse(
                DeploymentBook(state_dir), self._artifact, [sender.account], lost="every pledge"
            )
        self._attach(registry_address)

    @property
    def account(self) -> Address:
        """Address of the signing account."""
        return self._sender.account

    # -- registrars -----------------------------------------------------------------------

    def registrar_address(self, label: str) -> Address:
        """Address of the account of registrar ``label`` (derived from this client's key)."""
        return self._sender.derived(_check_label(label)).account

    def for_registrar(self, label: str) -> PledgeRegistryClient:
        """The client of registrar ``label``'s own account, on this registry (cached).

        Sends nothing: call :meth:`provision_registrar` first so that the account holds
        the role and the wei for its gas.
        """
        label = _check_label(label)
        with self._registrars_lock:
            client = self._registrars.get(label)
            if client is None:
                client = PledgeRegistryClient(
                    self._sender.derived(label), registry_address=self._contract.address
                )
                self._registrars[label] = client
            return client

    def is_registrar(self, account: str, *, block: BlockRef = None) -> bool:
        """Whether ``account`` holds ``REGISTRAR_ROLE`` at ``block``."""
        found, role = self._read("REGISTRAR_ROLE", [], block, action="reading the registrar role")
        if not found:
            return False
        found, value = self._read(
            "hasRole", [role, to_checksum_address(account)], block, action="reading a role"
        )
        return bool(found and value)

    def provision_registrar(
        self, label: str, *, funding: RegistrarFunding | None = None
    ) -> RegistrarAccount:
        """Make registrar ``label``'s account a registrar with wei for its gas; sent by this
        client's account, which needs ``DEFAULT_ADMIN_ROLE`` (the deploying account has it).

        A new registrar gets the role and its funds in one ``addRegistrar`` transaction;
        an existing one is topped up by a transfer when it holds less than
        ``funding.low_water`` transactions' worth. Safe to call before every write: it
        reads the role and the balance, and sends only when something is missing.
        """
        label = _check_label(label)
        funding = funding or RegistrarFunding()
        derived = self._sender.derived(label)
        address = derived.account
        with self._registrars_lock:
            lock = self._registrar_locks.setdefault(label, threading.Lock())
        with lock:
            balance = self._sender.balance(address)
            per_transaction = funding.gas_per_transaction * self._sender.fee_per_gas()
            target = funding.transactions * per_transaction
            top_up = target - balance if balance < funding.low_water * per_transaction else 0
            if not self.is_registrar(address):
                tx_hash = self._send_admin(
                    "addRegistrar", [address], value=top_up, what=f"grant {address} its role"
                )
                return RegistrarAccount(label, address, tx_hash, None, top_up)
            if top_up:
                tx_hash = self._send_admin(
                    None, [address], value=top_up, what=f"top up registrar {address}"
                )
                return RegistrarAccount(label, address, None, tx_hash, top_up)
            return RegistrarAccount(label, address, None, None, 0)

    def _send_admin(
        self, function: str | None, args: list[Any], *, value: int, what: str
    ) -> TxHash:
        """Send ``function(args)`` to the registry (None: a plain transfer to ``args[0]``)."""
        sender = self._sender
        if function is None:
            tx: dict[str, Any] = {"to": args[0], "value": value}
            name, contract, address = "transfer", "account", args[0]
        else:
            tx = {
                "to": self._contract.address,
                "data": self._contract.encode_abi(function, args),
                "value": value,
            }
            name, contract, address = function, PLEDGE_REGISTRY, self._contract.address
        deadline = sender.deadline()
        tx_hash = sender.send(cast(Any, tx), function=name, contract=contract, address=address)
        receipt = sender.await_receipt(
            tx_hash, deadline, retry_hint=f"try again to {what}: it is safe to repeat"
        )
        if receipt["status"] != 1:
            raise sender.replayed_revert(
                receipt, address, str(tx.get("data", "0x")), function=name, contract=contract
            )
        return TxHash(tx_hash)

    # -- writes -------------------------------------------------------------------------

    def register(
        self,
        asset_id: bytes,
        pledgor: bytes,
        pledgee: bytes,
        terms_digest: bytes,
        *,
        allow_existing: bool = True,
    ) -> PledgeReceipt:
        """Register a pledge of ``asset_id`` by ``pledgor`` to ``pledgee`` on ``terms_digest``.

        All four are 32-byte commitments (:mod:`ipnotary.sdk.pledges`). Returns the
        registration receipt; ``receipt.pledge_id`` is the new pledge's id. If the
        asset's active pledge is this very pledge (a retry), its receipt is returned
        (``allow_existing=False``: :class:`~chain.errors.AssetAlreadyPledged`).
        Refusals: ``ZeroPledgeValue``, ``SameParty``, ``AssetAlreadyPledged`` (another
        pledge is active; ``active_pledge_id`` names it), ``MissingRole``.
        """
        values = (
            _check_bytes32(asset_id, "asset_id"),
            _check_bytes32(pledgor, "pledgor"),
            _check_bytes32(pledgee, "pledgee"),
            _check_bytes32(terms_digest, "terms_digest"),
        )

        def existing() -> PledgeReceipt | None:
            return self._existing_registration(*values)

        return self._transact(
            "register",
            list(values),
            action=PledgeAction.REGISTERED,
            pledge_id=None,
            existing=existing if allow_existing else None,
        )

    def amend(
        self, pledge_id: int, new_terms_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        """Replace the terms of active pledge ``pledge_id``.

        If its terms already are ``new_terms_digest``, nothing is sent and the
        receipt of the transaction that set them is returned (an amendment, or the
        registration). Refusals: ``UnknownPledge``, ``PledgeNotActive``,
        ``ZeroPledgeValue``, ``MissingRole``.
        """
        pledge_id = _check_pledge_id(pledge_id)
        terms = _check_bytes32(new_terms_digest, "new_terms_digest")

        def existing() -> PledgeReceipt | None:
            return self._existing_terms(pledge_id, terms)

        return self._transact(
            "amend",
            [pledge_id, terms],
            action=PledgeAction.AMENDED,
            pledge_id=pledge_id,
            existing=existing if allow_existing else None,
        )

    def release(
        self, pledge_id: int, party: bytes, consent_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        """Release active pledge ``pledge_id`` with the consent of ``party``, its pledgee.

        ``consent_digest`` is the hash of the pledgee's signed consent. If the pledge is
        already released with the same party and consent, that release's receipt is
        returned. Refusals: ``UnknownPledge``, ``PledgeNotActive``, ``NotRegistrar``,
        ``NotPledgee`` (``party`` is the pledgor), ``NotAParty``, ``ZeroPledgeValue``,
        ``MissingRole``.
        """
        return self._close(
            pledge_id, party, consent_digest, PledgeAction.RELEASED, "release", allow_existing
        )

    def enforce(
        self, pledge_id: int, party: bytes, consent_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        """Record that ``party``, the pledgee, enforced active pledge ``pledge_id``.

        ``consent_digest`` is the hash of the pledgee's signed demand. If the pledge is
        already enforced with the same party and demand, that receipt is returned.
        Refusals: ``UnknownPledge``, ``PledgeNotActive``, ``NotRegistrar``,
        ``NotPledgee`` (``party`` is the pledgor), ``NotAParty``, ``ZeroPledgeValue``,
        ``MissingRole``.
        """
        return self._close(
            pledge_id, party, consent_digest, PledgeAction.ENFORCED, "enforce", allow_existing
        )

    # -- machinery ----------------------------------------------------------------------

    def _close(
        self,
        pledge_id: int,
        party: bytes,
        consent_digest: bytes,
        action: PledgeAction,
        function: str,
        allow_existing: bool,
    ) -> PledgeReceipt:
        pledge_id = _check_pledge_id(pledge_id)
        party = _check_bytes32(party, "party")
        consent = _check_bytes32(consent_digest, "consent_digest")

        def existing() -> PledgeReceipt | None:
            return self._existing_closing(pledge_id, party, consent, action)

        return self._transact(
            function,
            [pledge_id, party, consent],
            action=action,
            pledge_id=pledge_id,
            existing=existing if allow_existing else None,
        )

    def _transact(
        self,
        function: str,
        args: list[Any],
        *,
        action: PledgeAction,
        pledge_id: int | None,
        existing: Callable[[], PledgeReceipt | None] | None,
    ) -> PledgeReceipt:
        if existing is not None:
            found = existing()
            if found is not None:
                return found
        address = self._contract.address
        data = self._contract.encode_abi(function, args)
        sender = self._sender
        deadline = sender.deadline()
        try:
            tx_hash = sender.send(
                {"to": address, "data": data},
                function=function,
                contract=PLEDGE_REGISTRY,
                address=address,
            )
        except ContractReverted:
            # Done by another sender between our look-up and our gas estimate?
            found = existing() if existing is not None else None
            if found is None:
                raise
            return found
        receipt = sender.await_receipt(
            tx_hash,
            deadline,
            retry_hint=(
                f"call {function}() again later with the same arguments: once this "
                "transaction is mined it returns its receipt"
            ),
        )
        if receipt["status"] != 1:
            # Lost a race to another sender doing the same? Then its result is ours too.
            found = existing() if existing is not None else None
            if found is not None:
                return found
            raise sender.replayed_revert(
                receipt, address, data, function=function, contract=PLEDGE_REGISTRY
            )
        return self._own_receipt(receipt, action, pledge_id)

    def _own_receipt(
        self, receipt: TxReceipt, action: PledgeAction, pledge_id: int | None
    ) -> PledgeReceipt:
        topic = self._topics[action]
        for entry in receipt["logs"]:
            if (
                entry["address"] == self._contract.address
                and entry["topics"]
                and HexBytes(entry["topics"][0]) == topic
            ):
                result = self._receipt(receipt, entry)
                if pledge_id is None or result.pledge_id == pledge_id:
                    return result
        raise ChainError(
            f"transaction {hex_str(receipt['transactionHash'])} emitted no {_EVENTS[action]} "
            f"event{'' if pledge_id is None else f' for pledge {pledge_id}'}"
        )

    def _existing_registration(
        self, asset_id: bytes, pledgor: bytes, pledgee: bytes, terms: bytes
    ) -> PledgeReceipt | None:
        at = self.head()  # both reads at one block, so they agree
        pledge_id = self.active_pledge_of(asset_id, block=at)
        if not pledge_id:
            return None
        pledge = self.get_pledge(pledge_id, block=at)
        if (pledge.pledgor, pledge.pledgee, pledge.terms_digest, pledge.registrar) != (
            pledgor,
            pledgee,
            terms,
            self.account,
        ):
            return None
        first, last = self._blocks_stamped(pledge.registered_at)
        return self._find_receipt(pledge_id, first, last, [PledgeAction.REGISTERED], lambda r: True)

    def _existing_terms(self, pledge_id: int, terms: bytes) -> PledgeReceipt | None:
        pledge = self._pledge_or_none(pledge_id)
        if pledge is None or not pledge.active or pledge.terms_digest != terms:
            return None
        first, _ = self._blocks_stamped(pledge.registered_at)
        return self._find_receipt(
            pledge_id,
            first,
            self.head(),
            [PledgeAction.REGISTERED, PledgeAction.AMENDED],
            lambda r: r.terms_digest == terms,
        )

    def _existing_closing(
        self, pledge_id: int, party: bytes, consent: bytes, action: PledgeAction
    ) -> PledgeReceipt | None:
        pledge = self._pledge_or_none(pledge_id)
        wanted = PledgeStatus.RELEASED if action is PledgeAction.RELEASED else PledgeStatus.ENFORCED
        if pledge is None or pledge.status is not wanted or pledge.released_at is None:
            return None
        first, last = self._blocks_stamped(pledge.released_at)
        closing = self._find_receipt(pledge_id, first, last, [action], lambda r: True)
        return closing if (closing.party, closing.consent_digest) == (party, consent) else None

    def _pledge_or_none(self, pledge_id: int) -> Pledge | None:
        # Unknown: let the transaction's estimate report it, named after the call made.
        try:
            return self.get_pledge(pledge_id)
        except UnknownPledge:
            return None


# -- helpers -----------------------------------------------------------------------


def _block_id(block: BlockRef) -> int | str:
    if block is None:
        return "latest"
    if isinstance(block, BlockInfo):
        return int(block.number)
    if isinstance(block, int) and not isinstance(block, bool) and block >= 0:
        return block
    raise InvalidPledgeInput(
        f"block must be a block number, a BlockInfo or None (latest), got {block!r}"
    )


def _check_bytes32(value: Any, name: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        shown = (
            f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else type(value).__name__
        )
        raise InvalidPledgeInput(
            f"{name} must be 32 bytes (a hash from ipnotary.sdk.pledges), got {shown}"
        )
    return bytes(value)


def _check_pledge_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _UINT64_MAX:
        raise InvalidPledgeInput(f"pledge_id must be an int in 1..2**64-1, got {value!r}")
    return int(value)


def _check_label(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value.encode()) <= 200:
        raise InvalidPledgeInput(f"a registrar label is 1 to 200 bytes of text, got {value!r:.80}")
    return value


def _pledge(pledge_id: int, value: Sequence[Any]) -> Pledge:
    asset_id, pledgor, pledgee, terms, registrar, registered_at, released_at, status = value
    return Pledge(
        pledge_id=PledgeId(pledge_id),
        asset_id=bytes(asset_id),
        pledgor=bytes(pledgor),
        pledgee=bytes(pledgee),
        terms_digest=bytes(terms),
        registrar=Address(to_checksum_address(registrar)),
        registered_at=int(registered_at),
        released_at=int(released_at) or None,
        status=PledgeStatus(int(status)),
    )
