"""The one door between the capturing browser and the network: an HTTP proxy on loopback that
resolves every host itself, checks every address, and only then connects.

Chromium is started with ``--proxy-server`` pointing here and ``--proxy-bypass-list=<-loopback>``
(otherwise it would reach loopback hosts directly), so every request it makes, the page, each
redirect, each subresource, arrives here as ``CONNECT host:port`` (HTTPS, tunnelled: the browser's
own TLS handshake goes end to end, so the certificate chain it records is the server's) or as an
absolute-form plain HTTP request. For each the proxy

1. refuses hosts the page never asked for (the browser's own background traffic: component
   updates, time queries), after giving the page's request event a moment to arrive;
2. resolves the name with dnspython, at the configured DNS servers, and records the answers;
3. refuses the host if any answer is outside what :class:`~.addresses.AddressPolicy` allows;
4. connects to the checked address itself, never to the name, so a second, different DNS answer
   (rebinding) cannot redirect the connection; and records address, port and bytes.

Refusals are answered with ``403`` and recorded with their reason: they are part of the evidence
(requests blocked). The total bytes from servers are capped; past the cap every connection is cut.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.exception
import dns.inet
import dns.rdatatype
import dns.resolver

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.service.adapters.capture.addresses import AddressPolicy, IPAddress

__all__ = [
    "BlockedRequest",
    "CaptureProxy",
    "DnsAnswer",
    "ServerConnection",
    "make_resolver",
]

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # a request line and headers; more is not a browser's request
PAGE_REQUEST_GRACE_SECONDS = 3.0  # how long a connection waits for the page's request event
CONNECT_TIMEOUT_SECONDS = 10.0


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


@dataclass(frozen=True)
class DnsAnswer:
    """One DNS question the proxy asked, and what it was told."""

    name: str
    type: str  # A or AAAA
    nameserver: str
    addresses: tuple[str, ...]
    ttl: int | None
    error: str | None  # NXDOMAIN, no answer, timeout ...
    at: str


@dataclass(frozen=True)
class ServerConnection:
    """A connection the proxy opened to a server on the browser's behalf."""

    host: str
    port: int
    ip: str
    kind: str  # "tunnel" (CONNECT, TLS end to end) or "http" (plain, forwarded)
    at: str
    bytes_from_server: int = 0
    bytes_to_server: int = 0


@dataclass(frozen=True)
class BlockedRequest:
    host: str
    port: int
    reason: str
    at: str


def make_resolver(nameservers: list[str], timeout: float) -> dns.resolver.Resolver:
    """A resolver that asks ``nameservers`` (``ip`` or ``ip:port``; empty: the system's, from
    /etc/resolv.conf) and nothing else: no hosts file, no search domains."""
    if not nameservers:
        resolver = dns.resolver.Resolver(configure=True)
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = []
        ports: dict[str, int] = {}
        for server in nameservers:
            host, port = _split_host_port(server, 53)
            resolver.nameservers.append(host)
            ports[host] = port
        resolver.nameserver_ports = ports
    resolver.search = []
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 5.0)
    resolver.cache = None  # every answer recorded is one asked for now
    return resolver


def _split_host_port(value: str, default: int) -> tuple[str, int]:
    value = value.strip()
    if value.startswith("["):  # [::1]:5353
        host, _, rest = value[1:].partition("]")
        return host, int(rest.lstrip(":") or default)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, default


@dataclass
class _Resolution:
    addresses: tuple[IPAddress, ...]
    refusal: str | None


@dataclass
class CaptureProxy:
    """Start with :meth:`start`; ``url`` is what Chromium's ``--proxy-server`` takes."""

    policy: AddressPolicy
    resolver: dns.resolver.Resolver
    max_bytes: int
    is_page_request: Callable[[str, int], bool] = field(default=lambda host, port: True)
    dns_answers: list[DnsAnswer] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    blocked: list[BlockedRequest] = field(default_factory=list)
    over_limit: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _resolved: dict[str, _Resolution] = field(default_factory=dict)
    _bytes: int = 0
    _socket: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _open: set[socket.socket] = field(default_factory=set)
    _closing: bool = False

    @property
    def url(self) -> str:
        assert self._socket is not None
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self) -> CaptureProxy:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._spawn(self._accept_loop)
        return self

    def close(self) -> None:
        self._closing = True
        if self._socket is not None:
            self._socket.close()
        with self._lock:
            for sock in list(self._open):
                _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> CaptureProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks ---------------------------------------------------------------------------

    def check_host(self, host: str) -> tuple[tuple[IPAddress, ...], str | None]:
        """The addresses ``host`` resolves to and, if the capture may not reach them, why.
        Resolved once per capture: every connection to a host uses the answers recorded."""
        with self._lock:
            known = self._resolved.get(host)
        if known is not None:
            return known.addresses, known.refusal
        resolution = self._resolve(host)
        with self._lock:
            self._resolved.setdefault(host, resolution)
            return self._resolved[host].addresses, self._resolved[host].refusal

    def _resolve(self, host: str) -> _Resolution:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            return _Resolution((literal,), self.policy.refusal(literal))
        addresses: list[IPAddress] = []
        for rdtype in ("A", "AAAA"):
            addresses += self._ask(host, rdtype)
        if not addresses:
            return _Resolution((), f"{host} does not resolve (DNS answers recorded)")
        for address in addresses:
            refusal = self.policy.refusal(address)
            if refusal is not None:
                # One refused answer refuses the name: a mix of public and private answers is
                # how a rebinding attack gets a second try.
                return _Resolution(tuple(addresses), f"{host} resolves to {refusal}")
        return _Resolution(tuple(addresses), None)

    def _ask(self, host: str, rdtype: str) -> list[IPAddress]:
        nameserver = ",".join(str(n) for n in self.resolver.nameservers)
        try:
            answer = self.resolver.resolve(host, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            self._record_dns(host, rdtype, nameserver, (), None, "NXDOMAIN")
            return []
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            self._record_dns(host, rdtype, nameserver, (), None, type(exc).__name__)
            return []
        found = [
            ipaddress.ip_address(r.address)
            for r in answer
            if r.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        ]
        ttl = answer.rrset.ttl if answer.rrset is not None else None
        self._record_dns(
            host,
            rdtype,
            str(answer.nameserver or nameserver)
            + (f":{answer.port}" if answer.port and answer.port != 53 else ""),
            tuple(str(a) for a in found),
            ttl,
            None if found else "no answer",
        )
        return found

    def _record_dns(
        self,
        host: str,
        rdtype: str,
        nameserver: str,
        addresses: tuple[str, ...],
        ttl: int | None,
        error: str | None,
    ) -> None:
        with self._lock:
            self.dns_answers.append(
                DnsAnswer(host, rdtype, nameserver, addresses, ttl, error, _now())
            )

    def _refuse(self, client: socket.socket, host: str, port: int, reason: str) -> None:
        with self._lock:
            self.blocked.append(BlockedRequest(host, port, reason, _now()))
        body = reason.encode("utf-8")
        with contextlib.suppress(OSError):
            client.sendall(
                b"HTTP/1.1 403 Forbidden by the capture's address policy\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )

    def _waited_for_page(self, host: str, port: int) -> bool:
        deadline = time.monotonic() + PAGE_REQUEST_GRACE_SECONDS
        while not self.is_page_request(host, port):
            if time.monotonic() > deadline or self._closing:
                return False
            time.sleep(0.02)
        return True

    # -- serving --------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="capture-proxy")
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        assert self._socket is not None
        while not self._closing:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return
            self._spawn(self._serve, client)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        try:
            self._handle(client)
        except (OSError, ValueError) as exc:
            log.debug("capture proxy connection ended: %s", exc)
        finally:
            _close(client)

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(CONNECT_TIMEOUT_SECONDS * 3)
        head, rest = _read_head(client)
        if head is None:
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, remainder = request_line.partition(" ")
        target = remainder.rsplit(" ", 1)[0]
        if method == "CONNECT":
            host, port = _split_host_port(target, 443)
            self._tunnel(client, host, port, rest)
        elif target.startswith("http://"):
            self._forward(client, method, target, head, rest)
        else:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def _open_server(
        self, client: socket.socket, host: str, port: int, kind: str
    ) -> tuple[socket.socket, int] | None:
        if not self._waited_for_page(host, port):
            self._refuse(
                client,
                host,
                port,
                f"{host}:{port} was not requested by the page (the browser's own traffic)",
            )
            return None
        addresses, refusal = self.check_host(host)
        if refusal is not None:
            self._refuse(client, host, port, refusal)
            return None
        if self.over_limit:
            self._refuse(client, host, port, "the capture reached its size limit")
            return None
        ip = addresses[0]
        try:
            server = socket.create_connection((str(ip), port), timeout=CONNECT_TIMEOUT_SECONDS)
        except OSError as exc:
            self._refuse(client, host, port, f"could not connect to {ip}:{port}: {exc}")
            return None
        self._track(server)
        with self._lock:
            self.connections.append(ServerConnection(host, port, str(ip), kind, _now()))
            return server, len(self.connections) - 1

    def _tunnel(self, client: socket.socket, host: str, port: int, early: bytes) -> None:
        opened = self._open_server(client, host, port, "tunnel")
        if opened is None:
            return
        server, index = opened
        try:
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if early:
                server.sendall(early)
            self._relay(client, server, index)
        finally:
            _close(server)

    def _forward(
        self, client: socket.socket, method: str, url: str, head: bytes, body_start: bytes
    ) -> None:
        authority, _, path = url[len("http://") :].partition("/")
        host, port = _split_host_port(authority, 80)
        opened = self._open_server(client, host, port, "http")
        if opened is None:
            return
        server, index = opened
        try:
            lines = head.split(b"\r\n")
            version = lines[0].rsplit(b" ", 1)[-1]
            kept = [
                line
                for line in lines[1:]
                if line and not line.lower().startswith((b"proxy-", b"connection:", b"keep-alive:"))
            ]
            # One request per connection: the browser may reuse a proxy connection for another
            # host, and every request must pass the checks above.
            first = f"{method} /{path} ".encode("latin-1") + version
            server.sendall(b"\r\n".join([first, *kept, b"Connection: close", b"", b""]))
            if body_start:
                server.sendall(body_start)
            self._relay(client, server, index, close_after_response=True)
        finally:
            _close(server)

    def _relay(
        self,
        client: socket.socket,
        server: socket.socket,
        index: int,
        *,
        close_after_response: bool = False,
    ) -> None:
        client.settimeout(None)
        server.settimeout(None)
        upstream = threading.Thread(
            target=self._pump, args=(client, server, index, False), daemon=True
        )
        upstream.start()
        self._pump(server, client, index, True)
        if close_after_response:
            _close(client)
        upstream.join(timeout=5)

    def _pump(self, source: socket.socket, sink: socket.socket, index: int, down: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if down:
                    with self._lock:
                        self._bytes += len(data)
                        if self._bytes > self.max_bytes:
                            self.over_limit = True
                    if self.over_limit:
                        break
                sink.sendall(data)
                with self._lock:
                    conn = self.connections[index]
                    self.connections[index] = ServerConnection(
                        conn.host,
                        conn.port,
                        conn.ip,
                        conn.kind,
                        conn.at,
                        conn.bytes_from_server + (len(data) if down else 0),
                        conn.bytes_to_server + (0 if down else len(data)),
                    )
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > MAX_HEAD_BYTES:
            raise ValueError("request head over 64 KiB")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
