"""Which participant and which of their video tracks to follow.

Typed against the few attributes read (``RoomView`` and friends), which ``rtc.Room``,
``rtc.RemoteParticipant`` and ``rtc.RemoteTrackPublication`` satisfy, so the choice is a pure
function of what the room holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from livekit import rtc
from livekit.rtc.room import EventTypes

from .options import VideoSourcePreference

__all__ = [
    "Followed",
    "ParticipantView",
    "PublicationView",
    "RoomView",
    "choose_followed",
    "choose_track",
    "kind_of",
    "pick_source",
]

_ORDER: dict[VideoSourcePreference, tuple[rtc.TrackSource.ValueType, ...]] = {
    "camera": (rtc.TrackSource.SOURCE_CAMERA,),
    "screen_share": (rtc.TrackSource.SOURCE_SCREENSHARE,),
    "camera_then_screen_share": (
        rtc.TrackSource.SOURCE_CAMERA,
        rtc.TrackSource.SOURCE_SCREENSHARE,
    ),
    "screen_share_then_camera": (
        rtc.TrackSource.SOURCE_SCREENSHARE,
        rtc.TrackSource.SOURCE_CAMERA,
    ),
}


class PublicationView(Protocol):
    """What is read of a track publication."""

    @property
    def kind(self) -> rtc.TrackKind.ValueType:
        """Audio or video."""

    @property
    def source(self) -> rtc.TrackSource.ValueType:
        """Camera, screen share..."""

    @property
    def muted(self) -> bool:
        """Whether the publisher muted it."""

    @property
    def track(self) -> rtc.Track | None:
        """The track, once subscribed."""


class ParticipantView(Protocol):
    """What is read of a remote participant."""

    @property
    def identity(self) -> str:
        """The participant's identity."""

    @property
    def kind(self) -> rtc.ParticipantKind.ValueType:
        """Standard, agent (avatars included), SIP..."""

    @property
    def track_publications(self) -> Mapping[str, PublicationView]:
        """The participant's publications by sid."""

    @property
    def attributes(self) -> Mapping[str, str]:
        """The participant's attributes (consent is read from them)."""


class RoomView(Protocol):
    """What is used of a room: its remote participants and its events."""

    @property
    def remote_participants(self) -> Mapping[str, ParticipantView]:
        """Remote participants by identity."""

    def on(self, event: EventTypes, callback: Callable[..., object] | None = None) -> object:
        """Register a handler."""

    def off(self, event: EventTypes, callback: Callable[..., object]) -> None:
        """Unregister a handler."""


def pick_source(
    available: Collection[rtc.TrackSource.ValueType], preference: VideoSourcePreference
) -> rtc.TrackSource.ValueType | None:
    """Return the source to follow among the ``available`` live video sources, or ``None``."""
    for source in _ORDER[preference]:
        if source in available:
            return source
    return None


@dataclass(frozen=True)
class Followed:
    """The participant followed and, if it has a live video track, that track and its kind."""

    participant: ParticipantView
    track: rtc.Track | None
    kind: Literal["camera", "screen_share"]


def kind_of(source: rtc.TrackSource.ValueType) -> Literal["camera", "screen_share"]:
    """Return which profile a track source streams with (anything but a screen share: camera)."""
    return "screen_share" if source == rtc.TrackSource.SOURCE_SCREENSHARE else "camera"


def choose_track(
    participants: Iterable[ParticipantView],
    *,
    identity: str | None,
    preference: VideoSourcePreference,
) -> rtc.Track | None:
    """Return the video track to stream, or ``None`` when there is nothing to follow."""
    followed = choose_followed(participants, identity=identity, preference=preference)
    return followed.track if followed is not None else None


def choose_followed(
    participants: Iterable[ParticipantView],
    *,
    identity: str | None,
    preference: VideoSourcePreference,
) -> Followed | None:
    """Return the participant to follow and its video track, or ``None`` when there is none.

    The participant is the one with ``identity``, or else the first one; agent participants
    (avatars publish as agents) are never followed. Of its subscribed, unmuted camera and
    screen-share tracks, the one ``preference`` ranks first wins.
    """
    for participant in participants:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            continue
        if identity is not None and participant.identity != identity:
            continue
        live = {
            publication.source: publication.track
            for publication in participant.track_publications.values()
            if publication.kind == rtc.TrackKind.KIND_VIDEO
            and publication.track is not None
            and not publication.muted
        }
        source = pick_source(live.keys(), preference)
        if source is None:
            return Followed(participant, None, "camera")
        return Followed(participant, live[source], kind_of(source))
    return None
