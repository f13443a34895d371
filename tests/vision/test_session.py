"""start(session): frames reach the AgentSession's google RealtimeModel over TLS to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession, UserStateChangedEvent, io
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.tokens import estimate_image_tokens
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.clock import ManualClock
from tests.support.video import feed, make_camera

pytestmark = pytest.mark.e2e


@pytest.fixture
async def server() -> AsyncIterator[FakeGeminiLive]:
    async with FakeGeminiLive() as emulator:
        yield emulator


async def test_frames_reach_the_model_small_and_at_the_speaking_rate(
    server: FakeGeminiLive,
) -> None:
    clock = ManualClock()
    streamer = VisionStreamer(clock=clock, silent_fps=0.2, change_threshold=0.0)
    model = google.realtime.RealtimeModel(
        api_key="fake",
        http_options=server.http_options(),
        image_encode_options=streamer.image_encode_options(),
    )
    session = AgentSession[None](llm=model)
    camera = make_camera(1920, 1080)
    try:
        await session.start(Agent(instructions="You help a clinic."), record=False)
        await streamer.start(session, track=camera.track)
        await feed(streamer, camera)
        await server.wait_for_images(1)

        session.emit(
            "user_state_changed", UserStateChangedEvent(old_state="listening", new_state="speaking")
        )
        assert streamer.user_speaking
        for step in range(1, 9):  # 2 s at 4 frames a second: one sent each second
            clock.advance(0.25)
            await feed(streamer, camera, t=step / 4)
        await server.wait_for_images(3)
        assert streamer.stats.frames_sent == 3

        await session.aclose()
        sampled = streamer.stats.frames_sampled
        clock.advance(5.0)
        await feed(streamer, camera, t=9.0)
        assert streamer.stats.frames_sampled == sampled  # no agent: nothing prepared
    finally:
        await streamer.aclose()
        await session.aclose()
        await model.aclose()

    images = server.received.images
    assert len(images) == 3
    assert {(i.format, i.width, i.height) for i in images} == {("JPEG", 768, 432)}
    assert streamer.stats.estimated_image_tokens == 3 * estimate_image_tokens(
        768, 432, model=model.model
    )


class _OtherVideo(io.VideoInput):
    async def __anext__(self) -> rtc.VideoFrame:
        raise StopAsyncIteration


async def test_start_refuses_a_session_that_already_has_video() -> None:
    session = AgentSession[None]()
    session.input.video = _OtherVideo(label="room video")
    camera = make_camera(320, 180)
    async with VisionStreamer() as streamer:
        with pytest.raises(RuntimeError, match="video_input"):
            await streamer.start(session, track=camera.track)
        with pytest.raises(ValueError, match="exactly one of room or track"):
            await streamer.start(session)
        session.input.video = None
        await streamer.start(session, room=rtc.Room())  # nobody in the room yet: follows none
        with pytest.raises(RuntimeError, match="already started"):
            await streamer.start(session, track=camera.track)
        assert streamer.stats.frames_received == 0
