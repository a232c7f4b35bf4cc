"""Certificate verification speed: offline on one core, and with the chain check, against Ed25519.

    python -m bench.bench_verify [--quick] [--json PATH] [--nodes hardhat]

Real certificates (version 2): a batch of evidence records is appended to a log whose key signs the
checkpoint, the checkpoint is anchored on the chain (embedded, and a Hardhat node when installed)
and the service's issuer (``ipnotary.service.services.issuer.Issuer``) signs one certificate per
record, as the service does. Each certificate is then verified from its JSON bytes, as a verifier
reads it from a file, with ``ipnotary.sdk.verify_certificate`` under a trust policy naming the log
and issuer keys (no witnesses: the deployment the embedded default runs).

* offline (format, leaf hash, checkpoint signature, inclusion proof, signature, issuer), pinned to
  one core;
* with the chain check through ``ipnotary.sdk.chain_view.open_chain_view``: the embedded chain's
  directory (read-only, as ``notary verify --chain-data`` does) and a Hardhat node over HTTP.

Baseline, on the same core in the same run, alternating with the subject round by round: raw
Ed25519 verifications with ``cryptography`` of messages of the same size (the one step no
verifier can skip). Target: at least 5,000 certificates per second offline on one core.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import Row, funded_key, interleaved, log, main_for, start_hardhat

TARGET_OFFLINE = 5_000


def make_certificates(client: Any, count: int) -> tuple[list[bytes], Any]:
    """Append ``count`` evidence records to a new log, anchor its checkpoint, and sign a
    certificate for each; returns them with the trust policy they verify under."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.certificate import Anchor, format_timestamp, record_leaf_hash
    from ipnotary.sdk.merkle import MerkleTree
    from ipnotary.sdk.note import Checkpoint, Note, NoteSigner
    from ipnotary.sdk.policy import IssuerKey, LogPolicy, TrustPolicy
    from ipnotary.service.services.issuer import Issuer, LogFacts

    issuer = Issuer(Ed25519PrivateKey.generate())
    origin = "bench.example/log"
    log_key = NoteSigner(origin, Ed25519PrivateKey.generate())
    now = format_timestamp(datetime.now(UTC))
    records = [
        {
            "id": f"ev_{os.urandom(16).hex()}",
            "kind": "evidence",
            "schema": 1,
            "holder": {"id": "prn_" + "1" * 32, "name": "Acme Studio"},
            "content": {
                "size": 4096,
                "sha256": os.urandom(32).hex(),
                "sm3": os.urandom(32).hex(),
                "cid": "Qm" + "x" * 44,
                "cid_v1": "bafk" + "y" * 55,
            },
            "metadata": {"title": f"design draft {i}", "tags": ["logo", "draft"]},
            "received_at": now,
        }
        for i in range(count)
    ]
    leaves = [record_leaf_hash(r) for r in records]
    tree = MerkleTree.from_leaf_hashes(leaves)
    text = Checkpoint(origin=origin, size=tree.size, root=tree.root).text()
    checkpoint = Note(text=text, signatures=(log_key.sign(text),)).format()
    receipt = client.anchor_root(tree.root, tree.size)
    anchor = Anchor.of_block(
        chain_id=receipt.chain_id,
        contract=receipt.contract,
        batch_id=receipt.batch_id,
        tx_hash=receipt.tx_hash,
        block_number=receipt.block_number,
        block_hash=receipt.block_hash,
        block_timestamp=receipt.block_timestamp,
    )
    certs = [
        issuer.certificate(
            record=r,
            leaf_hash=leaves[i].hex(),
            log=LogFacts(
                origin=origin,
                leaf_index=i,
                tree_size=tree.size,
                inclusion_proof=tree.audit_path(i),
                checkpoint=checkpoint,
            ),
            timestamps=[],
            cosignatures=0,
            anchor=anchor,
            issued_at=datetime.now(UTC),
        ).to_json_bytes()
        for i, r in enumerate(records)
    ]
    policy = TrustPolicy(
        log=LogPolicy(origin=origin, keys=[log_key.vkey()]),
        issuers=[IssuerKey(public_key=issuer.public_key_b64)],
        require_independent_time=False,
    )
    return certs, policy


def _rate(
    items: list[Any],
    work: Callable[[Any], object],
    min_seconds: float,
    clock: Callable[[], float] = time.thread_time,
) -> float:
    """Items per second over at least ``min_seconds`` (whole passes over ``items``).

    Offline work is timed in this thread's CPU time: on a shared machine, time the scheduler
    gave to other processes is not time our code took. Work that waits on a node is timed on
    the wall clock (``clock=time.perf_counter``).
    """
    done, start = 0, clock()
    while True:
        for item in items:
            work(item)
        done += len(items)
        elapsed = clock() - start
        if elapsed >= min_seconds:
            return done / elapsed


def ed25519_baseline(certs: list[bytes]) -> Callable[[], float]:
    """Raw Ed25519 verifications of messages as long as the certificates' signed bodies."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    signed = [(key.sign(m), m) for m in (os.urandom(len(c) - 120) for c in certs[:200])]

    def run() -> float:
        return _rate(signed, lambda sm: public.verify(*sm), 0.3)

    return run


def run(args: argparse.Namespace) -> list[Row]:
    from ipnotary.chain import EvidenceRegistryClient
    from ipnotary.sdk.chain_view import open_chain_view
    from ipnotary.sdk.verify import verify_certificate

    count = 200 if args.quick else 1000
    rounds = 5 if args.quick else 9
    rows: list[Row] = []
    # One core: the target is per core, and the two cores here are shared with other work.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp_name:
        tmp = Path(tmp_name)
        client = EvidenceRegistryClient.connect_embedded(tmp / "chain")
        try:
            certs, policy = make_certificates(client, count)
        finally:
            client.close()
        log(f"{len(certs)} certificates of {sum(map(len, certs)) // len(certs)} bytes on average")
        baseline = ed25519_baseline(certs)

        def offline(clock: Callable[[], float] = time.thread_time) -> float:
            return _rate(certs, lambda c: verify_certificate(c, policy), 0.3, clock)

        def offline_wall() -> float:
            return offline(time.perf_counter)

        base, subj, ratio = interleaved(rounds, baseline, offline)
        log(f"offline: {subj:,.0f}/s, Ed25519 alone {base:,.0f}/s")
        rows.append(
            Row(
                group="verification",
                name="offline, 1 core",
                value=subj,
                unit="certs/s",
                baseline="raw Ed25519 verify",
                baseline_value=base,
                ratio=ratio,
                target=f">= {TARGET_OFFLINE:,}/s",
                met=subj >= TARGET_OFFLINE,
                note=f"CPU time, median of {rounds} alternating rounds",
                extra={"certificate_bytes": sum(map(len, certs)) // len(certs)},
            )
        )

        view = open_chain_view(embedded_dir=tmp / "chain")
        try:
            sample = certs[: 100 if args.quick else 300]

            def embedded() -> float:
                return _rate(
                    sample,
                    lambda c: verify_certificate(c, policy, chain=view),
                    0.5,
                    time.perf_counter,
                )

            base, subj, ratio = interleaved(3, offline_wall, embedded)
            log(f"with the embedded chain: {subj:,.0f}/s")
            rows.append(
                Row(
                    group="verification",
                    name="with chain check: embedded chain, 1 core",
                    value=subj,
                    unit="certs/s",
                    baseline="offline",
                    baseline_value=base,
                    ratio=ratio,
                    note="wall clock; read-only open of the chain directory",
                )
            )
        finally:
            view.close()

        for name in args.nodes:
            rows += _node_rows(tmp, name, args.quick, offline_wall)
    return rows


def _node_rows(tmp: Path, name: str, quick: bool, offline: Callable[[], float]) -> list[Row]:
    from ipnotary.chain import EvidenceRegistryClient
    from ipnotary.sdk.chain_view import open_chain_view
    from ipnotary.sdk.verify import verify_certificate

    node, reason = start_hardhat(tmp)
    if node is None:
        return [
            Row(
                group="verification",
                name=f"with chain check: {name}",
                value=None,
                unit="certs/s",
                note=reason,
            )
        ]
    try:
        state = tmp / f"{name}-state"
        client = EvidenceRegistryClient.connect_rpc(
            node.url, private_key=funded_key(node.url, state), state_dir=state
        )
        try:
            certs, policy = make_certificates(client, 100 if quick else 300)
        finally:
            client.close()
        view = open_chain_view(rpc_url=node.url)
        try:

            def rpc() -> float:
                return _rate(
                    certs,
                    lambda c: verify_certificate(c, policy, chain=view),
                    1.0,
                    time.perf_counter,
                )

            base, subj, ratio = interleaved(3, offline, rpc)
        finally:
            view.close()
        log(f"with a {name} node: {subj:,.0f}/s")
        return [
            Row(
                group="verification",
                name=f"with chain check: {name} node over HTTP",
                value=subj,
                unit="certs/s",
                baseline="offline",
                baseline_value=base,
                ratio=ratio,
                note="wall clock; 6 JSON-RPC calls a certificate",
            )
        ]
    finally:
        node.stop()


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", nargs="*", default=["hardhat"], choices=["hardhat"])


if __name__ == "__main__":
    main_for(run, __doc__.split("\n\n")[0], _arguments)
