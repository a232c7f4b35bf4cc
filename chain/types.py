"""Chain scalars and the frozen result records of the chain layer.

``NewType``s keep a block number from being passed where a batch id is expected;
the records are what :class:`chain.client.EvidenceRegistryClient` and
:class:`chain.client.AnchorReader` return. Hashes and addresses are 0x-prefixed hex
strings (addresses EIP-55 checksummed) so they serialise into certificates as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

__all__ = [
    "Address",
    "AnchorReceipt",
    "AnchoredBatch",
    "BatchId",
    "BlockHash",
    "BlockInfo",
    "BlockNumber",
    "ChainId",
    "TxHash",
]

ChainId = NewType("ChainId", int)
BlockNumber = NewType("BlockNumber", int)
BatchId = NewType("BatchId", int)
TxHash = NewType("TxHash", str)
"""0x-prefixed, lower-case hex of 32 bytes."""
BlockHash = NewType("BlockHash", str)
"""0x-prefixed, lower-case hex of 32 bytes."""
Address = NewType("Address", str)
"""EIP-55 checksummed 0x-prefixed hex of 20 bytes."""


@dataclass(frozen=True, slots=True)
class AnchoredBatch:
    """What the EvidenceRegistry contract stores about one anchored Merkle root."""

    batch_id: BatchId
    root: bytes
    leaf_count: int
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
    leaf_count: int
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
