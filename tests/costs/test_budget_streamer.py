"""Budgets end to end on a real VisionStreamer fed by a local rtc video track."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from livekit_plugins_medvision import VisionStreamer
from livekit_plugins_medvision.costs import Budget, CostTracker, VideoStreamer
from tests.support.video import Camera, RecordingSink, feed

from .factories import usage

FLASH = "gemini-3.1-flash-live-preview"
TURN = usage(prompt={"AUDIO": 500})  # 0.0015 USD a turn


@dataclass
class Fed:
    """A shared ``Camera``, the streamer reading it on the camera's clock, and the sink."""

    camera: Camera
    streamer: VisionStreamer
    sink: RecordingSink

    async def capture_after(self, seconds: float) -> None:
        """Move time on, capture a frame and wait until the streamer has fully handled it."""
        self.camera.clock.advance(seconds)
        await feed(self.streamer, self.camera)


@pytest.fixture
async def camera() -> AsyncIterator[Fed]:
    camera = Camera(1280, 720)
    try:
        async with VisionStreamer(
            fps=1.0, silent_fps=0.3, max_size=768, change_threshold=0.0, clock=camera.clock
        ) as streamer:
            streamer.set_user_speaking(True)
            sink = RecordingSink()
            streamer.start_track(camera.track, sink)
            yield Fed(camera, streamer, sink)
    finally:
        await camera.aclose()


async def test_soft_lowers_fps_then_size_and_hard_stops_frames(camera: Fed) -> None:
    streamer: VideoStreamer = camera.streamer  # the real streamer meets the tracker's protocol
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.001"), hard_usd=Decimal("0.004"))
    )
    tracker.attach_vision(streamer)

    await camera.capture_after(0)
    assert [(f.width, f.height) for f in camera.sink.frames] == [(768, 432)]

    tracker.track_usage(TURN)  # 0.0015 USD: soft, 0.5 fps
    assert (camera.streamer.options.fps, camera.streamer.options.silent_fps) == (0.5, 0.1)
    await camera.capture_after(1.0)  # one second later: no longer due
    assert len(camera.sink.frames) == 1
    await camera.capture_after(1.0)  # two seconds after the last: due
    assert len(camera.sink.frames) == 2
    assert (camera.sink.frames[-1].width, camera.sink.frames[-1].height) == (768, 432)

    tracker.track_usage(TURN)  # 0.003 USD: past halfway to hard, smaller frames
    assert camera.streamer.options.max_size == 512
    await camera.capture_after(2.0)
    assert (camera.sink.frames[-1].width, camera.sink.frames[-1].height) == (512, 288)

    hard: list[bool] = []
    tracker.on("budget_hard_exceeded", lambda event: hard.append(event.video_paused))
    tracker.track_usage(TURN)  # 0.0045 USD: hard, video paused
    assert hard == [True]
    assert camera.streamer.paused
    sent = len(camera.sink.frames)
    received = camera.streamer.stats.frames_received
    for _ in range(3):
        await camera.capture_after(2.0)
    assert len(camera.sink.frames) == sent  # paused: frames are read, none is sent
    assert camera.streamer.stats.frames_received >= received + 3

    # The tracker read the streamer's own figures.
    report = tracker.report()
    assert report.frames_sent == sent == 3
    assert report.estimated_image_tokens_sent == camera.streamer.stats.estimated_image_tokens > 0
