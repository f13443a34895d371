"""The service's limits as emulator knobs, and switches for what no public source settles.

docs/emulator.md has the conformance table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["SessionLimits", "Unverified"]


@dataclass(frozen=True)
class SessionLimits:
    """How long the service lets a connection and a session live, in the service's seconds.

    The emulator divides nothing: ``FakeGeminiLive(time_scale=0.01)`` multiplies every figure
    here, so a 10-minute connection lasts 6 s in a test.
    """

    connection_seconds: float = 600.0
    """A connection lasts about 10 minutes
    (https://ai.google.dev/gemini-api/docs/live-session#connection-lifetime)."""
    go_away_before_seconds: float = 60.0
    """``goAway`` comes this long before the end (the docs say only "before"; 60 s is what users
    report: https://github.com/kizuna-ai-lab/sokuji/issues/179)."""
    audio_video_seconds: float = 120.0
    """An audio+video session without context window compression ends after about 2 minutes
    (https://ai.google.dev/gemini-api/docs/live-session)."""
    audio_seconds: float = 900.0
    """An audio-only session without compression ends after about 15 minutes (same page)."""
    handle_seconds: float = 7200.0
    """A resumption handle stays valid 2 hours after the session ends (same page)."""
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in (
            "connection_seconds",
            "go_away_before_seconds",
            "audio_video_seconds",
            "audio_seconds",
            "handle_seconds",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True)
class Unverified:
    """Behaviours the emulator enforces by default although no public source settles them.

    Each is a switch, so a test that depends on the other reading can say so.
    """

    reject_activity_signals_under_detection: bool = True
    """``activityStart``/``activityEnd`` "can only be sent if automatic activity detection is
    disabled" (proto); what the service does otherwise is not documented: close 1007, or ignore."""
    one_field_per_realtime_input: bool = True
    """The SDKs send one field per ``realtime_input`` message; the proto does not make it a
    oneof. Close 1007 on more than one, or accept them."""
    reject_undecodable_frames: bool = True
    """No public report says what the service does with a corrupt frame: close 1007, or keep
    it (recorded with size 0 x 0)."""
    limit_close_code: int = 1011
    """The close code at the end of a connection's or a session's life, and after a ``goAway``
    (users report 1011: https://discuss.ai.google.dev/t/186392)."""
    missing_key_code: int = 1008
    """The close code when no API key or token comes with the request (policy violation)."""
    unknown_handle_code: int = 1007
    """The close code for a resumption handle the service does not know or that expired
    (users report 1007 when resuming fails: https://discuss.ai.google.dev/t/186392)."""
