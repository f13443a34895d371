import asyncio
import math
from collections.abc import Callable

import pytest
from livekit import rtc

from livekit_plugins_medvision.testing.camera import SyntheticCamera


async def test_scene_moves_then_holds_still_exactly() -> None:
    camera = SyntheticCamera(fps=10, moving_seconds=1.0, still_seconds=0.5)
    try:
        # frames 0-9 move, 10-14 repeat frame 9, then the next cycle moves again
        assert [camera.is_still(i) for i in (0, 9, 10, 14, 15)] == [
            False,
            False,
            True,
            True,
            False,
        ]
        frames = [bytes(camera.render(i).data) for i in range(16)]
        assert len(set(frames[:10])) == 10
        assert frames[10:15] == [frames[9]] * 5
        assert frames[15] != frames[9]
        assert bytes(camera.render(3).data) == frames[3]
    finally:
        await camera.aclose()


async def test_frames_are_i420_at_the_requested_size() -> None:
    camera = SyntheticCamera()
    try:
        frame = camera.render(0)
        assert (frame.width, frame.height, frame.type) == (1280, 720, rtc.VideoBufferType.I420)
        assert camera.fps == 30.0
    finally:
        await camera.aclose()


async def test_running_camera_feeds_a_video_stream() -> None:
    camera = SyntheticCamera(width=320, height=180)
    stream = rtc.VideoStream(camera.track)
    received: list[rtc.VideoFrame] = []
    async with camera:
        async for event in stream:
            received.append(event.frame)
            if len(received) == 5:
                break
    await stream.aclose()
    assert [(f.width, f.height) for f in received] == [(320, 180)] * 5
    assert camera.frames_captured >= 5
    await camera.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="started once"):
        camera.start()


@pytest.mark.parametrize(
    "make, named",
    [
        (lambda: SyntheticCamera(width=1279), "width"),
        (lambda: SyntheticCamera(height=0), "height"),
        (lambda: SyntheticCamera(fps=0.0), "fps"),
        (lambda: SyntheticCamera(fps=math.inf), "fps"),
        (lambda: SyntheticCamera(fps=math.nan), "fps"),
        (lambda: SyntheticCamera(moving_seconds=-1.0), "moving_seconds"),
        (lambda: SyntheticCamera(moving_seconds=math.inf), "moving_seconds"),
        (lambda: SyntheticCamera(still_seconds=-0.5), "still_seconds"),
        (lambda: SyntheticCamera(still_seconds=math.inf), "still_seconds"),
    ],
)
def test_bad_options_name_the_option(make: Callable[[], SyntheticCamera], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        make()


async def test_aclose_passes_on_the_callers_cancellation() -> None:
    camera = SyntheticCamera(width=64, height=36)
    camera.start()
    await asyncio.sleep(0)  # the capture task is running

    async def close() -> None:
        await camera.aclose()

    closing = asyncio.create_task(close())
    await asyncio.sleep(0)  # aclose() is awaiting the cancelled capture task
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert closing.cancelled()
