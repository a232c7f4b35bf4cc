"""The browser's exchanges as a WARC 1.1 file (warcio): a ``warcinfo`` record naming the capture,
then for every exchange its ``request`` and ``response`` records, the response carrying the
server's address (``WARC-IP-Address``, as the capture proxy connected to it).

Headers are the ones on the wire (Playwright's raw header arrays). A body the browser holds
decoded (a ``Content-Encoding`` the server used despite the capture's ``identity``, or chunked
transfer) is stored as the browser decoded it and those headers are renamed
``X-Archive-Orig-*`` (pywb's convention), so that a replay does not decode it twice and a reader
sees what the server said.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from ipnotary.service.adapters.capture.browser import Exchange

__all__ = ["write_warc"]

_RENAMED = ("content-encoding", "transfer-encoding")


def _response_headers(exchange: Exchange) -> list[tuple[str, str]]:
    body_length = len(exchange.body) if exchange.body is not None else 0
    encoded = any(
        name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity")
        for name, value in exchange.response_headers
    )
    headers = []
    for name, value in exchange.response_headers:
        lower = name.lower()
        renamed = lower in _RENAMED and (lower == "transfer-encoding" or encoded)
        if renamed or (lower == "content-length" and value.strip() != str(body_length)):
            headers.append((f"X-Archive-Orig-{name}", value))
        else:
            headers.append((name, value))
    return headers


def write_warc(
    path: Path,
    exchanges: list[Exchange],
    *,
    info: Mapping[str, str],
    addresses: Mapping[tuple[str, int], str],
) -> None:
    """Write ``exchanges`` to ``path`` (gzip per record). ``addresses``: host:port -> IP."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(path.name, dict(info)))
        for exchange in exchanges:
            _write_exchange(writer, exchange, addresses)


def _write_exchange(
    writer: WARCWriter, exchange: Exchange, addresses: Mapping[tuple[str, int], str]
) -> None:
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    request_headers = [(n, v) for n, v in exchange.request_headers if not n.startswith(":")]
    request = writer.create_warc_record(
        exchange.url,
        "request",
        payload=io.BytesIO(exchange.request_body or b""),
        http_headers=StatusAndHeaders(
            f"{exchange.method} {target} HTTP/1.1", request_headers, is_http_request=True
        ),
        warc_headers_dict={"WARC-Date": exchange.at},
    )
    warc_headers: dict[str, Any] = {"WARC-Date": exchange.at}
    ip = addresses.get(((parts.hostname or "").lower(), port))
    if ip is not None:
        warc_headers["WARC-IP-Address"] = ip
    if (
        exchange.body is None
        and exchange.body_note
        and not exchange.body_note.startswith("redirect")
    ):
        warc_headers["WARC-Truncated"] = "unspecified"
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(exchange.body or b""),
        http_headers=StatusAndHeaders(
            f"{exchange.status} {exchange.status_text}".strip(),
            _response_headers(exchange),
            protocol="HTTP/1.1",
        ),
        warc_headers_dict=warc_headers,
    )
    request.rec_headers.add_header("WARC-Concurrent-To", response.rec_headers["WARC-Record-ID"])
    writer.write_record(request)
    writer.write_record(response)
