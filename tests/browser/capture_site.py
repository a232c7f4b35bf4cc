"""A web site on loopback for capture tests: an HTTPS server with a certificate chain from a test
CA (made here with cryptography), a DNS server that answers for its names, and a listener that
counts the connections it receives (a target the capture must never reach).

Nothing here sends traffic off the machine: every name resolves, at our DNS server, to a loopback
address, and every server binds one.

- ``evidence.test`` -> 127.0.0.1: the HTTPS site. ``/start`` redirects (302) to ``/page``, a page
  with an English heading, a Chinese line and two images: ``/logo.png`` on the same site and one
  on ``internal.test``, which the capture must refuse;
- ``internal.test`` -> 127.0.0.2: the counting listener (127.0.0.2 is loopback, which the test's
  settings do not allow: only 127.0.0.1/32 is);
- anything else: NXDOMAIN (the browser's own background traffic asks for such names).
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import struct
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CHINESE_LINE", "CaptureSite", "page_html"]

CHINESE_LINE = "侵权网页取证测试：这是一行中文。"
SITE_NAME = "evidence.test"
INTERNAL_NAME = "internal.test"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


LOGO = _png(40, 40, (200, 30, 30))


def page_html(internal_port: int) -> bytes:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Evidence page 证据页面</title>
<style>body {{ margin: 0; background: #fff; font-family: "Noto Sans CJK SC", sans-serif; }}
#en {{ position: absolute; top: 20px; left: 20px; font-size: 32px; color: #000; }}
#zh {{ position: absolute; top: 100px; left: 20px; font-size: 32px; color: #000; }}
#logo {{ position: absolute; top: 180px; left: 20px; }}
#internal {{ position: absolute; top: 180px; left: 100px; width: 40px; height: 40px; }}
</style></head>
<body><div id="en">Infringing listing 12345</div><div id="zh">{CHINESE_LINE}</div>
<img id="logo" src="/logo.png" width="40" height="40" alt="">
<img id="internal" src="https://{INTERNAL_NAME}:{internal_port}/secret.png" alt="">
</body></html>
""".encode()


@dataclass
class _Certificates:
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _make_certificates() -> _Certificates:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Capture Test Root CA")])
    root = _issue("Capture Test Root CA", root_key, root_name, root_key, ca=True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _issue("Capture Test Intermediate", inter_key, root.subject, root_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _issue(
        SITE_NAME,
        leaf_key,
        inter.subject,
        inter_key,
        ca=False,
        names=[x509.DNSName(SITE_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    return _Certificates(root, inter, leaf, leaf_key)


@dataclass
class CaptureSite:
    """Start with ``with CaptureSite(tmp) as site``; ``site.url(path)``, ``site.dns``."""

    directory: Path
    sent: dict[str, bytes] = field(default_factory=dict)  # path -> the body bytes sent
    internal_connections: int = 0
    certs: _Certificates = field(default_factory=_make_certificates)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def chain_der(self) -> list[bytes]:
        """The chain the HTTPS server presents, leaf first."""
        return [
            c.public_bytes(serialization.Encoding.DER)
            for c in (self.certs.leaf, self.certs.intermediate)
        ]

    @property
    def ca_file(self) -> Path:
        return self.directory / "capture-test-root.pem"

    def url(self, path: str) -> str:
        return f"https://{SITE_NAME}:{self.port}{path}"

    def __enter__(self) -> CaptureSite:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file.write_bytes(self.certs.root.public_bytes(serialization.Encoding.PEM))
        self._start_internal()
        self._start_https()
        self._start_dns()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._https.shutdown()
        self._internal.close()
        self._dns_socket.close()

    def _spawn(self, target: object) -> None:
        thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _start_internal(self) -> None:
        self._internal = socket.socket()
        self._internal.bind(("127.0.0.2", 0))
        self._internal.listen(8)
        self.internal_port = int(self._internal.getsockname()[1])

        def accept() -> None:
            while not self._stop.is_set():
                try:
                    conn, _ = self._internal.accept()
                except OSError:
                    return
                self.internal_connections += 1
                conn.close()

        self._spawn(accept)

    def _start_https(self) -> None:
        site = self
        html = page_html(self.internal_port)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path == "/start":
                    self.send_response(302)
                    self.send_header("Location", "/page")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/page":
                    body, kind = html, "text/html; charset=utf-8"
                elif self.path == "/logo.png":
                    body, kind = LOGO, "image/png"
                else:
                    body, kind = b"not here", "text/plain"
                site.sent[self.path] = body
                self.send_response(200 if body != b"not here" else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        chain = self.directory / "site-chain.pem"
        key = self.directory / "site-key.pem"
        chain.write_bytes(
            b"".join(
                c.public_bytes(serialization.Encoding.PEM)
                for c in (self.certs.leaf, self.certs.intermediate)
            )
        )
        key.write_bytes(
            self.certs.leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(chain, key)
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self.port = int(self._https.server_address[1])
        self._spawn(self._https.serve_forever)

    def _start_dns(self) -> None:
        self._dns_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._dns_socket.bind(("127.0.0.1", 0))
        self.dns = f"127.0.0.1:{self._dns_socket.getsockname()[1]}"
        answers = {SITE_NAME: "127.0.0.1", INTERNAL_NAME: "127.0.0.2"}

        def serve() -> None:
            while not self._stop.is_set():
                try:
                    data, peer = self._dns_socket.recvfrom(4096)
                except OSError:
                    return
                query = dns.message.from_wire(data)
                reply = dns.message.make_response(query)
                question = query.question[0]
                name = question.name.to_text(omit_final_dot=True).lower()
                if name not in answers:
                    reply.set_rcode(dns.rcode.NXDOMAIN)
                elif question.rdtype == dns.rdatatype.A:
                    reply.answer.append(
                        dns.rrset.from_text(question.name, 60, "IN", "A", answers[name])
                    )
                self._dns_socket.sendto(reply.to_wire(), peer)

        self._spawn(serve)
