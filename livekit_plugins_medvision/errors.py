"""The package's exceptions, in one tree.

    MedVisionError
    ├── StreamerClosedError        a VisionStreamer used after aclose()
    ├── VisionUnavailableError     capture() found nothing it may send now (no track, no
    │                              consent, paused, no realtime session)
    ├── PatientContextError        the patient database failed a read, audit or migration,
    │                              or returned a row of the wrong shape
    │   └── PatientContextUnavailable   the database is down, slow or refusing connections
    ├── CostLedgerError            the end-of-session cost row could not be written
    └── RealtimeUnavailableError   Gemini Live stayed unreachable past the call's reconnect bound

Bad arguments and options raise ``ValueError`` (naming the option), as in the standard library.
Messages never carry patient data: database errors are re-raised without their arguments.
"""

from __future__ import annotations

__all__ = [
    "CostLedgerError",
    "MedVisionError",
    "PatientContextError",
    "PatientContextUnavailable",
    "RealtimeUnavailableError",
    "StreamerClosedError",
    "VisionUnavailableError",
]


class MedVisionError(Exception):
    """Base class of every error this package raises on purpose."""


class StreamerClosedError(MedVisionError):
    """A VisionStreamer was used after ``aclose()``."""


class VisionUnavailableError(MedVisionError):
    """``VisionStreamer.capture()`` could not send a frame now; the message says why, briefly.

    The reasons are states of the call (no video track, no consent, video paused, no realtime
    session), never picture content or patient data, so a tool may hand them to the model.
    """


class PatientContextError(MedVisionError):
    """The patient database failed a read, an audit write or a migration, or a row was malformed.

    The message never carries the query's arguments.
    """


class PatientContextUnavailable(PatientContextError):
    """The patient database could not answer in time (down, slow or refusing connections)."""


class CostLedgerError(MedVisionError):
    """The cost-ledger row could not be written (the message names the failure's type only)."""


class RealtimeUnavailableError(MedVisionError):
    """The realtime model could not be reached again within the call's reconnect bound."""
