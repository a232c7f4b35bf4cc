"""An in-memory chain for the service's unit tests: :class:`FakeChain` fits
``ipnotary.service.adapters.chain_gateway.ChainPort`` and is handed to
``Runtime.build(settings, chain=...)`` (``conftest.serve``), so the API and the anchoring worker
run without py-evm, without a node and without waiting for blocks.

It keeps what the service relies on, so that a test using it fails when the service breaks it:

* **Blocks.** Numbered from 0, one per transaction, hashes that name them, and times that
  strictly increase as Ethereum requires: each block is stamped with the wall clock's second, or
  one past its parent's when several come within a second, as Hardhat stamps them. A burst of
  blocks so runs ahead of the clock by up to its length (the embedded chain waits for the next
  second instead, which is what made these tests slow), and what the service says about a time
  that has not come yet is what it says on Hardhat: not yet.
* **The EvidenceRegistry** (``FakeEvidenceRegistry``): the append-only checkpoint rule (a zero
  root, a root anchored twice and a tree size that does not grow are refused with the contract's
  typed errors) and the client's retry rule (the same root at the same size returns the first
  anchor; at another size it is refused).
* **The PledgeRegistry** (``FakePledgeRegistry``): one active pledge per asset; amend, release and
  enforce by the registrar that registered the pledge only; release and enforcement naming the
  pledgee; each registrar its own account, holding the role once granted; the state as of any past
  block or time; every change's receipt; and the client's retry rules (a repeated registration,
  amendment, release or enforcement returns the transaction that did it).
* **Outages**: ``down = True`` makes every call fail as a node that does not answer does.

It does not model gas, fees, balances or top-ups (accounts never run low), nonces, signatures,
confirmations other than counting blocks, reorganisations, timeouts, the code at an address, a
second account that cannot anchor, nor a restart of the chain (its state lives in the object:
hand the same object to the next runtime). Tests of those run on the real chains in
``tests/integration``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar

from eth_utils import keccak, to_checksum_address

from ipnotary.chain import errors
from ipnotary.chain.client import ANCHOR_GAS
from ipnotary.chain.pledges import BlockRef, RegistrarAccount
from ipnotary.chain.types import (
    DEFAULT_CHAIN_ID,
    Address,
    AnchoredBatch,
    AnchoringAccount,
    AnchorReceipt,
    BatchId,
    BlockHash,
    BlockInfo,
    BlockNumber,
    ChainId,
    Pledge,
    PledgeAction,
    PledgeId,
    PledgeReceipt,
    PledgeSnapshot,
    PledgeStatus,
    TxHash,
)
from ipnotary.sdk.errors import ChainReadError
from ipnotary.sdk.verify import AnchorView
from ipnotary.service.errors import ChainUnusable

__all__ = ["FakeChain", "FakeChainView", "FakeEvidenceRegistry", "FakePledgeRegistry"]

_T = TypeVar("_T")
_UINT64_MAX: Final = 2**64 - 1
_ANCHORER_ROLE: Final = keccak(text="ANCHORER_ROLE")
_REGISTRAR_ROLE: Final = keccak(text="REGISTRAR_ROLE")
FEE_PER_GAS: Final = 10**9
BALANCE_WEI: Final = 10**22
REGISTRAR_FUNDING_WEI: Final = 16 * 1_200_000 * FEE_PER_GAS
"""What a new registrar receives with its role (``chain.RegistrarFunding``'s defaults)."""
GAS_USED: Final = {"anchor": 95_000, "register": 180_000, "change": 60_000, "grant": 75_000}


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


def _address(*parts: object) -> Address:
    return Address(to_checksum_address("0x" + _digest("address", *parts)[:20].hex()))


def _check_bytes32(value: Any, name: str, error: type[errors.ChainError]) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise error(f"{name} must be 32 bytes, got {value!r:.80}")
    return bytes(value)


def _check_uint64(value: Any, name: str, error: type[errors.ChainError]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _UINT64_MAX:
        raise error(f"{name} must be an int in 0..2**64-1, got {value!r}")
    return value


@dataclass(frozen=True)
class _PledgeState:
    """The PledgeRegistry's storage after one block (copied on every change, so that any earlier
    block can be read)."""

    pledges: Mapping[int, Pledge] = field(default_factory=dict)
    active: Mapping[bytes, int] = field(default_factory=dict)
    history: Mapping[bytes, tuple[PledgeId, ...]] = field(default_factory=dict)
    registrars: frozenset[str] = frozenset()


class FakeChain:
    """One chain with both registries, shared by every runtime a test hands it to; fits the
    service's ``ChainPort``. ``down`` simulates a node that stopped answering."""

    def __init__(self, *, chain_id: int = DEFAULT_CHAIN_ID) -> None:
        self.chain_id = ChainId(chain_id)
        self.admin = _address("admin", chain_id)
        self.down = False
        self._lock = threading.RLock()
        self._tx_numbers = itertools.count(1)
        # Genesis and the two registries' deployments, mined in the seconds before the test.
        started = int(time.time()) - 3
        self._blocks: list[BlockInfo] = []
        for offset in range(3):
            self._append_block(started + offset, f"setup {offset}")
        self._evidence = FakeEvidenceRegistry(self, _address("EvidenceRegistry", chain_id))
        self._pledge_address = _address("PledgeRegistry", chain_id)
        self._pledge_deployed_at = 2
        self._pledge_states: list[tuple[int, _PledgeState]] = [
            (self._pledge_deployed_at, _PledgeState(registrars=frozenset({self.admin})))
        ]
        self._pledge_receipts: dict[int, list[PledgeReceipt]] = {}
        self._registry_by_account: dict[str, FakePledgeRegistry] = {}
        self._admin_pledges = self._pledge_client(self.admin)

    # -- ChainPort: what the service calls ------------------------------------------------------

    def client(self) -> FakeEvidenceRegistry:
        return self._gateway("connect", lambda: self._evidence)

    def pledges(self) -> FakePledgeRegistry:
        return self._gateway("attach the pledge registry", lambda: self._admin_pledges)

    def anchor_root(self, root: bytes, tree_size: int) -> AnchorReceipt:
        # The gateway lets the chain's own errors through to the worker: so does this.
        return self._evidence.anchor_root(root, tree_size)

    def latest_checkpoint(self) -> AnchoredBatch | None:
        return self._gateway("read the latest checkpoint", self._evidence.latest_checkpoint)

    def view(self) -> FakeChainView:
        return self._gateway("connect", lambda: FakeChainView(self))

    def check(self) -> None:
        self._gateway("check", lambda: None)

    def identity(self) -> tuple[int, str] | None:
        return None if self.down else (int(self.chain_id), str(self._evidence.registry_address))

    def anchoring_account(self) -> AnchoringAccount:
        return self._gateway("read the anchoring account", self._evidence.anchoring_account)

    def genesis_hash(self) -> str:
        return self._gateway("read the genesis block", lambda: str(self.block(0).hash))

    def close(self) -> None:
        """Nothing to release: like a node, the chain outlives the process that used it."""

    # -- blocks -----------------------------------------------------------------------------------

    def head(self) -> BlockNumber:
        with self._lock:
            self._require_up()
            return self._blocks[-1].number

    def block(self, block: int | str) -> BlockInfo:
        with self._lock:
            self._require_up()
            if block == "latest":
                return self._blocks[-1]
            if isinstance(block, str):
                found = [b for b in self._blocks if b.hash == block.lower()]
                if not found:
                    raise errors.BlockNotFound(f"block {block} is not on chain {self.chain_id}")
                return found[0]
            if not 0 <= block < len(self._blocks):
                raise errors.BlockNotFound(f"block {block} is not on chain {self.chain_id}")
            return self._blocks[block]

    def block_at_or_before(self, timestamp: int) -> BlockInfo:
        """The newest block stamped ``timestamp`` or earlier (``chain.ChainConnection``'s rule)."""
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise TypeError(f"timestamp must be an int, got {type(timestamp).__name__}")
        with self._lock:
            self._require_up()
            if self._blocks[0].timestamp > timestamp:
                raise errors.BlockNotFound(
                    f"chain {self.chain_id} has no block at or before {timestamp}"
                )
            index = bisect.bisect_right([b.timestamp for b in self._blocks], timestamp)
            return self._blocks[index - 1]

    def _number(self, block: BlockRef) -> int:
        if block is None:
            return len(self._blocks) - 1
        if isinstance(block, BlockInfo):
            return int(block.number)
        number = _check_uint64(block, "block", errors.InvalidPledgeInput)
        if number >= len(self._blocks):
            raise errors.BlockNotFound(
                f"block {number} is not on chain {self.chain_id} yet "
                f"(head {len(self._blocks) - 1}); read at an existing block"
            )
        return number

    # -- machinery --------------------------------------------------------------------------------

    def _require_up(self) -> None:
        if self.down:
            raise errors.ChainUnavailable(
                "cannot reach the chain node (fake chain, switched off): connection refused"
            )

    def _gateway(self, what: str, call: Callable[[], _T]) -> _T:
        """A call through the gateway: a node that does not answer is ``ChainUnusable``."""
        if self.down:
            raise ChainUnusable(f"cannot {what}: the chain node does not answer (fake chain down)")
        return call()

    def _append_block(self, timestamp: int, what: str) -> BlockInfo:
        number = len(self._blocks)
        parent = self._blocks[-1].hash if self._blocks else "0x" + "00" * 32
        block = BlockInfo(
            number=BlockNumber(number),
            hash=BlockHash("0x" + _digest("block", self.chain_id, number, parent, what).hex()),
            timestamp=timestamp,
        )
        self._blocks.append(block)
        return block

    def _mine(self) -> tuple[TxHash, BlockInfo]:
        """One transaction in a block of its own (the caller holds the lock: other senders wait,
        as they wait for a node to mine)."""
        tx_hash = TxHash("0x" + _digest("tx", self.chain_id, next(self._tx_numbers)).hex())
        stamp = max(self._blocks[-1].timestamp + 1, int(time.time()))
        return tx_hash, self._append_block(stamp, tx_hash)

    def _pledge_state(self, block: BlockRef = None) -> _PledgeState | None:
        """The PledgeRegistry's storage at ``block``; None before it was deployed."""
        number = self._number(block)
        index = bisect.bisect_right([n for n, _ in self._pledge_states], number)
        return None if index == 0 else self._pledge_states[index - 1][1]

    def _pledge_client(self, account: Address) -> FakePledgeRegistry:
        with self._lock:
            client = self._registry_by_account.get(account)
            if client is None:
                client = FakePledgeRegistry(self, self._pledge_address, account)
                self._registry_by_account[account] = client
            return client


class FakeEvidenceRegistry:
    """The EvidenceRegistry and its client (``chain.EvidenceRegistryClient``'s calls the service
    and its tests make), anchoring as the chain's admin account."""

    def __init__(self, chain: FakeChain, address: Address) -> None:
        self._chain = chain
        self._address = address
        self._batches: list[AnchoredBatch] = []
        self._by_root: dict[bytes, AnchorReceipt] = {}
        self._by_tx: dict[str, AnchorReceipt] = {}
        self.transactions = 0
        """Anchoring transactions sent (refused calls and retries answered from the chain are
        not)."""

    @property
    def chain_id(self) -> ChainId:
        return self._chain.chain_id

    @property
    def registry_address(self) -> Address:
        return self._address

    @property
    def account(self) -> Address:
        return self._chain.admin

    def head(self) -> BlockNumber:
        return self._chain.head()

    def block(self, block: int | str) -> BlockInfo:
        return self._chain.block(block)

    def genesis_hash(self) -> BlockHash:
        return self._chain.block(0).hash

    def check(self) -> None:
        self._chain.head()

    def anchoring_account(self) -> AnchoringAccount:
        with self._chain._lock:
            self._chain._require_up()
            return AnchoringAccount(
                address=self.account,
                has_anchorer_role=True,
                balance_wei=BALANCE_WEI,
                fee_per_gas=FEE_PER_GAS,
                anchors_affordable=BALANCE_WEI // (FEE_PER_GAS * ANCHOR_GAS),
            )

    # -- reads ------------------------------------------------------------------------------------

    def batch_count(self) -> int:
        with self._chain._lock:
            self._chain._require_up()
            return len(self._batches)

    def get_batch(self, batch_id: int) -> AnchoredBatch:
        batch_id = _check_uint64(batch_id, "batch_id", errors.InvalidAnchorInput)
        with self._chain._lock:
            self._chain._require_up()
            if not 1 <= batch_id <= len(self._batches):
                raise self._revert(
                    errors.UnknownBatch, "UnknownBatch", "getBatch", batchId=batch_id
                )
            return self._batches[batch_id - 1]

    def latest_checkpoint(self) -> AnchoredBatch | None:
        with self._chain._lock:
            self._chain._require_up()
            return self._batches[-1] if self._batches else None

    def find_root(self, root: bytes) -> AnchoredBatch | None:
        root = _check_bytes32(root, "a Merkle root", errors.InvalidAnchorInput)
        receipt = self.anchor_receipt_for_root(root)
        return None if receipt is None else self._batches[receipt.batch_id - 1]

    def anchor_receipt_for_root(self, root: bytes) -> AnchorReceipt | None:
        root = _check_bytes32(root, "a Merkle root", errors.InvalidAnchorInput)
        with self._chain._lock:
            self._chain._require_up()
            return self._by_root.get(root)

    def anchor_from_transaction(self, tx_hash: str) -> AnchorReceipt:
        with self._chain._lock:
            self._chain._require_up()
            receipt = self._by_tx.get(tx_hash.lower())
        if receipt is None:
            raise errors.AnchorEventNotFound(
                f"transaction {tx_hash} anchored nothing in EvidenceRegistry at {self._address}",
                tx_hash=tx_hash,
            )
        return receipt

    # -- the one write ----------------------------------------------------------------------------

    def anchor_root(
        self, root: bytes, tree_size: int, *, allow_existing: bool = True
    ) -> AnchorReceipt:
        root = _check_bytes32(root, "a Merkle root", errors.InvalidAnchorInput)
        tree_size = _check_uint64(tree_size, "tree_size", errors.InvalidAnchorInput)
        with self._chain._lock:
            self._chain._require_up()
            existing = self._by_root.get(root)
            if existing is not None and allow_existing:
                if existing.tree_size != tree_size:
                    raise errors.InvalidAnchorInput(
                        f"root 0x{root.hex()} is already anchored as batch {existing.batch_id} "
                        f"with tree_size {existing.tree_size}, not {tree_size}"
                    )
                return existing
            # The contract's checks, in its order.
            if root == bytes(32):
                raise self._revert(errors.ZeroRoot, "ZeroRoot", "anchor")
            if existing is not None:
                raise self._revert(
                    errors.RootAlreadyAnchored,
                    "RootAlreadyAnchored",
                    "anchor",
                    root=root,
                    batchId=existing.batch_id,
                )
            latest = self._batches[-1].tree_size if self._batches else 0
            if tree_size <= latest:
                raise self._revert(
                    errors.TreeSizeNotGrowing,
                    "TreeSizeNotGrowing",
                    "anchor",
                    treeSize=tree_size,
                    latestTreeSize=latest,
                )
            tx_hash, block = self._chain._mine()
            batch_id = BatchId(len(self._batches) + 1)
            self._batches.append(
                AnchoredBatch(batch_id, root, tree_size, block.timestamp, block.number)
            )
            receipt = AnchorReceipt(
                chain_id=self.chain_id,
                contract=self._address,
                batch_id=batch_id,
                root=root,
                tree_size=tree_size,
                tx_hash=tx_hash,
                block_number=block.number,
                block_hash=block.hash,
                block_timestamp=block.timestamp,
                gas_used=GAS_USED["anchor"],
            )
            self._by_root[root] = self._by_tx[tx_hash] = receipt
            self.transactions += 1
            return receipt

    def _revert(
        self, kind: type[errors.ContractReverted], name: str, function: str, **args: Any
    ) -> errors.ContractReverted:
        return kind(
            f"EvidenceRegistry{name}",
            args,
            contract="EvidenceRegistry",
            address=self._address,
            function=function,
        )


class FakePledgeRegistry:
    """The PledgeRegistry and its client as one account sees it (``chain.PledgeRegistryClient``):
    the admin's from ``FakeChain.pledges()``, a registrar's from :meth:`for_registrar`."""

    def __init__(self, chain: FakeChain, address: Address, account: Address) -> None:
        self._chain = chain
        self._address = address
        self._account = account

    @property
    def chain_id(self) -> ChainId:
        return self._chain.chain_id

    @property
    def registry_address(self) -> Address:
        return self._address

    @property
    def account(self) -> Address:
        return self._account

    def head(self) -> BlockNumber:
        return self._chain.head()

    def block(self, block: int | str) -> BlockInfo:
        return self._chain.block(block)

    def block_at_or_before(self, timestamp: int) -> BlockInfo:
        return self._chain.block_at_or_before(timestamp)

    # -- reads at any block -----------------------------------------------------------------------

    def get_pledge(self, pledge_id: int, *, block: BlockRef = None) -> Pledge:
        pledge_id = _check_uint64(pledge_id, "pledge_id", errors.InvalidPledgeInput)
        with self._chain._lock:
            self._chain._require_up()
            state = self._chain._pledge_state(block)
            found = None if state is None else state.pledges.get(pledge_id)
        if found is None:
            raise self._revert(
                errors.UnknownPledge, "UnknownPledge", "getPledge", pledgeId=pledge_id
            )
        return found

    def active_pledge_of(self, asset_id: bytes, *, block: BlockRef = None) -> PledgeId:
        asset_id = _check_bytes32(asset_id, "asset_id", errors.InvalidPledgeInput)
        with self._chain._lock:
            self._chain._require_up()
            state = self._chain._pledge_state(block)
            return PledgeId(0 if state is None else state.active.get(asset_id, 0))

    def pledges_of(self, asset_id: bytes, *, block: BlockRef = None) -> tuple[PledgeId, ...]:
        asset_id = _check_bytes32(asset_id, "asset_id", errors.InvalidPledgeInput)
        with self._chain._lock:
            self._chain._require_up()
            state = self._chain._pledge_state(block)
            return () if state is None else state.history.get(asset_id, ())

    def pledge_count(self, *, block: BlockRef = None) -> int:
        with self._chain._lock:
            self._chain._require_up()
            state = self._chain._pledge_state(block)
            return 0 if state is None else len(state.pledges)

    def is_registrar(self, account: str, *, block: BlockRef = None) -> bool:
        with self._chain._lock:
            self._chain._require_up()
            state = self._chain._pledge_state(block)
            return state is not None and to_checksum_address(account) in state.registrars

    def pledge_as_of(self, asset_id: bytes, timestamp: int) -> PledgeSnapshot:
        """``chain.PledgeReader.pledge_as_of``: read at the newest block stamped at or before
        ``timestamp``; a time before the genesis block reads block 0."""
        asset_id = _check_bytes32(asset_id, "asset_id", errors.InvalidPledgeInput)
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise errors.InvalidPledgeInput(
                f"timestamp must be an int, got {type(timestamp).__name__}"
            )
        with self._chain._lock:
            try:
                block = self._chain.block_at_or_before(timestamp)
            except errors.BlockNotFound:
                block = self._chain.block(0)
            pledge_id = self.active_pledge_of(asset_id, block=block)
            pledge = self.get_pledge(pledge_id, block=block) if pledge_id else None
        return PledgeSnapshot(asset_id=asset_id, timestamp=timestamp, block=block, pledge=pledge)

    def pledge_receipts(self, pledge_id: int) -> tuple[PledgeReceipt, ...]:
        self.get_pledge(pledge_id)  # an unknown pledge is refused as the reader refuses it
        with self._chain._lock:
            return tuple(self._chain._pledge_receipts.get(pledge_id, ()))

    # -- registrars -------------------------------------------------------------------------------

    def registrar_address(self, label: str) -> Address:
        return _address("registrar", self._account, _check_label(label))

    def for_registrar(self, label: str) -> FakePledgeRegistry:
        """The client of registrar ``label``'s own account (it holds the role once
        :meth:`provision_registrar` granted it)."""
        return self._chain._pledge_client(self.registrar_address(label))

    def provision_registrar(self, label: str) -> RegistrarAccount:
        address = self.registrar_address(label)
        with self._chain._lock:
            state = self._writable_state()
            if address in state.registrars:
                return RegistrarAccount(label, address, None, None, 0)
            self._require_role(state, "addRegistrar", admin=True)
            tx_hash, _ = self._commit(replace(state, registrars=state.registrars | {address}))
            return RegistrarAccount(label, address, tx_hash, None, REGISTRAR_FUNDING_WEI)

    # -- the four acts ----------------------------------------------------------------------------

    def register(
        self,
        asset_id: bytes,
        pledgor: bytes,
        pledgee: bytes,
        terms_digest: bytes,
        *,
        allow_existing: bool = True,
    ) -> PledgeReceipt:
        values = {
            "assetId": _check_bytes32(asset_id, "asset_id", errors.InvalidPledgeInput),
            "pledgor": _check_bytes32(pledgor, "pledgor", errors.InvalidPledgeInput),
            "pledgee": _check_bytes32(pledgee, "pledgee", errors.InvalidPledgeInput),
            "termsDigest": _check_bytes32(terms_digest, "terms_digest", errors.InvalidPledgeInput),
        }
        asset, pledgor, pledgee, terms = values.values()
        with self._chain._lock:
            state = self._writable_state()
            active = state.active.get(asset, 0)
            if allow_existing and active:
                # A retry of this very registration (same parties, terms and registrar).
                pledge = state.pledges[active]
                if (pledge.pledgor, pledge.pledgee, pledge.terms_digest, pledge.registrar) == (
                    pledgor,
                    pledgee,
                    terms,
                    self._account,
                ):
                    return self._chain._pledge_receipts[active][0]
            self._require_role(state, "register")
            for name, value in values.items():
                if value == bytes(32):
                    raise self._revert(errors.ZeroPledgeValue, "ZeroValue", "register", field=name)
            if pledgor == pledgee:
                raise self._revert(errors.SameParty, "SameParty", "register", party=pledgor)
            if active:
                raise self._revert(
                    errors.AssetAlreadyPledged,
                    "AssetAlreadyPledged",
                    "register",
                    assetId=asset,
                    activePledgeId=active,
                )
            pledge_id = PledgeId(len(state.pledges) + 1)
            pledge = Pledge(
                pledge_id=pledge_id,
                asset_id=asset,
                pledgor=pledgor,
                pledgee=pledgee,
                terms_digest=terms,
                registrar=self._account,
                registered_at=0,  # the block's time, once mined (_act)
                released_at=None,
                status=PledgeStatus.ACTIVE,
            )
            return self._act(
                state,
                pledge,
                PledgeAction.REGISTERED,
                terms_digest=terms,
                active={**state.active, asset: pledge_id},
                history={**state.history, asset: (*state.history.get(asset, ()), pledge_id)},
            )

    def amend(
        self, pledge_id: int, new_terms_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        pledge_id = _check_uint64(pledge_id, "pledge_id", errors.InvalidPledgeInput)
        terms = _check_bytes32(new_terms_digest, "new_terms_digest", errors.InvalidPledgeInput)
        with self._chain._lock:
            state = self._writable_state()
            current = state.pledges.get(pledge_id)
            if (
                allow_existing
                and current is not None
                and current.active
                and current.terms_digest == terms
            ):
                # The newest transaction that set these terms (the registration or an amendment).
                receipts = self._chain._pledge_receipts[pledge_id]
                return [r for r in receipts if r.terms_digest == terms][-1]
            pledge = self._own_active_pledge(state, pledge_id, "amend")
            if terms == bytes(32):
                raise self._revert(
                    errors.ZeroPledgeValue, "ZeroValue", "amend", field="termsDigest"
                )
            return self._act(
                state, replace(pledge, terms_digest=terms), PledgeAction.AMENDED, terms_digest=terms
            )

    def release(
        self, pledge_id: int, party: bytes, consent_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        return self._close(pledge_id, party, consent_digest, PledgeAction.RELEASED, allow_existing)

    def enforce(
        self, pledge_id: int, party: bytes, consent_digest: bytes, *, allow_existing: bool = True
    ) -> PledgeReceipt:
        return self._close(pledge_id, party, consent_digest, PledgeAction.ENFORCED, allow_existing)

    # -- machinery --------------------------------------------------------------------------------

    def _close(
        self,
        pledge_id: int,
        party: bytes,
        consent_digest: bytes,
        action: PledgeAction,
        allow_existing: bool,
    ) -> PledgeReceipt:
        function = "release" if action is PledgeAction.RELEASED else "enforce"
        pledge_id = _check_uint64(pledge_id, "pledge_id", errors.InvalidPledgeInput)
        party = _check_bytes32(party, "party", errors.InvalidPledgeInput)
        consent = _check_bytes32(consent_digest, "consent_digest", errors.InvalidPledgeInput)
        status = PledgeStatus.RELEASED if action is PledgeAction.RELEASED else PledgeStatus.ENFORCED
        with self._chain._lock:
            state = self._writable_state()
            current = state.pledges.get(pledge_id)
            if allow_existing and current is not None and current.status is status:
                closing = self._chain._pledge_receipts[pledge_id][-1]
                if (closing.party, closing.consent_digest) == (party, consent):
                    return closing
            pledge = self._own_active_pledge(state, pledge_id, function)
            if party != pledge.pledgee:
                if party == pledge.pledgor:
                    raise self._revert(
                        errors.NotPledgee, "NotPledgee", function, pledgeId=pledge_id, party=party
                    )
                raise self._revert(
                    errors.NotAParty, "NotAParty", function, pledgeId=pledge_id, party=party
                )
            if consent == bytes(32):
                raise self._revert(
                    errors.ZeroPledgeValue, "ZeroValue", function, field="consentDigest"
                )
            active = {k: v for k, v in state.active.items() if k != pledge.asset_id}
            return self._act(
                state,
                replace(pledge, status=status),
                action,
                party=party,
                consent_digest=consent,
                active=active,
            )

    def _act(
        self,
        state: _PledgeState,
        pledge: Pledge,
        action: PledgeAction,
        *,
        terms_digest: bytes | None = None,
        party: bytes | None = None,
        consent_digest: bytes | None = None,
        active: Mapping[bytes, int] | None = None,
        history: Mapping[bytes, tuple[PledgeId, ...]] | None = None,
    ) -> PledgeReceipt:
        """Mine the act and record the pledge as it stands after it, with its receipt."""
        tx_hash, block = self._chain._mine()
        if action is PledgeAction.REGISTERED:
            pledge = replace(pledge, registered_at=block.timestamp)
        elif action in (PledgeAction.RELEASED, PledgeAction.ENFORCED):
            pledge = replace(pledge, released_at=block.timestamp)
        self._chain._pledge_states.append(
            (
                int(block.number),
                replace(
                    state,
                    pledges={**state.pledges, int(pledge.pledge_id): pledge},
                    active=state.active if active is None else active,
                    history=state.history if history is None else history,
                ),
            )
        )
        receipt = PledgeReceipt(
            chain_id=self.chain_id,
            contract=self._address,
            pledge_id=pledge.pledge_id,
            action=action,
            asset_id=pledge.asset_id,
            terms_digest=terms_digest,
            party=party,
            consent_digest=consent_digest,
            registrar=self._account,
            tx_hash=tx_hash,
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=GAS_USED["register" if action is PledgeAction.REGISTERED else "change"],
        )
        self._chain._pledge_receipts.setdefault(int(pledge.pledge_id), []).append(receipt)
        return receipt

    def _commit(self, state: _PledgeState) -> tuple[TxHash, BlockInfo]:
        tx_hash, block = self._chain._mine()
        self._chain._pledge_states.append((int(block.number), state))
        return tx_hash, block

    def _writable_state(self) -> _PledgeState:
        self._chain._require_up()
        state = self._chain._pledge_state()
        assert state is not None, "the fake PledgeRegistry is deployed with the chain"
        return state

    def _require_role(self, state: _PledgeState, function: str, *, admin: bool = False) -> None:
        allowed = self._account == self._chain.admin if admin else self._account in state.registrars
        if not allowed:
            raise errors.MissingRole(
                "AccessControlUnauthorizedAccount",
                {"account": self._account, "neededRole": bytes(32) if admin else _REGISTRAR_ROLE},
                contract="PledgeRegistry",
                address=self._address,
                function=function,
            )

    def _own_active_pledge(self, state: _PledgeState, pledge_id: int, function: str) -> Pledge:
        """The contract's ``_ownActivePledge``, after its role check."""
        self._require_role(state, function)
        pledge = state.pledges.get(pledge_id)
        if pledge is None:
            raise self._revert(errors.UnknownPledge, "UnknownPledge", function, pledgeId=pledge_id)
        if not pledge.active:
            raise self._revert(
                errors.PledgeNotActive,
                "NotActive",
                function,
                pledgeId=pledge_id,
                status=int(pledge.status),
            )
        if pledge.registrar != self._account:
            raise self._revert(
                errors.NotRegistrar,
                "NotRegistrar",
                function,
                pledgeId=pledge_id,
                registrar=pledge.registrar,
                caller=self._account,
            )
        return pledge

    def _revert(
        self, kind: type[errors.ContractReverted], name: str, function: str, **args: Any
    ) -> errors.ContractReverted:
        return kind(
            f"PledgeRegistry{name}",
            args,
            contract="PledgeRegistry",
            address=self._address,
            function=function,
        )


def _check_label(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value.encode()) <= 200:
        raise errors.InvalidPledgeInput(
            f"a registrar label is 1 to 200 bytes of text, got {value!r:.80}"
        )
    return value


class FakeChainView:
    """The verifier's view of the fake chain (``ipnotary.sdk.verify.ChainView``): it reads only
    the fake's EvidenceRegistry, as ``sdk.chain_view`` reads only registries of ours."""

    def __init__(self, chain: FakeChain) -> None:
        self._chain = chain

    def chain_id(self) -> int:
        return int(self._read(lambda: self._chain.chain_id))

    def genesis_hash(self) -> str:
        return self._read(lambda: str(self._chain.block(0).hash))

    def find_anchor(self, contract: str, root: bytes) -> AnchorView | None:
        batch = self._read(lambda: self._registry(contract).find_root(root))
        if batch is None:
            return None
        return AnchorView(
            batch_id=int(batch.batch_id),
            tree_size=batch.tree_size,
            timestamp=batch.timestamp,
            block_number=int(batch.block_number),
            root=batch.root,
        )

    def anchor_in_transaction(self, contract: str, tx_hash: str) -> AnchorView | None:
        try:
            receipt = self._read(lambda: self._registry(contract).anchor_from_transaction(tx_hash))
        except ChainReadError as exc:
            if isinstance(exc.__cause__, errors.AnchorEventNotFound):
                return None
            raise
        return AnchorView(
            batch_id=int(receipt.batch_id),
            tree_size=receipt.tree_size,
            timestamp=receipt.block_timestamp,
            block_number=int(receipt.block_number),
            root=receipt.root,
        )

    def block_hash_and_time(self, block_number: int) -> tuple[str, int] | None:
        try:
            block = self._read(lambda: self._chain.block(block_number))
        except ChainReadError as exc:
            if isinstance(exc.__cause__, LookupError):
                return None
            raise
        return str(block.hash), block.timestamp

    def head_block_number(self) -> int:
        return int(self._read(self._chain.head))

    def _registry(self, contract: str) -> FakeEvidenceRegistry:
        registry = self._chain._evidence
        if contract.lower() != registry.registry_address.lower():
            raise errors.ContractNotFound(
                f"no EvidenceRegistry of ours at {contract} on chain {self._chain.chain_id}"
            )
        return registry

    def _read(self, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except errors.ChainError as exc:
            raise ChainReadError(str(exc)) from exc
