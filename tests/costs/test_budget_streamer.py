"""Budgets end to end on a real VisionStreamer fed by a local rtc video track: a camera, and a
screen share streamed with its own profile."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from google.genai import types
from livekit import rtc

from livekit_plugins_medvision import VisionStreamer
from livekit_plugins_medvision.costs import Budget, CostTracker, VideoStreamer
from livekit_plugins_medvision.testing import wait_for_stats
from livekit_plugins_medvision.testing.screen import document_frame
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
async def screen() -> AsyncIterator[Fed]:
    """The same track followed as a screen share: the streamer's default screen-share profile."""
    camera = Camera(1280, 720)
    try:
        async with VisionStreamer(clock=camera.clock) as streamer:
            streamer.set_user_speaking(True)
            sink = RecordingSink()
            streamer.start_track(camera.track, sink, kind="screen_share")
            yield Fed(camera, streamer, sink)
    finally:
        await camera.aclose()


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


async def tokens_per_minute(
    fed: Fed, *, speaking: bool, frame_at: Callable[[int], rtc.VideoFrame]
) -> float:
    """Image tokens a minute the streamer sends for 13.5 s of frames, ``frame_at(0 ... 29)``.

    A frame comes every 0.45 s, so 1 fps samples every 3rd frame and 0.5 fps every 5th: a scene
    alternating between two pictures (by the parity of the step) always samples the other one.
    """
    fed.streamer.set_user_speaking(speaking)
    before = fed.streamer.stats.estimated_image_tokens
    for step in range(30):
        await fed.capture_after(0.45, frame_at(step))
    return (fed.streamer.stats.estimated_image_tokens - before) * 60 / 13.5


def greys(change: int) -> Callable[[int], rtc.VideoFrame]:
    """``change=0``: a moving scene (every frame differs from every other by at least 15);
    otherwise the scene flickers between two levels ``change`` apart."""
    return lambda step: grey(30 + (step * 37) % 200 if change == 0 else 100 + change * (step % 2))


def frames(count: int) -> float:
    """``count`` frames of 258 tokens in 13.5 s, as tokens a minute (the helper's unit)."""
    return count * 258 * 60 / 13.5


Scenes = dict[str, tuple[bool, Callable[[int], rtc.VideoFrame]]]
"""Scenes by name: whether the user speaks, and the frame at each step."""


async def rates_at_each_step(
    fed: Fed, scenes: Scenes
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Image tokens a minute of each scene: before any budget step, after soft, after hard."""
    streamer: VideoStreamer = fed.streamer  # the real streamer meets the tracker's protocol
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.001"), hard_usd=Decimal("0.004"))
    )
    tracker.attach_vision(streamer)

    async def rates() -> dict[str, float]:
        return {
            name: await tokens_per_minute(fed, speaking=speaking, frame_at=frame_at)
            for name, (speaking, frame_at) in scenes.items()
        }

    before = await rates()
    tracker.track_usage(turn())  # 0.0015 USD: soft
    soft = await rates()
    tracker.track_usage(turn())
    tracker.track_usage(turn())  # 0.0045 USD: hard
    assert fed.streamer.paused
    return before, soft, await rates()


async def test_every_budget_step_lowers_the_image_cost_rate(camera: Fed) -> None:
    """Soft: fewer frames when speaking, none when silent, small changes skipped; hard: none.

    A frame costs the same tokens at any size, so only these levers lower the cost rate.
    """
    scenes: Scenes = {
        "speaking, moving scene": (True, greys(0)),
        "silent, moving scene": (False, greys(0)),
        "speaking, small changes": (True, greys(4)),
    }
    before, soft, hard = await rates_at_each_step(camera, scenes)

    # 13.5 s of frames every 0.45 s: 1 fps samples every 3rd (10), 0.5 fps every 5th (6).
    assert before["speaking, moving scene"] == frames(10)
    assert soft["speaking, moving scene"] == frames(6)
    assert before["silent, moving scene"] > 0 == soft["silent, moving scene"]
    assert before["speaking, small changes"] == frames(10)
    # Below the soft step's change threshold (6): only the 10 s keepalive frames go out.
    assert soft["speaking, small changes"] <= frames(2)
    assert hard == dict.fromkeys(scenes, 0)


def words_edited(step: int) -> rtc.VideoFrame:
    """A still page, and the same page with the first 40% of its 11th line rewritten.

    The text detector scores the edit ~9 (the whole line ~18): above the screen share's
    threshold (4.0), below the soft step's text-scale floor (12.0).
    """
    page = document_frame(1280, 720)
    if step % 2 == 0:
        return page
    other = np.frombuffer(document_frame(1280, 720, seed=7).data, np.uint8)[: 1280 * 720]
    pixels = np.frombuffer(page.data, np.uint8).copy()
    luma = pixels[: 1280 * 720].reshape(720, 1280)
    luma[180:198, :512] = other.reshape(720, 1280)[180:198, :512]  # 18 px lines at 720p
    return rtc.VideoFrame(1280, 720, rtc.VideoBufferType.I420, pixels.tobytes())


def scrolling(step: int) -> rtc.VideoFrame:
    """A page scrolled by one more line at every step."""
    return document_frame(1280, 720, first_line=step)


async def test_every_budget_step_lowers_a_screen_shares_image_cost_rate(screen: Fed) -> None:
    """The budget turns down the profile of the source streamed, here a shared document.

    Soft: fewer frames of a page scrolled while speaking, none while silent, a few words edited
    skipped; hard: none.
    """
    assert screen.streamer.current_kind == "screen_share"
    scenes: Scenes = {
        "speaking, scrolling": (True, scrolling),
        "silent, scrolling": (False, scrolling),
        "speaking, words edited": (True, words_edited),
    }
    before, soft, hard = await rates_at_each_step(screen, scenes)

    assert before["speaking, scrolling"] == frames(10)
    assert soft["speaking, scrolling"] == frames(6)
    assert before["silent, scrolling"] == frames(6) and soft["silent, scrolling"] == 0
    assert before["speaking, words edited"] == frames(10)
    # Below the text-scale floor: only the first page, unlike the scrolled one sent before.
    assert soft["speaking, words edited"] <= frames(1)
    assert hard == dict.fromkeys(scenes, 0)
    assert {(frame.width, frame.height) for frame in screen.sink.frames} == {(1280, 720)}
