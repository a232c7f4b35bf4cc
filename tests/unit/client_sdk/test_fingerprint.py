"""Fingerprints: right digests however the bytes arrive, no leaked threads (constant memory over
1 GiB, in a fresh interpreter: ``tests/integration/client_sdk/test_resource_limits.py``)."""

from __future__ import annotations

import gc
import hashlib
import io
import threading
from pathlib import Path
from typing import Any

import pytest

from ipnotary.sdk.fingerprint import (
    CHUNK_SIZE,
    Fingerprint,
    Fingerprinter,
    fingerprint_bytes,
    fingerprint_file,
    fingerprint_stream,
)
from tests.assets.cid.content import content_of, generate, generate_bytes, load_vectors

# GM/T 0004-2012 appendix A examples.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def _sm3_threads() -> int:
    return sum(t.name == "sm3-fingerprint" for t in threading.enumerate())


def test_hello_world() -> None:
    assert fingerprint_bytes(b"hello world") == Fingerprint(
        size=11,
        sha256="b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
        sm3="44f0061e69fa6fdfc290c494654a05dc0c053da7e5c52b84ef93a9d67d3fff88",
        cid="Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD",
        cid_v1="bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    )


def test_sm3_standard_vectors() -> None:
    assert fingerprint_bytes(b"abc").sm3 == SM3_ABC
    assert fingerprint_bytes(b"abcd" * 16).sm3 == SM3_ABCD16


def test_empty() -> None:
    fp = fingerprint_bytes(b"")
    assert fp.size == 0
    assert fp.sha256 == hashlib.sha256(b"").hexdigest()
    assert fp.cid == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


@pytest.mark.parametrize(
    "vector",
    [v for v in load_vectors() if "chunker" not in v and not v.get("slow")],
    ids=lambda v: v["name"],
)
def test_cids_match_kubo_vectors(vector: dict[str, Any]) -> None:
    fp = fingerprint_stream(content_of(vector))
    assert (fp.cid, fp.cid_v1, fp.size) == (vector["cid_v0"], vector["cid_v1"], vector["size"])


@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK_SIZE + 1, 5 * 1024 * 1024 + 3])
def test_every_entry_point_agrees(size: int, tmp_path: Path) -> None:
    data = generate_bytes("entry", size)
    expected = Fingerprint(
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        sm3=hashlib.new("sm3", data).hexdigest(),
        cid=fingerprint_bytes(data).cid,
        cid_v1=fingerprint_bytes(data).cid_v1,
    )
    path = tmp_path / "f"
    path.write_bytes(data)
    assert fingerprint_bytes(data) == expected
    assert fingerprint_file(path) == expected
    assert fingerprint_stream(io.BytesIO(data)) == expected
    assert fingerprint_stream(io.BytesIO(data), chunk_size=4097) == expected
    assert fingerprint_stream(data[i : i + 333] for i in range(0, size, 333)) == expected
    assert fingerprint_bytes(bytearray(data)) == expected
    assert fingerprint_bytes(memoryview(data)) == expected


def test_small_writes_after_the_worker_started() -> None:
    # Large first write starts the SM3 thread; then tiny writes go through the batch buffer.
    data = generate_bytes("mixed", 3 * 1024 * 1024)
    fp = Fingerprinter()
    fp.update(data[: 1 << 20])
    for i in range(1 << 20, len(data), 1000):
        fp.update(data[i : i + 1000])
    assert fp.finalize() == fingerprint_bytes(data)


def test_reused_caller_buffer_does_not_corrupt_sm3() -> None:
    # The worker hashes later; a bytearray the caller refills must have been copied.
    pieces = list(generate("reuse", 8 * (1 << 20)))
    buffer = bytearray(1 << 20)
    fp = Fingerprinter()
    for piece in pieces:
        buffer[:] = piece
        fp.update(buffer)
        fp.update(memoryview(buffer)[:0])
    buffer[:] = b"\x00" * len(buffer)
    assert fp.finalize().sm3 == hashlib.new("sm3", b"".join(pieces)).hexdigest()


def test_leaf_digests_after_finalize() -> None:
    data = generate_bytes("leaves", 2 * CHUNK_SIZE + 1)
    fp = Fingerprinter()
    fp.update(data)
    with pytest.raises(ValueError):
        _ = fp.leaf_digests
    result = fp.finalize()
    leaves = fp.leaf_digests
    assert leaves.chunk_count == 3
    assert leaves.root_cid(0) == result.cid and leaves.root_cid(1) == result.cid_v1


def test_finalize_is_idempotent_and_closes_updates() -> None:
    fp = Fingerprinter()
    fp.update(b"x")
    assert fp.finalize() is fp.finalize()
    with pytest.raises(ValueError):
        fp.update(b"y")


def test_abandoned_fingerprinters_leave_no_threads() -> None:
    before = _sm3_threads()
    with Fingerprinter() as fp:
        fp.update(bytes(2 << 20))  # starts the worker
    for _ in range(3):
        dropped = Fingerprinter()
        dropped.update(bytes(2 << 20))
        del dropped
    gc.collect()
    for t in threading.enumerate():
        if t.name == "sm3-fingerprint":
            t.join(timeout=5)
    assert _sm3_threads() == before


def test_bad_chunk_size() -> None:
    with pytest.raises(ValueError):
        fingerprint_stream(io.BytesIO(b"x"), chunk_size=0)
