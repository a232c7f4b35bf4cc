"""Peak memory of the server while large files are uploaded through the API: flat in the file size.

    python -m bench.bench_memory [--quick] [--json PATH]

A real service process on embedded defaults (as in ``bench.bench_ingest``) receives multipart
uploads of 1 GiB and 4 GiB (quick: 64 MiB and 256 MiB), streamed from this process without
holding the file in memory. Before each upload the kernel's high-water mark of the server's
resident memory is reset (``/proc/PID/clear_refs``), so ``VmHWM`` afterwards is the peak during
that upload (and its fingerprinting, storing and recording), not during start-up.

Baseline, same run: the idle server's resident memory just before the upload. Target: flat
(the larger file costs no more than the smaller) and at most 100 MB resident.
"""

from __future__ import annotations

import argparse
import http.client
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench._common import CpuMeter, Row, log, main_for

TARGET_MB = 100
MB = 1_000_000
BOUNDARY = "benchmemoryboundary9f8e7d"


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def upload(url: str, api_key: str, size: int) -> tuple[int, float]:
    """Stream a ``size``-byte multipart upload; (HTTP status, seconds). Content is unique."""
    parts = urlsplit(url)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = bytearray(os.urandom(1 << 20))
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    start = time.perf_counter()
    conn.putrequest("POST", "/v1/evidence")
    conn.putheader("Authorization", f"Bearer {api_key}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    sent, n = 0, 0
    while sent < size:
        n += 1
        block[:8] = n.to_bytes(8, "big")  # every MiB differs: no chunk can be deduplicated
        piece = memoryview(block)[: min(len(block), size - sent)]
        conn.send(piece)
        sent += len(piece)
    conn.send(tail)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - start


def run(args: argparse.Namespace) -> list[Row]:
    from bench.bench_ingest import Bench

    sizes = [64 << 20, 256 << 20] if args.quick else [1 << 30, 4 << 30]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        bench = Bench(Path(tmp), "sqlite", None)
        bench.start()
        try:
            pid = bench.pid
            status, _ = upload(bench.service.url, bench.api_key, 4096)  # warm-up: imports, paths
            assert status == 201, status
            bench.wait_anchored(0, timeout=60)
            peaks = []
            for size in sizes:
                time.sleep(1.0)
                idle = _status_kib(pid, "VmRSS") * 1024 / MB
                if not reset_peak(pid):
                    log("cannot reset VmHWM: the peak includes start-up")
                meter = CpuMeter(watched={"server": pid})
                with meter.measure():
                    status, seconds = upload(bench.service.url, bench.api_key, size)
                peak = _status_kib(pid, "VmHWM") * 1024 / MB
                peaks.append(peak)
                rate = size / MB / seconds
                log(
                    f"upload {size >> 20} MiB: HTTP {status}, {rate:.0f} MB/s, idle {idle:.0f} MB,"
                    f" peak {peak:.0f} MB"
                )
                rows.append(
                    Row(
                        group="memory",
                        name=f"server peak RSS, {size >> 20:,} MiB upload",
                        value=peak,
                        unit="MB",
                        baseline="idle server RSS",
                        baseline_value=idle,
                        ratio=peak / idle,
                        target=f"<= {TARGET_MB} MB",
                        met=status == 201 and peak <= TARGET_MB,
                        note=f"HTTP {status}; +{peak - idle:.0f} MB over idle; "
                        f"upload {rate:.0f} MB/s; server {meter.cpus.get('server', 0):.2f} CPU",
                        extra={
                            "size": size,
                            "status": status,
                            "seconds": seconds,
                            "growth_mb": peak - idle,
                        },
                    )
                )
            rows.append(
                Row(
                    group="memory",
                    name=f"flatness: peak at {sizes[1] >> 20:,} MiB / at {sizes[0] >> 20:,} MiB",
                    value=peaks[1] / peaks[0],
                    unit="",
                    target="<= 1.1",
                    met=peaks[1] / peaks[0] <= 1.1,
                )
            )
        finally:
            bench.stop()
    return rows


if __name__ == "__main__":
    main_for(run, __doc__.split("\n\n")[0])
