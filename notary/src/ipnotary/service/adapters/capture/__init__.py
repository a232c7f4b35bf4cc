"""Web-page capture: a headless Chromium behind a checking proxy, its traffic as WARC, its
renderings, and the provenance, packaged as one signed WACZ (docs/capture.md).

Start at :class:`~.engine.Capturer`. The modules, in the order a capture uses them:
:mod:`.addresses` (which addresses may be reached), :mod:`.environment` (the clean-environment
checks), :mod:`.proxy` (DNS, the checks on every connection, what was blocked),
:mod:`.browser` (Playwright and Chromium), :mod:`.tls` (the chains shown to the browser),
:mod:`.warc`, :mod:`.summary` (the bilingual provenance page) and :mod:`.package` (the WACZ and
its signature).
"""

from ipnotary.service.adapters.capture.engine import (
    CaptureBusy,
    CaptureFailed,
    CaptureLimits,
    CaptureOutcome,
    Capturer,
    CaptureRefused,
    PageOptions,
)

__all__ = [
    "CaptureBusy",
    "CaptureFailed",
    "CaptureLimits",
    "CaptureOutcome",
    "CaptureRefused",
    "Capturer",
    "PageOptions",
]
