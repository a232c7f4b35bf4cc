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

Python values of the right type (a ``date`` built by the CLI, say) pass unchanged, so the models
still serve code that constructs them directly.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Strict, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = ["Hex64", "JsonAwareDateTime", "JsonBool", "JsonDate", "JsonDateTime", "JsonInt"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?"
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


JsonInt = Annotated[int, Strict()]
JsonBool = Annotated[bool, Strict()]
JsonDate = Annotated[date, BeforeValidator(_date_text)]
JsonDateTime = Annotated[datetime, BeforeValidator(_date_time_text)]
JsonAwareDateTime = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)]
"""A SHA-256 or SM3 digest as 64 hex digits, in either case as tools print them (``sha256sum``
lower, Windows' ``certutil`` upper); stored, hashed and compared in lower case."""
