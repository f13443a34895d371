"""Following a participant's video in a room, on real rtc events with real local tracks.

The room is an ``rtc.EventEmitter`` holding participants that look like remote ones (no server
offline); the streamer only reads what ``RoomView`` declares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit import rtc
from livekit.agents import AgentSession

from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.sources import choose_track

from .rooms import AGENT, CAMERA, SCREEN, STANDARD, Participant, Publication, Room, video_track


def followed(streamer: VisionStreamer) -> rtc.Track | None:
    return streamer.current_track  # read through a call: the value changes between asserts


def kind(streamer: VisionStreamer) -> str | None:
    return streamer.current_kind  # likewise


@pytest.fixture
async def streamer() -> AsyncIterator[VisionStreamer]:
    async with VisionStreamer() as s:
        yield s


async def test_camera_first_then_screen_share_through_mute_and_reconnect(
    streamer: VisionStreamer,
) -> None:
    room = Room()
    avatar = Participant("avatar", AGENT, {"a": Publication(CAMERA, video_track())})
    room.participants["avatar"] = avatar
    await streamer.start(AgentSession[None](), room=room)
    assert followed(streamer) is None  # the avatar is an agent: never followed

    camera, screen = video_track(), video_track()
    patient = Participant("patient", STANDARD, {"c": Publication(CAMERA, camera)})
    room.participants["patient"] = patient
    room.emit("participant_connected", patient)
    assert followed(streamer) is camera

    patient.track_publications["s"] = Publication(SCREEN, screen)
    room.emit("track_subscribed", screen, patient.track_publications["s"], patient)
    assert followed(streamer) is camera  # camera preferred

    assert kind(streamer) == "camera"
    patient.track_publications["c"].muted = True
    room.emit("track_muted", patient, patient.track_publications["c"])
    assert followed(streamer) is screen
    assert kind(streamer) == "screen_share"  # its own profile from the first frame
    patient.track_publications["c"].muted = False
    room.emit("track_unmuted", patient, patient.track_publications["c"])
    assert followed(streamer) is camera

    streamer.update_options(source="screen_share")
    assert followed(streamer) is screen
    unpublished = patient.track_publications.pop("s")
    room.emit("track_unpublished", unpublished, patient)
    assert followed(streamer) is None  # screen share only, and there is none
    assert kind(streamer) is None

    streamer.update_options(source="camera_then_screen_share")
    assert followed(streamer) is camera
    del room.participants["patient"]
    room.emit("participant_disconnected", patient)
    assert followed(streamer) is None
    room.participants["patient"] = patient
    room.emit("participant_connected", patient)
    assert followed(streamer) is camera  # back by itself

    await streamer.aclose()
    room.emit("participant_disconnected", patient)  # listeners are gone: nothing happens
    assert followed(streamer) is None


async def test_the_named_participant_is_followed() -> None:
    first = Participant("first", STANDARD, {"c": Publication(CAMERA, video_track())})
    wanted = video_track()
    second = Participant("second", STANDARD, {"c": Publication(CAMERA, wanted)})
    everyone = [first, second]
    assert choose_track(everyone, identity="second", preference="camera") is wanted
    assert choose_track(everyone, identity=None, preference="camera") is not wanted
    assert choose_track(everyone, identity="nobody", preference="camera") is None
    unsubscribed = Participant("u", STANDARD, {"c": Publication(CAMERA, None)})
    assert choose_track([unsubscribed], identity=None, preference="camera") is None
