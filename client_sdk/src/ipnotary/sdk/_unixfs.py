"""UnixFS file DAGs exactly as Kubo's ``ipfs add`` builds them, computed in one streaming pass.

Start reading at :class:`UnixFSHasher`: feed it bytes, get both root CIDs Kubo would print —
``ipfs add`` (CIDv0, dag-pb leaves) and ``ipfs add --cid-version 1`` (which implies
``--raw-leaves``) — plus :class:`LeafDigests`, the one-digest-per-chunk list that lets a store
re-verify content chunk by chunk without re-reading the whole file. :func:`iter_file_blocks`
goes the other way: it walks a DAG fetched block by block and yields file bytes only after each
block hashed to the CID its parent named.

What Kubo does (boxo ``ipld/unixfs/importer/balanced`` with the defaults ``size-262144`` chunker
and ``helpers.DefaultLinksPerBlock`` = 174):

* the file is cut into fixed 262144-byte chunks (the last one shorter); each chunk is a leaf;
* a file of one chunk is that leaf; otherwise the root's depth grows by one each time
  174**depth chunks are exceeded and every node is filled left to right with at most 174
  children. Filled that way, the tree is the same as grouping each level's nodes into runs of
  174 from the left until one node is left, which is what :class:`_BalancedDag` does while the
  bytes stream by (it holds at most 173 pending links per level);
* a leaf is either a dag-pb node whose UnixFS ``Data`` is ``{Type: File, Data: chunk,
  filesize}`` (CIDv0 import) or a ``raw`` block of the chunk bytes (CIDv1 import);
* an internal node is dag-pb with one ``PBLink{Hash, Name: "", Tsize}`` per child, where Tsize
  is the child's cumulative size (block plus everything below it), and ``Data`` =
  ``{Type: File, filesize, blocksizes: [child file sizes]}``;
* the empty file is a leaf with no data (``QmbFMke1...`` in v0, the empty raw block in v1).

Protobuf: only two fixed proto2 messages are written and read here (PBNode/PBLink and UnixFS
``Data``), in the canonical field order Kubo emits (PBNode Links before Data). A dozen lines of
varint code do that without a generated-code dependency (and its runtime version pinning); the
decoder is strict (known fields and wire types only, bounded sizes) because it reads blocks that
come from a network daemon.

CIDs, multihashes and multibase strings go through ``multiformats`` (already a project
dependency): it is typed, covers CIDv0/v1, multihash and base58btc/base32 in one package, and
its registry tables come from the multiformats specs. ``py-cid`` would also work but needs
``py-multihash``/``py-multibase`` beside it and has seen little maintenance. The CID *binary*
prefixes are taken from ``multiformats`` once at import and then concatenated per block, because
building a ``CID`` object per 256 KiB leaf would be measurable overhead in the hot loop.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from multiformats import CID, multihash

from ipnotary.sdk.errors import ContentIntegrityError, FormatError

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "LeafDigests",
    "UnixFSHasher",
    "UnixFSResult",
    "decode_pb_node",
    "decode_unixfs_data",
    "encode_leaf_block",
    "iter_file_blocks",
    "parse_cid",
]

CHUNK_SIZE = 262144
"""Kubo's default fixed chunk size (``--chunker=size-262144``)."""

MAX_LINKS = 174
"""Kubo's default maximum number of children per node (``helpers.DefaultLinksPerBlock``)."""

MAX_BLOCK_SIZE = 2 * 1024 * 1024 + 4096
"""Largest block accepted when decoding: bitswap's 2 MiB limit plus protobuf framing."""

MAX_DEPTH = 16
"""Deepest DAG walked. 174**16 chunks is far beyond any real file; a deeper DAG is hostile."""

_DIGEST_SIZE = 32
_SHA2_256 = 0x12
_TYPE_FILE = 2
_TYPE_RAW = 0

# Binary CID prefixes (everything before the 32-byte SHA-256 digest), taken from multiformats.
_ZERO = bytes(_DIGEST_SIZE)
_PREFIX_V0 = bytes(CID("base58btc", 0, "dag-pb", multihash.wrap(_ZERO, "sha2-256")))[:-32]
_PREFIX_V1_DAG_PB = bytes(CID("base32", 1, "dag-pb", multihash.wrap(_ZERO, "sha2-256")))[:-32]
_PREFIX_V1_RAW = bytes(CID("base32", 1, "raw", multihash.wrap(_ZERO, "sha2-256")))[:-32]


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _leaf_prefix(n: int) -> bytes:
    """Bytes of a dag-pb UnixFS leaf block that come before its ``n`` chunk bytes."""
    if n == 0:
        # The empty file's leaf has no Data field at all: PBNode{Data: {Type: File, filesize: 0}}.
        return b"\x0a\x04\x08\x02\x18\x00"
    vn = _varint(n)
    unixfs_len = 2 + 1 + len(vn) + n + 1 + len(vn)
    return b"\x0a" + _varint(unixfs_len) + b"\x08\x02\x12" + vn


def _leaf_suffix(n: int) -> bytes:
    """Bytes of a dag-pb UnixFS leaf block that come after its ``n`` chunk bytes (filesize)."""
    return b"" if n == 0 else b"\x18" + _varint(n)


def encode_leaf_block(chunk: bytes) -> bytes:
    """The dag-pb leaf block ``ipfs add`` (CIDv0) stores for one chunk. For tests and tools."""
    return _leaf_prefix(len(chunk)) + bytes(chunk) + _leaf_suffix(len(chunk))


def _leaf_tsize_v0(n: int) -> int:
    return len(_leaf_prefix(n)) + n + len(_leaf_suffix(n))


BlockSink = Callable[[bytes, bytes], None]
"""Receives ``(binary CID, block bytes)`` for each block built."""


@dataclass(slots=True)
class _Link:
    cid: bytes  # binary CID of the child
    tsize: int  # cumulative size of the child's subtree (PBLink.Tsize)
    filesize: int  # file bytes below the child (UnixFS blocksizes entry)


def _encode_internal_node(links: list[_Link]) -> bytes:
    # PBLink{Hash=1, Name=2 (always present, empty), Tsize=3}, then UnixFS Data with non-packed
    # repeated blocksizes (proto2 default), exactly as boxo's merkledag/unixfs marshal them.
    out = bytearray()
    filesize = 0
    unixfs = bytearray(b"\x08\x02")
    blocksizes = bytearray()
    for link in links:
        body = b"\x0a" + _varint(len(link.cid)) + link.cid + b"\x12\x00\x18" + _varint(link.tsize)
        out += b"\x12" + _varint(len(body)) + body
        filesize += link.filesize
        blocksizes += b"\x20" + _varint(link.filesize)
    unixfs += b"\x18" + _varint(filesize) + blocksizes
    out += b"\x0a" + _varint(len(unixfs)) + unixfs
    return bytes(out)


class _BalancedDag:
    """Kubo's balanced layout, built bottom-up while leaves arrive (see the module docstring)."""

    def __init__(
        self, node_prefix: bytes, max_links: int = MAX_LINKS, block_sink: BlockSink | None = None
    ) -> None:
        self._node_prefix = node_prefix
        self._max_links = max_links
        self._block_sink = block_sink
        self._levels: list[list[_Link]] = [[]]

    def add(self, link: _Link) -> None:
        self._push(0, link)

    def _push(self, level: int, link: _Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        pending.append(link)
        if len(pending) == self._max_links:
            # A full node never changes again: emit it now so memory stays at 173 links a level.
            self._levels[level] = []
            self._push(level + 1, self._make_node(pending))

    def _make_node(self, links: list[_Link]) -> _Link:
        block = _encode_internal_node(links)
        cid = self._node_prefix + hashlib.sha256(block).digest()
        if self._block_sink is not None:
            self._block_sink(cid, block)
        return _Link(
            cid=cid,
            tsize=len(block) + sum(link.tsize for link in links),
            filesize=sum(link.filesize for link in links),
        )

    def root(self) -> _Link:
        """Close the partly filled nodes from the bottom up and return the root. Call once."""
        level = 0
        while True:
            pending = self._levels[level]
            is_top = all(not higher for higher in self._levels[level + 1 :])
            if is_top and len(pending) == 1:
                return pending[0]
            if not pending and is_top:
                raise ValueError("no leaves were added")
            if pending:
                self._levels[level] = []
                self._push(level + 1, self._make_node(pending))
            level += 1


def _check_version(version: int) -> None:
    if version not in (0, 1):
        raise ValueError(f"CID version must be 0 or 1, not {version!r}")


@dataclass(frozen=True)
class LeafDigests:
    """SHA-256 of every leaf block of a file, in file order, for both of Kubo's leaf forms.

    ``dag_pb`` holds the digests of the CIDv0 import's leaf blocks (chunk wrapped in UnixFS),
    ``raw`` those of the CIDv1 import's raw leaves (the chunk itself). Each is 32 bytes per
    262144-byte chunk (1/8192 of the file), and from either list plus ``size`` the matching root
    CID is rebuilt in microseconds per chunk without touching the content, so a store can check
    the list once against the CID it was asked for and then verify each chunk before serving it.
    """

    size: int
    dag_pb: bytes
    raw: bytes
    chunk_size: int = CHUNK_SIZE
    max_links: int = MAX_LINKS

    _MAGIC = b"NTLEAF\x00\x01"
    _HEADER = struct.Struct(">8sQIH")

    def __post_init__(self) -> None:
        if self.size < 0:
            raise FormatError("leaf digests: negative file size")
        if not (1 <= self.chunk_size <= 1 << 21 and 2 <= self.max_links <= 1 << 15):
            raise FormatError("leaf digests: chunk size or link limit out of range")
        expected = self.chunk_count * _DIGEST_SIZE
        if len(self.dag_pb) != expected or len(self.raw) != expected:
            raise FormatError(
                f"leaf digests: {self.size}-byte file needs {self.chunk_count} digests per form, "
                f"got {len(self.dag_pb) // _DIGEST_SIZE} and {len(self.raw) // _DIGEST_SIZE}"
            )

    @property
    def chunk_count(self) -> int:
        """Number of leaves; the empty file still has one (empty) leaf."""
        return max(1, -(-self.size // self.chunk_size))

    def chunk_length(self, index: int) -> int:
        """Length of chunk ``index``: ``chunk_size`` except for the last one."""
        if not 0 <= index < self.chunk_count:
            raise IndexError(index)
        return min(self.chunk_size, self.size - index * self.chunk_size)

    def root_cid(self, version: int) -> str:
        """Rebuild the root CID (``0``: ``ipfs add``; ``1``: ``--cid-version 1``) from the
        digests."""
        _check_version(version)
        dag = _BalancedDag(_PREFIX_V0 if version == 0 else _PREFIX_V1_DAG_PB, self.max_links)
        digests = self.dag_pb if version == 0 else self.raw
        for i in range(self.chunk_count):
            n = self.chunk_length(i)
            digest = digests[i * _DIGEST_SIZE : (i + 1) * _DIGEST_SIZE]
            if version == 0:
                dag.add(_Link(_PREFIX_V0 + digest, _leaf_tsize_v0(n), n))
            else:
                dag.add(_Link(_PREFIX_V1_RAW + digest, n, n))
        return _cid_to_str(dag.root().cid)

    def verify_chunk(self, index: int, chunk: bytes | memoryview, version: int) -> None:
        """Raise :class:`ContentIntegrityError` unless ``chunk`` is leaf ``index`` of the file."""
        _check_version(version)
        n = self.chunk_length(index)
        offset = index * self.chunk_size
        if len(chunk) != n:
            raise ContentIntegrityError(
                f"chunk {index} at offset {offset}: {len(chunk)} bytes, expected {n}"
            )
        if version == 0:
            h = hashlib.sha256(_leaf_prefix(n))
            h.update(chunk)
            h.update(_leaf_suffix(n))
            digest, expected = h.digest(), self.dag_pb
        else:
            digest, expected = hashlib.sha256(chunk).digest(), self.raw
        if digest != expected[index * _DIGEST_SIZE : (index + 1) * _DIGEST_SIZE]:
            raise ContentIntegrityError(
                f"chunk {index} at offset {offset} does not match its leaf digest"
            )

    def to_bytes(self) -> bytes:
        """Serialise: magic+version, big-endian size, chunk size, link limit, then the digests."""
        header = self._HEADER.pack(self._MAGIC, self.size, self.chunk_size, self.max_links)
        return header + self.dag_pb + self.raw

    @classmethod
    def from_bytes(cls, blob: bytes, *, max_size: int = 1 << 50) -> LeafDigests:
        """Parse :meth:`to_bytes` output; ``max_size`` bounds the declared file size (1 PiB)."""
        if len(blob) < cls._HEADER.size:
            raise FormatError("leaf digests: truncated header")
        magic, size, chunk_size, max_links = cls._HEADER.unpack_from(blob)
        if magic != cls._MAGIC:
            raise FormatError("leaf digests: bad magic or unsupported version")
        if size > max_size:
            raise FormatError(f"leaf digests: declared size {size} over the limit {max_size}")
        if chunk_size < 1:
            raise FormatError("leaf digests: zero chunk size")
        count = max(1, -(-size // chunk_size))
        body = blob[cls._HEADER.size :]
        if len(body) != 2 * count * _DIGEST_SIZE:
            raise FormatError("leaf digests: length does not match the declared size")
        half = count * _DIGEST_SIZE
        return cls(size, bytes(body[:half]), bytes(body[half:]), chunk_size, max_links)


@dataclass(frozen=True)
class UnixFSResult:
    """What :meth:`UnixFSHasher.finalize` returns."""

    size: int
    cid_v0: str  # ``ipfs add``
    cid_v1: str  # ``ipfs add --cid-version 1``
    leaves: LeafDigests


class UnixFSHasher:
    """Incremental computation of Kubo's CIDv0 and CIDv1 roots for a stream of bytes.

    Memory is constant apart from :class:`LeafDigests` (64 bytes per 256 KiB chunk): at most one
    partial chunk is buffered and the DAG keeps at most 173 pending links per level. Full chunks
    that arrive inside one ``update`` are hashed straight from the caller's buffer.

    ``chunk_size`` and ``max_links`` exist so tests can build deep trees cheaply and compare
    them with ``ipfs add --chunker=size-N --max-file-links=M``; production uses the defaults.
    ``block_sink(cid_bytes, block)``, if given, receives every block of both DAGs (leaves
    included, so it costs a copy per chunk): for tools and tests that need the blocks
    themselves, e.g. a fake daemon.
    """

    def __init__(
        self,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
        block_sink: BlockSink | None = None,
    ) -> None:
        self._chunk_size = chunk_size
        self._max_links = max_links
        self._block_sink = block_sink
        self._size = 0
        self._pending = bytearray()
        self._dag_v0 = _BalancedDag(_PREFIX_V0, max_links, block_sink)
        self._dag_v1 = _BalancedDag(_PREFIX_V1_DAG_PB, max_links, block_sink)
        self._digests_v0 = bytearray()
        self._digests_raw = bytearray()
        # Every leaf but the last has exactly CHUNK_SIZE bytes, so its dag-pb framing is fixed:
        # hash the prefix once and copy the hash state per leaf instead of concatenating.
        self._full_prefix = hashlib.sha256(_leaf_prefix(chunk_size))
        self._full_suffix = _leaf_suffix(chunk_size)
        self._full_tsize_v0 = _leaf_tsize_v0(chunk_size)
        self._result: UnixFSResult | None = None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._result is not None:
            raise ValueError("UnixFSHasher already finalized")
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        total = len(view)
        self._size += total
        pos = 0
        chunk_size = self._chunk_size
        if self._pending:
            pos = min(chunk_size - len(self._pending), total)
            self._pending += view[:pos]
            if len(self._pending) == chunk_size:
                self._full_leaf(self._pending)
                self._pending = bytearray()
        while total - pos >= chunk_size:
            self._full_leaf(view[pos : pos + chunk_size])
            pos += chunk_size
        if pos < total:
            self._pending += view[pos:]

    def _full_leaf(self, chunk: bytes | bytearray | memoryview) -> None:
        h = self._full_prefix.copy()
        h.update(chunk)
        h.update(self._full_suffix)
        digest_raw = hashlib.sha256(chunk).digest()
        self._add_leaf(h.digest(), digest_raw, self._chunk_size, self._full_tsize_v0, chunk)

    def _add_leaf(
        self,
        digest_v0: bytes,
        digest_raw: bytes,
        n: int,
        tsize_v0: int,
        chunk: bytes | bytearray | memoryview,
    ) -> None:
        if self._block_sink is not None:
            self._block_sink(_PREFIX_V0 + digest_v0, encode_leaf_block(bytes(chunk)))
            self._block_sink(_PREFIX_V1_RAW + digest_raw, bytes(chunk))
        self._digests_v0 += digest_v0
        self._digests_raw += digest_raw
        self._dag_v0.add(_Link(_PREFIX_V0 + digest_v0, tsize_v0, n))
        self._dag_v1.add(_Link(_PREFIX_V1_RAW + digest_raw, n, n))

    def finalize(self) -> UnixFSResult:
        if self._result is not None:
            return self._result
        if self._pending or self._size == 0:
            # The short last chunk, or the empty file's single empty leaf.
            chunk = bytes(self._pending)
            n = len(chunk)
            block = _leaf_prefix(n) + chunk + _leaf_suffix(n)
            self._add_leaf(
                hashlib.sha256(block).digest(), hashlib.sha256(chunk).digest(), n, len(block), chunk
            )
            self._pending = bytearray()
        self._result = UnixFSResult(
            size=self._size,
            cid_v0=_cid_to_str(self._dag_v0.root().cid),
            cid_v1=_cid_to_str(self._dag_v1.root().cid),
            leaves=LeafDigests(
                self._size,
                bytes(self._digests_v0),
                bytes(self._digests_raw),
                self._chunk_size,
                self._max_links,
            ),
        )
        return self._result


def _cid_to_str(cid_bytes: bytes) -> str:
    if cid_bytes[:2] == _PREFIX_V0:
        return str(CID("base58btc", 0, "dag-pb", cid_bytes))
    return str(CID.decode(cid_bytes).set(base="base32"))


# --------------------------------------------------------------------------------------------
# Reading: strict decoders and a verifying DAG walk.


def parse_cid(cid: str | bytes) -> CID:
    """Parse a CID, accepting only what our DAGs contain: sha2-256 with dag-pb or raw codec.

    CIDv1 comes back in base32, so ``str()`` of the result is the form Kubo prints.
    """
    try:
        parsed = CID.decode(cid)
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"not a CID: {cid!r}: {exc}") from exc
    if parsed.hashfun.code != _SHA2_256 or len(parsed.raw_digest) != _DIGEST_SIZE:
        raise FormatError(f"unsupported CID {cid!r}: only sha2-256 is used for file content")
    if parsed.codec.name not in ("dag-pb", "raw"):
        raise FormatError(f"unsupported CID {cid!r}: codec {parsed.codec.name}")
    return parsed.set(base="base32") if parsed.version == 1 else parsed


def _read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise FormatError("protobuf: truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise FormatError("protobuf: varint longer than 64 bits")


def _iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """Yield ``(field number, wire type, value)`` for varint (0) and length-delimited (2) fields."""
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        key, pos = _read_varint(view, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(view, pos)
            yield field, wire, value
        elif wire == 2:
            length, pos = _read_varint(view, pos)
            if pos + length > len(view):
                raise FormatError("protobuf: field runs past the end of the message")
            yield field, wire, view[pos : pos + length]
            pos += length
        else:
            raise FormatError(f"protobuf: unexpected wire type {wire} for field {field}")


@dataclass(frozen=True)
class PBLink:
    cid: bytes
    name: str
    tsize: int | None


@dataclass(frozen=True)
class PBNode:
    links: tuple[PBLink, ...]
    data: bytes | None


def decode_pb_node(block: bytes) -> PBNode:
    """Decode a dag-pb block, rejecting unknown fields and wrong wire types."""
    if len(block) > MAX_BLOCK_SIZE:
        raise FormatError(f"dag-pb: block of {len(block)} bytes is over {MAX_BLOCK_SIZE}")
    links: list[PBLink] = []
    data: bytes | None = None
    for field, wire, value in _iter_fields(block):
        if field == 2 and wire == 2 and isinstance(value, memoryview):
            cid, name, tsize = None, "", None
            for lf, lw, lv in _iter_fields(value):
                if lf == 1 and lw == 2 and isinstance(lv, memoryview):
                    cid = bytes(lv)
                elif lf == 2 and lw == 2 and isinstance(lv, memoryview):
                    try:
                        name = bytes(lv).decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise FormatError("dag-pb: link name is not UTF-8") from exc
                elif lf == 3 and lw == 0 and isinstance(lv, int):
                    tsize = lv
                else:
                    raise FormatError(f"dag-pb: unexpected PBLink field {lf}")
            if cid is None:
                raise FormatError("dag-pb: link without a Hash")
            links.append(PBLink(cid, name, tsize))
        elif field == 1 and wire == 2 and isinstance(value, memoryview) and data is None:
            data = bytes(value)
        else:
            raise FormatError(f"dag-pb: unexpected PBNode field {field}")
    return PBNode(tuple(links), data)


@dataclass(frozen=True)
class UnixFSData:
    type: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]


def decode_unixfs_data(buf: bytes) -> UnixFSData:
    """Decode the UnixFS ``Data`` message (only the fields a plain file uses)."""
    type_: int | None = None
    data = b""
    filesize: int | None = None
    blocksizes: list[int] = []
    for field, wire, value in _iter_fields(buf):
        if field == 1 and wire == 0 and isinstance(value, int):
            type_ = value
        elif field == 2 and wire == 2 and isinstance(value, memoryview):
            data = bytes(value)
        elif field == 3 and wire == 0 and isinstance(value, int):
            filesize = value
        elif field == 4 and wire == 0 and isinstance(value, int):
            blocksizes.append(value)
        elif field in (7, 8):
            continue  # mode / mtime metadata do not change the file's bytes
        else:
            raise FormatError(f"unixfs: unexpected or unsupported field {field}")
    if type_ is None:
        raise FormatError("unixfs: missing Type")
    return UnixFSData(type_, data, filesize, tuple(blocksizes))


def _checked_block(cid: CID, block: bytes) -> bytes:
    if len(block) > MAX_BLOCK_SIZE:
        raise ContentIntegrityError(f"block {cid} is {len(block)} bytes, over {MAX_BLOCK_SIZE}")
    if hashlib.sha256(block).digest() != cid.raw_digest:
        raise ContentIntegrityError(f"block {cid} does not hash to its CID")
    return block


def _node_file_size(cid: CID, block: bytes) -> tuple[int, PBNode | None, UnixFSData | None]:
    if cid.codec.name == "raw":
        return len(block), None, None
    node = decode_pb_node(block)
    if node.data is None:
        raise FormatError(f"block {cid}: dag-pb node without UnixFS data")
    fs = decode_unixfs_data(node.data)
    if fs.type not in (_TYPE_FILE, _TYPE_RAW):
        raise FormatError(f"block {cid}: UnixFS type {fs.type} is not a file")
    if node.links:
        if len(fs.blocksizes) != len(node.links):
            raise FormatError(
                f"block {cid}: {len(node.links)} links but {len(fs.blocksizes)} blocksizes"
            )
        size = len(fs.data) + sum(fs.blocksizes)
    else:
        size = len(fs.data)
    if fs.filesize is not None and fs.filesize != size:
        raise FormatError(f"block {cid}: filesize {fs.filesize} but its parts add up to {size}")
    return size, node, fs


def file_size_from_root(cid: str | CID, block: bytes) -> int:
    """File size recorded in a root block (verified against ``cid`` first)."""
    parsed = cid if isinstance(cid, CID) else parse_cid(cid)
    size, _, _ = _node_file_size(parsed, _checked_block(parsed, block))
    return size


def iter_file_blocks(cid: str, get_block: Callable[[str], bytes]) -> Iterator[bytes]:
    """Yield a UnixFS file's bytes, fetching blocks with ``get_block(cid)`` depth first.

    Each block is hashed and compared with the CID its parent linked to before anything in it is
    used, so every yielded byte is bound to the root ``cid``. Sizes are cross-checked too (a
    parent's blocksizes against what each child delivers). Raises ``ContentIntegrityError`` on a
    mismatch and ``FormatError`` on a malformed or unsupported DAG.
    """
    root = parse_cid(cid)
    # Stack of (expected file size of the subtree or None, CID) to visit, depth first.
    stack: list[tuple[CID, int | None, int]] = [(root, None, 0)]
    while stack:
        node_cid, expected, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormatError(f"DAG under {cid} is deeper than {MAX_DEPTH}")
        block = _checked_block(node_cid, get_block(str(node_cid)))
        size, node, fs = _node_file_size(node_cid, block)
        if expected is not None and size != expected:
            raise ContentIntegrityError(
                f"block {node_cid} holds {size} file bytes, its parent says {expected}"
            )
        if node is None or fs is None:
            yield block
            continue
        if fs.data:
            yield fs.data
        children = []
        for link, blocksize in zip(node.links, fs.blocksizes, strict=True):
            children.append((parse_cid(link.cid), blocksize, depth + 1))
        stack.extend(reversed(children))
