"""RFC 9162 (Certificate Transparency v2) Merkle trees: leaf/node hashing, audit paths, inclusion.

Leaves are ``SHA-256(0x00 || data)`` and interior nodes ``SHA-256(0x01 || left || right)``, so a leaf
can never be passed off as a node (the second-preimage attack on naive Merkle trees).

Why not pymerkle here: it hashes the entries itself (we hold leaf hashes, not entries, when a batch
closes) and its proofs are a path-plus-rule-bits format, not the RFC 9162 audit path that CT and
Sigstore verifiers read. The construction below is the RFC's, level by level; the test suite checks
it against the RFC's recursive definition and against pymerkle's roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
]

HASH_SIZE = 32
# A batch never holds more leaves than this; it also bounds the audit path to 63 hashes.
MAX_TREE_SIZE = 1 << 32

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf entry (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree over leaf hashes; level 0 is the leaves, the last level the root.

    RFC 9162 splits a tree of n leaves at the largest power of two below n. Built bottom-up, that
    is the same as pairing neighbours on each level and carrying an unpaired last node up
    unchanged, which lets one pass produce every audit path in O(log n) each.
    """

    levels: tuple[tuple[bytes, ...], ...]

    @classmethod
    def from_leaf_hashes(cls, leaves: Sequence[bytes]) -> MerkleTree:
        if not leaves:
            raise ValueError("a Merkle batch needs at least one leaf")
        if len(leaves) > MAX_TREE_SIZE:
            raise ValueError(f"a Merkle batch holds at most {MAX_TREE_SIZE} leaves")
        level = tuple(leaves)
        levels = [level]
        while len(level) > 1:
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = tuple(nxt)
            levels.append(level)
        return cls(tuple(levels))

    @property
    def size(self) -> int:
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def audit_path(self, index: int) -> list[bytes]:
        """The RFC 9162 inclusion proof for leaf ``index``, leaf-side sibling first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} outside a tree of {self.size}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        return path


def root_from_inclusion_proof(
    leaf: bytes, index: int, tree_size: int, audit_path: Sequence[bytes]
) -> bytes:
    """Recompute the root from a leaf hash and its audit path (RFC 9162 section 2.1.3.2).

    Raises ``ValueError`` when the path cannot belong to a tree of that size; the caller compares
    the returned root with the anchored one.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    if tree_size > MAX_TREE_SIZE:
        raise ValueError(f"tree size {tree_size} is over the limit of {MAX_TREE_SIZE}")
    fn, sn, r = index, tree_size - 1, leaf
    for p in audit_path:
        if len(p) != HASH_SIZE:
            raise ValueError("every audit path entry must be a 32-byte hash")
        if sn == 0:
            raise ValueError("audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path is shorter than the tree is deep")
    return r
