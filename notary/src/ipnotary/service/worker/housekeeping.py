"""Periodic duties of the leader that no request triggers.

Today one: erase credit entries whose publicity period has ended (their personal data must go
even if nobody asks about the subject again; ``services.credit.sweep_expired``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from ipnotary.service.services.credit import sweep_expired

__all__ = ["HOUSEKEEPING_PERIOD", "housekeep"]

log = logging.getLogger(__name__)

HOUSEKEEPING_PERIOD = 60.0
"""Seconds between rounds: an expired entry is erased within a minute of its period's end."""


def housekeep(
    engine: Engine,
    stop: threading.Event,
    is_leader: Callable[[], bool],
    period: float = HOUSEKEEPING_PERIOD,
) -> None:
    """Run the duties every ``period`` seconds while this process leads, until ``stop``."""
    while not stop.wait(period):
        if not is_leader():
            continue
        try:
            with Session(engine) as session:
                sweep_expired(session)
        except Exception:
            log.warning("erasing expired credit entries failed", exc_info=True)
