"""UnixFS CIDs must be exactly what ``ipfs add`` prints; reading a DAG must verify every block.

Known answers come from Kubo 0.43.1 (``tests/assets/cid/vectors.json``, regenerated with
``python -m tests.assets.cid.make_vectors``); hostile blocks from ``tests/assets/cid/hostile/``.
"""

from __future__ import annotations

import array
import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from ipnotary.sdk._unixfs import (
    _PREFIX_V0,
    CHUNK_SIZE,
    MAX_DEPTH,
    LeafDigests,
    UnixFSHasher,
    _encode_internal_node,
    _Link,
    decode_pb_node,
    decode_unixfs_data,
    encode_leaf_block,
    iter_file_blocks,
    parse_cid,
)
from ipnotary.sdk.errors import ContentIntegrityError, FormatError
from tests.assets.cid.content import content_of, generate_bytes, load_vectors

HOSTILE = Path(__file__).parents[2] / "assets" / "cid" / "hostile"
VECTORS = load_vectors()


def _params(vector: dict[str, Any]) -> dict[str, Any]:
    return {
        "chunk_size": vector.get("chunker", CHUNK_SIZE),
        "max_links": vector.get("max_links", 174),
    }


def _vector_param(vector: dict[str, Any]) -> Any:
    marks = [pytest.mark.slow] if vector.get("slow") else []
    return pytest.param(vector, id=vector["name"], marks=marks)


@pytest.mark.parametrize("vector", [_vector_param(v) for v in VECTORS])
def test_known_answers_from_kubo(vector: dict[str, Any]) -> None:
    hasher = UnixFSHasher(**_params(vector))
    for piece in content_of(vector):
        hasher.update(piece)
    result = hasher.finalize()
    assert result.size == vector["size"]
    assert result.cid_v0 == vector["cid_v0"]
    assert result.cid_v1 == vector["cid_v1"]
    # The sidecar form rebuilds the same roots without the content.
    assert result.leaves.root_cid(0) == vector["cid_v0"]
    assert result.leaves.root_cid(1) == vector["cid_v1"]


def test_the_two_published_answers() -> None:
    for data, expected in (
        (b"", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
        (b"hello world", "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"),
    ):
        hasher = UnixFSHasher()
        hasher.update(data)
        assert hasher.finalize().cid_v0 == expected


def test_empty_file_in_v1_is_the_empty_raw_block() -> None:
    hasher = UnixFSHasher()
    result = hasher.finalize()
    assert result.cid_v1 == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert parse_cid(result.cid_v1).raw_digest == hashlib.sha256(b"").digest()


def test_single_chunk_v1_root_is_the_raw_leaf() -> None:
    data = generate_bytes("leaf", CHUNK_SIZE)
    hasher = UnixFSHasher()
    hasher.update(data)
    root = parse_cid(hasher.finalize().cid_v1)
    assert root.codec.name == "raw" and root.raw_digest == hashlib.sha256(data).digest()


def test_leaf_block_encoding_matches_hello_world() -> None:
    block = encode_leaf_block(b"hello world")
    assert block == b"\x0a\x11\x08\x02\x12\x0bhello world\x18\x0b"
    assert parse_cid("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD").raw_digest == (
        hashlib.sha256(block).digest()
    )


SMALL = next(v for v in VECTORS if v["name"] == "deep-5-links-odd")  # 12345 B, 100 B chunks


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=60))
def test_result_does_not_depend_on_how_bytes_arrive(cuts: list[int]) -> None:
    data = b"".join(content_of(SMALL))
    hasher = UnixFSHasher(**_params(SMALL))
    pos = 0
    for n in cuts:
        hasher.update(data[pos : pos + n])
        pos += n
    hasher.update(memoryview(data)[pos:])
    result = hasher.finalize()
    assert (result.cid_v0, result.cid_v1) == (SMALL["cid_v0"], SMALL["cid_v1"])


def test_non_byte_memoryview_is_hashed_as_its_bytes() -> None:
    words = array.array("I", range(100_000))
    a, b = UnixFSHasher(), UnixFSHasher()
    a.update(memoryview(words))
    b.update(words.tobytes())
    assert a.finalize() == b.finalize()


def test_update_after_finalize_is_refused() -> None:
    hasher = UnixFSHasher()
    hasher.finalize()
    with pytest.raises(ValueError):
        hasher.update(b"late")


# -- LeafDigests (the store's sidecar) -------------------------------------------------------


def _leaves(data: bytes, **params: Any) -> LeafDigests:
    hasher = UnixFSHasher(**params)
    hasher.update(data)
    return hasher.finalize().leaves


def test_leaf_digests_are_one_32_byte_digest_per_chunk_and_form() -> None:
    leaves = _leaves(generate_bytes("count", 3 * CHUNK_SIZE + 1))
    assert leaves.chunk_count == 4
    assert len(leaves.dag_pb) == len(leaves.raw) == 4 * 32
    assert [leaves.chunk_length(i) for i in range(4)] == [CHUNK_SIZE] * 3 + [1]


def test_leaf_digests_round_trip_and_verify_chunks() -> None:
    data = generate_bytes("sidecar", 2 * CHUNK_SIZE + 5)
    leaves = _leaves(data)
    assert LeafDigests.from_bytes(leaves.to_bytes()) == leaves
    for version in (0, 1):
        for i in range(leaves.chunk_count):
            leaves.verify_chunk(i, data[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE], version)
        with pytest.raises(ContentIntegrityError, match=f"offset {CHUNK_SIZE}"):
            leaves.verify_chunk(1, data[:CHUNK_SIZE], version)
        with pytest.raises(ContentIntegrityError, match="bytes, expected"):
            leaves.verify_chunk(2, data[-4:], version)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda b: b[:10], id="truncated-header"),
        pytest.param(lambda b: b"XXLEAF\x00\x01" + b[8:], id="bad-magic"),
        pytest.param(lambda b: b[:-1], id="digest-list-short"),
        pytest.param(lambda b: b + b"\x00" * 32, id="digest-list-long"),
        pytest.param(lambda b: b[:8] + (1 << 60).to_bytes(8, "big") + b[16:], id="absurd-size"),
        pytest.param(lambda b: b[:16] + b"\x00\x00\x00\x00" + b[20:], id="zero-chunk-size"),
    ],
)
def test_malformed_sidecar_is_a_format_error(mangle: Any) -> None:
    blob = _leaves(generate_bytes("bad", CHUNK_SIZE + 1)).to_bytes()
    with pytest.raises(FormatError):
        LeafDigests.from_bytes(mangle(blob))


# -- decoding and walking a DAG --------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted([*HOSTILE.glob("*.block"), *HOSTILE.glob("*.data")]), ids=lambda p: p.name
)
def test_hostile_protobuf_is_a_format_error(path: Path) -> None:
    decode = decode_pb_node if path.suffix == ".block" else decode_unixfs_data
    with pytest.raises(FormatError):
        decode(path.read_bytes())


def test_oversized_block_is_refused_before_parsing() -> None:
    with pytest.raises(FormatError, match="over"):
        decode_pb_node(b"\x0a" + b"\x00" * (3 << 20))


def _blocks(data: bytes, **params: int) -> tuple[dict[str, bytes], str, str]:
    blocks: dict[str, bytes] = {}

    def sink(cid: bytes, block: bytes) -> None:
        blocks[str(parse_cid(cid))] = block

    hasher = UnixFSHasher(block_sink=sink, **params)
    hasher.update(data)
    result = hasher.finalize()
    return blocks, result.cid_v0, result.cid_v1


DEEP = next(v for v in VECTORS if v["name"] == "deep-3-links-depth-5")


@pytest.mark.parametrize("version", [0, 1])
def test_walk_yields_the_file_from_a_deep_dag(version: int) -> None:
    data = b"".join(content_of(DEEP))
    blocks, v0, v1 = _blocks(data, **_params(DEEP))
    assert (v0, v1) == (DEEP["cid_v0"], DEEP["cid_v1"])
    assert b"".join(iter_file_blocks(v1 if version else v0, blocks.__getitem__)) == data


@pytest.mark.parametrize("version", [0, 1])
def test_walk_stops_at_a_tampered_leaf(version: int) -> None:
    data = generate_bytes("walk", 5000)
    blocks, v0, v1 = _blocks(data, chunk_size=1000, max_links=3)
    leaf_codec = "raw" if version else "dag-pb"
    third = next(
        c
        for c, b in blocks.items()
        if parse_cid(c).codec.name == leaf_codec
        and data[2000:2100] in b
        and (version or c.startswith("Qm"))
    )
    blocks[third] = blocks[third].replace(data[2050:2051], bytes([data[2050] ^ 1]), 1)
    received = bytearray()
    with pytest.raises(ContentIntegrityError, match="does not hash"):
        for piece in iter_file_blocks(v1 if version else v0, blocks.__getitem__):
            received += piece
    assert bytes(received) == data[:2000]


def _node(children: list[tuple[str, int, int]]) -> tuple[str, bytes]:
    """A dag-pb file node over (cid, tsize, filesize) children; returns (CIDv0, block)."""
    links = [_Link(parse_cid(c).digest, tsize, filesize) for c, tsize, filesize in children]
    block = _encode_internal_node(links)
    cid = bytes(_PREFIX_V0) + hashlib.sha256(block).digest()
    return str(parse_cid(cid)), block


def test_walk_rejects_a_child_that_delivers_other_than_its_parent_says() -> None:
    blocks: dict[str, bytes] = {}
    leaf = encode_leaf_block(b"abc")
    leaf_cid = str(parse_cid(bytes(_PREFIX_V0) + hashlib.sha256(leaf).digest()))
    blocks[leaf_cid] = leaf
    # The child node claims (consistently with itself) 3 bytes; the parent says 5.
    child_cid, child = _node([(leaf_cid, len(leaf), 3)])
    blocks[child_cid] = child
    root_links = [
        _Link(parse_cid(child_cid).digest, 100, 5),
        _Link(parse_cid(leaf_cid).digest, 9, 3),
    ]
    root = _encode_internal_node(root_links)
    root_cid = str(parse_cid(bytes(_PREFIX_V0) + hashlib.sha256(root).digest()))
    blocks[root_cid] = root
    with pytest.raises(ContentIntegrityError, match="parent says 5"):
        b"".join(iter_file_blocks(root_cid, blocks.__getitem__))


def test_walk_rejects_a_dag_deeper_than_any_real_file() -> None:
    blocks: dict[str, bytes] = {}
    leaf = encode_leaf_block(b"x")
    cid = str(parse_cid(bytes(_PREFIX_V0) + hashlib.sha256(leaf).digest()))
    blocks[cid] = leaf
    size = len(leaf)
    for _ in range(MAX_DEPTH + 2):
        cid, block = _node([(cid, size, 1)])
        blocks[cid] = block
        size += len(block)
    with pytest.raises(FormatError, match="deeper"):
        b"".join(iter_file_blocks(cid, blocks.__getitem__))


def test_walk_rejects_a_directory() -> None:
    directory = b"\x0a\x02\x08\x01"  # PBNode{Data: UnixFS{Type: Directory}}
    cid = str(parse_cid(bytes(_PREFIX_V0) + hashlib.sha256(directory).digest()))
    with pytest.raises(FormatError, match="not a file"):
        b"".join(iter_file_blocks(cid, {cid: directory}.__getitem__))


@pytest.mark.parametrize(
    "cid",
    [
        pytest.param(
            str(CID("base32", 1, "dag-cbor", multihash.wrap(bytes(32), "sha2-256"))), id="dag-cbor"
        ),
        pytest.param(
            str(CID("base32", 1, "raw", multihash.wrap(bytes(32), "blake2b-256"))), id="blake2b"
        ),
        pytest.param(
            str(CID("base32", 1, "raw", multihash.wrap(b"evidence", "identity"))),
            id="identity-hash-inlines-content",
        ),
        pytest.param(
            str(CID("base32", 1, "raw", multihash.wrap(bytes(20), "sha2-256"))),
            id="truncated-sha256",
        ),
        pytest.param("QmTooShort", id="garbage-v0"),
        pytest.param("", id="empty"),
    ],
)
def test_parse_cid_accepts_only_sha256_file_cids(cid: str) -> None:
    with pytest.raises(FormatError):
        parse_cid(cid)
