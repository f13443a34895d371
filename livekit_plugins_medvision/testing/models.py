"""The Live models the emulator serves and how many tokens a frame costs on each.

Token rules (https://ai.google.dev/gemini-api/docs/media-resolution and
https://ai.google.dev/gemini-api/docs/video-understanding, as published up to 2026-11):

- Gemini 2.x video frames: 258 tokens, 66 at ``MEDIA_RESOLUTION_LOW``.
- Gemini 3 video frames: 70 at LOW and MEDIUM (the default), 280 at HIGH.
- Gemini 3 images: 280 LOW, 560 MEDIUM, 1120 HIGH (the default), 2240 ULTRA_HIGH.

No page says whether a Live ``realtime_input.video`` frame on Gemini 3 is billed at the video or
the image rate: ``frame_tokens(..., gemini3_rate="video")`` is the emulator's unverified default.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "DEFAULT_LIVE_MODELS",
    "FrameRate",
    "frame_tokens",
    "is_gemini3",
    "model_id",
]

DEFAULT_LIVE_MODELS: frozenset[str] = frozenset(
    {
        # https://ai.google.dev/gemini-api/docs/models (Live models, 2026-11) and the ids
        # livekit-plugins-google 1.8.9 lists in LiveAPIModels.
        "gemini-2.5-flash-native-audio-preview-12-2025",
        "gemini-2.5-flash-native-audio-preview-09-2025",
        "gemini-2.5-flash-native-audio-latest",
        "gemini-3.1-flash-live-preview",
        "gemini-3.8-live",
        "gemini-3.8-live-extended-thinking",
    }
)
"""Model ids offered for the Live API (``bidiGenerateContent``); the emulator's ``models=``
knob replaces the set."""

FrameRate = Literal["video", "image"]

_GEMINI3_VIDEO = {"MEDIA_RESOLUTION_HIGH": 280}
_GEMINI3_VIDEO_DEFAULT = 70
_GEMINI3_IMAGE = {
    "MEDIA_RESOLUTION_LOW": 280,
    "MEDIA_RESOLUTION_MEDIUM": 560,
    "MEDIA_RESOLUTION_HIGH": 1120,
    "MEDIA_RESOLUTION_ULTRA_HIGH": 2240,
}
_GEMINI3_IMAGE_DEFAULT = 1120
_GEMINI2_LOW = 66
_GEMINI2_DEFAULT = 258


def model_id(name: str) -> str:
    """Return the id in a ``models/<id>`` resource name (or the name itself)."""
    return name.removeprefix("models/")


def is_gemini3(model: str) -> bool:
    """Whether ``model`` belongs to the Gemini 3 family (its media-resolution rules differ)."""
    return model_id(model).startswith("gemini-3")


def frame_tokens(
    model: str, media_resolution: str | None, *, gemini3_rate: FrameRate = "video"
) -> int:
    """Return the tokens one video frame costs on ``model`` at ``media_resolution``.

    Args:
        model: A model id or ``models/<id>`` name.
        media_resolution: The setup's ``generationConfig.mediaResolution`` (``None`` when unset).
        gemini3_rate: Whether Gemini 3 bills a Live frame at the video or the image rate
            (unverified: no public page says).
    """
    resolution = media_resolution or "MEDIA_RESOLUTION_UNSPECIFIED"
    if is_gemini3(model):
        if gemini3_rate == "image":
            return _GEMINI3_IMAGE.get(resolution, _GEMINI3_IMAGE_DEFAULT)
        return _GEMINI3_VIDEO.get(resolution, _GEMINI3_VIDEO_DEFAULT)
    return _GEMINI2_LOW if resolution == "MEDIA_RESOLUTION_LOW" else _GEMINI2_DEFAULT
