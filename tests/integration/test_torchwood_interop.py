"""Our C2SP checkpoints, cosignature verifier and proof bundles against torchwood v0.6.1.

litewitness is an independent tlog-witness: it verifies our log's Ed25519 note signatures, our
consistency proofs (``ipnotary.sdk.merkle.consistency_proof``) and our checkpoint text, and its
cosignatures must pass our :class:`~ipnotary.sdk.note.CosignatureVerifier`. spicy is an independent
offline proof checker (Go's ``sumdb/note`` and ``sumdb/tlog``): it must accept the bundles we export
and refuse them after a one-byte change, and we must read the bundles it writes.

Where litewitness v0.6.1 answers differently from the current c2sp.org/tlog-witness text, the test
pins what it does and says so: an unknown origin is 403 "unknown log" (the spec says 404), and a
same-size checkpoint with another root is 422 (its consistency check fails; the spec says 409).
``notary witness`` follows the spec (``tests/integration/test_witness_process.py``).
"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.merkle import EMPTY_TREE_ROOT, MerkleTree, consistency_proof, leaf_hash
from ipnotary.sdk.note import (
    Checkpoint,
    CosignatureVerifier,
    Note,
    NoteSigner,
    parse_note,
    parse_signature_lines,
    sign_note,
)
from ipnotary.sdk.tlog_proof import format_spicy_bundle, parse_spicy_bundle
from tests.integration.torchwood import LiteWitness, litewitness, run_spicy, spicy_binary

__all__ = ["litewitness"]  # the fixture, imported so that pytest finds it

ORIGIN = "example.com/notary-interop-log"
CLOCK_SKEW = 5  # seconds between our clock and litewitness's (same machine)


class GrowingLog:
    """An append-only log held in memory: entries, their RFC 9162 tree, signed checkpoints."""

    def __init__(self, origin: str = ORIGIN, signer: NoteSigner | None = None) -> None:
        self.origin = origin
        self.signer = signer or NoteSigner(origin, Ed25519PrivateKey.generate())
        self.entries: list[bytes] = []

    def append(self, *entries: bytes) -> None:
        self.entries.extend(entries)

    def tree(self, size: int | None = None) -> MerkleTree:
        size = len(self.entries) if size is None else size
        return MerkleTree.from_leaf_hashes([leaf_hash(e) for e in self.entries[:size]])

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        tree = self.tree(size)
        return Checkpoint(self.origin, tree.size, tree.root)

    def note(self, size: int | None = None) -> Note:
        return sign_note(self.checkpoint(size).text(), self.signer)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(old_size, new_size, self.tree(new_size).node)


def grown(n: int, prefix: bytes = b"record") -> GrowingLog:
    log = GrowingLog()
    log.append(*(prefix + b" %d" % i for i in range(n)))
    return log


def registered(witness: LiteWitness, log: GrowingLog) -> GrowingLog:
    witness.add_log(log.origin, log.signer.vkey())
    return log


def cosign(witness: LiteWitness, log: GrowingLog, old: int, new: int) -> Note:
    """Submit ``log``'s checkpoint at ``new`` with a proof from ``old``; expect a cosignature."""
    note = log.note(new)
    response = witness.add_checkpoint(old, log.consistency(old, new), note)
    assert response.status_code == 200, response.text
    return note.with_signatures(*parse_signature_lines(response.content))


def test_litewitness_prints_the_vkey_we_compute(litewitness: LiteWitness) -> None:
    assert litewitness.printed_vkey() == litewitness.vkey
    assert CosignatureVerifier.from_vkey(litewitness.vkey).name == litewitness.name


def test_litewitness_cosigns_a_growing_log_and_we_verify_it(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(21))
    witness = CosignatureVerifier.from_vkey(litewitness.vkey)
    old = 0
    for new in (1, 2, 3, 8, 13, 16, 21):
        cosigned = cosign(litewitness, log, old, new)
        (cosig,) = [s for s in cosigned.signatures if witness.matches(s)]
        timestamp = witness.verify(cosigned.text, cosig)
        assert timestamp is not None
        assert abs(timestamp - time.time()) <= CLOCK_SKEW
        assert cosigned.signed_by(log.signer.verifier()) and cosigned.signed_by(witness)
        assert parse_note(cosigned.format()) == cosigned
        assert witness.verify(Checkpoint(ORIGIN, new, bytes(32)).text(), cosig) is None
        assert litewitness.tree(ORIGIN) == (new, log.tree(new).root)
        old = new


def test_resubmitting_the_same_checkpoint_is_cosigned_again(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(5))
    cosign(litewitness, log, 0, 5)
    cosign(litewitness, log, 5, 5)


def test_unknown_origin_is_refused(litewitness: LiteWitness) -> None:
    registered(litewitness, grown(3))
    stranger = GrowingLog(origin="example.com/unknown-log")
    stranger.append(b"a", b"b")
    response = litewitness.add_checkpoint(0, [], stranger.note())
    # c2sp.org/tlog-witness says 404; litewitness v0.6.1 answers 403 "unknown log".
    assert response.status_code == 403
    assert "unknown log" in response.text


def test_checkpoint_signed_by_another_key_is_403(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(3))
    impostor = GrowingLog(signer=NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
    impostor.entries = list(log.entries)
    response = litewitness.add_checkpoint(0, [], impostor.note())
    assert response.status_code == 403
    assert litewitness.tree(ORIGIN) == (0, EMPTY_TREE_ROOT)


def test_stale_old_size_is_409_with_the_witness_size(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(9))
    cosign(litewitness, log, 0, 6)
    for old in (0, 3, 7):
        response = litewitness.add_checkpoint(old, log.consistency(old, 9), log.note(9))
        assert response.status_code == 409
        assert response.headers["content-type"] == "text/x.tlog.size"
        assert response.text == "6\n"
    # A rollback: an older checkpoint that is consistent but smaller than what it cosigned.
    response = litewitness.add_checkpoint(6, [], log.note(4))
    assert response.status_code == 400  # old size above the checkpoint size
    assert litewitness.tree(ORIGIN) == (6, log.tree(6).root)


def test_bad_consistency_proof_is_422(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(11))
    cosign(litewitness, log, 0, 5)
    proof = log.consistency(5, 11)
    for position in range(len(proof)):
        bad = list(proof)
        bad[position] = bytes([bad[position][0] ^ 1]) + bad[position][1:]
        response = litewitness.add_checkpoint(5, bad, log.note(11))
        assert response.status_code == 422, position
    response = litewitness.add_checkpoint(5, proof[:-1], log.note(11))
    assert response.status_code == 422
    assert litewitness.tree(ORIGIN) == (5, log.tree(5).root)
    cosign(litewitness, log, 5, 11)  # the honest proof still works


def test_forks_are_refused(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(8))
    cosign(litewitness, log, 0, 8)
    # The operator rewrites history: same size, one entry changed, signed with the real key.
    fork = GrowingLog(signer=log.signer)
    fork.entries = list(log.entries)
    fork.entries[2] = b"backdated record"
    response = litewitness.add_checkpoint(8, [], fork.note(8))
    # c2sp.org/tlog-witness says 409 for the same size with another root; litewitness v0.6.1
    # runs its consistency check on it and answers 422. Either way: no cosignature.
    assert response.status_code == 422
    # A longer fork with a proof that is consistent *within the fork* does not help either.
    fork.append(b"more", b"records")
    response = litewitness.add_checkpoint(8, fork.consistency(8, 10), fork.note(10))
    assert response.status_code == 422
    assert litewitness.tree(ORIGIN) == (8, log.tree(8).root)


def test_state_survives_kill_and_restart(litewitness: LiteWitness) -> None:
    log = registered(litewitness, grown(7))
    cosign(litewitness, log, 0, 7)
    litewitness.kill()
    litewitness.start()
    response = litewitness.add_checkpoint(0, [], log.note(3))
    assert (response.status_code, response.text) == (409, "7\n")
    log.append(b"after restart")
    cosign(litewitness, log, 7, 8)


# -- spicy -------------------------------------------------------------------------------------


def _export(tmp_path: Path, log: GrowingLog, index: int, note: Note) -> Path:
    """Write entry ``index`` as a file with its ``.spicy`` bundle next to it."""
    entry = tmp_path / f"record-{index}.bin"
    entry.write_bytes(log.entries[index])
    tree = log.tree(int(Checkpoint.parse(note.text).size))
    bundle = format_spicy_bundle(index, tree.audit_path(index), note)
    Path(f"{entry}.spicy").write_text(bundle, encoding="utf-8")
    return entry


def _assert_verified(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stderr


def _assert_refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stderr
    assert "verified!" not in result.stderr


def test_spicy_verifies_our_bundles_with_witness_cosignatures(
    litewitness: LiteWitness, tmp_path: Path
) -> None:
    log = registered(litewitness, grown(13, prefix=b"evidence"))
    cosigned = cosign(litewitness, log, 0, 13)
    for index in (0, 6, 12):
        _assert_verified(run_spicy(log.signer.vkey(), _export(tmp_path, log, index, cosigned)))


def test_spicy_refuses_a_bundle_after_one_byte_changes(tmp_path: Path) -> None:
    log = grown(10, prefix=b"evidence")
    entry = _export(tmp_path, log, 4, log.note())
    _assert_verified(run_spicy(log.signer.vkey(), entry))
    original_entry, bundle_path = entry.read_bytes(), Path(f"{entry}.spicy")
    original_bundle = bundle_path.read_text()

    entry.write_bytes(bytes([original_entry[0] ^ 1]) + original_entry[1:])
    _assert_refused(run_spicy(log.signer.vkey(), entry))
    entry.write_bytes(original_entry)

    lines = original_bundle.split("\n")
    for line_number in range(1, 1 + len(log.tree().audit_path(4))):
        raw = bytearray(base64.b64decode(lines[line_number]))
        raw[len(raw) // 2] ^= 0x80
        tampered = list(lines)
        tampered[line_number] = base64.b64encode(bytes(raw)).decode()
        bundle_path.write_text("\n".join(tampered))
        _assert_refused(run_spicy(log.signer.vkey(), entry))

    bundle_path.write_text(original_bundle.replace("index 4", "index 5"))
    _assert_refused(run_spicy(log.signer.vkey(), entry))
    bundle_path.write_text(original_bundle)
    _assert_refused(run_spicy(NoteSigner(ORIGIN, Ed25519PrivateKey.generate()).vkey(), entry))
    _assert_verified(run_spicy(log.signer.vkey(), entry))


def test_we_read_the_bundles_spicy_writes(tmp_path: Path) -> None:
    spicy = spicy_binary()
    key, assets = tmp_path / "log.key", tmp_path / "assets"
    assets.mkdir()
    subprocess.run(
        [spicy, "-init", "example.com/spicy-log", "-key", str(key), "-assets", str(assets)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = []
    for i in range(5):
        files.append(tmp_path / f"file-{i}.txt")
        files[-1].write_bytes(b"spicy entry %d\n" % i)
    subprocess.run(
        [spicy, "-key", str(key), "-assets", str(assets), *map(str, files)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    signer = NoteSigner.from_skey(key.read_text().strip())  # Go's skey format, read by us
    for i, file in enumerate(files):
        proof = parse_spicy_bundle(Path(f"{file}.spicy").read_text(encoding="utf-8"))
        assert proof.index == i
        assert proof.checkpoint.origin == "example.com/spicy-log"
        assert proof.checkpoint.size == 5
        assert proof.note.signed_by(signer.verifier())
        assert proof.proves_inclusion_of(leaf_hash(file.read_bytes()))
        assert not proof.proves_inclusion_of(leaf_hash(file.read_bytes() + b"x"))
    # The log spicy keeps is the same RFC 9162 tree ours computes.
    ours = MerkleTree.from_leaf_hashes([leaf_hash(f.read_bytes()) for f in files])
    assert proof.checkpoint.root == ours.root


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 31, 32, 33])
def test_spicy_agrees_on_every_leaf_of_small_trees(tmp_path: Path, size: int) -> None:
    log = grown(size, prefix=b"leaf")
    note = log.note()
    entries = [_export(tmp_path, log, i, note) for i in range(size)]
    result = subprocess.run(
        [spicy_binary(), "-verify", log.signer.vkey(), *map(str, entries)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _assert_verified(result)
