"""Content-addressed storage of evidence files, keyed by the CID ``ipfs add`` would give them.

Start with :class:`ContentStore`, the interface the service codes against, and
:func:`open_content_store`, which picks an implementation from one setting:

* :class:`EmbeddedContentStore` (``ipnotary.service.storage._content_embedded``): files in a local
  directory, no server needed;
* :class:`KuboContentStore` (``ipnotary.service.storage._content_kubo``): a Kubo daemon over its
  RPC API.

Both fingerprint while writing (one pass gives size, SHA-256, SM3 and both CIDs; see
``ipnotary.sdk.fingerprint``) and re-verify every byte they hand out against the CID it was asked
for, so a corrupt disk or a misbehaving daemon yields :class:`~notary.errors.ContentCorrupted`,
never wrong bytes. Errors::

    ContentStoreError
    ├── ContentNotFound          nothing stored under that CID
    └── ContentCorrupted         stored bytes (or the digest sidecar) no longer match the CID
    ContentStoreUnavailable      the directory or daemon cannot be used (a DependencyUnavailable)
    InvalidInput                 the string is not a CID this store can hold
    LimitExceeded                a write went over the store's ``max_size``
"""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from ipnotary.sdk.fingerprint import Fingerprint
from ipnotary.service.storage._content_embedded import EmbeddedContentStore
from ipnotary.service.storage._content_kubo import KuboContentStore

__all__ = [
    "ContentStore",
    "ContentWriter",
    "EmbeddedContentStore",
    "KuboContentStore",
    "open_content_store",
]


@runtime_checkable
class ContentWriter(Protocol):
    """A streaming put. Use as a context manager: leaving it on an exception aborts."""

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def commit(self) -> Fingerprint:
        """Make the content durable and readable under its CID; returns its fingerprint."""
        ...

    def abort(self) -> None:
        """Drop everything written so far (idempotent; a no-op after commit)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class ContentStore(Protocol):
    def writer(self) -> ContentWriter: ...

    def put_bytes(self, data: bytes) -> Fingerprint: ...

    def put_file(self, path: str | PathLike[str]) -> Fingerprint: ...

    def open(self, cid: str) -> Iterator[bytes]:
        """Stream the content, verified chunk by chunk before each chunk is yielded.

        Raises ``ContentNotFound`` at call time; ``ContentCorrupted`` at call time or while
        iterating (naming the CID and the offset where the bytes stopped matching).
        """
        ...

    def has(self, cid: str) -> bool: ...

    def size(self, cid: str) -> int: ...

    def check(self) -> None:
        """Readiness probe: return, or raise ``ContentStoreUnavailable`` saying what is wrong."""
        ...


def open_content_store(location: str | PathLike[str]) -> ContentStore:
    """``http(s)://...`` → the Kubo RPC API at that URL; anything else → a data directory."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return KuboContentStore(text)
    return EmbeddedContentStore(location)
