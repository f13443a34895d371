"""Which participant and which of their video tracks to follow.

Typed against the few attributes read (``RoomView`` and friends), which ``rtc.Room``,
``rtc.RemoteParticipant`` and ``rtc.RemoteTrackPublication`` satisfy, so the choice is a pure
function of what the room holds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol

from livekit import rtc
from livekit.rtc.room import EventTypes

from .options import VideoSourcePreference

__all__ = ["ParticipantView", "PublicationView", "RoomView", "choose_track", "pick_source"]

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


def choose_track(
    participants: Iterable[ParticipantView],
    *,
    identity: str | None,
    preference: VideoSourcePreference,
) -> rtc.Track | None:
    """Return the video track to stream, or ``None`` when there is nothing to follow.

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
        return live[source] if source is not None else None
    return None
