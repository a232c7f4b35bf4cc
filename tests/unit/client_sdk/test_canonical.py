"""Canonical JSON: the fast path through the C encoder writes exactly what ``rfc8785`` writes.

A leaf hash or a signature computed one way and checked the other must agree byte for byte, so
the fast path is compared with the reference package on generated values, including the inputs
where a naive ``json.dumps`` goes wrong (floats, big integers, non-ASCII and astral keys, control
characters, lone surrogates).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnotary.sdk.canonical import MAX_JSON_DEPTH, canonical_json, parse_json
from ipnotary.sdk.errors import FormatError

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    [
        "",
        "\x00",
        "\x1f",
        "\x7f",
        '"',
        "\\",
        "\b\f\n\r\t",
        "/",
        "\u2028",
        "\ue000",
        "\U0001f600",
        "a\U00010000",
        "\uffff",
        "é",
        "中文",
    ]
)
_keys = _text | st.sampled_from(["a", "b", "B", "aa", "\ue000", "\U0001f600", "\U00010000"])
_ints = st.integers(min_value=-(2**53) - 2, max_value=2**53 + 2) | st.sampled_from(
    [0, -1, 2**53 - 1, -(2**53 - 1), 2**53, -(2**53)]
)
_scalars = st.none() | st.booleans() | _ints | _text | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=25,
)


def _reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return FormatError


def _ours(value: Any) -> bytes | type[Exception]:
    try:
        return canonical_json(value)
    except FormatError:
        return FormatError


@settings(max_examples=1500, deadline=None)
@given(_values)
def test_agrees_with_rfc8785(value: Any) -> None:
    assert _ours(value) == _reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ue000": 2},  # UTF-16 order differs from code-point order here
        {"a": 1.0, "b": 1e21, "c": -0.0},  # JCS number formatting
        {"n": 2**53},  # beyond the exact range: refused
        {1: "not a string key"},
        {"s": "\ud800"},  # a lone surrogate: refused
        ["\x00\x1f\x7f\u2028", "é", {"z": [], "a": {}}],
        (1, 2),
    ],
    ids=["astral-keys", "floats", "big-int", "int-key", "lone-surrogate", "escapes", "tuple"],
)
def test_edge_cases_agree(value: Any) -> None:
    assert _ours(value) == _reference(value)


def test_deep_nesting_is_refused_when_parsing() -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(FormatError, match="nests deeper"):
        parse_json(deep, max_bytes=1 << 20, what="doc")
    ok = "[" * (MAX_JSON_DEPTH - 1) + "1" + "]" * (MAX_JSON_DEPTH - 1)
    assert parse_json(ok, max_bytes=1 << 20, what="doc") is not None
    with pytest.raises(FormatError, match="nests deeper"):
        parse_json("[" * 900 + "]" * 900, max_bytes=1 << 20, what="doc")


def test_duplicate_keys_are_named() -> None:
    with pytest.raises(FormatError, match="the key 'b' twice"):
        parse_json('{"a": {"b": 1, "c": 2, "b": 3}}', max_bytes=1 << 20, what="doc")
    assert parse_json('{"a": {"b": 1}, "b": 2}', max_bytes=1 << 20, what="doc") == json.loads(
        '{"a": {"b": 1}, "b": 2}'
    )
