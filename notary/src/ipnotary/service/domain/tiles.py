"""The log's storage layout: C2SP tlog-tiles, as pure functions (no database here).

The one append-only log keeps only its *tiles*: a tile at level ``L`` and index ``N`` is the
concatenation of up to 256 consecutive Merkle Tree Hashes at tree height ``8 * L``, so level 0
tiles hold the leaf hashes and each hash of a level ``L + 1`` tile is the root of one *full* tile
at level ``L`` (https://c2sp.org/tlog-tiles). Every complete subtree the RFC 9162 proofs read
(``ipnotary.sdk.merkle.NodeReader``) can be computed from one tile by hashing at most 255 nodes, so
a proof for any leaf at any tree size reads a handful of tiles and no tree is ever rebuilt.

Why tiles rather than one row per node: appending a batch rewrites only the rightmost tile of
each level (a few rows per batch instead of two per leaf), the same bytes are what the log serves
to anyone at ``/log/tile/...`` (cacheable, immutable once full), and it is the layout of the Go
checksum database, Sunlight and Sigsum, whose clients can read it.

Start with :func:`append_leaves` (what a batch changes) and :func:`node_from_tile`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ipnotary.sdk.merkle import HASH_SIZE, node_hash
from ipnotary.sdk.numerals import is_ascii_digits

__all__ = [
    "MAX_TILE_INDEX",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileKey",
    "TileReader",
    "append_leaves",
    "decode_tile_index",
    "encode_tile_index",
    "node_from_tile",
    "read_nodes",
    "tile_for_node",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8 KiB
MAX_LEVEL = 63
MAX_TILE_INDEX = 2**63 - 1  # the tile table's index column is 64-bit


@dataclass(frozen=True, order=True)
class TileKey:
    level: int
    index: int


TileReader = Callable[[TileKey], bytes]
"""Returns the stored hashes of a tile (its current width), or ``b""`` if it does not exist."""


def tile_for_node(level: int, index: int) -> tuple[TileKey, int, int]:
    """Where the complete subtree ``(level, index)`` lives: its tile, the offset of its first
    hash in that tile (in hashes) and how many tile hashes it spans."""
    tile_level, height = divmod(level, TILE_HEIGHT)
    first = index << height  # index of its first node at tree height 8 * tile_level
    return TileKey(tile_level, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << height


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree over ``hashes`` (a power of two of them)."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def node_from_tile(level: int, index: int, tile: bytes) -> bytes:
    """The hash of the complete subtree ``(level, index)`` from the bytes of its tile."""
    _, offset, count = tile_for_node(level, index)
    end = (offset + count) * HASH_SIZE
    if len(tile) < end:
        raise LookupError(
            f"the subtree ({level}, {index}) is not complete in the stored log "
            f"(its tile holds {len(tile) // HASH_SIZE} hashes, {offset + count} needed)"
        )
    return _perfect_root(_split_hashes(tile[offset * HASH_SIZE : end]))


def append_leaves(
    size: int, leaf_hashes: Sequence[bytes], read: TileReader
) -> dict[TileKey, bytes]:
    """The tiles that change when ``leaf_hashes`` are appended to a log of ``size`` leaves.

    Returns each changed tile's full new contents. Only the rightmost, partial, tile of each
    level is read: every other tile touched is new. Tile hashes at level ``L + 1`` are the roots
    of the level ``L`` tiles this append fills up.
    """
    if any(len(h) != HASH_SIZE for h in leaf_hashes):
        raise ValueError("every leaf hash must be 32 bytes")
    changed: dict[TileKey, bytes] = {}
    new_size = size + len(leaf_hashes)
    row = list(leaf_hashes)  # the new hashes at tree height 8 * level
    level = 0
    while row:
        first = size >> (TILE_HEIGHT * level)  # index of row[0] at this level
        tiles = _extend_row(level, first, row, read)
        changed.update(tiles)
        # Each tile of this level completed by this append contributes one hash a level up.
        done_before = first >> TILE_HEIGHT
        done_after = (new_size >> (TILE_HEIGHT * level)) >> TILE_HEIGHT
        row = [
            _perfect_root(_split_hashes(tiles[TileKey(level, n)]))
            for n in range(done_before, done_after)
        ]
        level += 1
        if level > MAX_LEVEL:
            raise ValueError("the log cannot grow beyond 2**63 leaves")
    return changed


def _extend_row(
    level: int, first: int, row: Sequence[bytes], read: TileReader
) -> dict[TileKey, bytes]:
    out: dict[TileKey, bytes] = {}
    position = first
    pending = list(row)
    while pending:
        key = TileKey(level, position >> TILE_HEIGHT)
        offset = position & (TILE_WIDTH - 1)
        if key in out:
            existing = out[key]
        elif offset:
            existing = read(key)
            if len(existing) != offset * HASH_SIZE:
                raise ValueError(
                    f"tile {level}/{key.index} holds {len(existing) // HASH_SIZE} hashes; "
                    f"the log's size says {offset}: the stored log is inconsistent"
                )
        else:
            existing = b""
        take = min(TILE_WIDTH - offset, len(pending))
        out[key] = existing + b"".join(pending[:take])
        pending = pending[take:]
        position += take
    return out


def tiles_for_size(size: int) -> dict[TileKey, int]:
    """Every tile a tree of ``size`` leaves has, with its width there (tlog-tiles' definition)."""
    out: dict[TileKey, int] = {}
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        for n in range(count >> TILE_HEIGHT):
            out[TileKey(level, n)] = TILE_WIDTH
        if count & (TILE_WIDTH - 1):
            out[TileKey(level, count >> TILE_HEIGHT)] = count & (TILE_WIDTH - 1)
        level += 1
    return out


def encode_tile_index(index: int) -> str:
    """tlog-tiles path form of a tile index: 1234067 -> ``x001/x234/067``."""
    if index < 0:
        raise ValueError("a tile index is not negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def decode_tile_index(path: str) -> int:
    """Inverse of :func:`encode_tile_index`; ``ValueError`` for any other spelling."""
    parts = path.split("/")
    if not parts or len(parts) > 7:
        raise ValueError(f"not a tile index: {path!r}")
    value = 0
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        digits = part if last else part.removeprefix("x")
        if (
            (not last and not part.startswith("x"))
            or len(digits) != 3
            or not is_ascii_digits(digits)
        ):
            raise ValueError(f"not a tile index: {path!r}")
        value = value * 1000 + int(digits)
    if encode_tile_index(value) != path:  # no redundant leading groups like x000/
        raise ValueError(f"not the canonical spelling of a tile index: {path!r}")
    if value > MAX_TILE_INDEX:
        # seven groups spell up to 10**21 - 1, past what the tile table's 64-bit column holds
        raise ValueError(f"no log has a tile {path!r}: the index is past {MAX_TILE_INDEX}")
    return value


def read_nodes(
    nodes: Sequence[tuple[int, int]], tiles: Mapping[TileKey, bytes]
) -> dict[tuple[int, int], bytes]:
    """Hashes of ``nodes`` from already-fetched ``tiles`` (see :func:`tile_for_node`)."""
    return {
        (lvl, i): node_from_tile(lvl, i, tiles.get(tile_for_node(lvl, i)[0], b""))
        for lvl, i in nodes
    }
