"""Chain scalars and the frozen result records of the chain layer.

``NewType``s keep a block number from being passed where a batch id is expected;
the records are what :class:`ipnotary.chain.client.EvidenceRegistryClient`,
:class:`ipnotary.chain.client.AnchorReader` and the pledge clients of :mod:`ipnotary.chain.pledges`
return. Transaction and block hashes and addresses are 0x-prefixed hex strings
(addresses EIP-55 checksummed) so they serialise into certificates as is; contract
values (roots, pledge commitments) are raw 32-byte ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NewType

__all__ = [
    "DEFAULT_CHAIN_ID",
    "Address",
    "AnchorReceipt",
    "AnchoredBatch",
    "AnchoringAccount",
    "BatchId",
    "BlockHash",
    "BlockInfo",
    "BlockNumber",
    "ChainId",
    "Pledge",
    "PledgeAction",
    "PledgeId",
    "PledgeReceipt",
    "PledgeSnapshot",
    "PledgeStatus",
    "TxHash",
]

ChainId = NewType("ChainId", int)
DEFAULT_CHAIN_ID = 1337
"""The embedded chain's id unless told otherwise (Hardhat's and geth --dev's too)."""
BlockNumber = NewType("BlockNumber", int)
BatchId = NewType("BatchId", int)
PledgeId = NewType("PledgeId", int)
"""1-based id of a pledge in its PledgeRegistry; 0 stands for "no pledge"."""
TxHash = NewType("TxHash", str)
"""0x-prefixed, lower-case hex of 32 bytes."""
BlockHash = NewType("BlockHash", str)
"""0x-prefixed, lower-case hex of 32 bytes."""
Address = NewType("Address", str)
"""EIP-55 checksummed 0x-prefixed hex of 20 bytes."""


@dataclass(frozen=True, slots=True)
class AnchoredBatch:
    """What the EvidenceRegistry contract stores about one anchored Merkle root.

    On a version 2 registry each anchor is a checkpoint of the one append-only log:
    ``root`` is the log's root hash at ``tree_size`` leaves. On a version 1 registry
    (read only) each anchor was a batch with its own tree of ``tree_size`` leaves.
    """

    batch_id: BatchId
    root: bytes
    tree_size: int
    """Leaves in the tree whose root this is (v1: the contract's ``leafCount``)."""
    timestamp: int
    """Unix time of the block that anchored the root (the contract's ``block.timestamp``)."""
    block_number: BlockNumber


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    """Everything a certificate needs to point at an anchor; what the service stores."""

    chain_id: ChainId
    contract: Address
    batch_id: BatchId
    root: bytes
    tree_size: int
    """Leaves in the tree whose root was anchored (v1 registries: the batch's ``leafCount``)."""
    tx_hash: TxHash
    block_number: BlockNumber
    block_hash: BlockHash
    block_timestamp: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """A canonical block as a verifier needs it."""

    number: BlockNumber
    hash: BlockHash
    timestamp: int


class PledgeStatus(IntEnum):
    """``Pledge.status`` in the contract."""

    ACTIVE = 1
    RELEASED = 2
    """Released with the pledgee's consent."""
    ENFORCED = 3
    """Enforced by the pledgee."""


class PledgeAction(StrEnum):
    """What one PledgeRegistry transaction did to a pledge (one per event)."""

    REGISTERED = "registered"
    AMENDED = "amended"
    RELEASED = "released"
    ENFORCED = "enforced"


@dataclass(frozen=True, slots=True)
class Pledge:
    """What the PledgeRegistry stores about one pledge (at the block it was read at)."""

    pledge_id: PledgeId
    asset_id: bytes
    pledgor: bytes
    pledgee: bytes
    terms_digest: bytes
    """The current terms: replaced by every amendment."""
    registrar: Address
    """The account that registered the pledge: the only one the contract lets change it."""
    registered_at: int
    """Unix time of the registering block."""
    released_at: int | None
    """Unix time of the block that released or enforced it; None while active."""
    status: PledgeStatus

    @property
    def active(self) -> bool:
        return self.status is PledgeStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class PledgeReceipt:
    """One mined PledgeRegistry transaction: what it did, to which pledge, where and when."""

    chain_id: ChainId
    contract: Address
    pledge_id: PledgeId
    action: PledgeAction
    asset_id: bytes
    terms_digest: bytes | None
    """The terms it set (registered, amended); None for a release or enforcement."""
    party: bytes | None
    """The pledgee that consented (released, enforced); None for a registration or amendment."""
    consent_digest: bytes | None
    """Hash of the pledgee's signed consent (released, enforced); None otherwise."""
    registrar: Address
    """The account that sent the transaction: the pledge's registrar (the contract checks it)."""
    tx_hash: TxHash
    block_number: BlockNumber
    block_hash: BlockHash
    block_timestamp: int
    gas_used: int


@dataclass(frozen=True, slots=True)
class PledgeSnapshot:
    """Answer to "was this asset pledged at time T, and to whom": read at ``block``."""

    asset_id: bytes
    timestamp: int
    """The time asked about."""
    block: BlockInfo
    """The newest block at or before ``timestamp``; the state was read there."""
    pledge: Pledge | None
    """The pledge active in that block, None if the asset was free."""


@dataclass(frozen=True, slots=True)
class AnchoringAccount:
    """The account a service anchors with, as the chain sees it now.

    ``anchors_affordable`` is ``balance_wei`` over the fee of one anchor at ``fee_per_gas``
    (:data:`ipnotary.chain.client.ANCHOR_GAS` gas); None when the chain charges nothing.
    """

    address: Address
    has_anchorer_role: bool
    balance_wei: int
    fee_per_gas: int
    anchors_affordable: int | None
