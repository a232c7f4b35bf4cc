"""The trade-secret container: the one file that leaves the holder's machine, and its filing id.

Layout (``docs/trade-secret-crypto.md`` has the reasons)::

    CONTAINER_MAGIC (8) || version (1) || uint16_be(len(header)) || header || stream

``header`` is the canonical JSON ``{"filing_id", "media_type", "segment_size", "stream"}``;
``stream`` is the Tink streaming AEAD ciphertext (:mod:`ipnotary.sdk.trade_secret.stream`) with
everything before it, magic to header, as its associated data, so a relabelled header fails
authentication. Anyone can read the header without a key (:func:`inspect_container`). Part of
:mod:`ipnotary.sdk.trade_secret`, which re-exports its public names.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.errors import DecryptionError, FormatError
from ipnotary.sdk.trade_secret import stream
from ipnotary.sdk.trade_secret.keys import expect_keys

__all__ = [
    "CONTAINER_MAGIC",
    "CONTAINER_MEDIA_TYPE",
    "CONTAINER_VERSION",
    "MAX_CONTAINER_HEADER_BYTES",
    "STREAM_ALGORITHM",
    "ContainerInfo",
    "inspect_container",
    "new_filing_id",
]

CONTAINER_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-container;version=1"

# PNG-style magic: the high byte catches 7-bit channels, CR LF catches newline translation.
CONTAINER_MAGIC = b"\x89IPNTS\r\n"
CONTAINER_VERSION = 1
STREAM_ALGORITHM = "tink-aes256-gcm-hkdf-sha256"

# Limits ("to prevent DoS"): every document here is small; anything larger is hostile.
MAX_CONTAINER_HEADER_BYTES = 4096
_FILING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@dataclass(frozen=True)
class ContainerInfo:
    """What anyone can read from a container without a key (the service checks uploads with it)."""

    filing_id: str
    segment_size: int
    header_bytes: bytes = field(repr=False)  # magic .. end of the JSON header: the stream's AAD

    def plaintext_size(self, container_size: int) -> int:
        """The plaintext size behind a well-formed container of ``container_size`` bytes."""
        try:
            return stream.plaintext_size(container_size - len(self.header_bytes), self.segment_size)
        except ValueError as exc:
            raise DecryptionError(f"the container is too short: {exc}") from exc


def new_filing_id() -> str:
    """A fresh filing id, ``ts_`` and 32 hex digits, for when the service does not assign one."""
    return "ts_" + secrets.token_hex(16)


def check_filing_id(filing_id: object) -> None:
    """Raise :class:`FormatError` unless ``filing_id`` is a well-formed filing id (the container
    header and every wrapped key carry one)."""
    if not isinstance(filing_id, str) or not _FILING_ID.fullmatch(filing_id):
        raise FormatError(
            "a filing id is 1-128 characters from A-Z a-z 0-9 _ . : - and starts with a letter "
            "or digit"
        )


def container_prefix(filing_id: str, segment_size: int) -> bytes:
    """Magic, version and header: what a container starts with, and its stream's associated
    data."""
    header = canonical_json(
        {
            "media_type": CONTAINER_MEDIA_TYPE,
            "filing_id": filing_id,
            "stream": STREAM_ALGORITHM,
            "segment_size": segment_size,
        }
    )
    return CONTAINER_MAGIC + bytes([CONTAINER_VERSION]) + len(header).to_bytes(2, "big") + header


def read_container_header(source: BinaryIO) -> ContainerInfo:
    """Steps 1-3 of reading: magic, version, JSON header. Raises DecryptionError.

    Leaves ``source`` at the start of the stream."""
    fixed = stream.read_up_to(source, len(CONTAINER_MAGIC) + 3)
    seen = min(len(fixed), len(CONTAINER_MAGIC))
    if not fixed or fixed[:seen] != CONTAINER_MAGIC[:seen]:
        raise DecryptionError("not a trade-secret container (wrong magic number)")
    if len(fixed) < len(CONTAINER_MAGIC) + 3:
        raise DecryptionError("the container is truncated before the end of its header")
    version = fixed[len(CONTAINER_MAGIC)]
    if version != CONTAINER_VERSION:
        raise DecryptionError(f"unsupported container version {version} (this SDK reads 1)")
    length = int.from_bytes(fixed[-2:], "big")
    if length > MAX_CONTAINER_HEADER_BYTES:
        raise DecryptionError(
            f"the container header claims {length} bytes; the limit is {MAX_CONTAINER_HEADER_BYTES}"
        )
    raw = stream.read_up_to(source, length)
    if len(raw) < length:
        raise DecryptionError("the container is truncated inside its header")
    try:
        header = parse_json(raw, max_bytes=MAX_CONTAINER_HEADER_BYTES, what="container header")
        expect_keys(
            header,
            {"media_type", "filing_id", "stream", "segment_size"},
            set(),
            what="container header",
        )
        if canonical_json(header) != raw:
            raise FormatError("container header is not in canonical JSON form")
    except FormatError as exc:
        raise DecryptionError(f"the container header is malformed: {exc}") from exc
    if header["media_type"] != CONTAINER_MEDIA_TYPE or header["stream"] != STREAM_ALGORITHM:
        raise DecryptionError(
            f"unsupported container: {header['media_type']!r} with {header['stream']!r}"
        )
    size = header["segment_size"]
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not stream.MIN_SEGMENT_SIZE <= size <= stream.MAX_SEGMENT_SIZE
    ):
        raise DecryptionError(f"the container header has an unacceptable segment_size {size!r}")
    filing_id = header["filing_id"]
    try:
        check_filing_id(filing_id)
    except FormatError as exc:
        raise DecryptionError(f"the container header is malformed: {exc}") from exc
    return ContainerInfo(filing_id=filing_id, segment_size=size, header_bytes=fixed + raw)


def inspect_container(source: str | os.PathLike[str] | BinaryIO) -> ContainerInfo:
    """Read a container's public header without a key; raises DecryptionError if it is not one.

    The service can use this to refuse an upload that is not a container for the filing. It
    cannot prove the payload is ciphertext: only the holder's SDK can promise that.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return read_container_header(fh)
    return read_container_header(source)
