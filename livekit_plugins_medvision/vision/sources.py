"""Which of a participant's video tracks to follow, by the configured preference."""

from __future__ import annotations

from collections.abc import Collection

from livekit import rtc

from .options import VideoSourcePreference

__all__ = ["pick_source"]

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


def pick_source(
    available: Collection[rtc.TrackSource.ValueType], preference: VideoSourcePreference
) -> rtc.TrackSource.ValueType | None:
    """Return the source to follow among the ``available`` live video sources, or ``None``."""
    for source in _ORDER[preference]:
        if source in available:
            return source
    return None
