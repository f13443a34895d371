"""VisionStreamer end to end on real rtc frames: VideoSource -> local track -> VideoStream."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
from livekit import rtc
from PIL import Image

from livekit_plugins_medvision import StreamerClosedError
from livekit_plugins_medvision.testing import wait_for_stats
from livekit_plugins_medvision.tokens import estimate_image_tokens
from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.options import DEFAULT_MODEL
from tests.support.clock import ManualClock
from tests.support.video import (
    RecordingSink,
    fail_conversions,
    feed,
    make_camera,
    psnr,
    rgba_frame,
    scene,
    settled,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def streamer(clock: ManualClock) -> AsyncIterator[VisionStreamer]:
    async with VisionStreamer(clock=clock, keepalive_s=5.0) as s:
        yield s


async def test_first_frame_is_sent_at_once_shrunk_and_counted(streamer: VisionStreamer) -> None:
    camera = make_camera(1920, 1080)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)

    assert len(sink.frames) == 1
    frame = sink.frames[0]
    assert (frame.width, frame.height, frame.type) == (768, 432, rtc.VideoBufferType.RGBA)
    stats = streamer.stats
    assert (stats.frames_received, stats.frames_sampled, stats.frames_sent) == (1, 1, 1)
    assert stats.last_sent_size == (768, 432)
    assert stats.estimated_image_tokens == estimate_image_tokens(768, 432, model=DEFAULT_MODEL)
    assert stats.bytes_sent > 1000
    assert stats.worker_ms_max > 0


class SlowSink(RecordingSink):
    """A sink whose ``push_video`` holds the loop for ``seconds``, as an encode would."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def push_video(self, frame: rtc.VideoFrame) -> None:
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        super().push_video(frame)


async def test_on_loop_time_is_the_sinks_push(streamer: VisionStreamer) -> None:
    camera = make_camera(640, 360)
    sink = SlowSink(0.02)
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)
    assert len(sink.frames) == 1
    assert streamer.stats.on_loop_ms_max >= 20.0  # the push's own time, measured around it


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((640, 360), (640, 360)),
        ((1280, 720), (768, 432)),
        ((720, 1280), (432, 768)),
        ((3840, 2160), (768, 432)),
    ],
)
async def test_output_fits_max_size_keeps_aspect_never_upscales(
    streamer: VisionStreamer, size: tuple[int, int], expected: tuple[int, int]
) -> None:
    camera = make_camera(*size)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)
    assert [(f.width, f.height) for f in sink.frames] == [expected]


async def test_rotation_is_honoured(streamer: VisionStreamer) -> None:
    camera = make_camera(1280, 720)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera, rotation=rtc.VideoRotation.VIDEO_ROTATION_90)

    frame = sink.frames[0]
    assert (frame.width, frame.height) == (432, 768)
    upright = np.ascontiguousarray(np.rot90(scene(1280, 720), k=-1))  # a quarter clockwise
    expected = Image.fromarray(upright).resize((432, 768), Image.Resampling.LANCZOS)
    sent = np.frombuffer(frame.data, np.uint8).reshape(768, 432, 4)
    assert psnr(sent, np.asarray(expected)) > 30.0


async def test_colours_stay_close_to_the_source(streamer: VisionStreamer) -> None:
    camera = make_camera(1280, 720)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)

    sent = np.frombuffer(sink.frames[0].data, np.uint8).reshape(432, 768, 4)
    reference = rgba_frame(scene(1280, 720))
    ref = Image.frombytes("RGBA", (1280, 720), bytes(reference.data)).resize(
        (768, 432), Image.Resampling.LANCZOS
    )
    assert psnr(sent, np.asarray(ref)) > 30.0


async def test_speaking_rate_vs_silent_rate(clock: ManualClock) -> None:
    async with VisionStreamer(clock=clock, fps=1.0, silent_fps=0.25, change_threshold=0) as s:
        camera = make_camera(320, 180)
        sink = RecordingSink()
        s.start_track(camera.track, sink)

        async def run(seconds: float) -> int:
            sent = s.stats.frames_sent
            for step in range(int(seconds * 8)):  # 8 frames a second, exact in binary
                await feed(s, camera, t=step / 8)
                clock.advance(0.125)
            return s.stats.frames_sent - sent

        s.set_user_speaking(True)
        assert s.user_speaking
        assert await run(5.0) == 5  # one a second, the first at once
        s.set_user_speaking(False)
        assert await run(8.0) == 2  # one every four seconds
        assert s.stats.frames_received == 104


async def test_silent_fps_zero_sends_nothing_while_silent(clock: ManualClock) -> None:
    async with VisionStreamer(clock=clock, silent_fps=0.0) as s:
        camera = make_camera(320, 180)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        for _ in range(3):
            await feed(s, camera)
            clock.advance(2.0)
        assert sink.frames == []
        s.set_user_speaking(True)
        await feed(s, camera)
        assert len(sink.frames) == 1


async def test_unchanged_frames_are_skipped_with_a_keepalive(clock: ManualClock) -> None:
    async with VisionStreamer(clock=clock, keepalive_s=5.0, silent_fps=1.0) as s:
        camera = make_camera(640, 360)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        for second in range(12):  # the same scene once a second, new sensor noise each time
            await feed(s, camera, seed=second)
            clock.advance(1.0)
        stats = s.stats
        assert stats.frames_sent == 3  # t = 0, 5, 10
        assert stats.frames_skipped_unchanged == 9
        await feed(s, camera, t=2.0)  # the square moved: sent at once
        assert s.stats.frames_sent == 4


async def test_a_rotation_change_is_a_scene_change(clock: ManualClock) -> None:
    async with VisionStreamer(clock=clock, keepalive_s=60.0, silent_fps=1.0) as s:
        camera = make_camera(640, 360)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        turns = (
            rtc.VideoRotation.VIDEO_ROTATION_0,
            rtc.VideoRotation.VIDEO_ROTATION_0,  # unchanged: skipped
            rtc.VideoRotation.VIDEO_ROTATION_90,
            rtc.VideoRotation.VIDEO_ROTATION_90,  # unchanged: skipped
            rtc.VideoRotation.VIDEO_ROTATION_180,
            rtc.VideoRotation.VIDEO_ROTATION_0,
        )
        for second, rotation in enumerate(turns):  # the same picture, new sensor noise
            await feed(s, camera, rotation=rotation, seed=second)
            clock.advance(1.0)
        assert [(f.width, f.height) for f in sink.frames] == [
            (640, 360),
            (360, 640),
            (640, 360),
            (640, 360),
        ]
        assert s.stats.frames_skipped_unchanged == 2


async def test_track_replacement_sends_the_new_track_at_once(streamer: VisionStreamer) -> None:
    first, second = make_camera(640, 360), make_camera(320, 240)
    sink = RecordingSink()
    streamer.start_track(first.track, sink)
    await feed(streamer, first)
    streamer.start_track(second.track, sink)
    await feed(streamer, second)  # no clock advance: due anyway as a new source
    first.capture()  # the old track no longer reaches the streamer
    await feed(streamer, second)
    assert [(f.width, f.height) for f in sink.frames] == [(640, 360), (320, 240)]
    assert streamer.stats.frames_received == 3


async def test_pause_resume_and_update_options(
    streamer: VisionStreamer, clock: ManualClock
) -> None:
    camera = make_camera(1280, 720)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)
    streamer.pause()
    assert streamer.paused
    clock.advance(10.0)
    await feed(streamer, camera, t=1.0)
    assert len(sink.frames) == 1

    streamer.update_options(max_size=320, jpeg_quality=60)
    assert streamer.options.max_size == 320
    assert streamer.image_encode_options().quality == 60
    assert streamer.image_encode_options().resize_options is None
    streamer.resume()
    await feed(streamer, camera, t=2.0)  # sent at once after resume, at the new size
    assert (sink.frames[-1].width, sink.frames[-1].height) == (320, 180)

    with pytest.raises(ValueError, match="fps"):
        streamer.update_options(fps=5.0)
    assert streamer.options.fps == 1.0


async def test_a_failing_sink_is_counted_and_streaming_goes_on(
    streamer: VisionStreamer, clock: ManualClock
) -> None:
    camera = make_camera(640, 360)
    sink = RecordingSink()
    sink.fail_with = RuntimeError("session closed")
    streamer.start_track(camera.track, sink)
    await feed(streamer, camera)
    assert streamer.stats.sink_errors == 1
    sink.fail_with = None
    clock.advance(5.0)
    await feed(streamer, camera, t=1.0)
    assert len(sink.frames) == 1
    assert streamer.stats.frames_sent == 1


async def test_aclose_with_a_frame_in_flight(clock: ManualClock) -> None:
    streamer = VisionStreamer(clock=clock)
    camera = make_camera(3840, 2160)
    sink = RecordingSink()
    streamer.start_track(camera.track, sink)
    camera.capture(t=1.0)
    await wait_for_stats(streamer, lambda stats: stats.frames_sampled == 1)
    await streamer.aclose()
    await streamer.aclose()  # idempotent
    assert not [t for t in threading.enumerate() if t.name == "medvision-vision"]
    stats = streamer.stats
    # finished before the close, or discarded: accounted for either way, pushed only if sent
    assert stats.frames_sent + stats.frames_discarded == 1
    assert len(sink.frames) == stats.frames_sent
    with pytest.raises(StreamerClosedError):
        streamer.start_track(camera.track, sink)


async def test_stats_updated_wakes_waiters_and_a_wait_can_time_out(clock: ManualClock) -> None:
    async with VisionStreamer(clock=clock) as streamer:
        camera = make_camera(640, 360)
        streamer.start_track(camera.track, RecordingSink())
        updates: list[int] = []
        streamer.on("stats_updated", lambda: updates.append(streamer.stats.frames_received))
        camera.capture(t=1.0)
        stats = await wait_for_stats(streamer, lambda s: s.frames_sent == 1)
        assert stats.frames_sent == 1 and updates  # woken by the event, not by a timer
        with pytest.raises(TimeoutError, match="eleven frames"):
            await wait_for_stats(
                streamer, lambda s: s.frames_sent == 11, seconds=0.05, what="eleven frames"
            )


async def test_a_stream_that_fails_to_close_still_stops_the_worker(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    close_stream = rtc.VideoStream.aclose

    async def failing_close(stream: rtc.VideoStream) -> None:
        await close_stream(stream)  # closed for real, then reported as failed
        raise RuntimeError("ffi said no")

    monkeypatch.setattr(rtc.VideoStream, "aclose", failing_close)
    streamer = VisionStreamer(clock=clock)
    camera = make_camera(640, 360)
    streamer.start_track(camera.track, RecordingSink())
    await feed(streamer, camera)
    await streamer.aclose()
    assert not [t for t in threading.enumerate() if t.name == "medvision-vision"]
    assert "closing a video stream failed" in caplog.text


async def test_a_failing_stats_listener_does_not_stop_the_video(clock: ManualClock) -> None:
    def broken_dashboard() -> None:
        raise TypeError("the emitter re-raises this one")

    async with VisionStreamer(clock=clock, change_threshold=0.0) as streamer:
        camera = make_camera(640, 360)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        updated = asyncio.Event()
        streamer.on("stats_updated", updated.set)  # before the broken one: still called
        streamer.on("stats_updated", broken_dashboard)

        async def until_sent(count: int) -> None:
            async with asyncio.timeout(10.0):
                while streamer.stats.frames_sent < count:
                    updated.clear()
                    await updated.wait()

        camera.capture(t=1.0)
        await until_sent(1)
        clock.advance(5.0)
        camera.capture(t=2.0)
        await until_sent(2)  # the reader outlived the listener's error
        assert len(sink.frames) == 2


async def test_worker_errors_are_counted_logged_once_and_streaming_goes_on(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # SystemExit is no Exception: uncaught, it would end the worker thread and silence the video.
    fail_conversions(
        monkeypatch, SystemExit(1), RuntimeError("libyuv said no"), RuntimeError("libyuv said no")
    )
    async with VisionStreamer(clock=clock) as streamer:
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        for t in (1.0, 2.0, 3.0, 4.0, 5.0):
            await feed(streamer, camera, t=t)
            clock.advance(5.0)
        stats = streamer.stats
        assert (stats.worker_errors, stats.frames_sent, len(sink.frames)) == (3, 2, 2)
        assert (stats.worker_restarts, stats.worker_refused) == (0, 0)
        assert caplog.text.count("video frame preparation failed (RuntimeError)") == 1
        assert caplog.text.count("video frame preparation failed (SystemExit)") == 1


async def test_a_due_frame_is_dropped_while_the_worker_is_busy_never_queued(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    convert = rtc.VideoFrame.convert
    release = threading.Event()

    def slow_convert(
        frame: rtc.VideoFrame, type: rtc.VideoBufferType.ValueType, *, flip_y: bool = False
    ) -> rtc.VideoFrame:
        release.wait(5.0)  # holds the first frame in the worker until the test lets it go
        return convert(frame, type, flip_y=flip_y)

    monkeypatch.setattr(rtc.VideoFrame, "convert", slow_convert)
    async with VisionStreamer(clock=clock, change_threshold=0.0) as streamer:
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        streamer.start_track(camera.track, sink)
        try:
            camera.capture(t=1.0)
            await wait_for_stats(streamer, lambda s: s.frames_sampled == 1)
            clock.advance(5.0)
            camera.capture(t=2.0)
            await wait_for_stats(streamer, lambda s: s.frames_dropped_busy == 1)
        finally:
            release.set()
        stats = await wait_for_stats(streamer, lambda s: s.frames_sent == 1 and settled(s))
        assert (stats.frames_sampled, stats.frames_dropped_busy) == (2, 1)
        await feed(streamer, camera, t=3.0)  # due at once: the dropped frame took no slot
        assert len(sink.frames) == 2
