"""The VisionStreamer's options: one frozen, validated object.

Every value is checked when the object is built, so a bad option fails at construction (or at
``update_options``) with a ``ValueError`` naming it, and the running stream never sees it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, get_args

from google.genai import types
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given

__all__ = ["DEFAULT_MODEL", "VideoSourcePreference", "VisionOptions"]

VideoSourcePreference = Literal[
    "camera", "screen_share", "camera_then_screen_share", "screen_share_then_camera"
]
"""Which video track of the participant to follow: one source only, or one before the other."""

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
"""The google plugin's default realtime model, used for the token estimate when none is known."""

_GEMINI_FPS_LIMIT = 1.0  # Gemini Live samples video at most once a second
_MAX_FPS = 30.0
_MIN_SIZE = 16
_MAX_SIZE = 4096


@dataclass(frozen=True, kw_only=True)
class VisionOptions:
    """What the VisionStreamer sends, how often and how big."""

    fps: float = 1.0
    """Frames per second while the user speaks."""
    silent_fps: float = 0.3
    """Frames per second while the user is silent; 0 sends nothing then."""
    max_size: int = 768
    """Longest side in pixels of a frame sent (768 is one Gemini tile); never upscaled."""
    jpeg_quality: int = 75
    """JPEG quality (1-100) the model's encoder should use, see ``image_encode_options()``."""
    source: VideoSourcePreference = "camera_then_screen_share"
    """Which video track of the followed participant to stream."""
    change_threshold: float = 2.0
    """Mean absolute luma difference (0-255) below which a frame counts as unchanged; 0 = off."""
    keepalive_s: float = 10.0
    """An unchanged scene is still sent at least this often (seconds)."""
    allow_above_1fps: bool = False
    """Allow ``fps``/``silent_fps`` above Gemini Live's documented 1 fps."""
    model: str | None = None
    """Gemini model id for the token estimate; ``None`` reads the session's model."""
    media_resolution: types.MediaResolution | None = None
    """The session's ``media_resolution``, for the token estimate; ``None`` = server default."""

    def __post_init__(self) -> None:
        if not isinstance(self.allow_above_1fps, bool):
            raise ValueError("allow_above_1fps must be a bool")
        limit = _MAX_FPS if self.allow_above_1fps else _GEMINI_FPS_LIMIT
        _check_number("fps", self.fps, low=0.0, high=limit, low_inclusive=False)
        _check_number("silent_fps", self.silent_fps, low=0.0, high=limit)
        if isinstance(self.max_size, bool) or not isinstance(self.max_size, int):
            raise ValueError(f"max_size must be an int, got {type(self.max_size).__name__}")
        if not _MIN_SIZE <= self.max_size <= _MAX_SIZE:
            raise ValueError(f"max_size must be within [{_MIN_SIZE}, {_MAX_SIZE}]")
        if isinstance(self.jpeg_quality, bool) or not isinstance(self.jpeg_quality, int):
            raise ValueError("jpeg_quality must be an int")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality must be within [1, 100]")
        if self.source not in get_args(VideoSourcePreference):
            raise ValueError(f"source must be one of {get_args(VideoSourcePreference)}")
        _check_number("change_threshold", self.change_threshold, low=0.0, high=255.0)
        _check_number("keepalive_s", self.keepalive_s, low=0.0, high=math.inf, low_inclusive=False)
        model: object = self.model
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ValueError("model must be a non-empty string or None")
        if self.media_resolution is not None and not isinstance(
            self.media_resolution, types.MediaResolution
        ):
            raise ValueError("media_resolution must be a google.genai.types.MediaResolution")

    def replace(
        self,
        *,
        fps: NotGivenOr[float] = NOT_GIVEN,
        silent_fps: NotGivenOr[float] = NOT_GIVEN,
        max_size: NotGivenOr[int] = NOT_GIVEN,
        jpeg_quality: NotGivenOr[int] = NOT_GIVEN,
        source: NotGivenOr[VideoSourcePreference] = NOT_GIVEN,
        change_threshold: NotGivenOr[float] = NOT_GIVEN,
        keepalive_s: NotGivenOr[float] = NOT_GIVEN,
        allow_above_1fps: NotGivenOr[bool] = NOT_GIVEN,
        model: NotGivenOr[str | None] = NOT_GIVEN,
        media_resolution: NotGivenOr[types.MediaResolution | None] = NOT_GIVEN,
    ) -> VisionOptions:
        """Return a copy with the given options changed, validated like the constructor.

        Raises:
            ValueError: an option out of range or of the wrong type; the name is in the message.
        """
        changes = {
            name: value for name, value in locals().items() if name != "self" and is_given(value)
        }
        return dataclasses.replace(self, **changes)


def _check_number(
    name: str, value: object, *, low: float, high: float, low_inclusive: bool = True
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    if math.isnan(value) or value > high or value < low or (value == low and not low_inclusive):
        bracket = "[" if low_inclusive else "("
        hint = ""
        if name in ("fps", "silent_fps") and high == _GEMINI_FPS_LIMIT and value > high:
            hint = " (Gemini Live's limit; allow_above_1fps=True lifts it)"
        raise ValueError(f"{name} must be within {bracket}{low:g}, {high:g}]{hint}")
