"""How many tokens Gemini bills for one image or video frame, by the documented rules.

Shared by the VisionStreamer (its running estimate of image tokens sent) and the CostTracker
(the image bucket when the server gives no breakdown). Sources:
https://ai.google.dev/gemini-api/docs/tokens (images, Gemini 2.x),
https://ai.google.dev/gemini-api/docs/media-resolution (media resolution, Gemini 3),
https://ai.google.dev/gemini-api/docs/video-understanding (video frames, pre-Gemini-3).

Gemini does not publish a per-frame figure for Live ``realtime_input.video``; frames sent that
way are estimated with the video-frame rule. Calibrate once per model against the server's
``promptTokensDetails`` when the figure matters.
"""

from __future__ import annotations

import math
from typing import Literal

from google.genai import types

__all__ = ["ImageKind", "estimate_image_tokens"]

ImageKind = Literal["image", "video_frame"]

_MR = types.MediaResolution
_TILE = 768
_SMALL = 384
_TOKENS_PER_TILE = 258

# Gemini 3: a fixed count per part, by media resolution; any other (None: the server default)
# gets the default.
_GEN3_IMAGE: dict[_MR | None, int] = {
    _MR.MEDIA_RESOLUTION_LOW: 280,
    _MR.MEDIA_RESOLUTION_MEDIUM: 560,
}
_GEN3_IMAGE_DEFAULT = 1120  # HIGH, the default for images
_GEN3_VIDEO: dict[_MR | None, int] = {_MR.MEDIA_RESOLUTION_HIGH: 280}
_GEN3_VIDEO_DEFAULT = 70  # LOW and MEDIUM, the default for video frames

# Gemini 2.x with an explicit media resolution (the SDK's documented figures).
_GEN2_IMAGE = {
    _MR.MEDIA_RESOLUTION_LOW: 64,
    _MR.MEDIA_RESOLUTION_MEDIUM: 256,
    _MR.MEDIA_RESOLUTION_HIGH: 256,
}
_GEN2_VIDEO_LOW = 66


def estimate_image_tokens(
    width: int,
    height: int,
    *,
    model: str,
    media_resolution: types.MediaResolution | None = None,
    kind: ImageKind = "video_frame",
) -> int:
    """Return the tokens Gemini bills for one image or video frame of ``width`` × ``height``.

    Args:
        width: Width in pixels of the image as sent.
        height: Height in pixels of the image as sent.
        model: Gemini model id, with or without the ``models/`` prefix.
        media_resolution: The session's ``media_resolution``; ``None`` is the server default.
        kind: ``"video_frame"`` for frames of a video stream (how Live realtime video is sent),
            ``"image"`` for a standalone image part.

    Raises:
        ValueError: a size that is not a positive integer, a model that is not a non-empty
            string or an unknown ``kind``.
    """
    _check_size("width", width)
    _check_size("height", height)
    if kind not in ("image", "video_frame"):
        raise ValueError("kind must be 'image' or 'video_frame'")
    name = _model_name(model)
    resolution = None if media_resolution is _MR.MEDIA_RESOLUTION_UNSPECIFIED else media_resolution

    if name.startswith("gemini-3"):
        if kind == "video_frame":
            return _GEN3_VIDEO.get(resolution, _GEN3_VIDEO_DEFAULT)
        return _GEN3_IMAGE.get(resolution, _GEN3_IMAGE_DEFAULT)

    if kind == "video_frame":
        return _GEN2_VIDEO_LOW if resolution is _MR.MEDIA_RESOLUTION_LOW else _TOKENS_PER_TILE
    if resolution is not None:
        return _GEN2_IMAGE[resolution]
    if width <= _SMALL and height <= _SMALL:
        return _TOKENS_PER_TILE
    return math.ceil(width / _TILE) * math.ceil(height / _TILE) * _TOKENS_PER_TILE


def _model_name(model: object) -> str:
    name = model.strip().lower().removeprefix("models/") if isinstance(model, str) else ""
    if not name:
        raise ValueError("model must name a Gemini model")
    return name


def _check_size(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
