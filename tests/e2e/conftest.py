"""Fixtures for the end-to-end tests: the emulator and a 1080p camera on the streamer's clock.

Nothing here replaces a client: frames go through a real ``rtc.VideoSource`` and
``rtc.VideoStream``, the VisionStreamer, LiveKit's Google ``RealtimeModel`` and google-genai,
over TLS to ``FakeGeminiLive``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google.genai import types
from livekit.agents import NOT_GIVEN
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.clock import ManualClock
from tests.support.video import Camera

WIDTH, HEIGHT, FPS = 1920, 1080, 30


@pytest.fixture
async def server() -> AsyncIterator[FakeGeminiLive]:
    async with FakeGeminiLive() as emulator:
        yield emulator


@pytest.fixture
async def camera() -> AsyncIterator[Camera]:
    """A 1080p30 camera on a test clock that the streamer reads too: frame n is at n / 30 s."""
    camera = Camera(WIDTH, HEIGHT, fps=FPS, clock=ManualClock(0.0))
    try:
        yield camera
    finally:
        await camera.aclose()


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
