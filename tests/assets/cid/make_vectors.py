"""Regenerate ``vectors.json`` from a real Kubo: ``python -m tests.assets.cid.make_vectors
IPFS_BIN``.

Each vector's content (see :mod:`tests.assets.cid.content`) is written to a temp file and hashed
with ``ipfs add --only-hash -Q`` twice: with Kubo's defaults and with ``--cid-version 1``.
Vectors with a non-default ``chunker``/``max_links`` use ``--chunker=size-N
--max-file-links=M`` to get deep trees (depth 4 and more) from small inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.assets.cid.content import VECTORS_PATH, write_file

CHUNK = 262144
LINKS = 174

CASES: list[dict[str, Any]] = [
    {"name": "empty", "hex": ""},
    {"name": "one-byte", "hex": "61"},
    {"name": "hello-world", "hex": b"hello world".hex()},
    {"name": "chunk-minus-1", "size": CHUNK - 1},
    {"name": "one-chunk", "size": CHUNK},
    {"name": "chunk-plus-1", "size": CHUNK + 1},
    {"name": "two-chunks", "size": 2 * CHUNK},
    {"name": "full-depth-1", "size": LINKS * CHUNK},
    {"name": "depth-2-begins", "size": LINKS * CHUNK + 1},
    {"name": "about-3-mib", "size": 3 * 1024 * 1024 + 12345},
    {"name": "50-mib", "size": 50 * 1024 * 1024, "slow": True},
    # Small chunks and fan-out 3: depth grows at 3, 9, 27, 81 chunks.
    {"name": "deep-3-links-27-chunks", "size": 27 * 1000, "chunker": 1000, "max_links": 3},
    {"name": "deep-3-links-28-chunks", "size": 27 * 1000 + 1, "chunker": 1000, "max_links": 3},
    {"name": "deep-3-links-depth-5", "size": 200 * 1000 - 7, "chunker": 1000, "max_links": 3},
    {"name": "deep-5-links-odd", "size": 12345, "chunker": 100, "max_links": 5},
]


def add(ipfs: str, path: Path, case: dict[str, Any], *extra: str) -> str:
    args = [ipfs, "add", "--only-hash", "-Q", *extra]
    if "chunker" in case:
        args += [f"--chunker=size-{case['chunker']}", f"--max-file-links={case['max_links']}"]
    return subprocess.run(
        [*args, str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def main(ipfs: str) -> None:
    version = subprocess.run([ipfs, "version", "-n"], check=True, capture_output=True, text=True)
    vectors = []
    with tempfile.TemporaryDirectory() as tmp:
        env_repo = Path(tmp) / "repo"
        os.environ["IPFS_PATH"] = str(env_repo)
        subprocess.run([ipfs, "init", "--profile", "test", "-e"], check=True, capture_output=True)
        for case in CASES:
            vector = dict(case)
            if "hex" in vector:
                vector["size"] = len(bytes.fromhex(vector["hex"]))
            else:
                vector["seed"] = vector["name"]
            path = write_file(Path(tmp) / "content", vector)
            vector["cid_v0"] = add(ipfs, path, case)
            vector["cid_v1"] = add(ipfs, path, case, "--cid-version", "1")
            vectors.append(vector)
            print(vector["name"], vector["cid_v0"], vector["cid_v1"], file=sys.stderr)
    doc = {
        "about": "Root CIDs from `ipfs add --only-hash -Q` (cid_v0) and with `--cid-version 1` "
        "(cid_v1). Content: literal `hex`, or generated from `seed` and `size` by "
        "tests/assets/cid/content.py (1 MiB blocks of SHAKE128(seed || uint64_be(index)), "
        "concatenated, cut at size). `chunker`/`max_links` mean --chunker=size-N "
        "--max-file-links=M; absent means Kubo's defaults (262144, 174). "
        "Regenerate: python -m tests.assets.cid.make_vectors PATH_TO_IPFS",
        "kubo": version.stdout.strip(),
        "vectors": vectors,
    }
    VECTORS_PATH.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ipfs")
