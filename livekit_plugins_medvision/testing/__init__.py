"""A local Gemini Live emulator for offline tests and demos (needs the ``testing`` extra).

``FakeGeminiLive`` serves the BidiGenerateContent websocket on 127.0.0.1 over TLS, so the real
google-genai client and LiveKit's Google ``RealtimeModel`` reach it unchanged, through
``server.http_options()`` or ``server.env()``. It records what it receives (``Received``),
answers every turn with a ``Reply`` and a usage message (``ComputedUsage`` by default, or
queued ``UsageMetadata``), and can send ``goAway``, resumption handles or close with an error.
``realtime_model(server)`` builds LiveKit's ``RealtimeModel`` pointed at it, and the
``fake_gemini_live`` pytest fixture (``pytest_plugin``, loaded by pytest once the extra is
installed) starts one per test. ``SyntheticCamera`` renders a moving scene into a real
``rtc.VideoSource``, and ``wait_for_stats`` waits on a VisionStreamer's counters through its
``stats_updated`` event; ``testing.audio`` has a microphone and a loudspeaker for an
``AgentSession`` without a room.
"""

from .camera import SyntheticCamera
from .models import DEFAULT_LIVE_MODELS
from .realtime import realtime_model
from .recording import (
    ConnectionRecord,
    Received,
    ReceivedAudio,
    ReceivedImage,
    ReceivedText,
    RejectedMessage,
    SetupRecord,
    TurnRecord,
    TurnTrigger,
)
from .script import ComputedUsage, Reply, TurnStats, UsageFn, UsagePlacement
from .server import FakeGeminiLive
from .settings import SessionLimits, Unverified
from .vad import VoiceActivitySettings
from .waiting import wait_for_stats

__all__ = [
    "ComputedUsage",
    "ConnectionRecord",
    "DEFAULT_LIVE_MODELS",
    "FakeGeminiLive",
    "Received",
    "ReceivedAudio",
    "ReceivedImage",
    "ReceivedText",
    "RejectedMessage",
    "Reply",
    "SessionLimits",
    "SetupRecord",
    "SyntheticCamera",
    "TurnRecord",
    "TurnStats",
    "TurnTrigger",
    "Unverified",
    "UsageFn",
    "UsagePlacement",
    "VoiceActivitySettings",
    "realtime_model",
    "wait_for_stats",
]
