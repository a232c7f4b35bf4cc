"""Deterministic test content for the CID known-answer vectors in ``vectors.json``.

Start at :func:`generate`. Content is produced, never committed: block ``i`` (1 MiB) is
``SHAKE128(seed_utf8 || uint64_be(i))`` squeezed to 1048576 bytes, the blocks are concatenated and
the stream is cut at the wanted size. SHAKE128 is in every Python's hashlib and squeezes
~500 MB/s, so even the 1 GiB memory test regenerates its input quickly and in constant memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["BLOCK", "VECTORS_PATH", "generate", "generate_bytes", "load_vectors", "write_file"]

BLOCK = 1 << 20
VECTORS_PATH = Path(__file__).with_name("vectors.json")


def generate(seed: str, size: int) -> Iterator[bytes]:
    """Yield ``size`` bytes of content for ``seed`` in pieces of at most 1 MiB."""
    prefix = seed.encode()
    index = 0
    remaining = size
    while remaining > 0:
        n = min(BLOCK, remaining)
        yield hashlib.shake_128(prefix + index.to_bytes(8, "big")).digest(BLOCK)[:n]
        remaining -= n
        index += 1


def generate_bytes(seed: str, size: int) -> bytes:
    return b"".join(generate(seed, size))


def content_of(vector: dict[str, Any]) -> Iterator[bytes]:
    """The content a vector describes: literal hex, or generated from its seed."""
    if "hex" in vector:
        yield bytes.fromhex(vector["hex"])
    else:
        yield from generate(vector["seed"], vector["size"])


def write_file(path: Path, vector: dict[str, Any]) -> Path:
    with open(path, "wb") as f:
        f.writelines(content_of(vector))
    return path


def load_vectors() -> list[dict[str, Any]]:
    return list(json.loads(VECTORS_PATH.read_text())["vectors"])
