"""The one append-only log of every record, stored as C2SP tlog-tiles in the database.

Sealing a batch (``worker.anchoring``) calls :meth:`TransparencyLog.append`: the batch's leaf
hashes go to the end of the log, the changed tiles are written, and the log key signs the
checkpoint (origin, new size, root) as a C2SP signed note, all in the caller's transaction. A
checkpoint is never signed for a log that does not extend the previous one: the size only grows,
and the tiles below the old size are never rewritten.

Proofs for any leaf at any checkpoint size, and consistency proofs between any two sizes, are
computed from the tiles (:func:`inclusion_proof`, :func:`consistency_proof`): a proof reads a
handful of tiles in one query (``ipnotary.sdk.merkle.nodes_needed``). Cosignatures and time-stamp
tokens are kept beside the checkpoint; :func:`cosigned_checkpoint` puts the witnesses' signature
lines back onto the log-signed note.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, text, tuple_, update
from sqlmodel import Session, col, select

from ipnotary.sdk.merkle import NodeReader, nodes_needed
from ipnotary.sdk.merkle import consistency_proof as _consistency_proof
from ipnotary.sdk.merkle import inclusion_proof as _inclusion_proof
from ipnotary.sdk.merkle import tree_root as _tree_root
from ipnotary.sdk.note import Checkpoint, Note, NoteSigner, parse_note, parse_signature_lines
from ipnotary.service.domain.tiles import TileKey, append_leaves, read_nodes, tile_for_node
from ipnotary.service.errors import ConfigurationError, NotFound
from ipnotary.service.storage.models import Batch, Cosignature, LogTile

__all__ = [
    "AppendResult",
    "TransparencyLog",
    "checkpoint_digest",
    "consistency_proof",
    "cosigned_checkpoint",
    "inclusion_proof",
    "log_size",
    "read_tile",
    "tree_root",
]

T = TypeVar("T")

# Advisory lock id held while appending on PostgreSQL ("NOTL"); migrations and the leader use
# others.
_APPEND_LOCK_ID = 0x4E4F544C


def checkpoint_digest(checkpoint_note: str) -> bytes:
    """What a time-stamp authority stamps: SHA-256 of the checkpoint's note text (origin, size,
    root), without signature lines, so that a verifier recomputes it from the certificate."""
    return hashlib.sha256(parse_note(checkpoint_note).text.encode("utf-8")).digest()


@dataclass(frozen=True)
class AppendResult:
    start: int  # the first new leaf's index
    size: int  # the log's size after the append
    root: bytes
    checkpoint: str  # the signed note


class TransparencyLog:
    """Appends to the log and signs its checkpoints with the log key (note signature type 0x01).

    ``origin`` names this deployment's log for its whole life; its key's name is the origin.
    """

    def __init__(self, origin: str, signer: NoteSigner) -> None:
        if signer.name != origin:
            raise ConfigurationError(
                f"the log key is named {signer.name!r}, the origin is {origin!r}"
            )
        self.origin = origin
        self.signer = signer

    @property
    def vkey(self) -> str:
        """The log's verifier key, as witnesses and trust policies write it."""
        return self.signer.vkey()

    def check_origin(self, session: Session) -> None:
        """Refuse to continue a log that was started under another origin or key: a second log
        in the same database would fork the first one's history. Checked at start-up and again
        before every append (processes sharing a database must share the log key too)."""
        latest = session.exec(
            select(Batch.checkpoint)
            .where(col(Batch.log_size).is_not(None))
            .order_by(col(Batch.log_size).desc())
            .limit(1)
        ).first()
        if latest is not None:
            self._check_note(latest)

    def _check_note(self, latest: str) -> None:
        note = parse_note(latest)
        origin = Checkpoint.parse(note.text).origin
        if origin != self.origin:
            raise ConfigurationError(
                f"the database holds the log {origin!r} but this process is configured for "
                f"{self.origin!r} (NOTARY_LOG_ORIGIN): a log's origin never changes",
                code="log_origin_mismatch",
            )
        if not any(
            s.name == self.signer.name and s.key_id == self.signer.key_id for s in note.signatures
        ):
            raise ConfigurationError(
                f"the log {origin!r} was signed with another key than NOTARY_LOG_KEY_FILE holds; "
                "restore the log's key (a new key would need every witness and verifier "
                "to be told)",
                code="log_key_mismatch",
            )

    def append(self, session: Session, leaf_hashes: Sequence[bytes]) -> AppendResult:
        """Append leaves, write the changed tiles and sign the new checkpoint; no commit.

        The caller's transaction must also store a batch row with ``log_start`` equal to the
        returned ``start``: its unique constraint is what stops two racing sealers.
        """
        if not leaf_hashes:
            raise ValueError("nothing to append")
        if session.get_bind().dialect.name == "postgresql":
            # One appender at a time, for the whole transaction: a sealer that read the size
            # before another committed would otherwise read tiles after it (READ COMMITTED).
            # SQLite has a single writer already.
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _APPEND_LOCK_ID})
        head = session.exec(
            select(Batch.log_size, Batch.checkpoint)
            .where(col(Batch.log_size).is_not(None))
            .order_by(col(Batch.log_size).desc())
            .limit(1)
        ).first()
        start = 0
        if head is not None:
            start = int(head[0] or 0)
            self._check_note(head[1] or "")
        changed = append_leaves(start, leaf_hashes, lambda key: read_tile(session, key))
        existing = {
            (t.level, t.idx)
            for t in session.exec(
                select(LogTile).where(
                    tuple_(col(LogTile.level), col(LogTile.idx)).in_(
                        [(k.level, k.index) for k in changed]
                    )
                )
            )
        }
        for key, data in changed.items():
            if (key.level, key.index) in existing:
                session.execute(
                    update(LogTile)
                    .where(col(LogTile.level) == key.level, col(LogTile.idx) == key.index)
                    .values(hashes=data)
                )
            else:
                session.add(LogTile(level=key.level, idx=key.index, hashes=data))
        size = start + len(leaf_hashes)
        root = _with_nodes(session, lambda node: _tree_root(size, node), overlay=changed)
        body = Checkpoint(origin=self.origin, size=size, root=root).text()
        note = Note(text=body, signatures=(self.signer.sign(body),))
        return AppendResult(start, size, root, note.format())


def log_size(session: Session) -> int:
    """The number of leaves in the log: the size of its newest checkpoint."""
    size = session.exec(select(func.max(Batch.log_size))).one()
    return int(size or 0)


def read_tile(session: Session, key: TileKey) -> bytes:
    row = session.get(LogTile, (key.level, key.index))
    return bytes(row.hashes) if row is not None else b""


def _read_tiles(session: Session, keys: Iterable[TileKey]) -> dict[TileKey, bytes]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = session.exec(
        select(LogTile).where(
            tuple_(col(LogTile.level), col(LogTile.idx)).in_([(k.level, k.index) for k in wanted])
        )
    )
    return {TileKey(r.level, r.idx): bytes(r.hashes) for r in rows}


def _with_nodes(
    session: Session, build: Callable[[NodeReader], T], *, overlay: Mapping[TileKey, bytes] = {}
) -> T:
    """Run ``build`` (a root or proof computation) on the stored log, fetching every tile it
    needs in one query; ``overlay`` holds tiles changed but not yet written."""
    needed = nodes_needed(build)
    keys = {tile_for_node(level, index)[0] for level, index in needed}
    tiles = {**_read_tiles(session, keys - overlay.keys()), **overlay}
    try:
        hashes = read_nodes(needed, tiles)
    except LookupError as exc:
        raise NotFound(f"the log does not hold that yet: {exc}", code="beyond_log") from exc
    return build(lambda level, index: hashes[(level, index)])


def _check_size(session: Session, size: int) -> None:
    if size > log_size(session):
        raise NotFound(f"the log has no checkpoint of size {size} yet", code="beyond_log")


def tree_root(session: Session, size: int) -> bytes:
    _check_size(session, size)
    return _with_nodes(session, lambda node: _tree_root(size, node))


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the log at ``size`` leaves."""
    _check_size(session, size)
    return _with_nodes(session, lambda node: _inclusion_proof(index, size, node))


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from the log at ``old_size`` to the log at ``new_size``."""
    _check_size(session, new_size)
    return _with_nodes(session, lambda node: _consistency_proof(old_size, new_size, node))


def cosigned_checkpoint(session: Session, batch: Batch) -> str:
    """The batch's checkpoint note with every stored cosignature appended (ordered by witness
    name, so the same rows always give the same bytes)."""
    if batch.checkpoint is None:
        raise ValueError(f"batch {batch.seq} has no checkpoint (it predates the log)")
    note = parse_note(batch.checkpoint)
    rows = session.exec(
        select(Cosignature)
        .where(Cosignature.batch_seq == batch.seq)
        .order_by(col(Cosignature.witness))
    ).all()
    cosignatures = tuple(sig for row in rows for sig in parse_signature_lines(row.signature_line))
    return Note(text=note.text, signatures=note.signatures + cosignatures).format()
