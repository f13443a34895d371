"""Options are validated when set, with the option named, and nothing changes on error."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from livekit_plugins_medvision.vision import VisionOptions, VisionStreamer


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"fps": 0}, "fps"),
        ({"fps": 2.0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"fps": True}, "fps"),
        ({"silent_fps": -0.1}, "silent_fps"),
        ({"silent_fps": 1.5}, "silent_fps"),
        ({"max_size": 8}, "max_size"),
        ({"max_size": 768.0}, "max_size"),
        ({"jpeg_quality": 0}, "jpeg_quality"),
        ({"jpeg_quality": 101}, "jpeg_quality"),
        ({"source": "microphone"}, "source"),
        ({"change_threshold": -1.0}, "change_threshold"),
        ({"keepalive_s": 0}, "keepalive_s"),
        ({"allow_above_1fps": "yes"}, "allow_above_1fps"),
        ({"model": " "}, "model"),
        ({"media_resolution": "low"}, "media_resolution"),
    ],
)
def test_bad_options_name_themselves(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} "):
        VisionStreamer(**kwargs)
    with pytest.raises(ValueError, match=f"^{name} "):
        VisionStreamer().update_options(**kwargs)


def test_defaults_and_forced_rates() -> None:
    options = VisionStreamer().options
    assert options == VisionOptions()
    assert (options.fps, options.silent_fps, options.max_size) == (1.0, 0.3, 768)
    assert options.source == "camera_then_screen_share" and options.change_threshold > 0
    fast = VisionStreamer(fps=5.0, silent_fps=2.0, allow_above_1fps=True).options
    assert (fast.fps, fast.silent_fps) == (5.0, 2.0)
    with pytest.raises(ValueError, match="allow_above_1fps=True lifts it"):
        VisionStreamer(fps=1.5)


def test_update_options_keeps_the_old_options_on_error() -> None:
    streamer = VisionStreamer(media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW)
    streamer.update_options(fps=0.5, source="screen_share")
    before = streamer.options
    with pytest.raises(ValueError):
        streamer.update_options(fps=0.2, max_size=0)
    assert streamer.options is before
    assert before.fps == 0.5 and before.source == "screen_share"
    assert before.media_resolution is types.MediaResolution.MEDIA_RESOLUTION_LOW
