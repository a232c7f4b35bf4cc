"""Fingerprints of content: size, SHA-256, SM3 and the two IPFS CIDs, in one pass.

Start at :class:`Fingerprinter` (incremental) or the one-call helpers :func:`fingerprint_file`,
:func:`fingerprint_stream` and :func:`fingerprint_bytes`. The CID part lives in
:mod:`ipnotary.sdk._unixfs`.

Speed: SM3 (GM/T 0004) is the slowest of the hashes by a wide margin, so it runs on a worker
thread fed through a small bounded queue while the caller's thread computes SHA-256 and the
UnixFS leaf hashes. ``hashlib`` releases the GIL while hashing buffers over 2 KiB, so on two
cores the whole fingerprint costs about as much wall time as SM3 alone. SM3 comes from
``hashlib.new("sm3")`` (OpenSSL 3) rather than ``cryptography``'s ``hashes.SM3`` because
hashlib documents that GIL release and adds no per-call wrapper overhead; ``cryptography`` is the
fallback for a Python whose OpenSSL was built without SM3.

Memory: constant apart from the leaf digest list (64 bytes per 256 KiB chunk, see
:class:`LeafDigests`); the queue holds at most ``_QUEUE_DEPTH`` buffers.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol, Self

from ipnotary.sdk._unixfs import CHUNK_SIZE, LeafDigests, UnixFSHasher

__all__ = [
    "CHUNK_SIZE",
    "Fingerprint",
    "Fingerprinter",
    "LeafDigests",
    "fingerprint_bytes",
    "fingerprint_file",
    "fingerprint_stream",
]


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a piece of content. Hex digests are lowercase."""

    size: int
    sha256: str
    sm3: str  # GM/T 0004
    cid: str  # CIDv0, as `ipfs add` prints it
    cid_v1: str  # as `ipfs add --cid-version 1` (raw leaves) prints it


class _Hash(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySM3:
    """hashlib-shaped adapter over ``cryptography``'s SM3, used only if OpenSSL lacks SM3."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes

        self._ctx = hashes.Hash(hashes.SM3())

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._ctx.update(bytes(data))

    def hexdigest(self) -> str:
        return self._ctx.finalize().hex()


def _new_sm3() -> _Hash:
    if "sm3" in hashlib.algorithms_available:
        return hashlib.new("sm3")
    return _CryptographySM3()


_STOP = object()
_QUEUE_DEPTH = 4
_INLINE_LIMIT = 1 << 20  # below this much content, a thread costs more than it saves
_BATCH = 1 << 20  # small writes are batched to this size before crossing to the worker
_DIRECT = 256 << 10  # buffers at least this large go to the worker as they are


def _sm3_worker(q: queue.Queue[object], h: _Hash, errors: list[BaseException]) -> None:
    # Holds no reference to the Fingerprinter, so an abandoned one can still be collected.
    while True:
        item = q.get()
        if item is _STOP:
            return
        if not errors:
            # Any failure is handed to the caller's thread, which re-raises it in finalize().
            try:
                h.update(item)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
                errors.append(exc)


def _stop_worker(q: queue.Queue[object]) -> None:
    q.put(_STOP)


class _SM3Pipeline:
    """SM3 over a stream, inline for small content, on a worker thread for the rest."""

    def __init__(self) -> None:
        self._hash = _new_sm3()
        self._inline_bytes = 0
        self._batch = bytearray()
        self._queue: queue.Queue[object] | None = None
        self._thread: threading.Thread | None = None
        self._errors: list[BaseException] = []
        self._stopper: weakref.finalize[[queue.Queue[object]], _SM3Pipeline] | None = None

    def submit(self, data: bytes | bytearray | memoryview, owned: bool) -> None:
        """Hash ``data``. ``owned``: it is immutable ``bytes`` the caller cannot change later."""
        if self._queue is None:
            if self._inline_bytes + len(data) <= _INLINE_LIMIT and len(data) < _DIRECT:
                self._hash.update(data)
                self._inline_bytes += len(data)
                return
            self._start()
        assert self._queue is not None
        if len(data) >= _DIRECT:
            self._flush_batch()
            # The worker reads the buffer later, so it must not be one the caller may reuse.
            self._queue.put(data if owned else bytes(data))
        else:
            self._batch += data
            if len(self._batch) >= _BATCH:
                self._flush_batch()

    def _start(self) -> None:
        self._queue = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._thread = threading.Thread(
            target=_sm3_worker,
            args=(self._queue, self._hash, self._errors),
            name="sm3-fingerprint",
            daemon=True,
        )
        self._thread.start()
        self._stopper = weakref.finalize(self, _stop_worker, self._queue)

    def _flush_batch(self) -> None:
        if self._batch and self._queue is not None:
            self._queue.put(self._batch)
            self._batch = bytearray()  # a fresh buffer: the worker owns the old one now

    def hexdigest(self) -> str:
        if self._queue is not None:
            self._flush_batch()
            self.close()
            if self._errors:
                raise self._errors[0]
        return self._hash.hexdigest()

    def close(self) -> None:
        """Stop the worker (idempotent); the hash is unusable for further updates afterwards."""
        if self._stopper is not None and self._stopper.alive:
            self._stopper()  # puts _STOP
        if self._thread is not None:
            self._thread.join()


class Fingerprinter:
    """Incremental fingerprint. ``update`` any number of times, then ``finalize`` once.

    Also a context manager: leaving the block without ``finalize`` (e.g. on an exception)
    stops the SM3 worker thread. After ``finalize``, :attr:`leaf_digests` holds the per-chunk
    digests a content store keeps to verify reads (see :class:`LeafDigests`).
    """

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3 = _SM3Pipeline()
        self._unixfs = UnixFSHasher()
        self._size = 0
        self._result: Fingerprint | None = None
        self._leaves: LeafDigests | None = None
        self._closed = False

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise ValueError("Fingerprinter is finalized or closed")
        if not data:
            return
        owned = type(data) is bytes
        if isinstance(data, memoryview) and (data.ndim != 1 or data.itemsize != 1):
            data = data.cast("B")
        # SM3 first, so the worker is already hashing while this thread does the rest.
        self._sm3.submit(data, owned)
        self._sha256.update(data)
        self._unixfs.update(data)
        self._size += len(data)

    def finalize(self) -> Fingerprint:
        if self._result is not None:
            return self._result
        if self._closed:
            raise ValueError("Fingerprinter was closed without finalizing")
        self._closed = True
        sm3 = self._sm3.hexdigest()
        tree = self._unixfs.finalize()
        self._leaves = tree.leaves
        self._result = Fingerprint(
            size=self._size,
            sha256=self._sha256.hexdigest(),
            sm3=sm3,
            cid=tree.cid_v0,
            cid_v1=tree.cid_v1,
        )
        return self._result

    @property
    def leaf_digests(self) -> LeafDigests:
        """Per-chunk leaf digests of the content; available after :meth:`finalize`."""
        if self._leaves is None:
            raise ValueError("leaf digests are available only after finalize()")
        return self._leaves

    def close(self) -> None:
        """Abandon the computation and release the worker thread (idempotent)."""
        self._closed = True
        self._sm3.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._result is None:
            self.close()


def fingerprint_stream(
    stream: BinaryIO | Iterable[bytes], *, chunk_size: int = 1 << 20
) -> Fingerprint:
    """Fingerprint a binary file object (read in ``chunk_size`` pieces) or an iterable of bytes."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    with Fingerprinter() as fp:
        if hasattr(stream, "read"):
            read = stream.read
            while chunk := read(chunk_size):
                fp.update(chunk)
        else:
            for chunk in stream:
                fp.update(chunk)
        return fp.finalize()


def fingerprint_file(path: str | os.PathLike[str]) -> Fingerprint:
    # Unbuffered: each read() returns a fresh bytes object that goes straight to the hashes.
    with open(path, "rb", buffering=0) as f:
        return fingerprint_stream(f)


def fingerprint_bytes(data: bytes | bytearray | memoryview) -> Fingerprint:
    with Fingerprinter() as fp:
        fp.update(data)
        return fp.finalize()
