"""``notary witness serve`` as a real process, side by side with torchwood's litewitness v0.6.1.

Both witnesses follow the same log and get the same requests: they must cosign the same honest
sequence, refuse the same stale, forged, forked and inconsistent checkpoints, and end holding the
same tree. Where litewitness v0.6.1 departs from the current c2sp.org/tlog-witness text (unknown
origin 403 instead of 404, same-size fork 422 instead of 409) the test asserts both answers and
that neither cosigns. Then ``kill -9`` and a restart: the state is still there and a rollback is
still refused.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.merkle import MerkleTree, consistency_proof, leaf_hash
from ipnotary.sdk.note import (
    Checkpoint,
    CosignatureVerifier,
    Note,
    NoteSigner,
    parse_signature_lines,
    sign_note,
)
from tests.integration.conftest import record_measurement
from tests.integration.torchwood import (
    LiteWitness,
    NotaryWitness,
    add_checkpoint_body,
    litewitness,
    notary_witness,
)

__all__ = ["litewitness", "notary_witness"]  # fixtures, imported so that pytest finds them

ORIGIN = "example.com/witnessed-notary-log"
CLOCK_SKEW = 5

Witnesses = tuple[NotaryWitness, LiteWitness]


class Log:
    def __init__(self, signer: NoteSigner, entries: list[bytes]) -> None:
        self.signer = signer
        self.entries = entries

    def tree(self, size: int) -> MerkleTree:
        return MerkleTree.from_leaf_hashes([leaf_hash(e) for e in self.entries[:size]])

    def note(self, size: int) -> Note:
        tree = self.tree(size)
        return sign_note(Checkpoint(ORIGIN, size, tree.root).text(), self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, self.tree(new).node)


@pytest.fixture
def log() -> Log:
    return Log(
        NoteSigner(ORIGIN, Ed25519PrivateKey.generate()),
        [b"evidence record %d" % i for i in range(40)],
    )


@pytest.fixture
def both(notary_witness: NotaryWitness, litewitness: LiteWitness, log: Log) -> Witnesses:
    for witness in (notary_witness, litewitness):
        witness.add_log(ORIGIN, log.signer.vkey())
    return notary_witness, litewitness


def _statuses(witnesses: Witnesses, old: int, proof: list[bytes], note: Note) -> list[int]:
    return [w.add_checkpoint(old, proof, note).status_code for w in witnesses]


def _cosign_both(witnesses: Witnesses, log: Log, old: int, new: int) -> None:
    note = log.note(new)
    for witness in witnesses:
        response = witness.add_checkpoint(old, log.proof(old, new), note)
        assert response.status_code == 200, (witness.name, response.text)
        (cosig,) = parse_signature_lines(response.content)
        timestamp = CosignatureVerifier.from_vkey(witness.vkey).verify(note.text, cosig)
        assert timestamp is not None, witness.name
        assert abs(timestamp - time.time()) <= CLOCK_SKEW


def test_both_witnesses_cosign_the_same_honest_sequence(both: Witnesses, log: Log) -> None:
    old = 0
    for new in (1, 2, 5, 8, 8, 13, 21, 34):
        _cosign_both(both, log, old, new)
        old = new
    ours, theirs = both
    assert ours.tree(ORIGIN) == theirs.tree(ORIGIN) == (34, log.tree(34).root)


def test_both_witnesses_refuse_the_same_requests(both: Witnesses, log: Log) -> None:
    ours, theirs = both
    _cosign_both(both, log, 0, 10)

    # Stale old size: 409 with the size each witness holds, as text/x.tlog.size.
    for witness in both:
        response = witness.add_checkpoint(4, log.proof(4, 12), log.note(12))
        assert response.status_code == 409
        assert response.headers["content-type"] == "text/x.tlog.size"
        assert response.text == "10\n"

    # Signed by another key under the log's name: 403 from both.
    impostor = Log(NoteSigner(ORIGIN, Ed25519PrivateKey.generate()), log.entries)
    assert _statuses(both, 10, impostor.proof(10, 12), impostor.note(12)) == [403, 403]

    # Old size above the checkpoint size: 400 from both.
    assert _statuses(both, 10, [], log.note(8)) == [400, 400]

    # A proof that does not verify: 422 from both.
    proof = log.proof(10, 12)
    bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert _statuses(both, 10, bad, log.note(12)) == [422, 422]

    # The operator rewrites history under the real key. Same size: the spec says 409 (ours);
    # litewitness v0.6.1 fails its consistency check instead (422). Neither cosigns.
    fork = Log(log.signer, list(log.entries))
    fork.entries[3] = b"backdated record"
    assert _statuses(both, 10, [], fork.note(10)) == [409, 422]
    # Longer, with a proof that holds within the fork: 422 from both.
    assert _statuses(both, 10, fork.proof(10, 15), fork.note(15)) == [422, 422]

    # A log neither follows: the spec says 404 (ours); litewitness v0.6.1 answers 403.
    stranger = NoteSigner("example.com/unfollowed", Ed25519PrivateKey.generate())
    note = sign_note(Checkpoint("example.com/unfollowed", 1, bytes(32)).text(), stranger)
    assert _statuses(both, 0, [], note) == [404, 403]

    assert ours.tree(ORIGIN) == theirs.tree(ORIGIN) == (10, log.tree(10).root)
    _cosign_both(both, log, 10, 12)  # the honest log goes on


def test_kill_9_then_restart_keeps_the_state(notary_witness: NotaryWitness, log: Log) -> None:
    witness = notary_witness
    witness.add_log(ORIGIN, log.signer.vkey())
    for old, new in ((0, 3), (3, 9)):
        response = witness.add_checkpoint(old, log.proof(old, new), log.note(new))
        assert response.status_code == 200

    witness.kill()
    witness.start()

    # A rollback to an earlier, smaller tree (as an operator rebuilding the log would try).
    response = witness.add_checkpoint(0, [], log.note(5))
    assert (response.status_code, response.text) == (409, "9\n")
    fork = Log(log.signer, list(log.entries))
    fork.entries[0] = b"rebuilt"
    assert witness.add_checkpoint(9, [], fork.note(9)).status_code == 409
    # Same key after the restart, and the honest log continues from 9.
    response = witness.add_checkpoint(9, log.proof(9, 11), log.note(11))
    assert response.status_code == 200
    (cosig,) = parse_signature_lines(response.content)
    assert CosignatureVerifier.from_vkey(witness.vkey).verify(log.note(11).text, cosig)
    assert witness.tree(ORIGIN) == (11, log.tree(11).root)


def test_request_latency(both: Witnesses, log: Log) -> None:
    """Not an assertion on speed: the figures go to the end-of-run summary. One keep-alive client
    per witness, as the spec asks of logs (a new httpx client per request costs ~20 ms itself)."""
    figures = []
    for witness in both:
        latencies = []
        old = 0
        with httpx.Client(base_url=witness.url, timeout=10) as client:
            for new in range(1, 31):
                body = add_checkpoint_body(old, log.proof(old, new), log.note(new))
                started = time.perf_counter()
                response = client.post("/add-checkpoint", content=body)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200
                old = new
        figures.append(f"{witness.name} {statistics.median(latencies) * 1000:.1f} ms")
    record_measurement("add-checkpoint median over 30 keep-alive requests: " + ", ".join(figures))
