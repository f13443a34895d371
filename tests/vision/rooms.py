"""A room for the following tests: an ``rtc.EventEmitter`` holding participants that look like
remote ones (no server offline); the streamer only reads what ``RoomView`` declares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from livekit import rtc
from livekit.rtc.room import EventTypes

from livekit_plugins_medvision.vision.sources import ParticipantView
from tests.support.video import make_camera

CAMERA, SCREEN = rtc.TrackSource.SOURCE_CAMERA, rtc.TrackSource.SOURCE_SCREENSHARE
STANDARD = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
AGENT = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


@dataclass
class Publication:
    source: rtc.TrackSource.ValueType
    track: rtc.Track | None
    muted: bool = False
    kind: rtc.TrackKind.ValueType = rtc.TrackKind.KIND_VIDEO


@dataclass
class Participant:
    identity: str
    kind: rtc.ParticipantKind.ValueType = STANDARD
    track_publications: dict[str, Publication] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


class Room(rtc.EventEmitter[EventTypes]):
    def __init__(self) -> None:
        super().__init__()
        self.participants: dict[str, Participant] = {}

    @property
    def remote_participants(self) -> Mapping[str, ParticipantView]:
        return self.participants


def video_track() -> rtc.Track:
    return make_camera(64, 36).track
