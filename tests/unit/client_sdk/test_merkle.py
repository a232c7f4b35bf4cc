"""RFC 9162 Merkle trees: our level-wise builder against the RFC's recursive definition."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client_sdk.merkle import (
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
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
        return rfc_path(m, entries[:k]) + [rfc_mth(entries[k:])]
    return rfc_path(m - k, entries[k:]) + [rfc_mth(entries[:k])]


def test_domain_separation_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


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
        try:
            assert root_from_inclusion_proof(leaves[m], other, n, path) != tree.root
        except ValueError:
            pass
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
        root_from_inclusion_proof(leaves[3], 3, 8, path + [b"\x00" * 32])
    with pytest.raises(ValueError, match="outside"):
        root_from_inclusion_proof(leaves[3], 8, 8, path)


def test_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        MerkleTree.from_leaf_hashes([])
