"""What one checkpoint costs to witness and to time-stamp, against what it costs to make.

    python -m bench.bench_checkpoint [--quick] [--json PATH]

Every sealed batch ends in one checkpoint of the log, whatever its size, so these costs are per
batch, not per item. In one run, interleaved round by round:

* baseline: sealing a checkpoint in the service's own code path: append 1,000 leaves to the log's
  tiles in a SQLite database and sign the new checkpoint (``TransparencyLog.append`` + commit);
* witnessing: one C2SP ``add-checkpoint`` round trip (consistency proof from the tiles, HTTP on
  loopback, the witness's check and durable write, our check of its cosignature) to our
  ``notary witness`` process and to torchwood's litewitness;
* time-stamping: one RFC 3161 token from an ``openssl ts -reply`` TSA on loopback, checked on
  receipt (``request_token`` + ``verify_token``);
* verification: checking a certificate carrying three cosignatures and one token under a policy
  that trusts them, against checking the same record's certificate offline without attestations.

Latencies are medians of many rounds and given as ratios to the baseline measured alongside; the
absolute milliseconds depend on the machine (a fsync per cosignature on this disk).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import Row, _skipped, log, main_for

LEAVES_PER_CHECKPOINT = 1_000


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(args: argparse.Namespace) -> list[Row]:
    rounds = 15 if args.quick else 60
    with tempfile.TemporaryDirectory(prefix="bench-checkpoint-") as tmp:
        try:
            return _measure(Path(tmp), rounds)
        except BaseException as exc:
            reason = _skipped(exc)
            if reason is None:
                raise
            log(f"skipped: {reason}")
            return [
                Row(
                    group="checkpoint",
                    name="witnessing and time-stamping",
                    value=None,
                    unit="ms",
                    note=reason,
                )
            ]


def _measure(tmp: Path, rounds: int) -> list[Row]:
    import os

    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlmodel import Session

    from ipnotary.sdk.merkle import leaf_hash
    from ipnotary.sdk.note import CosignatureVerifier, NoteSigner, parse_note, parse_signature_lines
    from ipnotary.sdk.timestamp import request_token, verify_token
    from ipnotary.service.services.transparency_log import (
        TransparencyLog,
        checkpoint_digest,
        consistency_proof,
    )
    from ipnotary.service.storage.db import create_db_engine, migrate
    from ipnotary.service.storage.models import Batch, BatchStatus
    from tests.integration.torchwood import LiteWitness, NotaryWitness, add_checkpoint_body
    from tests.tsa import OpenSSLTimestampAuthority, require_openssl

    origin = "bench.example/log"
    tlog = TransparencyLog(origin, NoteSigner(origin, Ed25519PrivateKey.generate()))
    engine = create_db_engine(f"sqlite:///{tmp / 'bench.db'}")
    migrate(engine)
    ours = NotaryWitness.create(tmp / "notary-witness", name="bench.example/notary-witness")
    lite = LiteWitness.create(tmp / "litewitness", name="bench.example/litewitness")
    tsa = OpenSSLTimestampAuthority(tmp / "tsa", "ec", openssl=require_openssl())
    http = httpx.Client(timeout=30)
    try:
        witnesses: dict[str, NotaryWitness | LiteWitness] = {
            "notary witness": ours,
            "litewitness": lite,
        }
        for w in witnesses.values():
            w.add_log(origin, tlog.vkey)
        sizes = dict.fromkeys(witnesses, 0)
        seal: list[float] = []
        stamp: list[float] = []
        cosign: dict[str, list[float]] = {name: [] for name in witnesses}
        for _ in range(rounds):
            # baseline: the seal of one checkpoint of 1,000 leaves
            leaves = [leaf_hash(os.urandom(32)) for _ in range(LEAVES_PER_CHECKPOINT)]
            started = time.perf_counter()
            with Session(engine) as session:
                appended = tlog.append(session, leaves)
                session.add(
                    Batch(
                        root=appended.root.hex(),
                        size=len(leaves),
                        status=BatchStatus.sealed,
                        sealed_at=_now(),
                        log_start=appended.start,
                        log_size=appended.size,
                        checkpoint=appended.checkpoint,
                    )
                )
                session.commit()
            seal.append(time.perf_counter() - started)
            text = parse_note(appended.checkpoint).text
            for name, witness in witnesses.items():
                verifier = CosignatureVerifier.from_vkey(witness.vkey)
                started = time.perf_counter()
                with Session(engine) as session:
                    proof = (
                        consistency_proof(session, sizes[name], appended.size)
                        if sizes[name]
                        else []
                    )
                answer = http.post(
                    witness.url + "/add-checkpoint",
                    content=add_checkpoint_body(sizes[name], proof, appended.checkpoint),
                )
                assert answer.status_code == 200, answer.text
                assert any(
                    verifier.verify(text, s) is not None
                    for s in parse_signature_lines(answer.text)
                    if verifier.matches(s)
                )
                cosign[name].append(time.perf_counter() - started)
                sizes[name] = appended.size
            started = time.perf_counter()
            digest = checkpoint_digest(appended.checkpoint)
            token = request_token(tsa.url, digest, client=http)
            verify_token(token, digest=digest, trusted_roots=[tsa.root_certificate])
            stamp.append(time.perf_counter() - started)
        base = _median_ms(seal)
        rows = [
            Row(
                group="checkpoint",
                name=f"seal: append {LEAVES_PER_CHECKPOINT:,} leaves, sign",
                value=base,
                unit="ms",
                note="the baseline",
            )
        ]
        for name, samples in cosign.items():
            ms = _median_ms(samples)
            rows.append(
                Row(
                    group="checkpoint",
                    name=f"witness: add-checkpoint to {name}",
                    value=ms,
                    unit="ms",
                    baseline="seal",
                    baseline_value=base,
                    ratio=ms / base,
                    extra={"p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000},
                )
            )
        ms = _median_ms(stamp)
        rows.append(
            Row(
                group="checkpoint",
                name="TSA: RFC 3161 token (openssl ts), checked",
                value=ms,
                unit="ms",
                baseline="seal",
                baseline_value=base,
                ratio=ms / base,
            )
        )
        rows += _verification(tlog, tsa, http, rounds)
        return rows
    finally:
        http.close()
        ours.close()
        lite.close()
        tsa.close()
        engine.dispose()


def _verification(tlog: Any, tsa: Any, http: Any, rounds: int) -> list[Row]:
    """Certificates per second with three cosignatures and a token, against none."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding

    from ipnotary.sdk.certificate import Anchor, record_leaf_hash
    from ipnotary.sdk.merkle import MerkleTree
    from ipnotary.sdk.note import Checkpoint, CosignatureSigner, Note
    from ipnotary.sdk.policy import (
        IssuerKey,
        LogPolicy,
        TimestampAuthority,
        TrustPolicy,
        Witness,
        WitnessPolicy,
    )
    from ipnotary.sdk.timestamp import request_token
    from ipnotary.sdk.verify import verify_certificate
    from ipnotary.service.services.issuer import Issuer, LogFacts

    issuer = Issuer(Ed25519PrivateKey.generate())
    record = {
        "id": "ev_" + "0" * 32,
        "kind": "evidence",
        "schema": 1,
        "holder": {"id": "prn_1", "name": "A"},
        "content": {"size": 1, "sha256": "ab" * 32},
        "received_at": "2026-01-01T00:00:00.000000Z",
    }
    tree = MerkleTree.from_leaf_hashes([record_leaf_hash(record)] * 1 + [bytes(32)] * 999)
    text = Checkpoint(origin=tlog.origin, size=tree.size, root=tree.root).text()
    cosigners = [
        CosignatureSigner(f"bench.example/w{i}", Ed25519PrivateKey.generate()) for i in range(3)
    ]
    stamp = 1_767_225_700  # after the record was received
    plain = Note(text=text, signatures=(tlog.signer.sign(text),))
    attested = Note(
        text=text, signatures=plain.signatures + tuple(c.cosign(text, stamp) for c in cosigners)
    )

    def certificate(note: Note, tokens: list[bytes]) -> bytes:
        return issuer.certificate(
            record=record,
            leaf_hash=record_leaf_hash(record).hex(),
            log=LogFacts(
                origin=tlog.origin,
                leaf_index=0,
                tree_size=tree.size,
                inclusion_proof=tree.audit_path(0),
                checkpoint=note.format(),
            ),
            timestamps=tokens,
            cosignatures=len(note.signatures) - 1,
            anchor=Anchor.of_block(
                chain_id=1337,
                contract="0x" + "12" * 20,
                batch_id=1,
                tx_hash="0x" + "ab" * 32,
                block_number=2,
                block_hash="0x" + "cd" * 32,
                block_timestamp=stamp + 1,
            ),
            issued_at=_now(),
        ).to_json_bytes()

    base_policy = TrustPolicy(
        log=LogPolicy(origin=tlog.origin, keys=[tlog.vkey]),
        issuers=[IssuerKey(public_key=issuer.public_key_b64)],
        require_independent_time=False,
    )
    full_policy = base_policy.model_copy(
        update={
            "witnesses": WitnessPolicy(
                quorum=2, members=[Witness(name=c.name, key=c.vkey()) for c in cosigners]
            ),
            "require_independent_time": True,
        }
    )
    full_policy = full_policy.model_copy(
        update={
            "timestamp_authorities": [
                TimestampAuthority(
                    name="bench TSA",
                    certificates=[tsa.root_certificate.public_bytes(Encoding.PEM).decode()],
                )
            ]
        }
    )
    token = request_token(tsa.url, hashlib.sha256(text.encode()).digest(), client=http)
    bare, full = certificate(plain, []), certificate(attested, [token])
    n = 200 if rounds < 30 else 1000
    rates = []
    for cert, policy in ((bare, base_policy), (full, full_policy)):
        verify_certificate(cert, policy)
        started = time.perf_counter()
        for _ in range(n):
            verify_certificate(cert, policy)
        rates.append(n / (time.perf_counter() - started))
    log(f"verify: {rates[0]:,.0f}/s bare, {rates[1]:,.0f}/s with 3 cosignatures and a token")
    return [
        Row(
            group="checkpoint",
            name="verify: 3 cosignatures + 1 token, per second",
            value=rates[1],
            unit="/s",
            baseline="no attestations",
            baseline_value=rates[0],
            ratio=rates[1] / rates[0],
        )
    ]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


if __name__ == "__main__":
    main_for(run, (__doc__ or "").split("\n\n")[0])
