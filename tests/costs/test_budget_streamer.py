"""Budgets end to end on a real VisionStreamer fed by a local rtc video track."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from google.genai import types
from livekit import rtc

from livekit_plugins_medvision import VisionStreamer
from livekit_plugins_medvision.costs import Budget, CostTracker, VideoStreamer
from livekit_plugins_medvision.testing import wait_for_stats
from tests.support.video import Camera, RecordingSink, rgba_frame, settled

from .factories import usage

FLASH = "gemini-3.1-flash-live-preview"


def turn() -> types.UsageMetadata:
    """A new turn's usage message: 0.0015 USD."""
    return usage(prompt={"AUDIO": 500})


@dataclass
class Fed:
    """A shared ``Camera``, the streamer reading it on the camera's clock, and the sink."""

    camera: Camera
    streamer: VisionStreamer
    sink: RecordingSink

    async def capture_after(self, seconds: float, frame: rtc.VideoFrame) -> None:
        """Move time on, capture ``frame`` and wait until the streamer has fully handled it."""
        self.camera.clock.advance(seconds)
        target = self.streamer.stats.frames_received + 1
        self.camera.source.capture_frame(frame)
        await wait_for_stats(
            self.streamer,
            lambda stats: stats.frames_received >= target and settled(stats),
            what=f"frame {target} read and settled",
        )


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


def grey(level: int) -> rtc.VideoFrame:
    """A uniform 1280x720 frame: two of them differ by the difference of their levels."""
    pixels = np.full((720, 1280, 4), level, dtype=np.uint8)
    pixels[..., 3] = 255
    return rgba_frame(pixels)


async def tokens_per_minute(camera: Fed, *, speaking: bool, change: int) -> float:
    """Image tokens a minute the streamer sends for 13.5 s of a scene changing by ``change``.

    ``change=0`` is a moving scene (every frame differs from every other by at least 15);
    otherwise the scene flickers between two levels ``change`` apart. A frame comes every
    0.45 s, so at 1 fps (every 3rd frame) and 0.5 fps (every 5th) each sample is of the other
    level than the last one sent.
    """
    camera.streamer.set_user_speaking(speaking)
    before = camera.streamer.stats.estimated_image_tokens
    for step in range(30):
        level = 30 + (step * 37) % 200 if change == 0 else 100 + change * (step % 2)
        await camera.capture_after(0.45, grey(level))
    return (camera.streamer.stats.estimated_image_tokens - before) * 60 / 13.5


def frames(count: int) -> float:
    """``count`` frames of 258 tokens in 13.5 s, as tokens a minute (the helper's unit)."""
    return count * 258 * 60 / 13.5


async def test_every_budget_step_lowers_the_image_cost_rate(camera: Fed) -> None:
    """Soft: fewer frames when speaking, none when silent, small changes skipped; hard: none.

    A frame costs the same tokens at any size, so only these levers lower the cost rate.
    """
    streamer: VideoStreamer = camera.streamer  # the real streamer meets the tracker's protocol
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.001"), hard_usd=Decimal("0.004"))
    )
    tracker.attach_vision(streamer)
    scenes = {  # (speaking, change)
        "speaking, moving scene": (True, 0),
        "silent, moving scene": (False, 0),
        "speaking, small changes": (True, 4),
    }

    async def rates() -> dict[str, float]:
        return {
            name: await tokens_per_minute(camera, speaking=speaking, change=change)
            for name, (speaking, change) in scenes.items()
        }

    before = await rates()

    tracker.track_usage(turn())  # 0.0015 USD: soft
    soft = await rates()

    tracker.track_usage(turn())
    tracker.track_usage(turn())  # 0.0045 USD: hard
    assert camera.streamer.paused
    hard = await rates()

    # 13.5 s of frames every 0.45 s: 1 fps samples every 3rd (10), 0.5 fps every 5th (6).
    assert before["speaking, moving scene"] == frames(10)
    assert soft["speaking, moving scene"] == frames(6)
    assert before["silent, moving scene"] > 0 == soft["silent, moving scene"]
    assert before["speaking, small changes"] == frames(10)
    # Below the soft step's change threshold (6): only the 10 s keepalive frames go out.
    assert soft["speaking, small changes"] <= frames(2)
    assert hard == dict.fromkeys(scenes, 0)
