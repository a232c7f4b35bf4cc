"""The provenance summary inside the WACZ (``capture/summary.html``): one bilingual page, Chinese
and English, that a judge or a party can open from the package without any of our software, and
that says what was captured, when, from where, with what, and what the environment check found.
It is rendered from the provenance document, so it says nothing the anchored JSON does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

__all__ = ["render_summary"]

# A file beside this module: its Chinese text and long lines are a page's, not code's.
_TEMPLATE = (Path(__file__).parent / "summary.html.j2").read_text(encoding="utf-8")

_ENV = Environment(autoescape=True, undefined=StrictUndefined)


def render_summary(provenance: Mapping[str, Any]) -> bytes:
    clock = provenance.get("clock") or {}
    if clock.get("offset_seconds") is not None:
        shown = f"{clock['offset_seconds']:+.3f} s ({clock.get('source', '')})"
    else:
        shown = f"未检查 / not checked: {clock.get('detail', '')}"
    return _ENV.from_string(_TEMPLATE).render(p=provenance, clock=shown).encode("utf-8")
