"""VisionStreamer into LiveKit's Google RealtimeModel, over TLS to the emulator."""

from __future__ import annotations

import math

import pytest

from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import Camera, feed

from .conftest import (
    FPS,
    HEIGHT,
    WIDTH,
    realtime_model,
)

pytestmark = pytest.mark.e2e

MAX_SIZE = 768


async def test_1080p30_reaches_gemini_at_the_rate_and_size_configured(
    server: FakeGeminiLive, camera: Camera
) -> None:
    streamer = VisionStreamer(
        fps=1.0, silent_fps=1.0, max_size=MAX_SIZE, change_threshold=0.0, clock=camera.clock
    )
    model = realtime_model(server, streamer)
    server.hold_setup()  # the session connects, but is not ready for the first 3 s
    rt_session = model.session()
    try:
        streamer.start_track(camera.track, rt_session)
        for _ in range(3 * FPS):
            await feed(streamer, camera)
        assert streamer.stats.frames_sent == 3
        assert server.received.images == []

        server.release_setup()
        await server.wait_for_images(3)
        # What waited for the session was the rate-limited handful, not 90 frames piled up.
        assert len(server.received.images) == 3
        assert all(image.connection == 1 for image in server.received.images)
        for _ in range(7 * FPS):
            await feed(streamer, camera)
            await server.wait_for_images(streamer.stats.frames_sent)
            # Never ahead of the rate: one frame per second of video, the first at once.
            assert len(server.received.images) <= math.floor(camera.clock.now) + 1
    finally:
        await streamer.aclose()
        await rt_session.aclose()
        await model.aclose()

    images = server.received.images
    # 10 s of video at 1 fps: 10 frames, give or take one.
    assert 9 <= len(images) <= 11
    assert camera.captured == 10 * FPS
    for image in images:
        assert (image.mime_type, image.format) == ("image/jpeg", "JPEG")
        assert max(image.width, image.height) <= MAX_SIZE
        # The source's 16:9, to within a pixel of rounding.
        assert abs(image.width * HEIGHT - image.height * WIDTH) <= max(WIDTH, HEIGHT)
    assert (images[0].width, images[0].height) == (768, 432)
