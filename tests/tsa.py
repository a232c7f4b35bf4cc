"""A real RFC 3161 time-stamp authority on loopback: OpenSSL's ``openssl ts -reply`` behind HTTP.

Start reading at :class:`OpenSSLTimestampAuthority`. It makes, with ``cryptography``, a throwaway
root CA and a TSA certificate under it (``extendedKeyUsage = timeStamping``, critical, as RFC 3161
section 2.3 and ``openssl ts -verify`` require), writes an ``openssl ts`` configuration, and serves
``POST /`` on 127.0.0.1 on a free port: each request body goes to ``openssl ts -reply`` and its
output goes back as ``application/timestamp-reply``. The tokens are therefore OpenSSL's, not ours,
which is the point: our client and verifier are tested against a TSA we did not write.

For fault tests, set :attr:`OpenSSLTimestampAuthority.fault` (see :data:`FAULTS`): a rejection, a
garbled body, a wrong content type, an HTTP error, or a reply slower than the client's timeout.

Use it as a context manager, or through the fixtures :func:`openssl_tsa` (RSA) and
:func:`openssl_tsa_ec` (ECDSA P-256), which stop the server at the end of the test::

    from tests.tsa import openssl_tsa  # noqa: F401  (a pytest fixture)

    def test_something(openssl_tsa: OpenSSLTimestampAuthority) -> None:
        token = request_token(openssl_tsa.url, digest)

Without ``openssl`` on the machine (``NOTARY_OPENSSL``, then PATH) the fixtures skip with the
reason, and fail under ``CI=true``. The private keys written to the work directory are test-only.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal, Self

import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import find_tool, missing_component

__all__ = [
    "FAULTS",
    "TSA_POLICY",
    "KeyType",
    "OpenSSLTimestampAuthority",
    "TestCA",
    "TimeStampResp",
    "find_openssl",
    "make_test_ca",
    "openssl_tsa",
    "openssl_tsa_ec",
    "rejection_response",
    "require_openssl",
]

KeyType = Literal["rsa", "ec"]
Fault = Literal["rejection", "garbage", "wrong_content_type", "server_error", "slow"]
FAULTS: tuple[Fault, ...] = ("rejection", "garbage", "wrong_content_type", "server_error", "slow")

# The policy OID the test TSA stamps under (an arbitrary arc: tests must not mistake it for a real
# one).
TSA_POLICY = "1.3.6.1.4.1.99999.3161.1"
# Requests larger than this are refused before openssl sees them (a real request is ~80 bytes).
MAX_REQUEST_BYTES = 16 * 1024
# How long the "slow" fault waits before answering: longer than any client timeout a test sets.
SLOW_REPLY_SECONDS = 3.0
# openssl ts -reply normally takes milliseconds; this only guards a hung child process.
OPENSSL_TIMEOUT_SECONDS = 30.0


def find_openssl() -> str | None:
    """The ``openssl`` binary: ``$NOTARY_OPENSSL``, the project's .tools/bin, then PATH."""
    return find_tool("openssl", "NOTARY_OPENSSL")


def require_openssl() -> str:
    """The ``openssl`` binary, or skip the test (fail under ``CI=true``) when it is missing."""
    path = find_openssl()
    if path is None:
        missing_component(
            "openssl not found (set NOTARY_OPENSSL or install Debian's openssl package): "
            "the RFC 3161 tests need `openssl ts`"
        )
        raise AssertionError("unreachable")  # missing_component always raises
    return path


class TestCA:
    """A CA made for one test run: a self-signed root, or an intermediate under ``parent``."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(
        self, common_name: str, key_type: KeyType = "rsa", *, parent: TestCA | None = None
    ) -> None:
        self.key = _new_key(key_type)
        self.parent = parent
        now = dt.datetime.now(dt.UTC)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IP Notary tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        public = self.key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(parent.certificate.subject if parent else name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=0 if parent else None), critical=True
            )
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        if parent is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                critical=False,
            )
        self.certificate: x509.Certificate = builder.sign(
            parent.key if parent else self.key, hashes.SHA256()
        )

    @property
    def chain(self) -> list[x509.Certificate]:
        """This CA's certificate and its parents' up to, not including, the root."""
        if self.parent is None:
            return []
        return [self.certificate, *self.parent.chain]

    @property
    def root(self) -> TestCA:
        return self.parent.root if self.parent else self

    def issue_tsa_certificate(
        self,
        common_name: str,
        key_type: KeyType = "rsa",
        *,
        eku_critical: bool = True,
        eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.TIME_STAMPING,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]:
        """A TSA signing certificate; the keyword arguments make deliberately wrong ones."""
        key = _new_key(key_type)
        now = dt.datetime.now(dt.UTC)
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IP Notary tests"),
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(hours=1))
            .not_valid_after(not_after or now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=eku_critical)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return cert, key


def make_test_ca(common_name: str = "Test TSA Root", key_type: KeyType = "rsa") -> TestCA:
    return TestCA(common_name, key_type)


class OpenSSLTimestampAuthority:
    """``openssl ts -reply`` served over HTTP on 127.0.0.1; stop it with :meth:`close`.

    Attributes: ``url``, ``root_certificate`` / ``ca_file`` (the trust anchor, PEM),
    ``tsa_certificate`` / ``tsa_cert_file`` (the signer, PEM), ``intermediate_certificates``,
    ``untrusted_file`` (signer and intermediates, PEM, for ``openssl ts -verify -untrusted``),
    ``config_file``, ``openssl``, ``requests`` (every request body received, in order) and
    ``fault`` (None to answer normally, else one of :data:`FAULTS`).
    """

    def __init__(
        self,
        workdir: Path | str,
        key_type: KeyType = "rsa",
        *,
        openssl: str | None = None,
        ca: TestCA | None = None,
        intermediate: bool = False,
        tsa_certificate: tuple[x509.Certificate, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey]
        | None = None,
    ) -> None:
        """``ca`` signs the TSA certificate (a new root by default; with ``intermediate``, a new
        intermediate under it, which the tokens then carry); ``tsa_certificate`` replaces the TSA
        certificate and key, e.g. a deliberately wrong one from
        :meth:`TestCA.issue_tsa_certificate`.
        """
        self.openssl = openssl or find_openssl() or "openssl"
        self.key_type = key_type
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        issuing = ca or TestCA(f"Test TSA Root ({key_type})", key_type)
        if intermediate:
            issuing = TestCA(f"Test TSA Intermediate ({key_type})", key_type, parent=issuing)
        self.ca = issuing
        cert, key = tsa_certificate or issuing.issue_tsa_certificate(
            f"Test TSA ({key_type})", key_type
        )
        self.root_certificate: x509.Certificate = issuing.root.certificate
        self.intermediate_certificates: list[x509.Certificate] = issuing.chain
        self.tsa_certificate: x509.Certificate = cert
        self.ca_file = self.dir / "root.pem"
        self.tsa_cert_file = self.dir / "tsa.pem"
        # What `openssl ts -verify -untrusted` needs: the TSA certificate and any intermediates.
        self.untrusted_file = self.dir / "untrusted.pem"
        self.tsa_key_file = self.dir / "tsa.key"
        self.config_file = self.dir / "openssl-ts.cnf"
        self.ca_file.write_bytes(_pem(self.root_certificate))
        self.tsa_cert_file.write_bytes(_pem(cert))
        self.untrusted_file.write_bytes(
            b"".join(_pem(c) for c in [cert, *self.intermediate_certificates])
        )
        self.tsa_key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(self.tsa_key_file, 0o600)
        (self.dir / "serial").write_text("01\n")
        extra = ""
        if self.intermediate_certificates:
            (self.dir / "chain.pem").write_bytes(
                b"".join(_pem(c) for c in self.intermediate_certificates)
            )
            extra = "certs = $dir/chain.pem\n"
        self.config_file.write_text(_openssl_ts_config(self.dir) + extra)

        self.fault: Fault | None = None
        self.requests: list[bytes] = []
        # openssl ts -reply rewrites its serial file: one child at a time keeps serials unique.
        self._openssl_lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"openssl-tsa-{self.port}", daemon=True
        )
        self._thread.start()
        # Stops the server even if a test forgets close(): when this object is collected, or at
        # interpreter exit at the latest.
        self._stop = weakref.finalize(self, _stop_server, self._server, self._thread)

    def reply(self, request: bytes) -> bytes:
        """The DER TimeStampResp that ``openssl ts -reply`` gives for one DER request."""
        with self._openssl_lock, tempfile.TemporaryDirectory(dir=self.dir) as tmp:
            query, answer = Path(tmp) / "request.tsq", Path(tmp) / "reply.tsr"
            query.write_bytes(request)
            result = subprocess.run(
                [
                    self.openssl,
                    "ts",
                    "-reply",
                    "-config",
                    str(self.config_file),
                    "-queryfile",
                    str(query),
                    "-out",
                    str(answer),
                ],
                capture_output=True,
                timeout=OPENSSL_TIMEOUT_SECONDS,
                check=False,
            )
            if result.returncode != 0 or not answer.exists():
                raise RuntimeError(
                    f"openssl ts -reply failed ({result.returncode}): "
                    f"{result.stderr.decode(errors='replace').strip()}"
                )
            return answer.read_bytes()

    def close(self) -> None:
        """Stop serving and wait for the server thread; safe to call twice."""
        self._stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class TimeStampResp(tsp.TimeStampResp):
    """asn1crypto's TimeStampResp with the token OPTIONAL, as in RFC 3161 (1.5.1 requires it)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def rejection_response(text: str = "the test TSA refuses this request") -> bytes:
    """A DER TimeStampResp with status ``rejection`` and failInfo ``badRequest``."""
    return bytes(
        TimeStampResp(
            {
                "status": {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": {"bad_request"},
                },
            }
        ).dump()
    )


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) resets the connection: not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _stop_server(server: http.server.ThreadingHTTPServer, thread: threading.Thread) -> None:
    if thread.is_alive():
        server.shutdown()
        thread.join(timeout=10)
    server.server_close()


def _handler_for(tsa: OpenSSLTimestampAuthority) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
        # client's delayed ACK (~40 ms a request on Linux loopback).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_REQUEST_BYTES:
                self._answer(413, "text/plain", b"request body missing or too large\n")
                return
            body = self.rfile.read(length)
            tsa.requests.append(body)
            fault = tsa.fault
            if fault == "server_error":
                self._answer(500, "text/plain", b"the test TSA is failing on purpose\n")
            elif fault == "garbage":
                self._answer(200, "application/timestamp-reply", b"\x30\x82\xff\xffnot DER")
            elif fault == "rejection":
                self._answer(200, "application/timestamp-reply", rejection_response())
            else:
                if fault == "slow":
                    time.sleep(SLOW_REPLY_SECONDS)
                try:
                    answer = tsa.reply(body)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    self._answer(500, "text/plain", f"{exc}\n".encode())
                    return
                ctype = (
                    "text/html" if fault == "wrong_content_type" else "application/timestamp-reply"
                )
                self._answer(200, ctype, answer)

        def _answer(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            try:
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the "slow" fault): nothing to answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest's output for the tests

    return Handler


def _openssl_ts_config(directory: Path) -> str:
    # See `man ts` (OpenSSL 3.0), section "CONFIGURATION FILE OPTIONS".
    return f"""\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {directory}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {TSA_POLICY}
other_policies = {TSA_POLICY}.2
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _new_key(key_type: KeyType) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _running(tmp_path: Path, key_type: KeyType) -> Iterator[OpenSSLTimestampAuthority]:
    openssl = require_openssl()
    with OpenSSLTimestampAuthority(tmp_path / f"tsa-{key_type}", key_type, openssl=openssl) as tsa:
        yield tsa


@pytest.fixture
def openssl_tsa(tmp_path: Path) -> Iterator[OpenSSLTimestampAuthority]:
    """A loopback ``openssl ts`` TSA signing with RSA-2048; stopped after the test."""
    yield from _running(tmp_path, "rsa")


@pytest.fixture
def openssl_tsa_ec(tmp_path: Path) -> Iterator[OpenSSLTimestampAuthority]:
    """A loopback ``openssl ts`` TSA signing with ECDSA P-256; stopped after the test."""
    yield from _running(tmp_path, "ec")
