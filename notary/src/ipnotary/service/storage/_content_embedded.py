"""The embedded content store: content-addressed files in a local directory.

Start at :class:`EmbeddedContentStore`. Layout under ``root``::

    objects/<xy>/<cidv0>          the content, byte for byte
    objects/<xy>/<cidv0>.leaves   sidecar: per-chunk leaf digests (client_sdk LeafDigests)
    v1/<xy>/<cidv1>               alias: the CIDv0 the CIDv1 form maps to (ASCII)
    tmp/                          writes in progress

``<xy>`` is the CID's last two characters (they are evenly spread in base58 and base32), so no
directory grows past a few thousand entries per million objects.

Crash safety: a writer streams into ``tmp/`` (same file system, so ``os.replace`` is atomic),
fsyncs, then publishes sidecar, content and alias in that order, each by ``os.replace`` followed
by an fsync of the directory. A name under ``objects/`` therefore only ever holds complete,
fsynced bytes; a crash leaves at most orphans in ``tmp/`` (removed when older than a day) or a
sidecar without content (invisible: :meth:`has` looks at the content file). Publishing the same
content again replaces the files with identical bytes, which is idempotent and also repairs a
copy that rotted on disk.

Reads never hand out unverified bytes: the sidecar is checked once against the requested CID by
rebuilding the root from its leaf digests (microseconds per chunk), then every 256 KiB chunk is
hashed and compared with its leaf digest before it is yielded.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from multiformats import CID

from ipnotary.sdk._unixfs import LeafDigests, parse_cid
from ipnotary.sdk.errors import ContentIntegrityError, FormatError
from ipnotary.sdk.fingerprint import Fingerprint, Fingerprinter
from ipnotary.service.errors import (
    ContentCorrupted,
    ContentNotFound,
    ContentStoreUnavailable,
    InvalidInput,
    LimitExceeded,
)

__all__ = ["EmbeddedContentStore"]

_STALE_TEMP_SECONDS = 24 * 3600
_READ_BLOCK = 1 << 20


def _fsync_dir(path: Path) -> None:
    # Makes a rename durable on POSIX; Windows cannot open directories and commits renames.
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp_path: Path, final_path: Path) -> None:
    final_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_path, final_path)
    _fsync_dir(final_path.parent)


def _unavailable(path: Path, exc: OSError) -> ContentStoreUnavailable:
    reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return ContentStoreUnavailable(f"content directory {path} is not writable: {reason}")


def _requested_cid(cid: str) -> CID:
    try:
        return parse_cid(cid)
    except FormatError as exc:
        raise InvalidInput(str(exc), code="invalid_cid") from exc


class _EmbeddedWriter:
    """Streams into a temp file while fingerprinting; :meth:`commit` publishes it."""

    def __init__(self, store: EmbeddedContentStore) -> None:
        self._store = store
        try:
            fd, name = tempfile.mkstemp(prefix="put-", suffix=".part", dir=store._tmp_dir)
        except OSError as exc:
            raise _unavailable(store._tmp_dir, exc) from exc
        self._tmp_path = Path(name)
        self._file: BinaryIO | None = os.fdopen(fd, "wb", buffering=0)
        self._fingerprinter = Fingerprinter()
        self._result: Fingerprint | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._file is None:
            raise ValueError("writer is already committed or aborted")
        limit = self._store.max_size
        if limit is not None and self._fingerprinter.size + len(data) > limit:
            self.abort()
            raise LimitExceeded(f"content is larger than the limit of {limit} bytes")
        self._fingerprinter.update(data)
        view = memoryview(data)
        try:
            while view:  # an unbuffered write may be partial
                written = self._file.write(view)
                view = view[written or 0 :]
        except OSError as exc:
            self.abort()
            raise _unavailable(self._tmp_path, exc) from exc

    def commit(self) -> Fingerprint:
        if self._result is not None:
            return self._result
        if self._file is None:
            raise ValueError("writer was aborted")
        try:
            fingerprint = self._fingerprinter.finalize()
            leaves = self._fingerprinter.leaf_digests
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            self._store._publish(self._tmp_path, fingerprint, leaves)
        except OSError as exc:
            self.abort()
            raise _unavailable(self._store.root, exc) from exc
        except BaseException:
            self.abort()
            raise
        self._result = fingerprint
        return fingerprint

    def abort(self) -> None:
        if self._result is not None:
            return
        self._fingerprinter.close()
        if self._file is not None:
            self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self._tmp_path.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._result is None:
            # Leaving the block without commit() means the caller gave up on the content.
            self.abort()


class EmbeddedContentStore:
    """Content-addressed files under ``root`` (created if missing). See the module docstring.

    ``max_size`` bounds a single piece of content (``LimitExceeded`` past it); ``None`` means
    no limit beyond the disk.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_size: int | None = None) -> None:
        self.root = Path(root)
        self.max_size = max_size
        self._objects_dir = self.root / "objects"
        self._v1_dir = self.root / "v1"
        self._tmp_dir = self.root / "tmp"
        try:
            for directory in (self._objects_dir, self._v1_dir, self._tmp_dir):
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ContentStoreUnavailable(
                f"content directory {self.root} cannot be created: {exc.strerror or exc}"
            ) from exc
        self._remove_stale_temp_files()

    def __repr__(self) -> str:
        return f"EmbeddedContentStore({str(self.root)!r})"

    # -- paths --------------------------------------------------------------------------------

    def _object_path(self, cid_v0: str) -> Path:
        return self._objects_dir / cid_v0[-2:] / cid_v0

    def _sidecar_path(self, cid_v0: str) -> Path:
        return self._objects_dir / cid_v0[-2:] / f"{cid_v0}.leaves"

    def _alias_path(self, cid_v1: str) -> Path:
        return self._v1_dir / cid_v1[-2:] / cid_v1

    def _primary_key(self, parsed: CID) -> str:
        """The CIDv0 the content is filed under; ``ContentNotFound`` if there is none."""
        if parsed.version == 0:
            return str(parsed)
        v1 = str(parsed.set(base="base32"))
        try:
            key = self._alias_path(v1).read_text("ascii").strip()
        except FileNotFoundError:
            raise ContentNotFound(f"no content stored under {v1}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ContentCorrupted(f"{v1}: alias file unreadable: {exc}") from exc
        if not key.startswith("Qm") or "/" in key or len(key) != 46:
            raise ContentCorrupted(f"{v1}: alias file does not hold a CIDv0")
        return key

    # -- writing ------------------------------------------------------------------------------

    def writer(self) -> _EmbeddedWriter:
        return _EmbeddedWriter(self)

    def put_bytes(self, data: bytes) -> Fingerprint:
        with self.writer() as w:
            w.write(data)
            return w.commit()

    def put_file(self, path: str | os.PathLike[str]) -> Fingerprint:
        with open(path, "rb", buffering=0) as f, self.writer() as w:
            while chunk := f.read(_READ_BLOCK):
                w.write(chunk)
            return w.commit()

    def _publish(self, content_tmp: Path, fingerprint: Fingerprint, leaves: LeafDigests) -> None:
        sidecar_tmp = self._write_temp(leaves.to_bytes())
        _publish(sidecar_tmp, self._sidecar_path(fingerprint.cid))
        _publish(content_tmp, self._object_path(fingerprint.cid))
        alias_tmp = self._write_temp(fingerprint.cid.encode("ascii"))
        _publish(alias_tmp, self._alias_path(fingerprint.cid_v1))

    def _write_temp(self, data: bytes) -> Path:
        fd, name = tempfile.mkstemp(prefix="meta-", suffix=".part", dir=self._tmp_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return Path(name)

    def _remove_stale_temp_files(self) -> None:
        # Orphans of crashed writers. A day is far longer than any upload, so a write in
        # progress in another process sharing the directory is never removed.
        cutoff = time.time() - _STALE_TEMP_SECONDS
        with contextlib.suppress(OSError):
            for entry in os.scandir(self._tmp_dir):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)

    # -- reading ------------------------------------------------------------------------------

    def _verified_leaves(self, parsed: CID) -> tuple[str, LeafDigests]:
        """Find the content and check its sidecar against the requested CID."""
        requested = str(parsed) if parsed.version == 0 else str(parsed.set(base="base32"))
        key = self._primary_key(parsed)
        if not self._object_path(key).exists():
            raise ContentNotFound(f"no content stored under {requested}")
        try:
            leaves = LeafDigests.from_bytes(self._sidecar_path(key).read_bytes())
        except FileNotFoundError:
            raise ContentCorrupted(f"{requested}: leaf digest sidecar is missing") from None
        except FormatError as exc:
            raise ContentCorrupted(f"{requested}: leaf digest sidecar is malformed: {exc}") from exc
        if leaves.root_cid(parsed.version) != requested:
            raise ContentCorrupted(f"{requested}: leaf digest sidecar does not match the CID")
        return key, leaves

    def open(self, cid: str) -> Iterator[bytes]:
        parsed = _requested_cid(cid)
        key, leaves = self._verified_leaves(parsed)
        try:
            # Closed by the generator below when it finishes or is closed.
            f = open(self._object_path(key), "rb", buffering=0)  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise ContentNotFound(f"no content stored under {cid}") from None
        return self._read_verified(f, cid, leaves, parsed.version)

    @staticmethod
    def _read_verified(f: BinaryIO, cid: str, leaves: LeafDigests, version: int) -> Iterator[bytes]:
        with f:
            for index in range(leaves.chunk_count):
                expected = leaves.chunk_length(index)
                chunk = f.read(expected)
                # A raw file may return short reads; keep reading until the chunk is whole or EOF.
                while len(chunk) < expected and (more := f.read(expected - len(chunk))):
                    chunk += more
                try:
                    leaves.verify_chunk(index, chunk, version)
                except ContentIntegrityError:
                    raise ContentCorrupted(
                        f"{cid}: stored bytes do not match the CID at offset "
                        f"{index * leaves.chunk_size} (chunk {index})"
                    ) from None
                if chunk:
                    yield chunk
            if f.read(1):
                raise ContentCorrupted(
                    f"{cid}: stored file is longer than the content, extra bytes at offset "
                    f"{leaves.size}"
                )

    def has(self, cid: str) -> bool:
        try:
            key = self._primary_key(_requested_cid(cid))
        except ContentNotFound:
            return False
        return self._object_path(key).exists()

    def size(self, cid: str) -> int:
        _, leaves = self._verified_leaves(_requested_cid(cid))
        return leaves.size

    def check(self) -> None:
        """Ready when the directory exists and a file can be created, fsynced and removed."""
        for directory in (self._objects_dir, self._v1_dir, self._tmp_dir):
            if not directory.is_dir():
                raise ContentStoreUnavailable(f"content directory {directory} is missing")
        try:
            self._write_temp(b"probe").unlink()
        except OSError as exc:
            raise _unavailable(self._tmp_dir, exc) from exc
