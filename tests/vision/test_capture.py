"""capture(): the latest frame, sharper, never upscaled, within the 1 frame a second ceiling."""

from __future__ import annotations

import asyncio
import time

import pytest
from livekit import rtc

from livekit_plugins_medvision import VisionUnavailableError
from livekit_plugins_medvision.tokens import estimate_image_tokens
from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.options import DEFAULT_MODEL
from tests.support.clock import ManualClock
from tests.support.video import RecordingSink, fail_conversions, feed, make_camera


async def test_a_capture_is_the_latest_frame_at_capture_size_counted_by_the_image_rule() -> None:
    clock = ManualClock()
    async with VisionStreamer(clock=clock, silent_fps=0.0) as streamer:  # no stream frames
        camera = make_camera(1920, 1080)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        await feed(streamer, camera, t=3.0)
        assert sink.frames == [] and streamer.stats.frames_sampled == 0

        capture = await streamer.capture()

        assert [(f.width, f.height) for f in sink.frames] == [(1536, 864)]
        assert (capture.width, capture.height, capture.source) == (1536, 864, "camera")
        # Two by two 768-px tiles of 258 tokens on Gemini 2.x: four times a stream frame.
        assert capture.tokens == 4 * 258
        assert capture.tokens == estimate_image_tokens(1536, 864, model=DEFAULT_MODEL, kind="image")
        assert capture.tokens > estimate_image_tokens(768, 432, model=DEFAULT_MODEL)
        assert capture.jpeg_bytes > 10_000 and capture.jpeg_quality == 90
        assert capture.waited_ms == 0 and capture.latency_ms >= capture.on_loop_ms > 0
        assert abs(capture.sent_at - time.time()) < 60
        stats = streamer.stats
        assert (stats.frames_sent, stats.captures_sent) == (1, 1)
        assert stats.capture_tokens == stats.estimated_image_tokens == 4 * 258
        assert stats.bytes_sent == capture.jpeg_bytes
        assert stats.last_sent_size == (1536, 864)


async def test_a_capture_is_never_upscaled_and_honours_rotation() -> None:
    async with VisionStreamer(clock=ManualClock(), silent_fps=0.0) as streamer:
        camera = make_camera(640, 360)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        await feed(streamer, camera, rotation=rtc.VideoRotation.VIDEO_ROTATION_90)
        capture = await streamer.capture(max_size=4096)
        assert (capture.width, capture.height) == (360, 640)
        assert capture.tokens == 258  # one tile: both sides fit within 768


async def test_captures_wait_for_the_slot_and_the_stream_holds_back_meanwhile() -> None:
    clock = ManualClock()
    async with VisionStreamer(clock=clock, fps=1.0, silent_fps=1.0, change_threshold=0) as s:
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        await feed(s, camera)  # a stream frame goes out at once
        assert len(sink.frames) == 1

        clock.advance(0.25)
        first = await s.capture()
        assert first.waited_ms == pytest.approx(750, abs=1)  # 1 s after the stream frame

        # A stream frame due by its own schedule still waits a full second after the capture.
        clock.advance(0.9)
        await feed(s, camera, t=1.0)
        assert len(sink.frames) == 2
        clock.advance(0.2)
        await feed(s, camera, t=2.0)
        assert len(sink.frames) == 3

        clock.advance(0.1)  # a capture right after a stream frame: waits, no burst
        second = await s.capture()
        assert second.waited_ms == pytest.approx(900, abs=1)
        assert (s.stats.frames_sent, s.stats.captures_sent) == (4, 2)


async def test_nothing_to_capture_says_why() -> None:
    async with VisionStreamer(clock=ManualClock(), silent_fps=0.0) as streamer:
        with pytest.raises(VisionUnavailableError, match="no realtime session"):
            await streamer.capture()
        camera = make_camera(640, 360)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        await feed(streamer, camera)
        streamer.pause()
        with pytest.raises(VisionUnavailableError, match="paused"):
            await streamer.capture()
        streamer.resume()
        with pytest.raises(ValueError, match="max_size"):
            await streamer.capture(max_size=8)
        with pytest.raises(ValueError, match="jpeg_quality"):
            await streamer.capture(jpeg_quality=0)
        assert (await streamer.capture()).width == 640
        assert sink.frames and streamer.stats.captures_sent == 1


async def test_a_capture_whose_frame_fails_raises_and_the_stream_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock()
    async with VisionStreamer(clock=clock, silent_fps=1.0, change_threshold=0) as streamer:
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        await feed(streamer, camera)
        fail_conversions(monkeypatch, SystemExit(3))
        with pytest.raises(VisionUnavailableError, match="could not be prepared"):
            await streamer.capture()
        clock.advance(2.0)
        await feed(streamer, camera, t=1.0)
        stats = streamer.stats
        assert (stats.frames_sampled, stats.worker_errors, stats.frames_sent) == (3, 1, 2)
        assert stats.captures_sent == 0 and len(sink.frames) == 2


async def test_concurrent_captures_are_one_second_apart() -> None:
    async with VisionStreamer(silent_fps=0.0) as streamer:  # the real clock
        camera = make_camera(640, 360)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        await feed(streamer, camera)
        first, second = await asyncio.gather(streamer.capture(), streamer.capture())
        assert second.sent_at - first.sent_at >= 0.99
        assert len(sink.frames) == 2
