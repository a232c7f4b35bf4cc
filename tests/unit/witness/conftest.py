"""Fixtures for the witness tests: a fresh witness directory with a fixed clock, and a log to feed
it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.merkle import MerkleTree, consistency_proof, leaf_hash
from ipnotary.sdk.note import Checkpoint, Note, NoteSigner, sign_note
from ipnotary.witness.protocol import Witness, init_witness, open_witness

ORIGIN = "example.com/witnessed-log"
NOW = 1_750_000_000


class FakeLog:
    """An in-memory append-only log that signs its checkpoints."""

    def __init__(self, origin: str = ORIGIN, signer: NoteSigner | None = None) -> None:
        self.origin = origin
        self.signer = signer or NoteSigner(origin, Ed25519PrivateKey.generate())
        self.entries = [b"entry %d" % i for i in range(64)]

    def tree(self, size: int) -> MerkleTree:
        return MerkleTree.from_leaf_hashes([leaf_hash(e) for e in self.entries[:size]])

    def checkpoint(self, size: int) -> Checkpoint:
        return Checkpoint(self.origin, size, self.tree(size).root)

    def note(self, size: int) -> Note:
        return sign_note(self.checkpoint(size).text(), self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(old, new, self.tree(new).node)

    def body(self, old: int, new: int, proof: Sequence[bytes] | None = None) -> bytes:
        return request_body(old, self.proof(old, new) if proof is None else proof, self.note(new))


def request_body(old: int, proof: Sequence[bytes], note: Note | str) -> bytes:
    text = note.format() if isinstance(note, Note) else note
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{text}".encode()


@pytest.fixture
def witness_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "witness"
    init_witness(directory, "witness.example/unit")
    return directory


@pytest.fixture
def log() -> FakeLog:
    return FakeLog()


@pytest.fixture
def witness(witness_dir: Path, log: FakeLog) -> Witness:
    w = open_witness(witness_dir, clock=lambda: NOW)
    w.add_log(log.origin, log.signer.vkey())
    return w
