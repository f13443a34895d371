"""The screen-share profile: larger frames, and a change detector that sees one line of text."""

from __future__ import annotations

import numpy as np
import pytest
from livekit import rtc

from livekit_plugins_medvision.testing import wait_for_stats
from livekit_plugins_medvision.testing.screen import document_frame
from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.encoder import Prepared, Skipped, prepare_frame
from livekit_plugins_medvision.vision.options import SCREEN_SHARE_PROFILE, SourceProfile
from tests.support.clock import ManualClock
from tests.support.video import RecordingSink, settled

W, H = 1920, 1080
CAMERA_THRESHOLD = 2.0  # the camera profile's default


def difference(a: rtc.VideoFrame, b: rtc.VideoFrame, detector: str) -> float:
    """How much ``b`` differs from ``a`` by a detector, as the worker measures it."""
    reference = prepare_frame(
        a,
        rtc.VideoRotation.VIDEO_ROTATION_0,
        max_size=64,
        reference=None,
        change_threshold=0,
        force=True,
        detector="text" if detector == "text" else "scene",
    )
    assert isinstance(reference, Prepared)
    outcome = prepare_frame(
        b,
        rtc.VideoRotation.VIDEO_ROTATION_0,
        max_size=64,
        reference=reference.thumbnail,
        change_threshold=255.0,
        force=False,
        detector="text" if detector == "text" else "scene",
    )
    return outcome.difference if isinstance(outcome, Skipped) else 255.0


def edited_line(page: rtc.VideoFrame, other: rtc.VideoFrame, line: int) -> rtc.VideoFrame:
    """``page`` with one line of text (18 px type, 27 px lines) taken from ``other``."""
    luma = np.frombuffer(page.data, np.uint8).copy()
    source = np.frombuffer(other.data, np.uint8)
    top, bottom = line * 27 * W, (line + 1) * 27 * W
    luma[top:bottom] = source[top:bottom]
    return rtc.VideoFrame(W, H, rtc.VideoBufferType.I420, luma.tobytes())


def test_one_edited_line_is_a_change_for_text_and_not_for_a_scene() -> None:
    page = document_frame(W, H)
    one_line = edited_line(page, document_frame(W, H, seed=7), 10)
    # The camera's detector averages one line of 40 away: the scroll-free edit is missed ...
    assert difference(page, one_line, "scene") < CAMERA_THRESHOLD
    # ... the screen share's sees it, far above its threshold ...
    threshold = SCREEN_SHARE_PROFILE.change_threshold
    assert difference(page, one_line, "text") > 3 * threshold
    assert difference(page, document_frame(W, H, first_line=1), "text") > 3 * threshold
    # A note typed a line at a time: the new line is a change for text only.
    typing, typed = document_frame(W, H, lines=10), document_frame(W, H, lines=11)
    assert difference(typing, typed, "scene") < CAMERA_THRESHOLD
    assert difference(typing, typed, "text") > 3 * threshold
    # ... and a blinking caret or a moving pointer stays below it.
    assert difference(page, document_frame(W, H, caret=True), "text") < threshold / 4
    pointed = document_frame(W, H, pointer=(800, 500))
    moved = document_frame(W, H, pointer=(900, 520))
    assert difference(pointed, moved, "text") < threshold / 2
    assert difference(page, page, "text") == 0.0


async def test_a_still_page_sends_nothing_but_the_keepalive_and_a_scroll_goes_at_once() -> None:
    clock = ManualClock()
    async with VisionStreamer(clock=clock) as streamer:
        source = rtc.VideoSource(W, H)
        track = rtc.LocalVideoTrack.create_video_track("screen", source)
        # until its first frame a VideoSource sends black frames, which a stream would read:
        # one frame before the streamer reads the track, so that it reads only the page's
        source.capture_frame(document_frame(W, H))
        sink = RecordingSink()
        streamer.start_track(track, sink, kind="screen_share")
        streamer.set_user_speaking(True)
        line = 0
        sent_at: list[int] = []
        for second in range(75):  # one frame a second, the user speaking throughout
            if second in (40, 41):
                line += 1  # the patient scrolls down a line, twice
            before = streamer.stats.frames_received
            source.capture_frame(document_frame(W, H, first_line=line, caret=second % 2 == 0))
            await _settle(streamer, before)
            if streamer.stats.frames_sent > len(sent_at):
                sent_at.append(second)
            clock.advance(1.0)
        await source.aclose()
    # The first frame, a keep-alive, the two scrolls, then the keep-alive 30 s after the last
    # one sent.
    assert sent_at == [0, 30, 40, 41, 71]
    assert {(frame.width, frame.height) for frame in sink.frames} == {(1536, 864)}
    assert streamer.stats.frames_skipped_unchanged == 75 - len(sent_at)


async def _settle(streamer: VisionStreamer, before: int) -> None:
    await wait_for_stats(streamer, lambda s: s.frames_received > before and settled(s))


async def test_the_camera_profile_and_the_screen_share_profile_are_separate() -> None:
    streamer = VisionStreamer(
        max_size=640,
        screen_share=SourceProfile(
            fps=0.5,
            silent_fps=0.0,
            max_size=1024,
            change_threshold=8.0,
            keepalive_s=60.0,
            detector="text",
        ),
    )
    options = streamer.options
    assert options.profile("camera").max_size == 640
    assert options.profile("screen_share") == options.screen_share
    assert options.screen_share.max_size == 1024
    streamer.update_options(fps=0.25)  # the camera's rate only
    assert streamer.options.screen_share.fps == 0.5 and streamer.options.camera.fps == 0.25
    with pytest.raises(ValueError, match="^screen_share "):
        VisionStreamer(
            screen_share=SourceProfile(
                fps=2.0, silent_fps=0.0, max_size=1024, change_threshold=8.0, keepalive_s=60.0
            )
        )
    with pytest.raises(ValueError, match="^max_size "):
        SourceProfile(fps=1.0, silent_fps=0.0, max_size=8, change_threshold=8.0, keepalive_s=1.0)
    await streamer.aclose()
