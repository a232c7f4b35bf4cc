"""The log, public: its checkpoint and tiles (C2SP tlog-tiles), checkpoints by size, and proofs.

``/log/checkpoint`` and ``/log/tile/<L>/<N>[.p/<W>]`` follow tlog-tiles, so any tiles client
(a monitor, a witness that fetches its own proofs, the Go checksum database's tlog package) can
audit the log without our code. Entry bundles (``/log/tile/entries/...``) are not served: the
entries are the records themselves, which are private to their holders; their leaf hashes, in the
level 0 tiles, reveal nothing (every record carries a 128-bit random id). The JSON endpoints under
``/v1/log`` serve the same proofs ready-made, for clients that would rather not compute them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlmodel import col, select

from ipnotary.service.api.deps import SessionDep
from ipnotary.service.domain.scalars import MAX_JSON_INT, JsonSafeInt, UrlInt
from ipnotary.service.domain.tiles import TILE_WIDTH, TileKey, decode_tile_index
from ipnotary.service.errors import InvalidInput, NotFound
from ipnotary.service.services import transparency_log as tlog
from ipnotary.service.storage.models import Batch

router = APIRouter(tags=["log"])

_TILE_PATH = re.compile(r"^(?P<index>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<width>[1-9][0-9]{0,2}))?$")
Size = Annotated[JsonSafeInt, Query()]

NOTE_TYPE = "text/plain; charset=utf-8"
# What the routes serve, as the OpenAPI document says it (FastAPI would say JSON for a Response).
_NOTE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a C2SP signed note: the checkpoint and its cosignatures",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
_TILE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the tile's hashes, 32 bytes each",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _checkpoint_response(note: str) -> Response:
    return Response(note, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache, max-age=2"})


@router.get(
    "/log/checkpoint",
    summary="The log's latest witnessed checkpoint (C2SP signed note)",
    response_class=Response,
    responses=_NOTE_DOC,
)
def latest_checkpoint(session: SessionDep) -> Response:
    """The newest checkpoint certificates can be built on (anchored, cosigned by the quorum),
    with its cosignatures; the newest signed one while none is certified yet."""
    batch = (
        session.exec(
            select(Batch)
            .where(col(Batch.certified_at).is_not(None))
            .order_by(col(Batch.log_size).desc())
            .limit(1)
        ).first()
        or session.exec(
            select(Batch)
            .where(col(Batch.log_size).is_not(None))
            .order_by(col(Batch.log_size).desc())
            .limit(1)
        ).first()
    )
    if batch is None:
        raise NotFound("the log is empty: no checkpoint yet", code="log_empty")
    return _checkpoint_response(tlog.cosigned_checkpoint(session, batch))


@router.get("/log/tile/entries/{path:path}", summary="Entry bundles: not served", status_code=404)
def entries(path: str) -> Response:
    raise NotFound(
        "entry bundles are not served: the entries are records private to their "
        "holders; the level 0 tiles hold their leaf hashes",
        code="no_tile",
    )


@router.get(
    "/log/tile/{level}/{path:path}",
    summary="A tile of the log (C2SP tlog-tiles)",
    response_class=Response,
    responses=_TILE_DOC,
)
def tile(
    session: SessionDep, level: Annotated[int, UrlInt(ge=0, le=63), Path()], path: str
) -> Response:
    match = _TILE_PATH.match(path)
    if match is None:
        raise NotFound(f"no tile {level}/{path}", code="no_tile")
    try:
        index = decode_tile_index(match["index"])
    except ValueError as exc:
        raise NotFound(str(exc), code="no_tile") from exc
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if width > TILE_WIDTH - 1 and match["width"]:
        raise NotFound("a partial tile is 1 to 255 hashes wide", code="no_tile")
    data = tlog.read_tile(session, TileKey(level, index))
    if len(data) < width * 32:
        raise NotFound(f"tile {level}/{path} does not exist (yet)", code="no_tile")
    # A full tile never changes; a partial tile of a given width never changes either.
    return Response(
        data[: width * 32],
        media_type="application/octet-stream",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get(
    "/v1/log/checkpoints/{size}",
    summary="The checkpoint of the log at a size, cosigned",
    response_class=Response,
    responses=_NOTE_DOC,
)
def checkpoint_at(
    session: SessionDep, size: Annotated[int, UrlInt(ge=1, le=MAX_JSON_INT), Path()]
) -> Response:
    batch = session.exec(select(Batch).where(Batch.log_size == size)).first()
    if batch is None:
        raise NotFound(f"the log has no checkpoint of size {size}", code="no_checkpoint")
    return _checkpoint_response(tlog.cosigned_checkpoint(session, batch))


@router.get("/v1/log/proofs/inclusion", summary="RFC 9162 inclusion proof of a leaf at a size")
def inclusion(session: SessionDep, leaf_index: Size, tree_size: Size) -> dict[str, Any]:
    if not leaf_index < tree_size:
        raise InvalidInput("leaf_index must be below tree_size")
    hashes = tlog.inclusion_proof(session, leaf_index, tree_size)
    return {"leaf_index": leaf_index, "tree_size": tree_size, "hashes": [h.hex() for h in hashes]}


@router.get("/v1/log/proofs/consistency", summary="RFC 9162 consistency proof between two sizes")
def consistency(session: SessionDep, old_size: Size, new_size: Size) -> dict[str, Any]:
    if not old_size <= new_size:
        raise InvalidInput("old_size must not exceed new_size")
    hashes = tlog.consistency_proof(session, old_size, new_size)
    return {"old_size": old_size, "new_size": new_size, "hashes": [h.hex() for h in hashes]}
