"""Free text in records: a certificate must read the same to a person as to a program.

Titles, names, descriptions, tags and the like are anchored and shown to people (in certificates,
court bundles, registries). Characters that change how text is displayed without showing
themselves would let ``invoice`` + U+202E + ``gpj.exe`` read as ``invoiceexe.jpg`` on screen while
the record says otherwise, or make two names that look the same differ. :func:`check_text` refuses:

- Unicode category ``Cf`` (format characters): bidirectional embeddings, overrides, isolates and
  marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), zero-width space, joiner and
  non-joiner, word joiner, soft hyphen, byte order mark, invisible operators, tag characters;
- ``Zl`` and ``Zp``: the line and paragraph separators U+2028 and U+2029;
- ``Cc`` control characters other than tab and line feed, and ``Cs`` lone surrogates (not text).

Models whose strings end up in records derive from :class:`CheckedTextModel`, which checks every
string field (and every string in a list field) after the field's own constraints, so a field
added later cannot forget the rule. The refusal names the code point and its Unicode name; the
API puts the field's location in front of it (pydantic's error ``loc``), so a 422 says which
field and which character. ``Cf`` includes the zero-width joiner of emoji sequences and the
non-joiner some scripts use between letters; refusing them is the price of text that means what
it shows.

Identifiers are a separate rule (``ipnotary.service.domain.identifiers``): they are NFKC-normalised
and case-folded before they are compared or stored, and go through the same check.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

# One rule for free text and identifiers, kept in the SDK so that its identifier checks refuse the
# same characters (``ipnotary.sdk.identifiers``).
from ipnotary.sdk.identifiers import describe, first_hidden_character

__all__ = ["CheckedTextModel", "Text", "check_text", "describe", "first_hidden_character"]


def check_text(value: str, *, item: int | None = None) -> str:
    """``value`` unchanged, or a pydantic error naming the first invisible or control character
    (``item``: the value's index in a list field, for the message)."""
    found = first_hidden_character(value)
    if found is None:
        return value
    position, char = found
    raise PydanticCustomError(
        "invisible_character",
        "{where}contains {character} at position {position}, an invisible formatting or control "
        "character: text in a record must read the same to a person as to a program; remove it",
        {
            "where": "" if item is None else f"item {item} ",
            "character": describe(char),
            "position": position,
            "code_point": f"U+{ord(char):04X}",
        },
    )


class CheckedTextModel(BaseModel):
    """A model whose strings end up in records: every string field, and every string in a list
    field, is checked with :func:`check_text` after the field's own validation."""

    @field_validator("*", mode="after")
    @classmethod
    def _readable(cls, value: Any) -> Any:
        if isinstance(value, str):
            check_text(value)
        elif isinstance(value, list | tuple):
            for index, element in enumerate(value):
                if isinstance(element, str):
                    check_text(element, item=index)
        return value


# Free text of a record: trimmed, at least one character. Fields add a length; the model checks
# the characters (CheckedTextModel), since a validator here would run before that length.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
