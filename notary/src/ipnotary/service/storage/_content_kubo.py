"""The Kubo content store: content in a Kubo (go-ipfs) daemon, through its RPC API.

Start at :class:`KuboContentStore`.

Why ``httpx`` and not ``ipfshttpclient``: ipfshttpclient 0.7's ``connect()`` refuses any daemon
newer than 0.8 (we run 0.43); its ``add`` pulls from a path or file object, whereas our writer is
push-style (``write()`` calls that are fingerprinted as they arrive); and it has not been
maintained since 2021. The few RPC calls needed here (``add``, ``block/get``, ``pin/ls``,
``version``) are plain HTTP POSTs, so ``httpx`` is used directly, with an injectable transport
so unit tests can run without a daemon (``httpx.MockTransport``).

Writing: the writer fingerprints each piece and forwards it over one streamed (chunked)
multipart ``/api/v0/add`` request, sent from a helper thread fed through a bounded queue, so a
file of any size is added in one pass in constant memory. The import options are passed
explicitly (CIDv0, dag-pb leaves, 256 KiB chunks, 174 links, balanced) so a daemon whose
``Import.*`` config differs still builds the DAG we computed; Kubo's CID is then compared with
ours and a difference fails the write loudly (and unpins what Kubo stored).

Reading: the DAG is fetched block by block with ``/api/v0/block/get`` and every block is hashed
against the CID its parent names before any of its bytes are used
(``ipnotary.sdk._unixfs.iter_file_blocks``). That needs no local state (the alternative, streaming
``cat`` against a locally kept digest list, would need a side database next to the daemon) and
it also verifies the DAG's structure. Reads pass ``offline=true`` so a missing block is reported
as missing instead of being searched for on the network.

A CIDv1 lookup finds content only if that DAG (raw leaves) is in the daemon; this store adds
with CIDv0, so v1 lookups of its own content raise ``ContentNotFound``.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import uuid
import weakref
from collections.abc import Iterator
from os import PathLike
from types import TracebackType
from typing import Any, Self

import httpx
from multiformats import CID

from ipnotary.sdk._unixfs import (
    CHUNK_SIZE,
    MAX_LINKS,
    file_size_from_root,
    iter_file_blocks,
    parse_cid,
)
from ipnotary.sdk.errors import ContentIntegrityError, FormatError
from ipnotary.sdk.fingerprint import Fingerprint, Fingerprinter
from ipnotary.sdk.redaction import redact_url
from ipnotary.service.errors import (
    ContentCorrupted,
    ContentNotFound,
    ContentStoreError,
    ContentStoreUnavailable,
    InvalidInput,
    LimitExceeded,
)

__all__ = ["KuboContentStore"]

_END = object()
_ABORT = object()
_UPLOAD_QUEUE_DEPTH = 8
_READ_BLOCK = 1 << 20
_CHECK_TIMEOUT = 3.0

# Kubo's defaults, spelled out: see the module docstring.
_ADD_PARAMS = {
    "pin": "true",
    "cid-version": "0",
    "raw-leaves": "false",
    "chunker": f"size-{CHUNK_SIZE}",
    "max-file-links": str(MAX_LINKS),
    "trickle": "false",
    "hash": "sha2-256",
    "progress": "false",
    "wrap-with-directory": "false",
}


class _Aborted(Exception):
    """Raised inside the upload body to cancel the request."""


def _requested_cid(cid: str) -> CID:
    try:
        return parse_cid(cid)
    except FormatError as exc:
        raise InvalidInput(str(exc), code="invalid_cid") from exc


def _kubo_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.text[:500].strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("Message"), str):
        return str(body["Message"])
    return str(body)[:500]


def _is_not_found(message: str) -> bool:
    lowered = message.lower()
    return "not found" in lowered or "could not find" in lowered or "not pinned" in lowered


class _AddRequest:
    """One streamed ``/api/v0/add`` request, sent from its own thread, fed through a queue.

    Kept apart from the writer so the thread holds no reference to it: a writer dropped
    without commit/abort is collected, and its finalizer cancels the request.
    """

    def __init__(self, client: httpx.Client, timeout: httpx.Timeout) -> None:
        self._client = client
        self._timeout = timeout
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_UPLOAD_QUEUE_DEPTH)
        self._boundary = uuid.uuid4().hex
        self.done = threading.Event()
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="kubo-add", daemon=True)
        self._thread.start()

    def _body(self) -> Iterator[bytes]:
        yield (
            f"--{self._boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="content"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if item is _ABORT:
                raise _Aborted()
            assert isinstance(item, bytes)
            yield item
        yield f"\r\n--{self._boundary}--\r\n".encode()

    def _run(self) -> None:
        try:
            self.response = self._client.post(
                "/api/v0/add",
                params=_ADD_PARAMS,
                content=self._body(),
                headers={"Content-Type": f"multipart/form-data; boundary={self._boundary}"},
                timeout=self._timeout,
            )
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread by the writer
            self.error = exc
        finally:
            self.done.set()

    def send(self, item: object) -> bool:
        """Queue ``item`` for the request body; False if the request already ended."""
        while not self.done.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def finish(self) -> None:
        self.send(_END)
        self._thread.join()

    def cancel(self) -> None:
        self.send(_ABORT)
        self._thread.join()


class _KuboWriter:
    """Fingerprints and forwards each write to a streamed ``/api/v0/add`` request."""

    def __init__(self, store: KuboContentStore) -> None:
        self._store = store
        self._fingerprinter = Fingerprinter()
        self._request = _AddRequest(store._client, store._add_timeout)
        self._cancel = weakref.finalize(self, self._request.cancel)
        self._state = "open"  # open -> committed | aborted
        self._result: Fingerprint | None = None

    def _failure(self) -> ContentStoreError | ContentStoreUnavailable:
        request = self._request
        request.finish()
        store = self._store
        if isinstance(request.error, httpx.HTTPError):
            return ContentStoreUnavailable(
                f"Kubo RPC API at {store.shown_url} failed during add: {request.error}"
            )
        if request.error is not None:
            return ContentStoreError(f"add to Kubo at {store.shown_url} failed: {request.error!r}")
        response = request.response
        if response is not None and response.status_code != 200:
            return store._http_failure("/api/v0/add", response)
        return ContentStoreError(f"Kubo at {store.shown_url} ended the add request early")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._state != "open":
            raise ValueError(f"writer is already {self._state}")
        limit = self._store.max_size
        if limit is not None and self._fingerprinter.size + len(data) > limit:
            self.abort()
            raise LimitExceeded(f"content is larger than the limit of {limit} bytes")
        piece = data if type(data) is bytes else bytes(data)  # the upload thread reads it later
        self._fingerprinter.update(piece)
        if not self._request.send(piece):
            failure = self._failure()
            self.abort()
            raise failure

    def commit(self) -> Fingerprint:
        if self._result is not None:
            return self._result
        if self._state != "open":
            raise ValueError(f"writer is already {self._state}")
        try:
            fingerprint = self._fingerprinter.finalize()
            self._request.finish()
            response = self._request.response
            if self._request.error is not None or response is None or response.status_code != 200:
                raise self._failure()
            kubo_cid = self._store._added_cid(response)
            if kubo_cid != fingerprint.cid:
                self._store._unpin_quietly(kubo_cid)
                raise ContentStoreError(
                    f"Kubo at {self._store.shown_url} computed {kubo_cid} but this content is "
                    f"{fingerprint.cid} (Kubo defaults are assumed); refusing to record it",
                    code="content_cid_mismatch",
                )
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._cancel.detach()
        self._result = fingerprint
        return fingerprint

    def abort(self) -> None:
        if self._state != "open":
            return
        self._state = "aborted"
        self._fingerprinter.close()
        self._cancel()  # cancels the request once; a no-op if it already ended

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._result is None:
            self.abort()


class KuboContentStore:
    """Content in the Kubo daemon whose RPC API listens at ``api_url`` (``http://host:5001``).

    ``transport`` replaces the HTTP transport (tests); ``timeout`` applies to ordinary calls,
    ``add_timeout`` to each read/write of a streamed add; ``max_size`` bounds one write.
    """

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 30.0,
        add_timeout: float = 300.0,
        max_size: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        # Messages name the daemon by this: its URL may carry a password or an API key.
        self.shown_url = redact_url(self.api_url)
        self.max_size = max_size
        self._add_timeout = httpx.Timeout(add_timeout, connect=min(timeout, 10.0))
        self._client = httpx.Client(
            base_url=self.api_url, timeout=httpx.Timeout(timeout), transport=transport
        )

    def __repr__(self) -> str:
        return f"KuboContentStore({self.shown_url!r})"

    def close(self) -> None:
        self._client.close()

    # -- RPC plumbing -------------------------------------------------------------------------

    def _http_failure(
        self, path: str, response: httpx.Response
    ) -> ContentStoreError | ContentStoreUnavailable:
        message = _kubo_message(response)
        if response.status_code in (401, 403, 404, 405):
            # An RPC endpoint that refuses us or does not exist: the setting is wrong.
            return ContentStoreUnavailable(
                f"{self.shown_url}{path} answered HTTP {response.status_code} ({message}); "
                "is this a Kubo RPC API address (usually port 5001, not the gateway)?"
            )
        if response.status_code >= 502:
            return ContentStoreUnavailable(f"Kubo at {self.shown_url}: {message}")
        return ContentStoreError(f"Kubo {path} failed: {message}")

    def _post(
        self, path: str, params: dict[str, str], *, timeout: float | None = None
    ) -> httpx.Response:
        try:
            response = self._client.post(
                path,
                params=params,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise ContentStoreUnavailable(
                f"Kubo RPC API at {self.shown_url} is unreachable: {exc}"
            ) from exc
        if response.status_code == 200:
            return response
        if response.status_code == 500 and _is_not_found(_kubo_message(response)):
            raise ContentNotFound(f"{params.get('arg', '')}: {_kubo_message(response)}")
        raise self._http_failure(path, response)

    def _get_block(self, cid: str) -> bytes:
        return self._post("/api/v0/block/get", {"arg": cid, "offline": "true"}).content

    def _added_cid(self, response: httpx.Response) -> str:
        last: dict[str, Any] | None = None
        for line in response.text.splitlines():
            if line.strip():
                try:
                    last = json.loads(line)
                except ValueError as exc:
                    raise ContentStoreError(f"Kubo add answered non-JSON: {line[:200]!r}") from exc
        if not last or not isinstance(last.get("Hash"), str):
            raise ContentStoreError(f"Kubo add answered without a CID: {response.text[:200]!r}")
        return str(last["Hash"])

    def _unpin_quietly(self, cid: str) -> None:
        # best effort: the write is failing loudly anyway
        with contextlib.suppress(ContentStoreError, ContentStoreUnavailable):
            self._post("/api/v0/pin/rm", {"arg": cid})

    # -- ContentStore -------------------------------------------------------------------------

    def writer(self) -> _KuboWriter:
        return _KuboWriter(self)

    def put_bytes(self, data: bytes) -> Fingerprint:
        with self.writer() as w:
            # Pieces, so the request body streams rather than sitting in the queue at once.
            view = memoryview(data)
            for start in range(0, len(view), _READ_BLOCK):
                w.write(bytes(view[start : start + _READ_BLOCK]))
            return w.commit()

    def put_file(self, path: str | PathLike[str]) -> Fingerprint:
        with open(path, "rb", buffering=0) as f, self.writer() as w:
            while chunk := f.read(_READ_BLOCK):
                w.write(chunk)
            return w.commit()

    def open(self, cid: str) -> Iterator[bytes]:
        parsed = _requested_cid(cid)
        root_block = self._get_block(str(parsed))  # ContentNotFound now, not on first next()
        return self._read_verified(str(parsed), root_block)

    def _read_verified(self, cid: str, root_block: bytes) -> Iterator[bytes]:
        first = [root_block]

        def get_block(block_cid: str) -> bytes:
            if first:
                return first.pop()
            try:
                return self._get_block(block_cid)
            except ContentNotFound:
                raise ContentCorrupted(
                    f"{cid}: block {block_cid} is missing from Kubo at offset {offset}"
                ) from None

        offset = 0
        try:
            for piece in iter_file_blocks(cid, get_block):
                yield piece
                offset += len(piece)
        except (ContentIntegrityError, FormatError) as exc:
            raise ContentCorrupted(
                f"{cid}: content from Kubo fails verification at offset {offset}: {exc}"
            ) from exc

    def has(self, cid: str) -> bool:
        parsed = _requested_cid(cid)
        try:
            self._post(
                "/api/v0/pin/ls", {"arg": str(parsed), "type": "recursive", "offline": "true"}
            )
        except ContentNotFound:
            return False
        return True

    def size(self, cid: str) -> int:
        parsed = _requested_cid(cid)
        block = self._get_block(str(parsed))
        try:
            return file_size_from_root(parsed, block)
        except (ContentIntegrityError, FormatError) as exc:
            raise ContentCorrupted(f"{cid}: root block fails verification: {exc}") from exc

    def check(self) -> None:
        """Ready when ``/api/v0/version`` answers within a few seconds."""
        response = self._post("/api/v0/version", {}, timeout=_CHECK_TIMEOUT)
        try:
            version = response.json()["Version"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ContentStoreUnavailable(
                f"{self.shown_url} answered /api/v0/version without a version; not a Kubo RPC API?"
            ) from exc
        if not isinstance(version, str):
            raise ContentStoreUnavailable(
                f"{self.shown_url}: unexpected version answer {version!r}"
            )
