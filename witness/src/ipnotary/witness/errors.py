"""Errors of the witness program, each carrying the HTTP status c2sp.org/tlog-witness assigns it.

``ipnotary.witness.app`` turns them into responses in one place; the CLI prints them::

    WitnessError
    ├── MalformedRequest          the body breaks the request format, or old size > size (400)
    ├── RequestTooLarge           the body is over MAX_REQUEST_BYTES (413)
    ├── NotSignedByLog            no valid signature from a key trusted for the origin (403)
    ├── UnknownLog                the checkpoint's origin is not configured (404)
    ├── SizeConflict              old size is not the size last cosigned (409, body: known size)
    │   └── ForkDetected          a checkpoint of the size last cosigned with another root (409)
    ├── InconsistentProof         the consistency proof does not verify (422)
    ├── WitnessBusy               the state database stayed locked (503)
    └── WitnessSetupError         the witness directory, key or configuration is unusable
"""

from __future__ import annotations

__all__ = [
    "ForkDetected",
    "InconsistentProof",
    "MalformedRequest",
    "NotSignedByLog",
    "RequestTooLarge",
    "SizeConflict",
    "UnknownLog",
    "WitnessBusy",
    "WitnessError",
    "WitnessSetupError",
]


class WitnessError(Exception):
    """Root of the witness's errors; ``status`` is the HTTP status a request gets for it."""

    status = 500


class MalformedRequest(WitnessError, ValueError):
    status = 400


class RequestTooLarge(WitnessError):
    status = 413


class NotSignedByLog(WitnessError):
    status = 403


class UnknownLog(WitnessError, LookupError):
    status = 404


class SizeConflict(WitnessError):
    """The request does not extend what this witness last cosigned. ``known_size`` goes back to
    the client (``text/x.tlog.size``) so that an honest log can retry with the right proof."""

    status = 409

    def __init__(self, known_size: int, message: str) -> None:
        super().__init__(message)
        self.known_size = known_size


class ForkDetected(SizeConflict):
    """The log signed two different trees of the same size: proof that it forked."""


class InconsistentProof(WitnessError):
    status = 422


class WitnessBusy(WitnessError):
    status = 503


class WitnessSetupError(WitnessError):
    """Not a request's fault: the operator must fix the directory, key or configuration."""
