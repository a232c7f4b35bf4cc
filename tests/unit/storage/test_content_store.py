"""Content store behaviour, written once and run on every backend.

:class:`ContentStoreContract` is the backend-independent suite; a subclass supplies the
``store`` fixture. Here it runs on the embedded store and on ``KuboContentStore`` talking to an
in-process fake of Kubo's RPC API (``FakeKubo``, built on our own DAG builder). The real daemon
runs the same suite in ``tests/integration/test_kubo_store.py``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from ipnotary.sdk._unixfs import CHUNK_SIZE, UnixFSHasher, parse_cid
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.service.errors import (
    ContentCorrupted,
    ContentNotFound,
    ContentStoreError,
    ContentStoreUnavailable,
    InvalidInput,
    LimitExceeded,
)
from ipnotary.service.storage.content import (
    ContentStore,
    EmbeddedContentStore,
    KuboContentStore,
    open_content_store,
)
from tests.assets.cid.content import generate_bytes

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * 1024 * 1024 + 5]
UNKNOWN_V0 = "QmNxqBFCxfiWBpbeELA1P4PfP1wdVs2TxhTT5PcuE6yanW"  # a 174-chunk file never stored


def content(size: int, seed: str = "store") -> bytes:
    return generate_bytes(f"{seed}-{size}", size)


class ContentStoreContract:
    """What every ContentStore must do. Subclasses provide a ``store`` fixture."""

    supports_v1_lookup = True  # the CIDv1 form of stored content can be read back

    @pytest.mark.parametrize("size", SIZES)
    def test_put_then_open_round_trips_and_fingerprints(
        self, store: ContentStore, size: int
    ) -> None:
        data = content(size)
        fp = store.put_bytes(data)
        assert fp == fingerprint_bytes(data)
        assert b"".join(store.open(fp.cid)) == data
        assert store.has(fp.cid)
        assert store.size(fp.cid) == size

    def test_streaming_writer_in_odd_pieces_equals_put_bytes(self, store: ContentStore) -> None:
        data = content(2 * CHUNK_SIZE + 12345, "pieces")
        with store.writer() as w:
            for start in range(0, len(data), 77777):
                w.write(data[start : start + 1])
                w.write(memoryview(data)[start + 1 : start + 77777])
            fp = w.commit()
        assert fp == fingerprint_bytes(data)
        assert b"".join(store.open(fp.cid)) == data

    def test_open_yields_bounded_pieces(self, store: ContentStore) -> None:
        fp = store.put_bytes(content(3 * CHUNK_SIZE, "bounded"))
        assert max(len(piece) for piece in store.open(fp.cid)) <= CHUNK_SIZE

    def test_put_is_idempotent(self, store: ContentStore) -> None:
        data = content(CHUNK_SIZE + 3, "twice")
        assert store.put_bytes(data) == store.put_bytes(data)
        assert b"".join(store.open(fingerprint_bytes(data).cid)) == data

    def test_put_file(self, store: ContentStore, tmp_path: Path) -> None:
        data = content(CHUNK_SIZE * 2 + 1, "file")
        path = tmp_path / "evidence.bin"
        path.write_bytes(data)
        assert store.put_file(path) == fingerprint_bytes(data)

    def test_writer_aborts_when_the_block_raises(self, store: ContentStore) -> None:
        data = content(CHUNK_SIZE + 10, "aborted")
        with pytest.raises(RuntimeError), store.writer() as w:
            w.write(data)
            raise RuntimeError("client went away")
        assert not store.has(fingerprint_bytes(data).cid)

    def test_writer_abort_then_write_is_refused(self, store: ContentStore) -> None:
        w = store.writer()
        w.write(b"partial")
        w.abort()
        w.abort()  # idempotent
        with pytest.raises(ValueError):
            w.write(b"more")
        assert not store.has(fingerprint_bytes(b"partial").cid)

    def test_unknown_cid_is_not_found(self, store: ContentStore) -> None:
        assert not store.has(UNKNOWN_V0)
        with pytest.raises(ContentNotFound):
            store.open(UNKNOWN_V0)
        with pytest.raises(ContentNotFound):
            store.size(UNKNOWN_V0)

    @pytest.mark.parametrize(
        "bad",
        ["", "not-a-cid", "Qm123", "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"],
    )
    def test_malformed_or_foreign_cid_is_invalid_input(self, store: ContentStore, bad: str) -> None:
        # The last one is a dag-cbor CID: never file content.
        with pytest.raises(InvalidInput):
            store.open(bad)
        with pytest.raises(InvalidInput):
            store.has(bad)

    def test_v1_lookup(self, store: ContentStore) -> None:
        if not self.supports_v1_lookup:
            pytest.skip("this backend stores only the CIDv0 DAG")
        data = content(CHUNK_SIZE + 1, "v1")
        fp = store.put_bytes(data)
        assert store.has(fp.cid_v1)
        assert store.size(fp.cid_v1) == len(data)
        assert b"".join(store.open(fp.cid_v1)) == data

    def test_check_passes_when_healthy(self, store: ContentStore) -> None:
        store.check()


# --------------------------------------------------------------------------------------------
# Embedded store


class TestEmbeddedContentStore(ContentStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> EmbeddedContentStore:
        return EmbeddedContentStore(tmp_path / "content")

    def _object(self, store: EmbeddedContentStore, cid: str) -> Path:
        return store.root / "objects" / cid[-2:] / cid

    @pytest.mark.parametrize("offset", [0, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 7])
    def test_flipped_byte_on_disk_is_corrupted_and_names_cid_and_offset(
        self, store: EmbeddedContentStore, offset: int
    ) -> None:
        data = content(2 * CHUNK_SIZE + 100, "flip")
        fp = store.put_bytes(data)
        path = self._object(store, fp.cid)
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0x01]))
        chunk_start = offset - offset % CHUNK_SIZE
        for cid in (fp.cid, fp.cid_v1):
            received = bytearray()
            with pytest.raises(ContentCorrupted) as info:
                for piece in store.open(cid):
                    received += piece
            assert cid in str(info.value)
            assert f"offset {chunk_start}" in str(info.value)
            # Nothing from the bad chunk or after it was handed out.
            assert bytes(received) == data[:chunk_start]

    def test_truncated_file_is_corrupted(self, store: EmbeddedContentStore) -> None:
        fp = store.put_bytes(content(CHUNK_SIZE + 100, "truncate"))
        path = self._object(store, fp.cid)
        os.truncate(path, CHUNK_SIZE + 50)
        with pytest.raises(ContentCorrupted, match=f"offset {CHUNK_SIZE}"):
            b"".join(store.open(fp.cid))

    def test_extended_file_is_corrupted(self, store: EmbeddedContentStore) -> None:
        fp = store.put_bytes(content(100, "extend"))
        with open(self._object(store, fp.cid), "ab") as f:
            f.write(b"x")
        with pytest.raises(ContentCorrupted, match="offset 100"):
            b"".join(store.open(fp.cid))

    def test_corrupt_sidecar_is_corrupted_before_any_byte(
        self, store: EmbeddedContentStore
    ) -> None:
        fp = store.put_bytes(content(CHUNK_SIZE * 2, "sidecar"))
        sidecar = self._object(store, fp.cid).with_name(fp.cid + ".leaves")
        original = sidecar.read_bytes()
        # The sidecar ends with the dag-pb (v0) digests then the raw (v1) digests: damage each.
        for position, cid in ((len(original) - 65, fp.cid), (len(original) - 1, fp.cid_v1)):
            blob = bytearray(original)
            blob[position] ^= 0xFF
            sidecar.write_bytes(bytes(blob))
            with pytest.raises(ContentCorrupted, match=cid):
                store.open(cid)
            with pytest.raises(ContentCorrupted):
                store.size(cid)
        sidecar.write_bytes(b"garbage")
        with pytest.raises(ContentCorrupted, match="malformed"):
            store.open(fp.cid)

    def test_sidecar_of_other_content_is_rejected(self, store: EmbeddedContentStore) -> None:
        # Swapping in another file's (valid) sidecar must not make its digests trusted.
        a = store.put_bytes(content(CHUNK_SIZE, "a"))
        b = store.put_bytes(content(CHUNK_SIZE, "b"))
        sidecar_a = self._object(store, a.cid).with_name(a.cid + ".leaves")
        sidecar_b = self._object(store, b.cid).with_name(b.cid + ".leaves")
        sidecar_a.write_bytes(sidecar_b.read_bytes())
        with pytest.raises(ContentCorrupted, match="does not match"):
            store.open(a.cid)

    def test_rewrite_repairs_a_rotted_copy(self, store: EmbeddedContentStore) -> None:
        data = content(1000, "repair")
        fp = store.put_bytes(data)
        self._object(store, fp.cid).write_bytes(b"rot" + data[3:])
        store.put_bytes(data)
        assert b"".join(store.open(fp.cid)) == data

    def test_nothing_partial_is_left_under_a_cid_or_in_tmp(
        self, store: EmbeddedContentStore
    ) -> None:
        data = content(CHUNK_SIZE * 3, "partial")
        w = store.writer()
        w.write(data[:CHUNK_SIZE])
        # While a write is in progress, only tmp/ holds its bytes.
        assert list((store.root / "tmp").iterdir())
        assert not any(p.is_file() for p in (store.root / "objects").rglob("*"))
        w.abort()
        assert not list((store.root / "tmp").iterdir())
        fp = store.put_bytes(data)
        assert not list((store.root / "tmp").iterdir())
        assert self._object(store, fp.cid).stat().st_size == len(data)

    def test_stale_temp_files_are_removed_on_start(self, tmp_path: Path) -> None:
        EmbeddedContentStore(tmp_path)
        stale = tmp_path / "tmp" / "put-crashed.part"
        stale.write_bytes(b"half")
        os.utime(stale, (1, 1))
        fresh = tmp_path / "tmp" / "put-running.part"
        fresh.write_bytes(b"in progress")
        EmbeddedContentStore(tmp_path)
        assert not stale.exists() and fresh.exists()

    def test_concurrent_writers_of_the_same_content(self, store: EmbeddedContentStore) -> None:
        data = content(CHUNK_SIZE * 2 + 1, "race")
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(store.put_bytes(data))) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(results)) == 1
        assert b"".join(store.open(results[0].cid)) == data

    def test_max_size_is_enforced(self, tmp_path: Path) -> None:
        store = EmbeddedContentStore(tmp_path, max_size=1000)
        store.put_bytes(b"x" * 1000)
        with pytest.raises(LimitExceeded):
            store.put_bytes(b"x" * 1001)
        assert not list((tmp_path / "tmp").iterdir())

    def test_alias_pointing_elsewhere_is_not_trusted(self, store: EmbeddedContentStore) -> None:
        a = store.put_bytes(content(500, "alias-a"))
        b = store.put_bytes(content(500, "alias-b"))
        alias = store.root / "v1" / a.cid_v1[-2:] / a.cid_v1
        alias.write_text(b.cid)
        with pytest.raises(ContentCorrupted):
            store.open(a.cid_v1)

    def test_check_reports_unusable_directory(self, tmp_path: Path) -> None:
        store = EmbeddedContentStore(tmp_path / "c")
        (tmp_path / "c" / "tmp").rmdir()
        with pytest.raises(ContentStoreUnavailable, match="tmp"):
            store.check()
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        with pytest.raises(ContentStoreUnavailable, match=str(blocker)):
            EmbeddedContentStore(blocker)

    def test_open_content_store_picks_backend(self, tmp_path: Path) -> None:
        assert isinstance(open_content_store(tmp_path), EmbeddedContentStore)
        kubo = open_content_store("http://127.0.0.1:5001")
        assert isinstance(kubo, KuboContentStore)
        assert isinstance(kubo, ContentStore) and isinstance(
            open_content_store(tmp_path), ContentStore
        )


# --------------------------------------------------------------------------------------------
# Kubo store against a fake RPC API (the real daemon: tests/integration/test_kubo_store.py)


class FakeKubo:
    """Just enough of Kubo's RPC API: add (defaults), block/get, pin/ls, pin/rm, version."""

    def __init__(self) -> None:
        self.blocks: dict[str, bytes] = {}
        self.pins: set[str] = set()
        self.wrong_cid = False  # answer add with a different CID
        self.requests: list[str] = []

    def _cid(self, raw: bytes) -> str:
        return str(parse_cid(raw))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        params = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        self.requests.append(path)
        if request.method != "POST":
            return httpx.Response(405)
        if path == "/api/v0/version":
            return httpx.Response(200, json={"Version": "0.43.1-fake"})
        if path == "/api/v0/add":
            return self._add(request, params)
        if path == "/api/v0/block/get":
            block = self.blocks.get(params["arg"])
            if block is None:
                return self._error(f"block was not found locally (offline): {params['arg']}")
            return httpx.Response(200, content=block)
        if path == "/api/v0/pin/ls":
            if params["arg"] in self.pins:
                return httpx.Response(200, json={"Keys": {params["arg"]: {"Type": "recursive"}}})
            return self._error(f"path '{params['arg']}' is not pinned")
        if path == "/api/v0/pin/rm":
            self.pins.discard(params["arg"])
            return httpx.Response(200, json={"Pins": [params["arg"]]})
        return httpx.Response(404, text="404 page not found")

    @staticmethod
    def _error(message: str) -> httpx.Response:
        return httpx.Response(500, json={"Message": message, "Code": 0, "Type": "error"})

    def _add(self, request: httpx.Request, params: dict[str, str]) -> httpx.Response:
        assert params["cid-version"] == "0" and params["raw-leaves"] == "false"
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        body = request.read()
        start = body.index(b"\r\n\r\n") + 4
        end = body.rindex(b"\r\n--" + boundary + b"--")
        blocks: dict[str, bytes] = {}
        hasher = UnixFSHasher(
            block_sink=lambda cid, block: blocks.__setitem__(self._cid(cid), block)
        )
        hasher.update(body[start:end])
        result = hasher.finalize()
        # Keep only the CIDv0 DAG, as Kubo's default add does.
        v1_only = {c for c in blocks if c.startswith("b")}
        self.blocks.update({c: b for c, b in blocks.items() if c not in v1_only})
        cid = result.cid_v0 if not self.wrong_cid else UNKNOWN_V0
        self.pins.add(cid)
        line = json.dumps({"Name": "content", "Hash": cid, "Size": str(result.size)})
        return httpx.Response(200, text=line + "\n")


class TestKuboContentStoreWithFakeDaemon(ContentStoreContract):
    supports_v1_lookup = False

    @pytest.fixture
    def fake(self) -> FakeKubo:
        return FakeKubo()

    @pytest.fixture
    def store(self, fake: FakeKubo) -> Iterator[KuboContentStore]:
        store = KuboContentStore(
            "http://kubo.test:5001", transport=httpx.MockTransport(fake.handle)
        )
        yield store
        store.close()

    def test_cid_disagreement_fails_loudly_and_unpins(
        self, store: KuboContentStore, fake: FakeKubo
    ) -> None:
        fake.wrong_cid = True
        with pytest.raises(ContentStoreError, match="computed") as info:
            store.put_bytes(b"some evidence")
        assert info.value.code == "content_cid_mismatch"
        assert UNKNOWN_V0 not in fake.pins

    def test_tampered_block_is_corrupted_with_offset(
        self, store: KuboContentStore, fake: FakeKubo
    ) -> None:
        data = content(3 * CHUNK_SIZE, "tamper")
        fp = store.put_bytes(data)
        leaf_cids = [c for c, b in fake.blocks.items() if len(b) > CHUNK_SIZE and c != fp.cid]
        # Replace the second leaf's bytes (any leaf will do; find it by its data).
        second = next(c for c in leaf_cids if data[CHUNK_SIZE : CHUNK_SIZE + 64] in fake.blocks[c])
        fake.blocks[second] = fake.blocks[second].replace(
            data[CHUNK_SIZE + 10 : CHUNK_SIZE + 11], b"\x00", 1
        )
        received = bytearray()
        with pytest.raises(ContentCorrupted, match=f"offset {CHUNK_SIZE}") as info:
            for piece in store.open(fp.cid):
                received += piece
        assert fp.cid in str(info.value)
        assert bytes(received) == data[:CHUNK_SIZE]

    def test_missing_child_block_is_corrupted(
        self, store: KuboContentStore, fake: FakeKubo
    ) -> None:
        fp = store.put_bytes(content(2 * CHUNK_SIZE, "missing"))
        child = next(c for c in fake.blocks if c != fp.cid)
        del fake.blocks[child]
        with pytest.raises(ContentCorrupted, match="missing"):
            b"".join(store.open(fp.cid))

    def test_root_block_substituted_is_corrupted(
        self, store: KuboContentStore, fake: FakeKubo
    ) -> None:
        fp = store.put_bytes(b"original")
        fake.blocks[fp.cid] = fake.blocks[store.put_bytes(b"other").cid]
        with pytest.raises(ContentCorrupted):
            b"".join(store.open(fp.cid))
        with pytest.raises(ContentCorrupted):
            store.size(fp.cid)

    def test_dropped_writer_cancels_its_request(self, store: KuboContentStore) -> None:
        def add_threads() -> int:
            return sum(t.name == "kubo-add" for t in threading.enumerate())

        before = add_threads()
        writer = store.writer()
        writer.write(b"never committed")
        assert add_threads() == before + 1
        del writer
        gc.collect()
        deadline = time.monotonic() + 5
        while add_threads() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert add_threads() == before

    def test_unreachable_daemon_is_unavailable(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        store = KuboContentStore("http://kubo.test:5001", transport=httpx.MockTransport(refuse))
        with pytest.raises(ContentStoreUnavailable, match="unreachable") as info:
            store.check()
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        with pytest.raises(ContentStoreUnavailable):
            store.open(UNKNOWN_V0)
        with pytest.raises(ContentStoreUnavailable):
            store.put_bytes(b"x" * (3 << 20))

    def test_gateway_instead_of_rpc_is_unavailable_with_hint(self) -> None:
        gateway = httpx.MockTransport(lambda r: httpx.Response(404, text="404 page not found"))
        store = KuboContentStore("http://kubo.test:8080", transport=gateway)
        with pytest.raises(ContentStoreUnavailable, match="RPC API address"):
            store.check()

    def test_daemon_failing_mid_add_is_reported(self) -> None:
        def broken(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v0/add":
                request.read()
                return httpx.Response(500, json={"Message": "disk full", "Type": "error"})
            return httpx.Response(404)

        store = KuboContentStore("http://kubo.test:5001", transport=httpx.MockTransport(broken))
        with pytest.raises(ContentStoreError, match="disk full"):
            store.put_bytes(b"evidence")

    def test_add_streams_with_explicit_default_import_options(self, fake: FakeKubo) -> None:
        seen: dict[str, str] = {}

        def spy(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v0/add":
                seen.update({k: v[0] for k, v in parse_qs(request.url.query.decode()).items()})
                seen["transfer-encoding"] = request.headers.get("transfer-encoding", "")
            return fake.handle(request)

        store = KuboContentStore("http://kubo.test:5001", transport=httpx.MockTransport(spy))
        store.put_bytes(content(CHUNK_SIZE, "opts"))
        assert seen["transfer-encoding"] == "chunked"  # streamed, not buffered
        assert seen["chunker"] == "size-262144" and seen["max-file-links"] == "174"
        assert seen["pin"] == "true" and seen["trickle"] == "false"


def test_fake_kubo_blocks_hash_to_their_cids() -> None:
    # Guards the fake itself: it must hold exactly what a daemon would.
    fake = FakeKubo()
    store = KuboContentStore("http://kubo.test:5001", transport=httpx.MockTransport(fake.handle))
    store.put_bytes(content(CHUNK_SIZE * 2, "fake"))
    for cid, block in fake.blocks.items():
        assert parse_cid(cid).raw_digest == hashlib.sha256(block).digest()
