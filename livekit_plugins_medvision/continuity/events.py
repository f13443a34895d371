"""The events a CallSupervisor emits, each carrying a frozen dataclass."""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = [
    "CallEndedEvent",
    "CallEndReason",
    "SessionLostEvent",
    "SessionRestoredEvent",
    "SupervisorEventTypes",
]

SupervisorEventTypes = Literal["session_lost", "session_restored", "call_ended"]
"""Event names of ``CallSupervisor``."""

CallEndReason = Literal["outage_too_long", "model_error", "closed"]
"""Why a call ended: the model stayed unreachable past the policy's bound, it failed in a way
another connection cannot fix (a context exhausted, a refused setup), or the session was closed
(the job ended, the patient left, the application closed it)."""


@dataclasses.dataclass(frozen=True)
class SessionLostEvent:
    """``"session_lost"``: the connection to the model failed for good; reconnecting starts."""

    error_type: str
    """The failure's exception type (its message is not kept: it may carry anything)."""
    outage: int
    """1 for the call's first outage, 2 for the second, ..."""


@dataclasses.dataclass(frozen=True)
class SessionRestoredEvent:
    """``"session_restored"``: a new model session is connected, with the conversation so far."""

    outage: int
    """Which outage ended (see ``SessionLostEvent.outage``)."""
    outage_s: float
    """Seconds from the loss to the new session's setup."""
    attempts: int
    """Connections tried, the successful one included."""
    audio_frames_dropped: int
    """Microphone frames that arrived while no session could take them."""
    video_frames_dropped: int
    """Video frames pushed while no session could take them (a VisionStreamer pushes none:
    it holds its frames while the session is away)."""


@dataclasses.dataclass(frozen=True)
class CallEndedEvent:
    """``"call_ended"``: the AgentSession closed; emitted once per call."""

    reason: CallEndReason
    """Why (see ``CallEndReason``)."""
    outages: int
    """Outages during the call, the last one included if it ended it."""
    outage_s: float | None
    """For ``"outage_too_long"``: how long the last outage lasted; ``None`` otherwise."""
