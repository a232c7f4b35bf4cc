"""RFC 9162 Merkle trees: our level-wise builder against the RFC's recursive definition."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnotary.sdk.merkle import (
    EMPTY_TREE_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_needed,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
)


def rfc_mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 section 2.1.1 writes it."""
    n = len(entries)
    if n == 1:
        return leaf_hash(entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(rfc_mth(entries[:k]), rfc_mth(entries[k:]))


def rfc_path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from RFC 9162 section 2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*rfc_path(m, entries[:k]), rfc_mth(entries[k:])]
    return [*rfc_path(m - k, entries[k:]), rfc_mth(entries[:k])]


def test_domain_separation_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 257])
def test_root_and_every_path_match_the_rfc(n: int) -> None:
    entries = [i.to_bytes(4, "big") for i in range(n)]
    tree = MerkleTree.from_leaf_hashes([leaf_hash(e) for e in entries])
    assert tree.root == rfc_mth(entries)
    for m in range(n):
        path = tree.audit_path(m)
        assert path == rfc_path(m, entries)
        assert root_from_inclusion_proof(leaf_hash(entries[m]), m, n, path) == tree.root


def test_root_matches_pymerkle() -> None:
    pymerkle = pytest.importorskip("pymerkle")
    entries = [f"entry {i}".encode() for i in range(37)]
    other = pymerkle.InmemoryTree(algorithm="sha256")
    for e in entries:
        other.append_entry(e)
    assert MerkleTree.from_leaf_hashes([leaf_hash(e) for e in entries]).root == other.get_root()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=300), data=st.data())
def test_any_tampering_changes_the_root(n: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    tree = MerkleTree.from_leaf_hashes(leaves)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    path = tree.audit_path(m)
    assert root_from_inclusion_proof(leaves[m], m, n, path) == tree.root
    # Another leaf, another index or another size never reproduces the root.
    assert root_from_inclusion_proof(leaf_hash(b"forged"), m, n, path) != tree.root
    if n > 1:
        other = (m + 1) % n
        with contextlib.suppress(ValueError):
            assert root_from_inclusion_proof(leaves[m], other, n, path) != tree.root
    if path:
        i = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bad = list(path)
        bad[i] = bytes(b ^ 0xFF for b in bad[i])
        assert root_from_inclusion_proof(leaves[m], m, n, bad) != tree.root


def test_wrong_path_length_is_refused() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(8)]
    tree = MerkleTree.from_leaf_hashes(leaves)
    path = tree.audit_path(3)
    with pytest.raises(ValueError, match="shorter"):
        root_from_inclusion_proof(leaves[3], 3, 8, path[:-1])
    with pytest.raises(ValueError, match="longer"):
        root_from_inclusion_proof(leaves[3], 3, 8, [*path, b"\x00" * 32])
    with pytest.raises(ValueError, match="outside"):
        root_from_inclusion_proof(leaves[3], 8, 8, path)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        MerkleTree.from_leaf_hashes([])


# -- The append-only log: roots and proofs read through complete subtrees -------------------------


def rfc_subproof(m: int, entries: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from RFC 9162 section 2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if whole else [rfc_mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*rfc_subproof(m, entries[:k], whole), rfc_mth(entries[k:])]
    return [*rfc_subproof(m - k, entries[k:], False), rfc_mth(entries[:k])]


LOG_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 32, 33, 100]


@pytest.mark.parametrize("n", LOG_SIZES)
def test_log_roots_and_proofs_from_complete_subtrees_match_the_rfc(n: int) -> None:
    entries = [i.to_bytes(4, "big") for i in range(n)]
    tree = MerkleTree.from_leaf_hashes([leaf_hash(e) for e in entries])
    for size in range(1, n + 1):
        assert tree_root(size, tree.node) == rfc_mth(entries[:size])
        for m in range(size):
            assert inclusion_proof(m, size, tree.node) == rfc_path(m, entries[:size])
        for old in range(1, size):
            proof = consistency_proof(old, size, tree.node)
            assert proof == rfc_subproof(old, entries[:size], True)
            verify_consistency(old, size, rfc_mth(entries[:old]), rfc_mth(entries[:size]), proof)


def test_empty_and_equal_sizes() -> None:
    tree = MerkleTree.from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b")])
    assert tree_root(0, tree.node) == hashlib.sha256(b"").digest() == EMPTY_TREE_ROOT
    assert consistency_proof(0, 2, tree.node) == [] == consistency_proof(2, 2, tree.node)
    verify_consistency(0, 2, EMPTY_TREE_ROOT, tree.root, [])
    verify_consistency(2, 2, tree.root, tree.root, [])
    with pytest.raises(ValueError, match="same size but different roots"):
        verify_consistency(2, 2, tree.root, EMPTY_TREE_ROOT, [])
    with pytest.raises(ValueError, match="must be empty"):
        verify_consistency(0, 2, EMPTY_TREE_ROOT, tree.root, [tree.root])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.data())
def test_a_forked_or_altered_log_never_proves_consistent(n: int, data: st.DataObject) -> None:
    """Changing any one leaf of the old tree, or any proof hash, fails."""
    old = data.draw(st.integers(1, n))
    entries = [i.to_bytes(4, "big") for i in range(n)]
    tree = MerkleTree.from_leaf_hashes([leaf_hash(e) for e in entries])
    proof = consistency_proof(old, n, tree.node)
    old_root, new_root = tree_root(old, tree.node), tree.root
    verify_consistency(old, n, old_root, new_root, proof)

    forked = list(entries)
    forked[data.draw(st.integers(0, old - 1))] = b"forged"
    forked_root = rfc_mth(forked[:old])
    with pytest.raises(ValueError):
        verify_consistency(old, n, forked_root, new_root, proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[i] = bytes(b ^ 1 for b in bad[i][:1]) + bad[i][1:]
        with pytest.raises(ValueError):
            verify_consistency(old, n, old_root, new_root, bad)


def test_nodes_needed_lists_what_a_proof_reads_once() -> None:
    tree = MerkleTree.from_leaf_hashes([leaf_hash(bytes([i])) for i in range(13)])
    needed = nodes_needed(lambda node: inclusion_proof(5, 13, node))
    assert len(needed) == len(set(needed))
    read: list[tuple[int, int]] = []

    def counting(level: int, index: int) -> bytes:
        read.append((level, index))
        return tree.node(level, index)

    inclusion_proof(5, 13, counting)
    assert needed == list(dict.fromkeys(read))
    # every subtree a proof reads is complete: a log only ever stores complete subtrees
    assert all((i + 1) << lvl <= 13 for lvl, i in needed)


def test_consistency_proofs_match_pymerkle() -> None:
    """An independent implementation agrees on the consistency check (pymerkle's own proofs
    verify our roots, and our proofs are the RFC's)."""
    pymerkle = pytest.importorskip("pymerkle")
    t = pymerkle.InmemoryTree(algorithm="sha256")
    for i in range(37):
        t.append_entry(i.to_bytes(4, "big"))
    ours = MerkleTree.from_leaf_hashes([leaf_hash(i.to_bytes(4, "big")) for i in range(37)])
    for old in (1, 5, 16, 30):
        assert t.get_root(old) == tree_root(old, ours.node)
        proof = t.prove_consistency(old, 37)
        pymerkle.verify_consistency(t.get_root(old), t.get_root(37), proof)
        verify_consistency(
            old, 37, tree_root(old, ours.node), ours.root, consistency_proof(old, 37, ours.node)
        )
