"""Slow request bodies against a real ``notary serve``, over real sockets: a body has a deadline
that grows with what arrives (``api/bodies.py``: 20 s, and a second more for every 500 bytes), so
50 connections that each send one byte of their body and then wait are answered 408 and closed,
while the service goes on answering everyone else. Before, they were held for as long as their
clients liked."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ipnotary.service.api.bodies import BODY_TIMEOUT_SECONDS
from tests.integration.service_process import ServiceProcess

SLOW_CLIENTS = 50
MARGIN_SECONDS = 15.0  # the event loop on a shared 2-core machine, and closing 50 sockets


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        tmp_path_factory.mktemp("slow") / "data", env={"NOTARY_RATE_LIMIT_PER_MINUTE": "0"}
    )
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def _head(length: int) -> bytes:
    return (
        "POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _answer(sock: socket.socket, until: float) -> tuple[bytes, bool]:
    """What the service sent on ``sock`` by ``until``, and whether it closed the connection."""
    data = b""
    while time.monotonic() < until:
        sock.settimeout(max(0.05, until - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_slow_bodies_are_answered_408_and_closed(service: ServiceProcess, tmp_path: Path) -> None:
    port = service.port
    slow = []
    started = time.monotonic()
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(_head(1000) + b"{")  # one byte of a body of 1,000, then nothing
        slow.append(sock)
    try:
        # the others are served meanwhile
        assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200
        until = started + BODY_TIMEOUT_SECONDS + MARGIN_SECONDS
        answers = [_answer(sock, until) for sock in slow]
        elapsed = time.monotonic() - started
    finally:
        for sock in slow:
            sock.close()
    timed_out = [a for a, closed in answers if a.startswith(b"HTTP/1.1 408") and closed]
    assert len(timed_out) == SLOW_CLIENTS, (elapsed, [a[:80] for a, _ in answers][:3])
    assert b"request_timeout" in timed_out[0] and b"application/problem+json" in timed_out[0]
    assert elapsed >= BODY_TIMEOUT_SECONDS - 1  # not before its deadline
    assert httpx.get(f"{service.url}/healthz", timeout=10).status_code == 200


def test_a_slow_but_steady_body_is_read(service: ServiceProcess) -> None:
    body = b'{"certificate": {"not": "a certificate"}, "check_chain": false}'
    body += b" " * (2000 - len(body))
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    try:
        sock.sendall(_head(len(body)))
        for start in range(0, len(body), 200):  # 2,000 bytes over ~5 s: 400 B/s, within 20 s
            sock.sendall(body[start : start + 200])
            time.sleep(0.5)
        answer, _ = _answer(sock, time.monotonic() + 30)
    finally:
        sock.close()
    status = answer.split(b" ", 2)[1]
    assert status != b"408" and status.startswith((b"2", b"4")), answer[:200]
