"""Numbers, booleans and dates in a request, read as the client wrote them: no conversion between
types.

Pydantic's default (lax) mode turns ``false`` into the integer 0, ``1.0`` and ``" 5"`` into 5,
``"yes"`` into true, and a number into a date or time (seconds since 1970: ``"captured_at": 0`` is
1 January 1970). A record built from such a request holds a value its submitter never wrote, and a
client bug (a boolean where a size belongs, a Unix time where the API asks for RFC 3339) becomes
signed, anchored evidence. The API fuzzer found these (``tests/fuzz/test_api_schemathesis.py``).

The request models use these types instead of ``int``, ``bool``, ``date`` and ``datetime``, so a
value is accepted only in the JSON type and form the OpenAPI document gives for it:

- :data:`JsonInt`: a JSON integer (not a boolean, a float, or a string of digits);
- :data:`JsonBool`: ``true`` or ``false``;
- :data:`JsonDate`: ``YYYY-MM-DD``;
- :data:`JsonDateTime` / :data:`JsonAwareDateTime`: RFC 3339 ``YYYY-MM-DDTHH:MM:SS[.fraction]``
  with ``Z`` or an offset (the time zone is optional in :data:`JsonDateTime` so that a model's own
  rule can say why it needs one).

Digits are the ASCII 0-9 only (``ipnotary.sdk.numerals``): a pattern's ``\\d`` would take any
script's, which a date parser then refuses or, worse, a number reads as the same value.

Integers in a path or a query are text: pydantic would take ``" 6"``, ``"+6"``, ``"6.0"`` and
``"6_0"`` (sixty) for them, and any size. :data:`UrlInt` takes the one spelling (ASCII digits, no
sign, space or leading zero), and every such integer is bounded by its type before it reaches
storage, whose columns hold 64 bits: :data:`RowId` (a table's id or sequence number, from 1),
:data:`StoredInt` (from 0), :data:`JsonSafeInt` (a size or index that certificates carry as a JSON
number, exact to 2**53 - 1). ``tests/unit/notary/test_request_types.py`` holds every route of the
OpenAPI document to it.

Python values of the right type (a ``date`` built by the CLI, say) pass unchanged, so the models
still serve code that constructs them directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    GetCoreSchemaHandler,
    Strict,
    StringConstraints,
)
from pydantic_core import PydanticCustomError, core_schema

from ipnotary.sdk.numerals import parse_decimal

__all__ = [
    "MAX_JSON_INT",
    "MAX_STORED_INT",
    "Hex64",
    "JsonAwareDateTime",
    "JsonBool",
    "JsonDate",
    "JsonDateTime",
    "JsonInt",
    "JsonSafeInt",
    "RowId",
    "StoredInt",
    "UrlInt",
    "stored_int_or_none",
]

MAX_STORED_INT = 2**63 - 1
"""The largest integer a 64-bit database column (SQLite's INTEGER, PostgreSQL's BIGINT) holds."""
MAX_JSON_INT = 2**53 - 1
"""The largest integer RFC 8785 canonical JSON (IEEE 754 doubles) carries exactly."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def _date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise PydanticCustomError(
        "date_format", "a date is a string YYYY-MM-DD, got {value}", {"value": _shown(value)}
    )


def _date_time_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "a time is an RFC 3339 string like 2026-01-31T08:00:00Z, got {value}",
        {"value": _shown(value)},
    )


def _shown(value: Any) -> str:
    return (
        f"{type(value).__name__} {str(value)[:40]!r}"
        if isinstance(value, str)
        else repr(value)[:40]
    )


def _integer_text(value: Any) -> Any:
    # 20 digits: past every bound below, so the bound (not int()) says what is wrong with more.
    if isinstance(value, str):
        try:
            return parse_decimal(value, max_digits=20, what="an integer")
        except ValueError as exc:
            raise PydanticCustomError(
                "int_format", "{reason}", {"reason": str(exc).replace("{", "(").replace("}", ")")}
            ) from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("int_type", "an integer, got {value}", {"value": _shown(value)})


@dataclass(frozen=True)
class UrlInt:
    """``Annotated[int, UrlInt(ge, le)]``: an integer in a path or query, in its one spelling and
    within its bounds. One object for both, so that the OpenAPI document states the bounds
    (``minimum``, ``maximum``) that are checked: bounds given beside a separate validator would be
    checked but documented under names no client reads."""

    ge: int
    le: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            _integer_text, core_schema.int_schema(ge=self.ge, le=self.le)
        )


def stored_int_or_none(text: str | None) -> int | None:
    """A page's cursor from a form or link (the web app's ``?after=``): the integer ``text``
    spells in its one form if a 64-bit column holds it, else ``None`` (the first page). A page
    link is not an API call, so a stale or edited one shows the first page instead of an error;
    ``str.isdigit`` would take other scripts' digits and 19 nines past 64 bits (a 500)."""
    try:
        value = parse_decimal(text or "")
    except ValueError:
        return None
    return value if value <= MAX_STORED_INT else None


JsonInt = Annotated[int, Strict()]
RowId = Annotated[int, UrlInt(ge=1, le=MAX_STORED_INT)]
"""A table's id or sequence number in a path or query (a pledge, a repair application)."""
StoredInt = Annotated[int, UrlInt(ge=0, le=MAX_STORED_INT)]
"""A non-negative integer a 64-bit column holds (a cursor: the sequence number of a row)."""
JsonSafeInt = Annotated[int, UrlInt(ge=0, le=MAX_JSON_INT)]
"""A size or index that documents carry as a JSON number (log sizes, leaf indexes)."""
JsonBool = Annotated[bool, Strict()]
JsonDate = Annotated[date, BeforeValidator(_date_text)]
JsonDateTime = Annotated[datetime, BeforeValidator(_date_time_text)]
JsonAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)]
"""A SHA-256 or SM3 digest as 64 hex digits, in either case as tools print them (``sha256sum``
lower, Windows' ``certutil`` upper); stored, hashed and compared in lower case."""
