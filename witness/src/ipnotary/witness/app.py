"""The witness's HTTP face: ``POST /add-checkpoint`` (c2sp.org/tlog-witness) and ``GET /``.

This is the one place where :mod:`ipnotary.witness.errors` become HTTP responses. The
request body is read with a size limit and a deadline (a slow client cannot hold a worker), then
handed to :meth:`Witness.add_checkpoint` in a worker thread, because SQLite and Ed25519 calls block.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ipnotary.sdk.numerals import declared_length
from ipnotary.witness.errors import RequestTooLarge, SizeConflict, WitnessError
from ipnotary.witness.protocol import MAX_REQUEST_BYTES, Witness

__all__ = ["TLOG_SIZE_MEDIA_TYPE", "create_app"]

TLOG_SIZE_MEDIA_TYPE = "text/x.tlog.size"


async def _read_body(request: Request, limit: int) -> bytes:
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise RequestTooLarge(f"a request is at most {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise RequestTooLarge(f"a request is at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(exc: WitnessError) -> Response:
    if isinstance(exc, SizeConflict):
        # Exactly this media type, without a charset parameter: clients match on it.
        return Response(
            f"{exc.known_size}\n",
            status_code=exc.status,
            headers={"content-type": TLOG_SIZE_MEDIA_TYPE},
        )
    return PlainTextResponse(f"{exc}\n", status_code=exc.status)


def create_app(witness: Witness, *, body_timeout: float = 10.0) -> Starlette:
    """The ASGI app serving ``witness``."""

    async def add_checkpoint(request: Request) -> Response:
        try:
            async with asyncio.timeout(body_timeout):
                body = await _read_body(request, MAX_REQUEST_BYTES)
        except TimeoutError:
            return PlainTextResponse("the request body did not arrive in time\n", status_code=408)
        except WitnessError as exc:
            return _error(exc)
        try:
            cosignatures = await run_in_threadpool(witness.add_checkpoint, body)
        except WitnessError as exc:
            return _error(exc)
        return PlainTextResponse(cosignatures)

    async def index(request: Request) -> Response:
        lines = [f"notary witness {witness.name}", witness.vkey, ""]
        for log in await run_in_threadpool(witness.state.logs):
            lines.append(f"{log.origin} size {log.size}")
        return PlainTextResponse("\n".join(lines) + "\n")

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/", index, methods=["GET"]),
        ]
    )
