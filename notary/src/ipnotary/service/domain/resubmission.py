"""What a submission that found its record already there stated differently from it.

Content is one record per holder (the same SHA-256 from the same holder is the record already
made, ``records.dedup_key``), so a retry after a lost answer never makes a second one, and a
record, once anchored, never changes. Details sent again with it (a new title, other tags) are
therefore not recorded; the answer says so instead of dropping them in silence: it names each
field the submission states with another value than the record holds (``docs/api.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DERIVED_FIELDS", "fields_not_changed"]

# What the service writes into a record, not the submitter: never a change asked for.
DERIVED_FIELDS = frozenset({"id", "kind", "schema", "holder", "received_at", "prior_registrations"})


def fields_not_changed(recorded: Mapping[str, Any], submitted: Mapping[str, Any]) -> list[str]:
    """The dotted paths of the values ``submitted`` (a record body as the submission would have
    made it) states that ``recorded`` holds otherwise (or not at all), in order; a value the
    submission leaves out is not a change it asked for, nor a field the service derives."""
    out: list[str] = []
    stated = {k: v for k, v in submitted.items() if k not in DERIVED_FIELDS}
    _walk(recorded, stated, "", out)
    return out


def _walk(recorded: Any, submitted: Mapping[str, Any], prefix: str, out: list[str]) -> None:
    for name, value in submitted.items():
        path = f"{prefix}{name}"
        held = recorded.get(name) if isinstance(recorded, Mapping) else None
        if isinstance(value, Mapping) and isinstance(held, Mapping):
            _walk(held, value, f"{path}.", out)
        elif value != held:
            out.append(path)
