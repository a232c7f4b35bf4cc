"""Numbers as text take the ASCII digits 0-9 only (``ipnotary.sdk.numerals``), and the product's
sources use that rule instead of ``\\d``, ``str.isdigit()``, ``isdecimal()`` or ``isnumeric()``,
which take any script's digits."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ipnotary.sdk.numerals import (
    declared_length,
    first_foreign_digit,
    is_ascii_digits,
    parse_decimal,
)

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("chain/src", "client_sdk/src", "witness/src", "notary/src")

# Sites left as they are, each with its reason; a new one fails the test below.
LEFT: dict[tuple[str, str], str] = {}  # every reader of digits goes through numerals now


@pytest.mark.parametrize(
    "text", ["٣", "२०२६", "৩", "๓", "²", "12٣", "", " 1", "+1", "1_0", "1.0", "-1"]
)
def test_only_ascii_digits_are_digits(text: str) -> None:
    assert not is_ascii_digits(text)
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_decimal(text)
    assert declared_length(text) is None


def test_parse_decimal_takes_the_one_spelling_and_names_a_foreign_digit() -> None:
    assert parse_decimal("0") == 0 and parse_decimal("9223372036854775807") == 2**63 - 1
    with pytest.raises(ValueError, match="leading zero"):
        parse_decimal("06")
    with pytest.raises(ValueError, match="at most 19 digits"):
        parse_decimal("9" * 20)
    with pytest.raises(ValueError, match=re.escape("U+0663 ARABIC-INDIC DIGIT THREE")):
        parse_decimal("12٣")
    assert first_foreign_digit("ZL20171060\u0661862.3") == (10, "\u0661")
    assert first_foreign_digit("第12345678号") is None


def test_a_length_of_any_number_of_digits_is_a_number_or_over_every_limit() -> None:
    assert declared_length("007") == 7
    assert declared_length("9" * 5000) == 10**19  # int() of it would raise


def _findings(path: Path) -> list[tuple[str, int]]:
    """``\\d`` in a string that is not a docstring, and calls of isdigit/isdecimal/isnumeric."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str | bytes)
            and id(node) not in docstrings
            and ("\\d" in node.value if isinstance(node.value, str) else b"\\d" in node.value)
        ):
            found.append(("\\d", node.lineno))
        if isinstance(node, ast.Attribute) and node.attr in {"isdigit", "isdecimal", "isnumeric"}:
            found.append(("isdigit" if node.attr == "isdigit" else node.attr, node.lineno))
    return found


def test_the_product_reads_digits_through_the_one_rule() -> None:
    offending = []
    seen_left = set()
    for tree in SOURCES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.endswith("sdk/numerals.py"):
                continue
            for what, line in _findings(path):
                if (relative, what) in LEFT:
                    seen_left.add((relative, what))
                else:
                    offending.append(f"{relative}:{line}: {what}")
    assert not offending, "use ipnotary.sdk.numerals instead:\n" + "\n".join(offending)
    assert seen_left == set(LEFT), f"fixed since, remove from LEFT: {set(LEFT) - seen_left}"
