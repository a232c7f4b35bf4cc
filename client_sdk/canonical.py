"""Canonical JSON (RFC 8785, JCS): the byte form that is hashed into Merkle leaves and signed.

We use the ``rfc8785`` package (Trail of Bits, used by sigstore-python) rather than
``json.dumps(sort_keys=True)``: JCS also fixes number formatting and string escaping, which a verifier
in another language must reproduce byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from client_sdk.errors import FormatError

__all__ = ["canonical_json", "parse_json"]

# Deeper nesting than this is never produced by us and only serves to exhaust a parser.
MAX_JSON_DEPTH = 32


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``; raises FormatError for values JCS cannot represent."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise FormatError(f"value cannot be written as canonical JSON: {exc}") from exc


def parse_json(data: bytes | str, *, max_bytes: int, what: str) -> Any:
    """Parse untrusted JSON with a size and depth limit and no duplicate keys."""
    if len(data) > max_bytes:
        raise FormatError(f"{what} is {len(data)} bytes; the limit is {max_bytes}")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, val in pairs:
            if key in out:
                raise FormatError(f"{what} has the key {key!r} twice")
            out[key] = val
        return out

    try:
        value = json.loads(data, object_pairs_hook=no_duplicates)
    except FormatError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise FormatError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level
