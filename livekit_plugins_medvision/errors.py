"""The package's exceptions, in one tree.

    MedVisionError
    ├── StreamerClosedError        a VisionStreamer used after aclose()
    ├── PatientContextError        a row that does not fit the expected shape
    │   └── PatientContextUnavailable   the database is down, slow or refusing connections
    └── PricingError               a pricing table or model name that cannot be used

Bad arguments and options raise ``ValueError`` (naming the option), as in the standard library.
Messages never carry patient data: database errors are re-raised without their arguments.
"""

from __future__ import annotations

__all__ = [
    "MedVisionError",
    "PatientContextError",
    "PatientContextUnavailable",
    "PricingError",
    "StreamerClosedError",
]


class MedVisionError(Exception):
    """Base class of every error this package raises on purpose."""


class StreamerClosedError(MedVisionError):
    """A VisionStreamer was used after ``aclose()``."""


class PatientContextError(MedVisionError):
    """A database row could not be turned into a patient context or avatar configuration."""


class PatientContextUnavailable(PatientContextError):
    """The patient database could not answer in time (down, slow or refusing connections)."""


class PricingError(MedVisionError):
    """A price table entry or a model name cannot be used for accounting."""
