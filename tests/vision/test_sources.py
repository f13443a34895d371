"""Which video source to follow, by preference."""

from __future__ import annotations

import pytest
from livekit import rtc

from livekit_plugins_medvision.vision.options import VideoSourcePreference
from livekit_plugins_medvision.vision.sources import pick_source

CAM, SCREEN = rtc.TrackSource.SOURCE_CAMERA, rtc.TrackSource.SOURCE_SCREENSHARE


@pytest.mark.parametrize(
    ("preference", "available", "expected"),
    [
        ("camera_then_screen_share", {CAM, SCREEN}, CAM),
        ("camera_then_screen_share", {SCREEN}, SCREEN),
        ("screen_share_then_camera", {CAM, SCREEN}, SCREEN),
        ("screen_share_then_camera", {CAM}, CAM),
        ("camera", {SCREEN}, None),
        ("screen_share", {CAM, SCREEN}, SCREEN),
        ("camera", set(), None),
    ],
)
def test_pick_source(
    preference: VideoSourcePreference,
    available: set[rtc.TrackSource.ValueType],
    expected: rtc.TrackSource.ValueType | None,
) -> None:
    assert pick_source(available, preference) == expected
