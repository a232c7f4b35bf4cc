"""Chain layer: anchor Merkle roots in the EvidenceRegistry contract and read them back.

* :class:`EvidenceRegistryClient` anchors (``connect_embedded`` or ``connect_rpc``).
* :class:`AnchorReader` reads anchors without a key (``from_rpc`` or ``from_embedded``).
* :class:`EmbeddedChain` is the in-process py-evm chain that persists in a directory.
* :mod:`chain.errors` holds every error this package raises (root: ``ChainError``).
* :mod:`chain.types` holds the chain scalars and result records.

Compiled contracts live in ``chain/artifacts/`` (written by the Hardhat build).
"""

from ._artifacts import ContractArtifact, load_artifact
from ._embedded import DEFAULT_CHAIN_ID, EmbeddedChain
from .client import AnchorReader, EvidenceRegistryClient, TransactionPolicy
from .errors import ChainError
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

__all__ = [
    "DEFAULT_CHAIN_ID",
    "Address",
    "AnchorReader",
    "AnchorReceipt",
    "AnchoredBatch",
    "BatchId",
    "BlockHash",
    "BlockInfo",
    "BlockNumber",
    "ChainError",
    "ChainId",
    "ContractArtifact",
    "EmbeddedChain",
    "EvidenceRegistryClient",
    "TransactionPolicy",
    "TxHash",
    "load_artifact",
]
