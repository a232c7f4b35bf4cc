"""A small HTTP/1.1 load generator for the ingest benchmark, run in its own process.

    python -m bench._loadgen '{"url": "http://127.0.0.1:8000", "api_key": "nk_...",
                               "mode": "digest", "concurrency": 16, "duration": 5}'

prints one JSON object: requests, receipts (items acknowledged), errors, client-side latencies,
when each receipt arrived (wall clock, with the record ids it acknowledged) and the CPU this
process used.

Why not httpx: on a two-core machine the load generator competes with the server for CPU, and
a general client spends several times more per request than the server's own parsing. Here each
connection is one asyncio task writing prebuilt bytes and reading ``Content-Length`` bodies on a
keep-alive connection: a few tens of microseconds per request. Every submission carries a fresh
SHA-256 (the service deduplicates the same content from the same holder), so each request makes
new records.

Modes: ``digest`` (``POST /v1/evidence``, JSON), ``upload`` (``POST /v1/evidence``, multipart with
a ``file_bytes`` file), ``digests`` (``POST /v1/evidence/digests``, ``batch`` digests a request).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

BOUNDARY = "benchboundary7MA4YWxkTrZu0gW"
# Each submission result starts with its record id (compact JSON, as Starlette renders it).
RESULT_ID = re.compile(rb'\{"id":"([a-z]+_[0-9a-f]{32})","created"')


@dataclass
class Stats:
    requests: int = 0
    receipts: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[tuple[float, list[str]]] = field(default_factory=list)
    first_error: str | None = None


class RequestFactory:
    """Builds each request's bytes; every item has a digest no other request in the run used."""

    def __init__(self, spec: dict[str, Any], host: str) -> None:
        self.mode = spec["mode"]
        self.batch = int(spec.get("batch", 1000))
        self.file_bytes = int(spec.get("file_bytes", 4096))
        self.nonce = os.urandom(8)
        self.head = (
            f"Host: {host}\r\nAuthorization: Bearer {spec['api_key']}\r\nConnection: keep-alive\r\n"
        )
        self.counter = 0
        self.filler = os.urandom(self.file_bytes)

    def _digest(self) -> str:
        self.counter += 1
        return hashlib.sha256(self.nonce + self.counter.to_bytes(8, "big")).hexdigest()

    def next(self) -> tuple[bytes, int]:
        """(request bytes, items it submits)."""
        if self.mode == "digest":
            body = json.dumps({"sha256": self._digest(), "size": 4096}).encode()
            return self._request("/v1/evidence", "application/json", body), 1
        if self.mode == "digests":
            items = [{"sha256": self._digest(), "size": 4096} for _ in range(self.batch)]
            body = json.dumps({"items": items}).encode()
            return self._request("/v1/evidence/digests", "application/json", body), self.batch
        if self.mode == "upload":
            self.counter += 1
            # Unique content: the counter overwrites the first bytes of a random block.
            content = self.nonce + self.counter.to_bytes(8, "big") + self.filler[16:]
            body = (
                (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
                    f'bench upload\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + content
                + f"\r\n--{BOUNDARY}--\r\n".encode()
            )
            return self._request(
                "/v1/evidence", f"multipart/form-data; boundary={BOUNDARY}", body
            ), 1
        raise ValueError(f"unknown mode {self.mode!r}")

    def _request(self, path: str, content_type: str, body: bytes) -> bytes:
        return (
            f"POST {path} HTTP/1.1\r\n{self.head}Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = await reader.read()
    keep = headers.get("connection", "").lower() != "close"
    return status, body, keep


async def _connection(
    host: str, port: int, factory: RequestFactory, deadline: float, stats: Stats, expected: set[int]
) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        assert reader is not None
        request, items = factory.next()
        start = time.perf_counter()
        writer.write(request)
        status, body, keep = await _read_response(reader)
        stats.latencies.append(time.perf_counter() - start)
        stats.requests += 1
        if status in expected:
            stats.receipts += items
            ids = [m.decode() for m in RESULT_ID.findall(body)]
            stats.acknowledged.append((time.time(), ids))
        else:
            stats.errors[str(status)] = stats.errors.get(str(status), 0) + 1
            if stats.first_error is None:
                stats.first_error = body[:500].decode(errors="replace")
        if not keep:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(spec["url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    factory = RequestFactory(spec, f"{host}:{port}")
    stats = Stats()
    expected = {200} if spec["mode"] == "digests" else {201}
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    deadline = start + float(spec["duration"])
    await asyncio.gather(
        *(
            _connection(host, port, factory, deadline, stats, expected)
            for _ in range(int(spec["concurrency"]))
        )
    )
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "wall": wall,
        "requests": stats.requests,
        "receipts": stats.receipts,
        "errors": stats.errors,
        "first_error": stats.first_error,
        "latencies": stats.latencies,
        "acknowledged": stats.acknowledged,
        "cpu_seconds": cpu,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run_load(spec))))


if __name__ == "__main__":
    main()
