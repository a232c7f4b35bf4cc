"""Streaming ``multipart/form-data`` uploads straight into the content store.

Starlette's own form parser spools files to a temporary file first; for multi-GiB evidence that is
a second full pass over the bytes. Here python-multipart's push parser feeds the file part, in
1 MiB slices on a worker thread, into a content-store writer that fingerprints as it writes: one
pass, constant memory, and the digests are ready when the upload ends.

A form field's limit is the one the API documents, in characters (the description's 10,000, the
title's 300 ...): the same text is accepted as a form field and in JSON. While a field streams in,
its bytes are held to the UTF-8 bound of that limit, four bytes a character (413 past it); its
characters are then the model's to count (422 past its ``maxLength``, as in JSON). A field that
holds a JSON document (a work's details, a filing) is bounded as the JSON body of the same
request would be; all fields together by :data:`MAX_FORM_FIELD_BYTES`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from ipnotary.sdk.fingerprint import Fingerprint
from ipnotary.sdk.numerals import declared_length
from ipnotary.service.api.bodies import allow_body_up_to
from ipnotary.service.errors import InvalidInput, LimitExceeded
from ipnotary.service.storage.content import ContentWriter

if TYPE_CHECKING:
    from starlette.requests import Request

    from ipnotary.service.runtime import Runtime

__all__ = [
    "MAX_FIELDS",
    "MAX_FIELD_CHARS",
    "MAX_FORM_FIELD_BYTES",
    "FormUpload",
    "read_multipart_upload",
    "receive_file_upload",
    "utf8_bound",
]

T = TypeVar("T")

_SLICE = 1 << 20
MAX_FIELD_CHARS = 10_000
"""A form field's limit in characters unless its route names another: the longest text field the
API documents (an evidence ``description``)."""
MAX_FIELDS = 64
MAX_FORM_FIELD_BYTES = 1 << 20
"""All of a form's fields together (they are held in memory until the form is read)."""
# Room for the form's fields and part headers around the file.
_FORM_OVERHEAD = MAX_FORM_FIELD_BYTES + MAX_FIELDS * 1024


def utf8_bound(chars: int) -> int:
    """The most bytes ``chars`` characters take in UTF-8 (four a character)."""
    return 4 * chars


HEAD_BYTES = 8192  # of the file, kept as it streams past: a container's header fits


@dataclass
class FormUpload:
    fields: dict[str, list[str]] = field(default_factory=dict)
    filename: str | None = None
    file_bytes: int = 0
    saw_file: bool = False
    writer: ContentWriter | None = None  # where the file went; the caller commits it
    head: bytearray = field(default_factory=bytearray)  # the file's first HEAD_BYTES


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict)


async def read_multipart_upload(
    content_type: str,
    body: AsyncIterator[bytes],
    *,
    file_field: str,
    open_writer: Callable[[], ContentWriter],
    max_file_bytes: int,
    field_bytes: Mapping[str, int] | None = None,
) -> FormUpload:
    """Parse the request; the file part goes to ``open_writer()``'s writer, fields are collected.

    ``field_bytes`` bounds fields in bytes (the :func:`utf8_bound` of a text field's documented
    characters; others: that of :data:`MAX_FIELD_CHARS`). Raises InvalidInput for a malformed
    form or a second file, LimitExceeded (413) for a file over ``max_file_bytes``, too many fields
    or a field past its bound; the writer is aborted then. On success the caller commits
    ``result.writer``.
    """
    result = FormUpload()
    limits = dict(field_bytes or {})
    try:
        return await _read(
            content_type, body, result, file_field, open_writer, max_file_bytes, limits
        )
    except BaseException:
        if result.writer is not None:
            await run_in_threadpool(result.writer.abort)
        raise


async def _read(
    content_type: str,
    body: AsyncIterator[bytes],
    result: FormUpload,
    file_field: str,
    open_writer: Callable[[], ContentWriter],
    max_file_bytes: int,
    field_bytes: dict[str, int],
) -> FormUpload:
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise InvalidInput("expected multipart/form-data with a boundary")

    part = _Part()
    events: list[tuple[str, Any]] = []
    writer: ContentWriter | None = None
    pending = bytearray()

    def on_part_begin() -> None:
        events.append(("begin", None))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    def on_part_end() -> None:
        events.append(("end", None))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        events.append(("hfield", bytes(data[start:end])))

    def on_header_value(data: bytes, start: int, end: int) -> None:
        events.append(("hvalue", bytes(data[start:end])))

    def on_header_end() -> None:
        events.append(("hend", None))

    def on_headers_finished() -> None:
        events.append(("headers", None))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )

    async def flush(force: bool) -> None:
        nonlocal pending
        if writer is not None and pending and (force or len(pending) >= _SLICE):
            chunk, pending = bytes(pending), bytearray()
            await run_in_threadpool(writer.write, chunk)

    in_file = False
    field_total = 0
    async for chunk in body:
        try:
            parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own assorted errors
            raise InvalidInput(f"malformed multipart body: {exc}") from exc
        for kind, value in events:
            if kind == "begin":
                part = _Part()
            elif kind == "hfield":
                part.header_field += value
            elif kind == "hvalue":
                part.header_value += value
            elif kind == "hend":
                part.headers[part.header_field.decode("latin-1").lower()] = bytes(part.header_value)
                part.header_field, part.header_value = bytearray(), bytearray()
            elif kind == "headers":
                _, disp = parse_options_header(part.headers.get("content-disposition", b""))
                part.name = disp.get(b"name", b"").decode("utf-8", "replace")
                raw_filename = disp.get(b"filename")
                part.filename = (
                    raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
                )
                in_file = part.name == file_field
                if in_file:
                    if result.saw_file:
                        raise InvalidInput(f"send one {file_field!r} part per request")
                    result.saw_file = True
                    result.filename = part.filename
                    writer = result.writer = await run_in_threadpool(open_writer)
                elif sum(len(v) for v in result.fields.values()) >= MAX_FIELDS:
                    raise LimitExceeded(f"at most {MAX_FIELDS} form fields")
            elif kind == "data":
                if in_file:
                    result.file_bytes += len(value)
                    if result.file_bytes > max_file_bytes:
                        raise LimitExceeded(
                            f"the file is larger than the limit of {max_file_bytes} bytes"
                        )
                    pending += value
                    if len(result.head) < HEAD_BYTES:
                        result.head += value[: HEAD_BYTES - len(result.head)]
                else:
                    part.data += value
                    field_total += len(value)
                    bound = field_bytes.get(part.name, utf8_bound(MAX_FIELD_CHARS))
                    if len(part.data) > bound:
                        raise LimitExceeded(
                            f"form field {part.name!r} is over its limit ({bound} bytes, the "
                            "most its documented characters take)"
                        )
                    if field_total > MAX_FORM_FIELD_BYTES:
                        raise LimitExceeded(
                            f"the form's fields are over {MAX_FORM_FIELD_BYTES} bytes together"
                        )
            elif kind == "end":
                if in_file:
                    await flush(True)
                    in_file = False
                else:
                    result.fields.setdefault(part.name, []).append(
                        part.data.decode("utf-8", "replace")
                    )
        events.clear()
        await flush(False)
    try:
        parser.finalize()
    except Exception as exc:
        raise InvalidInput(f"malformed multipart body: {exc}") from exc
    await flush(True)
    return result


async def receive_file_upload(
    request: Request,
    runtime: Runtime,
    *,
    allowed_fields: set[str],
    parse_fields: Callable[[dict[str, list[str]]], T],
    before_commit: Callable[[T, FormUpload], Awaitable[None]] | None = None,
    field_bytes: Mapping[str, int] | None = None,
) -> tuple[Fingerprint, T]:
    """Stream a multipart request's ``file`` part into the content store.

    ``field_bytes`` bounds fields in bytes (:func:`read_multipart_upload`).
    ``parse_fields`` validates the other form fields (only ``allowed_fields`` may appear) and
    ``before_commit`` (given what it returned and the upload: size, first bytes) refuses what
    else it must, both before the content is committed, so a refused request leaves nothing
    behind. Returns the committed fingerprint and what ``parse_fields`` returned. An upload whose
    declared length is over the limit is refused before a byte is read.
    """
    limit = runtime.settings.max_upload_bytes
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None and declared > limit + _FORM_OVERHEAD:
        raise LimitExceeded(f"the upload is larger than the limit of {limit} bytes")
    # The only requests whose body may pass NOTARY_MAX_REQUEST_BYTES.
    allow_body_up_to(request, limit + _FORM_OVERHEAD)
    form = await read_multipart_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        file_field="file",
        open_writer=runtime.content_store.writer,
        max_file_bytes=limit,
        field_bytes=field_bytes,
    )
    if not form.saw_file or form.writer is None:
        raise InvalidInput("the form needs a 'file' part")
    writer = form.writer
    try:
        unknown = set(form.fields) - allowed_fields
        if unknown:
            raise InvalidInput(f"unknown form fields: {', '.join(sorted(unknown))}")
        parsed = parse_fields(form.fields)
        if before_commit is not None:
            await before_commit(parsed, form)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    fingerprint = await run_in_threadpool(writer.commit)
    return fingerprint, parsed
