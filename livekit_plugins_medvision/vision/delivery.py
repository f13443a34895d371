"""Where prepared frames go: the ``VideoSink`` protocol and the AgentSession route.

The AgentSession route resolves ``session.current_agent.realtime_llm_session`` at every push
(public API; a handoff can replace the realtime session), so frames always reach the live one
and nothing is prepared while no agent runs.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from livekit import rtc
from livekit.agents import AgentSession

from ..log import logger

__all__ = ["FixedTarget", "GatedVideoSink", "SessionTarget", "Target", "VideoSink"]

_U = TypeVar("_U")


class VideoSink(Protocol):
    """Anything that takes video frames; the google plugin's ``RealtimeSession`` is one."""

    def push_video(self, frame: rtc.VideoFrame) -> None:
        """Take one frame (called on the event loop)."""


@runtime_checkable
class GatedVideoSink(VideoSink, Protocol):
    """A sink that can be away for a while: a supervised realtime session during an outage."""

    @property
    def accepting_video(self) -> bool:
        """Whether a frame pushed now reaches the model."""


class Target(Protocol):
    """Finds the sink for the next frame, or says there is none right now."""

    def resolve(self) -> VideoSink | None:
        """Return the sink to push into now, or ``None`` to prepare nothing."""


class FixedTarget:
    """One sink, given by the caller, for the whole stream."""

    def __init__(self, sink: VideoSink) -> None:
        self._sink = sink

    def resolve(self) -> VideoSink:
        """Return the caller's sink."""
        return self._sink


class SessionTarget:
    """The realtime session of the agent currently running in an ``AgentSession``."""

    def __init__(self, session: AgentSession[_U]) -> None:
        self._session: AgentSession[_U] = session
        self._conflict_logged = False

    def resolve(self) -> VideoSink | None:
        """Return the current realtime session, or ``None`` when none runs or video is doubled."""
        if self._session.input.video is not None:
            # A video input (RoomIO's) was attached after start(): it sends frames itself.
            if not self._conflict_logged:
                self._conflict_logged = True
                logger.error(
                    "the AgentSession has its own video input; VisionStreamer stops sending so "
                    "frames are not sent twice (start the session with video_input=False)"
                )
            return None
        try:
            return self._session.current_agent.realtime_llm_session
        except RuntimeError:  # no agent running, or its LLM is not a realtime model
            return None
