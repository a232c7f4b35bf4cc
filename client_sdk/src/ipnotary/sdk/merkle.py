"""RFC 9162 (Certificate Transparency v2) Merkle trees: hashing, inclusion and consistency proofs.

Leaves are ``SHA-256(0x00 || data)`` and interior nodes ``SHA-256(0x01 || left || right)``, so a
leaf can never be passed off as a node (the second-preimage attack on naive Merkle trees).

Two ways in:

* :class:`MerkleTree` holds a whole small tree in memory (tests, v1 per-batch certificates).
* The log functions (:func:`tree_root`, :func:`inclusion_proof`, :func:`consistency_proof`) work
  on an append-only log of any size through a :class:`NodeReader`: a callable that returns the
  hash of one *complete* subtree, ``(level, index)`` covering leaves
  ``[index * 2**level, (index + 1) * 2**level)``. Every RFC 9162 tree hash and proof is made of
  such subtrees, which is what lets a log store only them (as C2SP tlog-tiles do) and never
  rebuild a tree. :func:`nodes_needed` lists the subtrees a proof reads, so that a store can fetch
  them in one query. :func:`verify_consistency` and :func:`root_from_inclusion_proof` check proofs.

Why not pymerkle here: it hashes the entries itself (we hold leaf hashes, not entries, when a batch
closes) and its proofs are a path-plus-rule-bits format, not the RFC 9162 audit path that CT and
Sigstore verifiers read. The construction below is the RFC's, level by level; the test suite checks
it against the RFC's recursive definition and against pymerkle's roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "EMPTY_TREE_ROOT",
    "HASH_SIZE",
    "MAX_PROOF_LENGTH",
    "MAX_TREE_SIZE",
    "MerkleTree",
    "NodeReader",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "root_from_inclusion_proof",
    "tree_root",
    "verify_consistency",
]

HASH_SIZE = 32
# A batch never holds more leaves than this; it also bounds the audit path to 63 hashes.
MAX_TREE_SIZE = 1 << 32
# Proofs in a tree of at most 2**63 leaves never hold more hashes (tlog-witness's limit too).
MAX_PROOF_LENGTH = 63
# RFC 9162 section 2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_TREE_ROOT = hashlib.sha256(b"").digest()

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

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree ``(level, index)``: a :class:`NodeReader`."""
        if not 0 <= index < self.size >> level:
            raise IndexError(f"no complete subtree ({level}, {index}) in a tree of {self.size}")
        # Bottom-up pairing carries an unpaired last node upwards unchanged, but the first
        # size >> level nodes of each level are always hashes of complete subtrees.
        return self.levels[level][index]

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


# -- An append-only log, read through its complete subtrees ------------------------------------

NodeReader = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the complete subtree over leaves
``[index << level, (index + 1) << level)``."""


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(start: int, end: int, node: NodeReader) -> bytes:
    """MTH(D[start:end]) for the ranges RFC 9162's recursion produces: ``start`` is always a
    multiple of a power of two at least ``end - start``, so the range splits into complete,
    aligned subtrees."""
    size = end - start
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return node(level, start >> level)
    k = _split(size)
    return node_hash(_subtree_root(start, start + k, node), _subtree_root(start + k, end, node))


def _check_size(size: int) -> None:
    if not 0 <= size < 1 << 63:
        raise ValueError(f"tree size {size} is outside 0..2**63-1")


def tree_root(size: int, node: NodeReader) -> bytes:
    """The root hash of the log's first ``size`` leaves (MTH, RFC 9162 section 2.1.1)."""
    _check_size(size)
    return EMPTY_TREE_ROOT if size == 0 else _subtree_root(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf-side sibling first."""
    _check_size(size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(_subtree_root(start + k, end, node))
            end = start + k
        else:
            path.append(_subtree_root(start, start + k, node))
            start += k
    path.reverse()  # collected root-side first
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 section 2.1.4.1; empty when either size is 0
    or the sizes are equal (nothing to prove)."""
    _check_size(new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove consistency from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, whole = 0, new_size, True  # SUBPROOF(m, D[start:end], b), iteratively
    m = old_size
    while m != end:
        k = _split(end - start)
        if m - start <= k:
            proof.append(_subtree_root(start + k, end, node))
            end = start + k
        else:
            proof.append(_subtree_root(start, start + k, node))
            start += k
            whole = False
    if not whole:
        proof.append(_subtree_root(start, end, node))
    proof.reverse()
    return proof


def nodes_needed(build: Callable[[NodeReader], object]) -> list[tuple[int, int]]:
    """The subtrees ``build`` reads, in order of first use, without real hashes.

    Which subtrees a root or proof needs depends only on the sizes and indexes, never on the
    hashes, so a dry run with placeholder hashes lists them; a store then reads them all at once.
    """
    seen: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return bytes(HASH_SIZE)

    build(record)
    return list(seen)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``new_root`` of ``new_size`` leaves extends ``old_root`` of
    ``old_size`` (RFC 9162 section 2.1.4.2). Raises ``ValueError`` saying what failed."""
    _check_size(new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")
    if len(proof) > MAX_PROOF_LENGTH:
        raise ValueError(f"a consistency proof has at most {MAX_PROOF_LENGTH} hashes")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ValueError("every consistency proof entry must be a 32-byte hash")
    if old_size == 0:
        if proof:
            raise ValueError("a proof from the empty tree must be empty")
        return
    if old_size == new_size:
        if proof:
            raise ValueError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ValueError("the two trees have the same size but different roots")
        return
    if not proof:
        raise ValueError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("the consistency proof is longer than the trees are deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the consistency proof is shorter than the trees are deep")
    if fr != old_root:
        raise ValueError("the proof does not lead to the old root: the old tree is not a prefix")
    if sr != new_root:
        raise ValueError(
            "the proof does not lead to the new root: the log was not only appended to"
        )
