"""The log's tiles: appending in batches of any size gives the RFC 9162 tree, and the tile
layout is C2SP tlog-tiles' (sizes, widths, path spelling)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnotary.sdk.merkle import MerkleTree, inclusion_proof, leaf_hash, tree_root
from ipnotary.service.domain.tiles import (
    TILE_WIDTH,
    TileKey,
    append_leaves,
    decode_tile_index,
    encode_tile_index,
    node_from_tile,
    tile_for_node,
    tiles_for_size,
)


class Store:
    """Tiles in a dict, grown the way the service grows its table."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, bytes] = {}
        self.size = 0
        self.reads: list[TileKey] = []

    def read(self, key: TileKey) -> bytes:
        self.reads.append(key)
        return self.tiles.get(key, b"")

    def append(self, leaves: list[bytes]) -> dict[TileKey, bytes]:
        changed = append_leaves(self.size, leaves, self.read)
        self.tiles.update(changed)
        self.size += len(leaves)
        return changed

    def node(self, level: int, index: int) -> bytes:
        return node_from_tile(level, index, self.tiles.get(tile_for_node(level, index)[0], b""))


def leaves(start: int, count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(8, "big")) for i in range(start, start + count)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=6))
def test_appending_batches_of_any_size_gives_the_rfc_tree(batches: list[int]) -> None:
    store = Store()
    for count in batches:
        store.append(leaves(store.size, count))
    reference = MerkleTree.from_leaf_hashes(leaves(0, store.size))
    assert tree_root(store.size, store.node) == reference.root
    for index in {0, store.size // 2, store.size - 1}:
        assert inclusion_proof(index, store.size, store.node) == reference.audit_path(index)
    # what is stored is exactly tlog-tiles' set of tiles for this size, at their widths
    assert {k: len(v) // 32 for k, v in store.tiles.items()} == tiles_for_size(store.size)


def test_an_append_reads_only_the_rightmost_partial_tiles() -> None:
    store = Store()
    store.append(leaves(0, 70_000))
    store.reads.clear()
    changed = store.append(leaves(70_000, 3))
    assert store.reads == [TileKey(0, 273)]  # level 0's partial tile; nothing above fills up
    assert set(changed) == {TileKey(0, 273)}
    assert tree_root(store.size, store.node) == MerkleTree.from_leaf_hashes(leaves(0, 70_003)).root


def test_filling_a_tile_carries_its_root_up_a_level() -> None:
    store = Store()
    store.append(leaves(0, 255))
    changed = store.append(leaves(255, 1))
    assert set(changed) == {TileKey(0, 0), TileKey(1, 0)}
    assert len(changed[TileKey(1, 0)]) == 32
    assert changed[TileKey(1, 0)] == MerkleTree.from_leaf_hashes(leaves(0, 256)).root


def test_tile_sizes_follow_the_spec_example() -> None:
    # tlog-tiles: "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
    # partial level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of
    # width 17, and one partial level 2 tile of width 1"
    tiles = tiles_for_size(70_000)
    assert sum(1 for k, w in tiles.items() if k.level == 0 and w == TILE_WIDTH) == 273
    assert tiles[TileKey(0, 273)] == 112
    assert tiles[TileKey(1, 0)] == TILE_WIDTH and tiles[TileKey(1, 1)] == 17
    assert tiles[TileKey(2, 0)] == 1 and len(tiles) == 277
    assert tiles_for_size(256) == {TileKey(0, 0): 256, TileKey(1, 0): 1}
    assert tiles_for_size(0) == {}


@pytest.mark.parametrize(
    ("index", "path"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
    ],
)
def test_tile_index_paths(index: int, path: str) -> None:
    assert encode_tile_index(index) == path
    assert decode_tile_index(path) == index


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1",
        "0001",
        "x000/001",
        "001/002",
        "x001/x002",
        "x1/002",
        "abc",
        "-01",
        "x001/00a",
        "x001//001",
    ],
)
def test_tile_index_paths_refuse_other_spellings(bad: str) -> None:
    with pytest.raises(ValueError):
        decode_tile_index(bad)


def test_a_node_beyond_the_stored_log_is_not_made_up() -> None:
    store = Store()
    store.append(leaves(0, 5))
    with pytest.raises(LookupError, match="not complete"):
        store.node(3, 0)  # would need 8 leaves


def test_an_inconsistent_stored_tile_is_detected() -> None:
    store = Store()
    store.append(leaves(0, 10))
    with pytest.raises(ValueError, match="inconsistent"):
        append_leaves(12, leaves(12, 1), store.read)  # the database says 12, the tile holds 10
