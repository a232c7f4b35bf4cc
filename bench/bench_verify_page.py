"""The verification page's hashing: a file fingerprinted in the browser next to the SDK's
``fingerprint_file`` of the same file, and the browser's memory while it hashes.

    python -m bench.bench_verify_page            # 1 GiB (memory compared with 128 MiB)
    python -m bench.bench_verify_page --quick    # 256 MiB (with 32 MiB)

The page runs in Debian's headless Chromium (Playwright, as ``tests/browser`` drives it), served
by its own route on loopback; the file is handed to the page's file input, so the browser reads
it from disk in slices as a person's file would be. The page computes what the SDK computes:
SHA-256, SM3 (``hash-wasm``) and the two Kubo CIDs (``ipfs-unixfs-importer``), in two workers.

Rows, each against a baseline measured in the same run:

* throughput: the page's MB/s over ``fingerprint_file``'s (the SDK: hashlib and a thread for
  SM3), best of ``--repeat`` rounds each, interleaved. No target: WebAssembly SM3 and
  JavaScript CIDs are expected to be slower than OpenSSL; the row says by how much.
* memory: the peak memory (proportional set size) of all the browser's processes while hashing
  the large file, over the same while hashing a file eight times smaller. Target: at most 1.25x
  (memory does not grow with the file; the slices and the importers' pending blocks are bounded).

The digests of both verifiers are compared; a difference fails the script.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import Row, log, main_for

MB = 1_000_000
MEMORY_TARGET = 1.25

_HASH = """async () => {
  const file = document.getElementById('file').files[0];
  const started = performance.now();
  const r = await ipnotary.verify({certificate: '{}', file});
  return {digests: r.digests, ms: performance.now() - started};
}"""


def _write(path: Path, size: int) -> None:
    with path.open("wb") as f:
        for i in range(size >> 20):
            f.write(hashlib.shake_128(i.to_bytes(8, "big")).digest(1 << 20))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def _chromium_rss() -> int:
    """Memory of every Chromium process this process started (through Playwright), as their
    proportional set sizes: a library the processes share is counted once, not once a process."""
    total = 0
    for pid in _descendants(os.getpid()):
        try:
            if b"chrom" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


@contextmanager
def _peak_rss(interval: float = 0.05) -> Iterator[list[int]]:
    """Samples the browser's resident memory while the block runs; ``[peak]`` afterwards."""
    peak = [_chromium_rss()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], _chromium_rss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _page_hash(page: Any, path: Path) -> tuple[float, dict[str, Any], int]:
    page.set_input_files("#file", str(path))
    with _peak_rss() as peak:
        result = page.evaluate(_HASH)
    return float(result["ms"]) / 1000, result["digests"], peak[0]


def measure(size: int, repeat: int) -> list[Row]:
    from fastapi import FastAPI
    from playwright.sync_api import sync_playwright

    from ipnotary.sdk.fingerprint import fingerprint_file
    from ipnotary.service.api.routes import verify_page
    from tests.browser.conftest import LAUNCH_ARGS, LiveServer, find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("chromium not found: apt-get install chromium (or set NOTARY_CHROMIUM)")
    app = FastAPI()
    app.include_router(verify_page.router)
    with tempfile.TemporaryDirectory() as tmp, LiveServer(app) as server, sync_playwright() as pw:
        big, small = Path(tmp) / "big.bin", Path(tmp) / "small.bin"
        _write(big, size)
        _write(small, size // 8)
        fingerprint_file(big)  # the page cache holds the file for every round that follows
        browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        page = browser.new_page()
        page.goto(f"{server.url}/verify")
        page.wait_for_selector("body[data-ready=true]")
        idle = _chromium_rss()
        python_rates, page_rates, ratios = [], [], []
        digests: dict[str, Any] = {}
        peak_big = 0
        for n in range(repeat):
            start = time.perf_counter()
            fp = fingerprint_file(big)
            python_rates.append(size / MB / (time.perf_counter() - start))
            seconds, digests, peak = _page_hash(page, big)
            page_rates.append(size / MB / seconds)
            ratios.append(page_rates[-1] / python_rates[-1])
            peak_big = max(peak_big, peak)
            log(
                f"verify page round {n + 1}: page {page_rates[-1]:.0f} MB/s, "
                f"SDK {python_rates[-1]:.0f} MB/s, browser peak {peak / MB:.0f} MB"
            )
        expected = {
            "size": fp.size,
            "sha256": fp.sha256,
            "sm3": fp.sm3,
            "cid": fp.cid,
            "cid_v1": fp.cid_v1,
        }
        if digests != expected:
            raise SystemExit(f"the page's fingerprint {digests} is not the SDK's {expected}")
        peak_small = max(_page_hash(page, small)[2] for _ in range(2))
        browser.close()

    note = f"{size >> 20} MiB, best of {repeat}, Chromium {len(LAUNCH_ARGS)} launch flags"
    memory_ratio = peak_big / peak_small
    return [
        Row(
            group="verify page",
            name="page fingerprint: SHA-256 + SM3 + CIDv0 + CIDv1 in 2 workers",
            value=max(page_rates),
            unit="MB/s",
            baseline="SDK fingerprint_file",
            baseline_value=max(python_rates),
            ratio=max(page_rates) / max(python_rates),
            note=note,
            extra={"ratios": ratios},
        ),
        Row(
            group="verify page",
            name=f"browser peak memory (PSS) hashing {size >> 20} MiB",
            value=peak_big / MB,
            unit="MB",
            baseline=f"same, {size >> 23} MiB",
            baseline_value=peak_small / MB,
            ratio=memory_ratio,
            target=f"<= {MEMORY_TARGET}x",
            met=memory_ratio <= MEMORY_TARGET,
            note=f"all Chromium processes; idle page {idle / MB:.0f} MB",
        ),
    ]


def run(args: argparse.Namespace) -> list[Row]:
    repeat = args.repeat or (2 if args.quick else 3)
    return measure((256 if args.quick else 1024) << 20, repeat)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat", type=int, default=0, help="rounds per measurement (default 2 quick, 3 full)"
    )


if __name__ == "__main__":
    main_for(run, (__doc__ or "").split("\n\n")[0], _arguments)
