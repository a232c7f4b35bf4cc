"""Canonical JSON (RFC 8785, JCS): the byte form that is hashed into Merkle leaves and signed.

We use the ``rfc8785`` package (Trail of Bits, used by sigstore-python) rather than
``json.dumps(sort_keys=True)``: JCS also fixes number formatting and string escaping, which a
verifier in another language must reproduce byte for byte.

``rfc8785`` is pure Python, and canonicalising is most of the cost of checking a certificate and
of issuing a receipt. So values that the standard library's C encoder writes exactly as JCS does go
through that encoder: dicts with ASCII string keys, lists, strings, integers within 2**53 - 1 either
side of zero, booleans and None. For those the two agree byte for byte: the same string escapes
(quote, backslash, the two-character forms of backspace, form feed, newline, carriage return and
tab, six-character lower-case forms of the other control characters, nothing else escaped), and
for ASCII keys code-point order is UTF-16 order. Anything else (floats, non-ASCII keys, other
types, lone surrogates) goes to ``rfc8785``, which raises every error it always raised.
``tests/unit/client_sdk/test_canonical.py`` checks the agreement.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from ipnotary.sdk.errors import FormatError

__all__ = ["canonical_json", "parse_json"]

# Deeper nesting than this is never produced by us and only serves to exhaust a parser.
MAX_JSON_DEPTH = 32


_INT_LIMIT = 2**53 - 1  # JCS numbers are IEEE doubles: integers beyond this are refused

# The C encoder (check_circular is off: _is_plain has already walked the whole value).
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)


def _is_plain(value: Any) -> bool:
    """True if the C encoder writes ``value`` exactly as RFC 8785 does (see the module notes).

    Scalars are checked inline rather than by a call each: this walk runs on every record and
    every signed document, so it is on the hot path of issuing receipts and of verifying.
    """
    kind = type(value)
    if kind is dict:
        try:
            if not "".join(value).isascii():  # TypeError: a key that is not a string
                return False
        except TypeError:
            return False
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return (
            kind is str
            or kind is bool
            or value is None
            or (kind is int and -_INT_LIMIT <= value <= _INT_LIMIT)
        )
    for item in items:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -_INT_LIMIT <= item <= _INT_LIMIT:
                return False
        elif not _is_plain(item):
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; raises FormatError for values JCS cannot represent."""
    try:
        if _is_plain(value):
            return _ENCODER.encode(value).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        pass  # a lone surrogate, or nesting too deep: rfc8785 says which, as it always did
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise FormatError(f"value cannot be written as canonical JSON: {exc}") from exc


def parse_json(data: bytes | str, *, max_bytes: int, what: str) -> Any:
    """Parse untrusted JSON with a size and depth limit and no duplicate keys."""
    if len(data) > max_bytes:
        raise FormatError(f"{what} is {len(data)} bytes; the limit is {max_bytes}")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):  # rare: find the first repeated key for the message
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise FormatError(f"{what} has the key {key!r} twice")
                seen.add(key)
        return out

    if _nests_too_deep(data):
        raise FormatError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(data, object_pairs_hook=no_duplicates)
    except FormatError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise FormatError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


# Outside strings, an innermost container (one holding no other): removing them all, level by
# level, measures the nesting without recursion.
_STRING: dict[type, re.Pattern[Any]] = {
    str: re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL),
    bytes: re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL),
}
_INNERMOST: dict[type, re.Pattern[Any]] = {
    str: re.compile(r"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}"),
    bytes: re.compile(rb"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}"),
}
_OPENING: dict[type, re.Pattern[Any]] = {str: re.compile(r"[\[{]"), bytes: re.compile(rb"[\[{]")}


def _nests_too_deep(data: bytes | str) -> bool:
    """Whether containers nest more than :data:`MAX_JSON_DEPTH` deep, found before parsing: the
    C decoder recurses once a level, and on a thread with a raised recursion limit a hostile
    ``[[[[...`` overflows the stack (the process dies, no exception to catch). A linear regex pass
    per level, at most ``MAX_JSON_DEPTH`` passes, and the strings cannot hide brackets."""
    kind = bytes if isinstance(data, bytes | bytearray) else str
    opening = (b"[", b"{") if kind is bytes else ("[", "{")
    if data.count(opening[0]) + data.count(opening[1]) <= MAX_JSON_DEPTH:  # type: ignore[arg-type]
        return False  # too few containers to nest that deep (most documents): no scan
    text: Any = _STRING[kind].sub(b'""' if kind is bytes else '""', data)
    for _ in range(MAX_JSON_DEPTH):
        text, removed = _INNERMOST[kind].subn(b"0" if kind is bytes else "0", text)
        if not removed:
            return False
    return _OPENING[kind].search(text) is not None


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, counting a scalar inside a container as one level more than the container."""
    if level > MAX_JSON_DEPTH:
        return level
    if type(value) is dict:
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        return level
    deepest = level
    for child in children:
        kind = type(child)
        depth = _depth(child, level + 1) if kind is dict or kind is list else level + 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                return deepest
    return deepest
