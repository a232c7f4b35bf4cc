"""Chain layer: anchor the evidence log's checkpoints, record IP pledges, and read both back.

* :class:`EvidenceRegistryClient` anchors checkpoints (tree size, root) of the one
  append-only log (``connect_embedded`` or ``connect_rpc``).
* :class:`AnchorReader` reads anchors without a key (``from_rpc`` or ``from_embedded``),
  from the current registry or a version 1 one (``registry_version``).
* :class:`PledgeRegistryClient` writes IP pledges; get it from
  ``EvidenceRegistryClient.pledge_registry()`` so both share one
  :class:`TransactionSender` (one nonce lock per key); ``for_registrar()`` gives each
  registrar its own account, derived from that key.
* :class:`PledgeReader` reads pledges as of any block or time without a key.
* :class:`EmbeddedChain` is the in-process py-evm chain that persists in a directory.
* :mod:`ipnotary.chain.errors` holds every error this package raises (root: ``ChainError``).
* :mod:`ipnotary.chain.types` holds the chain scalars and result records.

Compiled contracts live in ``artifacts/`` of this package (written by the Hardhat build); frozen
artifacts of earlier versions, only read, in ``artifacts/legacy/``.
"""

from typing import TYPE_CHECKING

from ipnotary.chain._artifacts import ContractArtifact, load_artifact
from ipnotary.chain._sender import TransactionSender
from ipnotary.chain.client import (
    AnchorReader,
    EvidenceRegistryClient,
    TransactionPolicy,
    load_or_create_signer_key,
)
from ipnotary.chain.errors import ChainError
from ipnotary.chain.pledges import (
    PledgeReader,
    PledgeRegistryClient,
    RegistrarAccount,
    RegistrarFunding,
)
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

if TYPE_CHECKING:  # at run time __getattr__ below loads it on first use
    from ipnotary.chain._embedded import EmbeddedChain

__all__ = [
    "DEFAULT_CHAIN_ID",
    "Address",
    "AnchorReader",
    "AnchorReceipt",
    "AnchoredBatch",
    "AnchoringAccount",
    "BatchId",
    "BlockHash",
    "BlockInfo",
    "BlockNumber",
    "ChainError",
    "ChainId",
    "ContractArtifact",
    "EmbeddedChain",
    "EvidenceRegistryClient",
    "Pledge",
    "PledgeAction",
    "PledgeId",
    "PledgeReader",
    "PledgeReceipt",
    "PledgeRegistryClient",
    "PledgeSnapshot",
    "PledgeStatus",
    "RegistrarAccount",
    "RegistrarFunding",
    "TransactionPolicy",
    "TransactionSender",
    "TxHash",
    "load_artifact",
    "load_or_create_signer_key",
]


def __getattr__(name: str) -> object:
    # The embedded chain pulls in py-evm and eth-tester (a second of imports and most of the
    # service's install): loaded on first use, so a verifier reading a node never imports them.
    if name == "EmbeddedChain":
        from ipnotary.chain._embedded import EmbeddedChain

        return EmbeddedChain
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
