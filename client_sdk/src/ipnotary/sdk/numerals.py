"""Numbers written as text: the ASCII digits 0-9, and nothing that merely reads as them.

Python's ``str.isdigit()``, ``isdecimal()`` and ``isnumeric()``, ``re``'s ``\\d`` and the
patterns of pydantic and pydantic-core all take the decimal digits of every script (Arabic-Indic
``٢٠١٧``, Devanagari ``२०१७``, Bengali, Thai ...), and ``int()`` and ``Decimal()`` read them as
numbers. NFKC does not fold them (it folds full-width, circled and superscript forms only). So a
patent number, a registration number, a time or a path integer written in them passes a check
that means "digits", reads as the same number to a program, and yet is other text: hashed, stored
or compared, it is a second spelling of the same thing (a second asset to a register that keeps
one pledge per asset), or it reaches code that only reads ASCII and fails there (``fromisoformat``
raising where a verifier expected a refusal).

Every identifier, number and time the product reads from outside therefore takes ASCII digits
only, after NFKC where the rule normalises. Write, instead of:

- ``\\d`` in a pattern: :data:`DIGIT` (``[0-9]``);
- ``text.isdigit()`` / ``isdecimal()``: :func:`is_ascii_digits`;
- ``int(text)``: :func:`parse_decimal` (ASCII, no sign, space, underscore, point or leading
  zero, a bounded number of digits), or :func:`declared_length` for a ``Content-Length``;
- to say what was wrong: :func:`first_foreign_digit` and :func:`describe_digit`.

``tests/unit/client_sdk/test_numerals.py`` holds the product's sources to this rule.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "DIGIT",
    "declared_length",
    "describe_digit",
    "first_foreign_digit",
    "is_ascii_digits",
    "parse_decimal",
]

DIGIT = "[0-9]"
"""The regular-expression class of one digit: ``[0-9]``, never ``\\d`` (any script's)."""

_ASCII_DIGITS = frozenset("0123456789")
# More digits than any limit the product states (2**63 has 19): a longer length is over every
# limit, and int() of more than 4,300 digits raises instead of answering.
_MAX_LENGTH_DIGITS = 19
_PAST_EVERY_LIMIT: int = 10**_MAX_LENGTH_DIGITS


def is_ascii_digits(text: str) -> bool:
    """``text`` is one or more of the ASCII digits 0-9 and nothing else."""
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


def parse_decimal(text: str, *, max_digits: int = 19, what: str = "a number") -> int:
    """The non-negative integer ``text`` spells in its one canonical form (``0`` or ASCII digits
    without a leading zero), or ``ValueError`` saying why not."""
    if not is_ascii_digits(text):
        found = first_foreign_digit(text)
        if found is not None:
            raise ValueError(
                f"{what} is written in the ASCII digits 0-9; {text[:40]!r} holds "
                f"{describe_digit(found[1])}"
            )
        raise ValueError(f"{what} is written in the ASCII digits 0-9 only, got {text[:40]!r}")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"{what} has no leading zero, got {text[:40]!r}")
    if len(text) > max_digits:
        raise ValueError(f"{what} has at most {max_digits} digits, got {len(text)}")
    return int(text)


def declared_length(text: str | None) -> int | None:
    """A ``Content-Length`` as a number: ``None`` unless it is ASCII digits (the HTTP grammar,
    ``1*DIGIT``); a length of more digits than any limit counts as larger than every limit."""
    if text is None or not is_ascii_digits(text):
        return None
    if len(text) > _MAX_LENGTH_DIGITS:
        return _PAST_EVERY_LIMIT
    return int(text)


def first_foreign_digit(text: str) -> tuple[int, str] | None:
    """The position and character of the first digit in ``text`` that is not an ASCII digit (a
    decimal digit of another script, or a digit form NFKC has not folded), if any."""
    for position, char in enumerate(text):
        if char not in _ASCII_DIGITS and char.isdigit():
            return position, char
    return None


def describe_digit(char: str) -> str:
    """``U+0663 ARABIC-INDIC DIGIT THREE``: how a message names a digit of another script."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'a digit of another script')}"
