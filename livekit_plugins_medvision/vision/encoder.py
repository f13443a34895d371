"""I420 frame to a small, upright RGBA frame: the work done in the worker thread.

Pure functions of their arguments. The full-resolution picture is never converted to RGB: each
I420 plane is first shrunk by an integer factor (``Image.reduce``, a box average), then resized
to the final size (chroma to full size: I444; nothing when the frame already fits), rotated,
and only the small result is converted to RGBA by the rtc SDK (libyuv, BT.601 limited range,
the same conversion LiveKit uses). The model's encoder then only JPEG-encodes a frame already
at the right size (``resize_options=None``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from livekit import rtc
from PIL import Image

from .sampling import Thumbnail, thumbnail_difference

__all__ = [
    "THUMBNAIL_SIZE",
    "Prepared",
    "Skipped",
    "fit_size",
    "frame_problem",
    "jpeg_size",
    "prepare_frame",
    "rotation_of",
]

THUMBNAIL_SIZE = (32, 18)
"""Width and height of the luma thumbnail used for change detection."""

_TRANSPOSE = {
    # WebRTC rotation = clockwise turn needed to display the frame upright.
    rtc.VideoRotation.VIDEO_ROTATION_90: Image.Transpose.ROTATE_270,
    rtc.VideoRotation.VIDEO_ROTATION_180: Image.Transpose.ROTATE_180,
    rtc.VideoRotation.VIDEO_ROTATION_270: Image.Transpose.ROTATE_90,
}

# ``VideoFrameEvent.rotation`` is annotated with the enum's wrapper class but holds its value.
_ROTATIONS: dict[object, rtc.VideoRotation.ValueType] = {
    value: value for value in rtc.VideoRotation.values()
}


@dataclass(frozen=True)
class Skipped:
    """A frame not worth sending: it barely differs from the last one sent."""

    difference: float
    """Mean absolute luma difference to the last frame sent (0-255)."""


@dataclass(frozen=True)
class Prepared:
    """A frame ready for the sink: upright, fitted inside ``max_size``, RGBA."""

    frame: rtc.VideoFrame
    """The RGBA frame to push."""
    thumbnail: Thumbnail
    """Its luma thumbnail, the next reference for change detection."""


def rotation_of(value: object) -> rtc.VideoRotation.ValueType:
    """Return a ``VideoFrameEvent.rotation`` as a rotation value (0° when unknown)."""
    return _ROTATIONS.get(value, rtc.VideoRotation.VIDEO_ROTATION_0)


def frame_problem(frame: rtc.VideoFrame) -> str | None:
    """Return why a frame cannot be used, or ``None`` when it is a well-formed I420 frame.

    Checked on the event loop before the frame goes to the worker (a few attribute reads), so
    that a malformed buffer is never read past its end.
    """
    if frame.type != rtc.VideoBufferType.I420:
        return "unsupported format"
    width, height = frame.width, frame.height
    if width <= 0 or height <= 0:
        return "empty frame"
    if width % 2 or height % 2:
        return "odd size"
    if len(frame.data) < width * height * 3 // 2:
        return "truncated buffer"
    return None


def fit_size(width: int, height: int, max_size: int) -> tuple[int, int]:
    """Return the size that fits ``width`` × ``height`` inside ``max_size``, keeping its aspect.

    Never upscales; a shrunk side is rounded down to whole pixels.
    """
    long_side = max(width, height)
    if long_side <= max_size:
        return width, height
    return max(1, width * max_size // long_side), max(1, height * max_size // long_side)


def prepare_frame(
    frame: rtc.VideoFrame,
    rotation: rtc.VideoRotation.ValueType,
    *,
    max_size: int,
    reference: Thumbnail | None,
    change_threshold: float,
    force: bool,
) -> Prepared | Skipped:
    """Shrink, rotate and convert one I420 frame, unless it barely differs from ``reference``.

    Args:
        frame: A frame for which ``frame_problem`` returned ``None``.
        rotation: The clockwise rotation that displays the frame upright.
        max_size: Longest side of the result.
        reference: Thumbnail of the last frame sent, ``None`` before the first.
        change_threshold: Skip the frame below this mean luma difference; 0 never skips.
        force: Never skip (first frame, keep-alive).
    """
    width, height = frame.width, frame.height
    out_w, out_h = fit_size(width, height, max_size)
    luma = _reduce(_plane(frame, 0, width, height), out_w, out_h)

    thumbnail = _thumbnail(luma)
    if not force and reference is not None and change_threshold > 0:
        difference = thumbnail_difference(thumbnail, reference)
        if difference < change_threshold:
            return Skipped(difference)

    chroma = [_plane(frame, index, width // 2, height // 2) for index in (1, 2)]
    if (out_w, out_h) == (width, height):
        planes, layout = [luma, *chroma], rtc.VideoBufferType.I420  # already small enough
    else:
        # Chroma goes straight to the full output size (I444): converting half-size chroma
        # with the SDK's nearest-neighbour upsampling costs ~0.8 dB PSNR on colour gradients.
        # To shrink smooth chroma a box filter is enough and ~25 % cheaper than bilinear.
        planes = [_resize(luma, out_w, out_h, Image.Resampling.BILINEAR)]
        for plane in chroma:
            reduced = _reduce(plane, out_w, out_h)
            shrink = reduced.width > out_w
            resample = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
            planes.append(_resize(reduced, out_w, out_h, resample))
        layout = rtc.VideoBufferType.I444
    transpose = _TRANSPOSE.get(rotation)
    if transpose is not None:
        planes = [plane.transpose(transpose) for plane in planes]
    final_w, final_h = planes[0].size
    small = rtc.VideoFrame(final_w, final_h, layout, b"".join(p.tobytes() for p in planes))
    return Prepared(frame=small.convert(rtc.VideoBufferType.RGBA), thumbnail=thumbnail)


def jpeg_size(frame: rtc.VideoFrame, quality: int) -> int:
    """Return the size in bytes of an RGBA frame as a JPEG of ``quality``.

    The same steps as ``livekit.agents.utils.images.encode`` with ``resize_options=None``; used
    now and then to calibrate the running estimate of bytes sent.
    """
    pixels = np.frombuffer(frame.data, np.uint8)
    image = Image.frombuffer("RGBA", (frame.width, frame.height), pixels, "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.tell()


def _plane(frame: rtc.VideoFrame, index: int, width: int, height: int) -> Image.Image:
    data = frame.get_plane(index)
    if data is None:  # frame_problem() has already checked the format
        raise ValueError("frame has no such plane")
    return Image.frombuffer("L", (width, height), np.frombuffer(data, np.uint8), "raw", "L", 0, 1)


def _thumbnail(luma: Image.Image) -> Thumbnail:
    """A ``THUMBNAIL_SIZE`` box average of the luma plane (integer reduce first: ~3× cheaper)."""
    factor = (max(1, luma.width // THUMBNAIL_SIZE[0]), max(1, luma.height // THUMBNAIL_SIZE[1]))
    small = luma.reduce(factor) if factor != (1, 1) else luma
    if small.size != THUMBNAIL_SIZE:
        small = small.resize(THUMBNAIL_SIZE, Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def _reduce(plane: Image.Image, width: int, height: int) -> Image.Image:
    """Shrink by the largest integer factor that keeps the plane at least ``width`` × ``height``."""
    factor = min(plane.width // width, plane.height // height)
    return plane.reduce(factor) if factor > 1 else plane


def _resize(plane: Image.Image, width: int, height: int, resample: Image.Resampling) -> Image.Image:
    if plane.size == (width, height):
        return plane
    return plane.resize((width, height), resample)
