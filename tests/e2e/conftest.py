"""Fixtures for the end-to-end tests: the emulator, a 1080p camera and the streamer's clock.

Nothing here replaces a client: frames go through a real ``rtc.VideoSource`` and
``rtc.VideoStream``, the VisionStreamer, LiveKit's Google ``RealtimeModel`` and google-genai,
over TLS to ``FakeGeminiLive``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from google.genai import types
from livekit import rtc
from livekit.agents import NOT_GIVEN
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive, wait_for_stats
from livekit_plugins_medvision.vision import VisionStats, VisionStreamer

WIDTH, HEIGHT, FPS = 1920, 1080, 30


class FakeClock:
    """The streamer's monotonic clock, moved by the test: 10 s of video in well under 10 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Camera:
    """A 1080p30 camera: a real ``rtc.VideoSource`` and its local track."""

    source: rtc.VideoSource
    track: rtc.LocalVideoTrack
    frame: rtc.VideoFrame
    clock: FakeClock
    captured: int = 0

    def capture(self) -> None:
        """Capture the next frame, at ``captured / 30`` seconds on the streamer's clock."""
        self.clock.now = self.captured / FPS
        self.source.capture_frame(self.frame)
        self.captured += 1


def i420_frame(width: int, height: int) -> rtc.VideoFrame:
    """A mid-grey I420 frame with a bright diagonal, what WebRTC hands a subscriber."""
    luma = bytearray(b"\x80" * (width * height))
    for y in range(0, height, 4):
        luma[y * width + y * width // height] = 0xF0
    chroma = b"\x80" * (2 * (width // 2) * (height // 2))
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.I420, bytes(luma) + chroma)


def settled(stats: VisionStats) -> bool:
    """Whether the streamer is done with every frame it sampled (sent, skipped or dropped)."""
    done = (
        stats.frames_sent
        + stats.frames_skipped_unchanged
        + stats.frames_dropped_busy
        + stats.worker_errors
        + stats.sink_errors
    )
    return done >= stats.frames_sampled


@pytest.fixture
async def server() -> AsyncIterator[FakeGeminiLive]:
    async with FakeGeminiLive() as emulator:
        yield emulator


@pytest.fixture
async def camera() -> AsyncIterator[Camera]:
    source = rtc.VideoSource(WIDTH, HEIGHT)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    try:
        yield Camera(source=source, track=track, frame=i420_frame(WIDTH, HEIGHT), clock=FakeClock())
    finally:
        await source.aclose()


def realtime_model(
    server: FakeGeminiLive,
    streamer: VisionStreamer,
    *,
    context_window_compression: types.ContextWindowCompressionConfig | None = None,
) -> google.realtime.RealtimeModel:
    """The google RealtimeModel pointed at the emulator, encoding frames as the streamer asks."""
    return google.realtime.RealtimeModel(
        api_key="fake",
        http_options=server.http_options(),
        image_encode_options=streamer.image_encode_options(),
        context_window_compression=(
            NOT_GIVEN if context_window_compression is None else context_window_compression
        ),
    )


async def capture_and_settle(camera: Camera, streamer: VisionStreamer) -> None:
    """Capture one frame and wait until the streamer has read it and finished with it."""
    camera.capture()
    target = camera.captured
    await wait_for_stats(
        streamer,
        lambda stats: stats.frames_received >= target and settled(stats),
        what=f"frame {target} read and settled",
    )
