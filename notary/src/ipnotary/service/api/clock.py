"""The time the workflows' routes act at, as a dependency.

Deadlines of complaints and the freshness of notarial signatures are decided against ``now``;
the routes take it from :func:`current_time` rather than the wall clock directly, so a test moves
a whole service through a 15-day window by overriding this one dependency
(``app.dependency_overrides[current_time]``) instead of sleeping, and server-rendered pages call
the same services with a ``now`` of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends

__all__ = ["NowDep", "current_time"]


def current_time() -> datetime:
    return datetime.now(UTC)


NowDep = Annotated[datetime, Depends(current_time)]
