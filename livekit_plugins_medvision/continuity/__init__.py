"""Call continuity: a call that survives a lost Gemini Live connection, for a bounded time.

``CallSupervisor`` wraps the realtime model given to the ``AgentSession``: when the plugin
gives up on a dropped connection, the AgentSession stays open while new connections are tried
with backoff (``ReconnectPolicy``), the first one that connects carries on with the conversation
so far, and the patient is told once that the line is back. Past the bound the session closes
and ``call_ended`` lets the application end the job. ``keepalive_http_options`` makes a silent
network path (no reset, no error) show within seconds instead of about 50. See docs/faults.md.
"""

from .events import (
    CallEndedEvent,
    CallEndReason,
    SessionLostEvent,
    SessionRestoredEvent,
    SupervisorEventTypes,
)
from .keepalive import keepalive_http_options
from .policy import ReconnectPolicy
from .session import Outage, SupervisedRealtimeModel, SupervisedRealtimeSession
from .supervisor import DEFAULT_NOTICE, CallSupervisor

__all__ = [
    "DEFAULT_NOTICE",
    "CallEndReason",
    "CallEndedEvent",
    "CallSupervisor",
    "Outage",
    "ReconnectPolicy",
    "SessionLostEvent",
    "SessionRestoredEvent",
    "SupervisedRealtimeModel",
    "SupervisedRealtimeSession",
    "SupervisorEventTypes",
    "keepalive_http_options",
]
