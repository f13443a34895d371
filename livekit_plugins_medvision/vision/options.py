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

__all__ = [
    "DEFAULT_MODEL",
    "SCREEN_SHARE_PROFILE",
    "ChangeDetector",
    "SourceProfile",
    "VideoSourcePreference",
    "VisionOptions",
]

VideoSourcePreference = Literal[
    "camera", "screen_share", "camera_then_screen_share", "screen_share_then_camera"
]
"""Which video track of the participant to follow: one source only, or one before the other."""

ChangeDetector = Literal["scene", "text"]
"""How "changed" is measured: ``scene``, the mean luma difference over a 32×18 thumbnail (a
face, a hand, the room); ``text``, the largest mean luma difference of any row of a 128×72
thumbnail (one line of small print edited or scrolled, on a page that is otherwise still)."""

DEFAULT_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
"""The google plugin's default realtime model, used for the token estimate when none is known."""

_GEMINI_FPS_LIMIT = 1.0  # Gemini Live samples video at most once a second
_MAX_FPS = 30.0
_MIN_SIZE = 16
_MAX_SIZE = 4096


def _check_size(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"max_size must be an int, got {type(value).__name__}")
    if not _MIN_SIZE <= value <= _MAX_SIZE:
        raise ValueError(f"max_size must be within [{_MIN_SIZE}, {_MAX_SIZE}]")


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


@dataclass(frozen=True, kw_only=True)
class SourceProfile:
    """How one kind of track is streamed: rate, size and what counts as a change."""

    fps: float
    """Frames per second while the user speaks."""
    silent_fps: float
    """Frames per second while the user is silent; 0 sends nothing then."""
    max_size: int
    """Longest side in pixels of a frame sent; never upscaled."""
    change_threshold: float
    """Luma difference (0-255, measured by ``detector``) below which a frame is unchanged."""
    keepalive_s: float
    """An unchanged picture is still sent at least this often (seconds)."""
    detector: ChangeDetector = "scene"
    """How the difference is measured."""

    def __post_init__(self) -> None:
        _check_number("fps", self.fps, low=0.0, high=_MAX_FPS, low_inclusive=False)
        _check_number("silent_fps", self.silent_fps, low=0.0, high=_MAX_FPS)
        _check_size(self.max_size)
        _check_number("change_threshold", self.change_threshold, low=0.0, high=255.0)
        _check_number("keepalive_s", self.keepalive_s, low=0.0, high=math.inf, low_inclusive=False)
        if self.detector not in get_args(ChangeDetector):
            raise ValueError(f"detector must be one of {get_args(ChangeDetector)}")


SCREEN_SHARE_PROFILE = SourceProfile(
    fps=1.0,  # Gemini Live's ceiling: a page scrolled while the patient talks shows within 1 s
    silent_fps=0.5,  # an unchanged page sends nothing anyway; this bounds a playing video
    max_size=1536,  # 18-px type on a 1080p screen stays ~14 px (legible); at 768 it is ~7 px
    change_threshold=4.0,  # one edited line scores ~19, a caret blink 0.4, a pointer move 1.1
    keepalive_s=30.0,  # the page is already in the model's context; a still page costs nothing
    detector="text",
)
"""The screen-share defaults; the figures are measured on ``testing.screen.document_frame``."""


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
    screen_share: SourceProfile = SCREEN_SHARE_PROFILE
    """How a screen share is streamed; ``fps`` ... ``keepalive_s`` above are the camera's."""

    @property
    def camera(self) -> SourceProfile:
        """The camera's profile, made of the flat rate, size and change options above."""
        return SourceProfile(
            fps=self.fps,
            silent_fps=self.silent_fps,
            max_size=self.max_size,
            change_threshold=self.change_threshold,
            keepalive_s=self.keepalive_s,
        )

    def profile(self, source: Literal["camera", "screen_share"]) -> SourceProfile:
        """Return the profile of a kind of track."""
        return self.screen_share if source == "screen_share" else self.camera

    def __post_init__(self) -> None:
        if not isinstance(self.allow_above_1fps, bool):
            raise ValueError("allow_above_1fps must be a bool")
        limit = _MAX_FPS if self.allow_above_1fps else _GEMINI_FPS_LIMIT
        _check_number("fps", self.fps, low=0.0, high=limit, low_inclusive=False)
        _check_number("silent_fps", self.silent_fps, low=0.0, high=limit)
        _check_size(self.max_size)
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
        if not isinstance(self.screen_share, SourceProfile):
            raise ValueError("screen_share must be a SourceProfile")
        screen = self.screen_share
        if not self.allow_above_1fps and max(screen.fps, screen.silent_fps) > _GEMINI_FPS_LIMIT:
            raise ValueError(
                "screen_share must keep fps and silent_fps within 1 (Gemini Live's limit; "
                "allow_above_1fps=True lifts it)"
            )

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
        screen_share: NotGivenOr[SourceProfile] = NOT_GIVEN,
    ) -> VisionOptions:
        """Return a copy with the given options changed, validated like the constructor.

        Raises:
            ValueError: an option out of range or of the wrong type; the name is in the message.
        """
        changes = {
            name: value for name, value in locals().items() if name != "self" and is_given(value)
        }
        return dataclasses.replace(self, **changes)
