"""The package's exceptions, in one tree.

    MedVisionError
    ├── StreamerClosedError        a VisionStreamer used after aclose()
    ├── PatientContextError        the patient database failed a read, audit or migration,
    │                              or returned a row of the wrong shape
    │   └── PatientContextUnavailable   the database is down, slow or refusing connections
    └── CostLedgerError            the end-of-session cost row could not be written

Bad arguments and options raise ``ValueError`` (naming the option), as in the standard library.
Messages never carry patient data: database errors are re-raised without their arguments.
"""

from __future__ import annotations

__all__ = [
    "CostLedgerError",
    "MedVisionError",
    "PatientContextError",
    "PatientContextUnavailable",
    "StreamerClosedError",
]


class MedVisionError(Exception):
    """Base class of every error this package raises on purpose."""


class StreamerClosedError(MedVisionError):
    """A VisionStreamer was used after ``aclose()``."""


class PatientContextError(MedVisionError):
    """The patient database failed a read, an audit write or a migration, or a row was malformed.

    The message never carries the query's arguments.
    """


class PatientContextUnavailable(PatientContextError):
    """The patient database could not answer in time (down, slow or refusing connections)."""


class CostLedgerError(MedVisionError):
    """The cost-ledger row could not be written (the message names the failure's type only)."""
