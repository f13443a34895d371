"""A sharp frame on demand: what ``VisionStreamer.capture()`` sent, and the worker's part of it.

A capture is the latest frame of the followed track, shrunk to ``max_size`` (default 1536 px on
the longest side, two 768-px tiles across a 16:9 frame: a medicine label or a line of small
print stays legible), never upscaled. It is sent outside the sampling schedule but never closer
than the model's frame interval to the frame before it.

Its token estimate uses Gemini's *image* rule (``estimate_image_tokens(kind="image")``: 768×768
tiles of 258 tokens on Gemini 2.x, a fixed count per media resolution on Gemini 3;
https://ai.google.dev/gemini-api/docs/tokens and .../media-resolution), not the flat
video-frame rule the stream uses. Google publishes no per-frame figure for Live
``realtime_input.video``; the image rule is the one under which extra pixels carry extra detail,
and the larger of the two counts, so a budget never under-counts a capture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from livekit import rtc

from .encoder import Prepared, jpeg_size, prepare_frame

__all__ = ["Capture", "CaptureSource", "prepare_capture"]

CaptureSource = Literal["camera", "screen_share"]
"""The kind of track a frame came from."""


@dataclass(frozen=True, kw_only=True)
class Capture:
    """What one ``capture()`` sent to the model."""

    width: int
    """Width in pixels of the frame sent (upright)."""
    height: int
    """Height in pixels of the frame sent."""
    jpeg_bytes: int
    """Size of the frame as a JPEG at the capture's quality (measured, not estimated)."""
    jpeg_quality: int
    """The quality ``jpeg_bytes`` was measured at."""
    tokens: int
    """Gemini tokens estimated for the frame, by the image rule (see the module's notes)."""
    source: CaptureSource
    """The kind of track the frame came from."""
    sent_at: float
    """Wall-clock time (``time.time()``) at which the frame was handed to the realtime session."""
    latency_ms: float
    """From the ``capture()`` call to the frame handed over, waiting for the slot included."""
    waited_ms: float
    """Of which spent waiting for the model's frame interval to pass since the previous frame."""
    on_loop_ms: float
    """Event-loop time of the hand-over (the realtime session's own JPEG encode)."""


@dataclass(frozen=True)
class CaptureWork:
    """What the worker returns for a capture: the frame and its measured JPEG size."""

    prepared: Prepared
    jpeg_bytes: int
    rotation: rtc.VideoRotation.ValueType


def prepare_capture(
    frame: rtc.VideoFrame,
    rotation: rtc.VideoRotation.ValueType,
    *,
    max_size: int,
    jpeg_quality: int,
) -> CaptureWork:
    """In the worker thread: shrink and turn one frame upright, and measure it as a JPEG."""
    prepared = prepare_frame(
        frame, rotation, max_size=max_size, reference=None, change_threshold=0.0, force=True
    )
    if not isinstance(prepared, Prepared):  # force=True never skips; a guard for the types
        raise TypeError("prepare_frame skipped a forced frame")
    return CaptureWork(prepared, jpeg_size(prepared.frame, jpeg_quality), rotation)
