"""A capture from URL to signed WACZ: :class:`Capturer` runs one at a time and returns a
:class:`CaptureOutcome` (the WACZ on disk and the provenance that goes in the record).

The order is what makes the evidence worth having: the environment is checked and the URL's host
resolved and checked against the address policy *before* a browser starts (a refused URL makes
no request at all); the browser then reaches the network only through the capture proxy; the
package is built, signed and checked with the SDK's own verifier before anyone sees it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from ipnotary.sdk.capture import PROVENANCE, read_wacz, verify_wacz_signature
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.service.adapters.capture.addresses import AddressPolicy
from ipnotary.service.adapters.capture.browser import (
    BrowserCapture,
    CaptureFailed,
    PageOptions,
    capture_page,
    host_port,
)
from ipnotary.service.adapters.capture.environment import (
    Check,
    check_hosts_file,
    check_proxy_settings,
    resolv_conf_nameservers,
)
from ipnotary.service.adapters.capture.package import build_wacz
from ipnotary.service.adapters.capture.proxy import CaptureProxy, make_resolver
from ipnotary.service.adapters.capture.summary import render_summary
from ipnotary.service.adapters.capture.tls import describe_chain, load_roots
from ipnotary.service.adapters.capture.warc import write_warc

__all__ = [
    "CaptureBusy",
    "CaptureFailed",
    "CaptureLimits",
    "CaptureOutcome",
    "CaptureRefused",
    "Capturer",
    "PageOptions",
]

PROVENANCE_FORMAT = "ipnotary-capture-provenance/1"
PLAYWRIGHT_NODE = "driver/node"


class CaptureRefused(Exception):
    """The URL may not be captured (scheme, or an address the policy refuses); nothing was sent."""


class CaptureBusy(Exception):
    """Another capture is running in this process and did not finish in time."""


@dataclass(frozen=True)
class CaptureLimits:
    timeout_seconds: float = 60.0
    max_bytes: int = 100 * 1024**2
    queue_seconds: float = 30.0  # how long a capture waits for the one before it


@dataclass(frozen=True)
class CaptureOutcome:
    wacz: Path  # in a scratch directory the caller removes (:meth:`cleanup`)
    provenance: dict[str, Any]
    datapackage_sha256: str
    created: str
    signing_key: str
    files: tuple[tuple[str, str, int], ...]
    timestamp_token: bytes | None

    def cleanup(self) -> None:
        shutil.rmtree(self.wacz.parent, ignore_errors=True)


_PROGRAM_HASHES: dict[tuple[str, int, int], str] = {}


def _program(path: Path, version: str) -> dict[str, Any]:
    """SHA-256 of a capturing program, cached by path, size and modification time."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _PROGRAM_HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        _PROGRAM_HASHES[key] = digest.hexdigest()
    return {
        "path": str(path),
        "version": version,
        "size": stat.st_size,
        "sha256": _PROGRAM_HASHES[key],
    }


def _os_release() -> dict[str, str]:
    facts = {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
    }
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            name, _, value = line.partition("=")
            if name == "PRETTY_NAME":
                facts["pretty_name"] = value.strip().strip('"')
    except OSError:
        facts["pretty_name"] = facts["system"]
    facts.setdefault("pretty_name", facts["system"])
    return facts


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class Capturer:
    """What a capture needs from the settings; :meth:`capture` does one."""

    chromium: str
    policy: AddressPolicy
    dns_servers: list[str]
    limits: CaptureLimits
    signing_key: ec.EllipticCurvePrivateKey
    software: str
    ca_file: Path | None = None
    timestamper: Callable[[bytes], bytes] | None = None  # SHA-256 digest -> RFC 3161 token
    read_token_time: Callable[[bytes], datetime] | None = None
    clock_reference: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_url(self, url: str) -> None:
        """Refuse, with the reason, a URL that is not http(s) or names no host."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CaptureRefused(f"only http and https URLs with a host can be captured: {url!r}")
        if parts.username or parts.password:
            raise CaptureRefused("a URL with credentials in it is not captured")

    def capture(self, url: str, options: PageOptions) -> CaptureOutcome:
        self.check_url(url)
        if not self._lock.acquire(timeout=self.limits.queue_seconds):
            raise CaptureBusy("another capture is running; try again shortly")
        try:
            return self._capture(url, options)
        finally:
            self._lock.release()

    def _capture(self, url: str, options: PageOptions) -> CaptureOutcome:
        started = time.monotonic()
        deadline = started + self.limits.timeout_seconds
        captured_at = format_timestamp(datetime.now(UTC))
        resolver = make_resolver(self.dns_servers, timeout=min(10.0, self.limits.timeout_seconds))
        dns_servers = list(self.dns_servers) or resolv_conf_nameservers()
        page_hosts: set[tuple[str, int]] = set()
        proxy = CaptureProxy(
            self.policy,
            resolver,
            self.limits.max_bytes,
            is_page_request=lambda host, port: (host.lower(), port) in page_hosts,
        )
        host = (urlsplit(url).hostname or "").lower()
        # Before any browser or request: the URL's own host, resolved and checked.
        _, refusal = proxy.check_host(host)
        if refusal is not None:
            raise CaptureRefused(refusal)
        clock = self._clock_check()
        checks = [check_hosts_file(), check_proxy_settings(), clock[0]]
        scratch = Path(tempfile.mkdtemp(prefix="notary-capture-"))
        try:
            with proxy:
                watchdog = threading.Timer(self.limits.timeout_seconds + 5, proxy.close)
                watchdog.daemon = True
                watchdog.start()
                try:
                    page = capture_page(
                        url,
                        chromium=self.chromium,
                        proxy_url=proxy.url,
                        page_hosts=page_hosts,
                        options=options,
                        deadline=deadline,
                        max_body_bytes=self.limits.max_bytes,
                    )
                finally:
                    watchdog.cancel()
            if proxy.over_limit:
                raise CaptureFailed(
                    "the page needed more than the capture's limit of "
                    f"{self.limits.max_bytes} bytes"
                )
            checks += self._browser_checks(page, proxy, dns_servers)
            return self._package(
                scratch, url, page, proxy, options, checks, clock[1], captured_at, dns_servers
            )
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise

    # -- checks -----------------------------------------------------------------------------

    def _clock_check(self) -> tuple[Check, dict[str, Any]]:
        if self.timestamper is not None and self.read_token_time is not None:
            nonce = os.urandom(32)
            before = time.time()
            try:
                token = self.timestamper(hashlib.sha256(nonce).digest())
            except Exception as exc:  # noqa: BLE001 - any failure of the TSA is a failed check
                return self._clock_unchecked(f"the TSA did not answer: {exc}")
            after = time.time()
            gen = self.read_token_time(token).timestamp()
            offset = gen - (before + after) / 2
            passed = abs(offset) <= max(2.0, (after - before) / 2 + 1.0)
            facts = {
                "source": "timestamp_authority",
                "offset_seconds": round(offset, 3),
                "round_trip_seconds": round(after - before, 3),
            }
            detail = f"the service's clock is {offset:+.3f} s from the TSA's time-stamp"
            return Check("clock", passed, detail, facts), facts
        if self.clock_reference:
            before = time.time()
            try:
                reply = httpx.head(self.clock_reference, timeout=10.0)
                date = reply.headers.get("date")
            except httpx.HTTPError as exc:
                return self._clock_unchecked(f"the clock reference did not answer: {exc}")
            after = time.time()
            if not date:
                return self._clock_unchecked("the clock reference sent no Date header")
            from email.utils import parsedate_to_datetime

            offset = parsedate_to_datetime(date).timestamp() - (before + after) / 2
            # HTTP dates have whole seconds: anything within 2 s is as close as it can tell
            facts = {"source": "reference", "offset_seconds": round(offset, 3)}
            return (
                Check("clock", abs(offset) <= 2.0, f"{offset:+.1f} s from the reference", facts),
                facts,
            )
        return self._clock_unchecked(
            "no TSA (NOTARY_TSA_URLS) or clock reference (NOTARY_CAPTURE_CLOCK_REFERENCE) is "
            "configured to compare the service's clock with"
        )

    @staticmethod
    def _clock_unchecked(detail: str) -> tuple[Check, dict[str, Any]]:
        facts: dict[str, Any] = {"source": None, "offset_seconds": None, "detail": detail}
        return Check("clock", False, detail, facts), facts

    def _browser_checks(
        self, page: BrowserCapture, proxy: CaptureProxy, dns_servers: list[str]
    ) -> list[Check]:
        asked = sorted({a.nameserver for a in proxy.dns_answers})
        return [
            Check(
                "dns_servers",
                bool(dns_servers),
                f"names were resolved at {', '.join(dns_servers) or 'no server'} only, by the "
                "capture itself (no hosts file, no browser cache)",
                {"configured": dns_servers, "asked": asked},
            ),
            Check(
                "browser_extensions",
                not page.extension_targets,
                "no extension was loaded (--disable-extensions; the browser's targets show none)"
                if not page.extension_targets
                else f"extension targets were present: {page.extension_targets}",
                {"targets": page.extension_targets},
            ),
            Check(
                "fresh_profile",
                page.profile_was_empty,
                "the browser ran in a profile directory created empty for this capture and "
                "deleted after it",
                {},
            ),
        ]

    # -- the package ------------------------------------------------------------------------

    def _package(
        self,
        scratch: Path,
        url: str,
        page: BrowserCapture,
        proxy: CaptureProxy,
        options: PageOptions,
        checks: list[Check],
        clock: dict[str, Any],
        captured_at: str,
        dns_servers: list[str],
    ) -> CaptureOutcome:
        addresses: dict[tuple[str, int], str] = {}
        for conn in proxy.connections:
            addresses.setdefault((conn.host.lower(), conn.port), conn.ip)
        roots = load_roots(self.ca_file)
        servers = []
        for (host, port), ip in sorted(addresses.items()):
            origin = next((o for o in page.certificates if host_port(o) == (host, port)), None)
            chain = page.certificates.get(origin, []) if origin else []
            described = describe_chain(host, chain, roots) if chain else None
            servers.append(
                {
                    "host": host,
                    "port": port,
                    "ip": ip,
                    "origin": origin,
                    "chain": described["certificates"] if described else [],
                    "verified": described["verified"] if described else None,
                    "verify_error": described["verify_error"] if described else None,
                    "tls": page.security.get(origin, {}) if origin else {},
                }
            )
        redirects = [
            {"from": e.url, "to": e.redirected_to, "status": e.status}
            for e in page.exchanges
            if e.redirected_to is not None
        ]
        chromium = Path(self.chromium)
        real = Path("/usr/lib/chromium/chromium")
        programs = [_program(chromium, page.browser_version)]
        if real.is_file() and real != chromium.resolve():
            programs.append(_program(real, page.browser_version))
        import playwright

        node = Path(playwright.__file__).parent / PLAYWRIGHT_NODE
        if node.is_file():
            programs.append(_program(node, f"playwright {_version('playwright')} driver"))
        finished_at = format_timestamp(datetime.now(UTC))
        provenance: dict[str, Any] = {
            "format": PROVENANCE_FORMAT,
            "url": url,
            "final_url": page.final_url,
            "title": page.title,
            "status": page.status,
            "captured_at": captured_at,
            "loaded_at": page.loaded_at,
            "finished_at": finished_at,
            "clock": clock,
            "redirects": redirects,
            "servers": servers,
            "dns": [vars(a) | {"addresses": list(a.addresses)} for a in proxy.dns_answers],
            "connections": [vars(c) for c in proxy.connections],
            "blocked_requests": [vars(b) for b in proxy.blocked],
            "failed_requests": page.failed_requests,
            "environment": {
                "clean": all(c.passed for c in checks),
                "checks": [c.to_json() for c in checks],
            },
            "software": {
                "service": self.software,
                "browser": page.browser_version,
                "user_agent": page.user_agent,
                "command_line": page.command_line,
                "os": _os_release(),
                "python": platform.python_version(),
                "libraries": {
                    name: _version(name) for name in ("playwright", "warcio", "wacz", "dnspython")
                },
                "programs": programs,
            },
            "options": {
                "viewport": {"width": options.width, "height": options.height},
                "locale": options.locale,
                "timezone": options.timezone,
                "settle_seconds": options.settle_seconds,
                "full_page": options.full_page,
                "accept_encoding": "identity",
                "timeout_seconds": self.limits.timeout_seconds,
                "max_bytes": self.limits.max_bytes,
                "allowed_networks": self.policy.describe(),
                "dns_servers": dns_servers,
                "waits_cut_short": page.timed_out_waiting,
            },
        }
        provenance_bytes = json.dumps(provenance, indent=2, ensure_ascii=False).encode("utf-8")
        warc = scratch / "data.warc.gz"
        write_warc(
            warc,
            page.exchanges,
            info={
                "software": self.software,
                "format": "WARC File Format 1.1",
                "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "description": f"capture of {url} at {captured_at}",
                "http-header-user-agent": page.user_agent,
            },
            addresses=addresses,
        )
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        built = build_wacz(
            scratch / "capture.wacz",
            warc=warc,
            url=page.final_url,
            ts=page.loaded_at,
            title=page.title or page.final_url,
            description=f"Capture of {url} by {self.software} at {captured_at}",
            files={
                "capture/screenshot.png": page.screenshot,
                "capture/snapshot.pdf": page.pdf,
                "capture/page.mhtml": page.mhtml,
                "capture/dom.html": page.dom,
                PROVENANCE: provenance_bytes,
                "capture/summary.html": render_summary(provenance),
            },
            created=created,
            key=self.signing_key,
            software=self.software,
        )
        warc.unlink()
        # The package is checked with the verifier a court would use before it is anchored.
        verify_wacz_signature(read_wacz(built.path))
        token = None
        if self.timestamper is not None:
            try:
                token = self.timestamper(bytes.fromhex(built.datapackage_sha256))
            except Exception:  # noqa: BLE001 - the token is extra evidence; its absence is visible
                token = None
        return CaptureOutcome(
            wacz=built.path,
            provenance=provenance,
            datapackage_sha256=built.datapackage_sha256,
            created=built.created,
            signing_key=built.signing_key,
            files=built.files,
            timestamp_token=token,
        )
