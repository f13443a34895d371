"""Subscribing to less: the simulcast layer asked for, through the ``RoomView`` protocol.

Publications here report what ``rtc.RemoteTrackPublication`` reports (``simulcasted``, the full
``width`` and ``height``) and refuse ``set_video_quality`` on a non-simulcast publication, as
the SDK does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from livekit import rtc
from livekit.agents import AgentSession

from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.layers import LayerChooser, layer_for

from .rooms import CAMERA, SCREEN, Participant, Publication, Room, video_track

LOW = rtc.VideoQuality.VIDEO_QUALITY_LOW
MEDIUM = rtc.VideoQuality.VIDEO_QUALITY_MEDIUM
HIGH = rtc.VideoQuality.VIDEO_QUALITY_HIGH


@dataclass
class Layered(Publication):
    """A publication as ``rtc.RemoteTrackPublication`` reports it, layers included."""

    width: int = 1920
    height: int = 1080
    simulcasted: bool = True
    asked: list[rtc.VideoQuality.ValueType] = field(default_factory=list)

    def set_video_quality(self, quality: rtc.VideoQuality.ValueType) -> None:
        if self.kind != rtc.TrackKind.KIND_VIDEO or not self.simulcasted:
            raise ValueError("set_video_quality requires a simulcasted publication")
        self.asked.append(quality)


def room_with(patient: Participant) -> Room:
    room = Room()
    room.participants[patient.identity] = patient
    return room


@pytest.fixture
async def streamer() -> AsyncIterator[VisionStreamer]:
    async with VisionStreamer(max_size=768) as s:
        yield s


@pytest.mark.parametrize(
    ("width", "height", "max_size", "expected"),
    [
        (1920, 1080, 768, MEDIUM),  # 960x540 covers 768
        (1920, 1080, 480, LOW),  # 480x270 covers 480
        (1920, 1080, 1024, HIGH),
        (1080, 1920, 768, MEDIUM),  # portrait: the long side counts
        (1280, 720, 768, HIGH),  # 640x360 would be smaller than asked
        (1280, 720, 320, LOW),
        (0, 0, 320, HIGH),  # size not known yet: the full layer
    ],
)
def test_the_smallest_layer_that_covers_max_size(
    width: int, height: int, max_size: int, expected: rtc.VideoQuality.ValueType
) -> None:
    assert layer_for(width, height, max_size) == expected


async def test_the_followed_simulcast_camera_gets_its_layer_and_follows_max_size(
    streamer: VisionStreamer,
) -> None:
    camera = Layered(CAMERA, video_track())
    screen = Layered(SCREEN, video_track(), width=2560, simulcasted=False)
    patient = Participant("patient", track_publications={"c": camera, "s": screen})
    room = room_with(patient)

    await streamer.start(AgentSession[None](), room=room)
    assert camera.asked == [MEDIUM]

    streamer.update_options(max_size=320)  # a budget step shrinks the frames
    assert camera.asked == [MEDIUM, LOW]
    streamer.update_options(fps=0.5)  # max_size unchanged: nothing asked
    room.emit("track_subscribed", screen.track, screen, patient)  # still following the camera
    assert camera.asked == [MEDIUM, LOW]
    streamer.update_options(max_size=1024)
    assert camera.asked == [MEDIUM, LOW, HIGH]

    camera.muted = True  # the screen share is followed: not simulcast, never asked
    room.emit("track_muted", patient, camera)
    assert streamer.current_track is screen.track
    streamer.update_options(max_size=320)
    assert screen.asked == []

    camera.muted = False  # the camera again: asked afresh for today's max_size
    room.emit("track_unmuted", patient, camera)
    assert streamer.current_track is camera.track
    assert camera.asked == [MEDIUM, LOW, HIGH, LOW]


async def test_a_new_publication_is_asked_for_its_own_size(streamer: VisionStreamer) -> None:
    first = Layered(CAMERA, video_track())
    patient = Participant("patient", track_publications={"c": first})
    room = room_with(patient)
    await streamer.start(AgentSession[None](), room=room)
    assert first.asked == [MEDIUM]

    # the patient republishes a 720p camera: 640x360 would not cover 768
    second = Layered(CAMERA, video_track(), width=1280, height=720)
    patient.track_publications = {"c2": second}
    room.emit("track_unpublished", first, patient)
    room.emit("track_subscribed", second.track, second, patient)
    assert streamer.current_track is second.track
    assert second.asked == [HIGH]
    assert first.asked == [MEDIUM]


def test_a_refused_request_is_logged_and_the_video_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Refusing(Layered):
        def set_video_quality(self, quality: rtc.VideoQuality.ValueType) -> None:
            raise RuntimeError("the FFI refused")

    chooser = LayerChooser()
    chooser.follow(Refusing(CAMERA, None), 768)
    assert chooser.quality is None
    assert "asking for a simulcast layer failed" in caplog.text

    chooser.follow(Layered(CAMERA, None, simulcasted=False), 768)  # left alone: no error
    assert chooser.quality is None


async def test_a_screen_share_gets_the_layer_its_own_larger_frames_need(
    streamer: VisionStreamer,
) -> None:
    screen = Layered(SCREEN, video_track(), width=3840, height=2160)
    room = room_with(Participant("patient", track_publications={"s": screen}))
    await streamer.start(AgentSession[None](), room=room)
    size = streamer.options.profile("screen_share").max_size
    assert size > streamer.options.max_size  # the screen profile sends larger frames
    assert screen.asked == [layer_for(3840, 2160, size)]
    assert screen.asked != [layer_for(3840, 2160, streamer.options.max_size)]
