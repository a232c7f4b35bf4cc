"""Chain cost per evidence item: one ``anchor`` transaction per log checkpoint, against one per
item.

    python -m bench.bench_chain_cost [--quick] [--json PATH]

The records of a deployment form one append-only RFC 9162 log, and each anchor transaction commits a
checkpoint of it (tree size, root) covering every item appended since the previous one. For each
batch size (1, 10, 100, 1,000, 10,000) the script appends that many leaves to the log, anchors the
log's new checkpoint in one transaction (``ipnotary.sdk.merkle.MerkleTree`` computes the root; the
registry refuses a tree size that does not grow) and divides the gas the receipt reports by the
batch size. The baseline, measured on the same chain in the same run, is what every item costs when
it gets its own transaction: the mean gas of checkpoints one item apart. The ratio says how many
times cheaper an item is in a batch. Target: at most 100 gas per item at 1,000-item batches.

Chains: the embedded py-evm chain always; a Hardhat node and ``geth --dev`` when installed (the
same launch code as the integration tests). Gas does not depend on timing, so these numbers are
exact and repeatable; the one chain-specific difference is each chain's fork pricing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from bench._common import Row, funded_key, log, main_for, start_geth, start_hardhat

BATCH_SIZES = (1, 10, 100, 1_000, 10_000)
TARGET_GAS_PER_ITEM = 100
TARGET_BATCH = 1_000


def _leaves(n: int) -> list[bytes]:
    from ipnotary.sdk.merkle import leaf_hash

    return [leaf_hash(os.urandom(64)) for _ in range(n)]


def measure_chain(client: Any, chain: str, singles: int) -> list[Row]:
    """Gas per item for every batch size on one chain, against single-item transactions."""
    from ipnotary.sdk.merkle import MerkleTree

    log_leaves: list[bytes] = []  # the registry is fresh: its log starts empty

    def checkpoint(new_items: int) -> Any:
        log_leaves.extend(_leaves(new_items))
        tree = MerkleTree.from_leaf_hashes(log_leaves)
        return client.anchor_root(tree.root, tree.size)

    single_gas = [checkpoint(1).gas_used for _ in range(singles)]
    per_item_baseline = sum(single_gas) / len(single_gas)
    log(f"{chain}: one tx per item costs {per_item_baseline:,.0f} gas")
    rows = []
    for n in BATCH_SIZES:
        receipt = checkpoint(n)
        per_item = receipt.gas_used / n
        log(f"{chain}: batch of {n:>6}: {receipt.gas_used:,} gas, {per_item:,.1f} per item")
        target = n == TARGET_BATCH
        rows.append(
            Row(
                group="chain cost",
                name=f"{chain}: gas per item, batch of {n:,}",
                value=per_item,
                unit="gas",
                baseline="1 tx per item",
                baseline_value=per_item_baseline,
                ratio=per_item_baseline / per_item,
                target=f"<= {TARGET_GAS_PER_ITEM} gas" if target else "",
                met=(per_item <= TARGET_GAS_PER_ITEM) if target else None,
                extra={
                    "chain": chain,
                    "batch_size": n,
                    "tx_gas": receipt.gas_used,
                    "single_item_tx_gas": single_gas,
                },
            )
        )
    return rows


def _embedded(tmp: Path, singles: int) -> list[Row]:
    from ipnotary.chain import EvidenceRegistryClient

    client = EvidenceRegistryClient.connect_embedded(tmp / "embedded")
    try:
        return measure_chain(client, "embedded", singles)
    finally:
        client.close()


def _node(tmp: Path, name: str, singles: int) -> list[Row]:
    from ipnotary.chain import EvidenceRegistryClient

    start = start_hardhat if name == "hardhat" else start_geth
    node, reason = start(tmp)
    if node is None:
        return [
            Row(
                group="chain cost",
                name=f"{name}: gas per item",
                value=None,
                unit="gas",
                note=reason,
            )
        ]
    try:
        state = tmp / f"{name}-state"
        key = funded_key(node.url, state)
        client = EvidenceRegistryClient.connect_rpc(node.url, private_key=key, state_dir=state)
        try:
            return measure_chain(client, name, singles)
        finally:
            client.close()
    finally:
        node.stop()


def run(args: argparse.Namespace) -> list[Row]:
    singles = 3 if args.quick else 5
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        rows += _embedded(Path(tmp), singles)
        for name in args.nodes:
            rows += _node(Path(tmp), name, singles)
    return rows


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes",
        nargs="*",
        default=["hardhat", "geth"],
        choices=["hardhat", "geth"],
        help="JSON-RPC nodes to measure too",
    )


if __name__ == "__main__":
    main_for(run, __doc__.split("\n\n")[0], _arguments)
