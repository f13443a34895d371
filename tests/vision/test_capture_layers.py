"""A capture on a simulcast camera asks for the full layer, waits for it, then steps back down."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive, wait_for_stats
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import rgba_frame, scene

from .rooms import CAMERA, STANDARD, Participant
from .test_layers import HIGH, MEDIUM, Layered, room_with

pytestmark = pytest.mark.e2e


@dataclass
class SfuPublication(Layered):
    """Sends the layer asked for: the full 1920x1080 picture once HIGH is asked."""

    sends: rtc.VideoSource | None = None

    def set_video_quality(self, quality: rtc.VideoQuality.ValueType) -> None:
        super().set_video_quality(quality)
        if quality == HIGH and self.sends is not None:
            self.sends.capture_frame(rgba_frame(scene(1920, 1080)))


async def test_a_capture_gets_the_full_layer_then_the_stream_goes_back_to_its_own() -> None:
    source = rtc.VideoSource(960, 540)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    publication = SfuPublication(CAMERA, track, sends=source)
    room = room_with(Participant("patient", STANDARD, {"c": publication}))
    async with FakeGeminiLive() as server:
        streamer = VisionStreamer(max_size=768, silent_fps=0.0)
        model = google.realtime.RealtimeModel(
            api_key="fake",
            http_options=server.http_options(),
            image_encode_options=streamer.image_encode_options(),
        )
        session = AgentSession[None](llm=model)
        try:
            await session.start(Agent(instructions="You help a clinic."), record=False)
            await streamer.start(session, room=room)
            assert publication.asked == [MEDIUM]  # 960x540 covers the stream's 768 px
            source.capture_frame(rgba_frame(scene(960, 540)))
            await wait_for_stats(streamer, lambda s: s.frames_received >= 1)

            capture = await streamer.capture()
            await server.wait_for_images(1)
        finally:
            await streamer.aclose()
            await session.aclose()
            await model.aclose()
            await source.aclose()
    assert (capture.width, capture.height) == (1536, 864)  # not the 960x540 layer
    assert [(i.width, i.height) for i in server.received.images] == [(1536, 864)]
    assert publication.asked == [MEDIUM, HIGH, MEDIUM]
