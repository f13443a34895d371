"""What the CostTracker needs from a video streamer, as a protocol.

The tracker reads a streamer's running totals and turns its frame rate down, through these
few members only; ``livekit_plugins_medvision.VisionStreamer`` satisfies them, and so can any
other source of frames.
"""

from __future__ import annotations

from typing import Protocol

from livekit.agents.types import NotGivenOr

from ..vision.options import SourceProfile

__all__ = ["StreamerOptions", "StreamerStats", "VideoStreamer"]


class StreamerOptions(Protocol):
    """The streamer settings a budget lowers, of the camera and of a screen share.

    ``fps`` ... ``change_threshold`` are the camera's (also as ``camera``); a screen share has
    its own profile, ``screen_share``.
    """

    @property
    def fps(self) -> float:
        """Frames per second while the user speaks."""
        ...

    @property
    def silent_fps(self) -> float:
        """Frames per second while the user is silent."""
        ...

    @property
    def max_size(self) -> int:
        """Longest side, in pixels, of the frames sent."""
        ...

    @property
    def change_threshold(self) -> float:
        """Mean luma difference (0-255) under which a frame is skipped as unchanged."""
        ...

    @property
    def camera(self) -> SourceProfile:
        """The camera's profile, made of the settings above."""
        ...

    @property
    def screen_share(self) -> SourceProfile:
        """How a screen share is streamed: its own rates and change threshold."""
        ...


class StreamerStats(Protocol):
    """The streamer's running totals the tracker reads."""

    @property
    def frames_sent(self) -> int:
        """Frames delivered to the model so far."""
        ...

    @property
    def frames_skipped_unchanged(self) -> int:
        """Frames not sent because they barely differed from the last one sent."""
        ...

    @property
    def estimated_image_tokens(self) -> int:
        """Image tokens those frames are estimated to cost once each (``estimate_image_tokens``)."""
        ...


class VideoStreamer(Protocol):
    """A source of frames whose rate a budget can turn down, and which it can pause."""

    @property
    def options(self) -> StreamerOptions:
        """The current settings."""
        ...

    @property
    def stats(self) -> StreamerStats:
        """The running totals."""
        ...

    def update_options(
        self,
        *,
        fps: NotGivenOr[float] = ...,
        silent_fps: NotGivenOr[float] = ...,
        max_size: NotGivenOr[int] = ...,
        change_threshold: NotGivenOr[float] = ...,
        screen_share: NotGivenOr[SourceProfile] = ...,
    ) -> None:
        """Change settings (``fps`` ... ``change_threshold``: the camera's); others are kept."""
        ...

    def pause(self) -> None:
        """Stop sending frames until ``resume()``."""
        ...

    def resume(self) -> None:
        """Send frames again after ``pause()``."""
        ...
