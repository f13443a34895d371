"""I420 frame to a small, upright RGBA frame: the work done in the worker thread.

Pure functions of their arguments. The full-resolution picture is never converted to RGB:
libswscale (through PyAV, already a dependency of livekit-agents) scales the I420 planes down
with an area filter, GIL released, and only the small result is converted to RGBA. The model's
encoder then only JPEG-encodes a frame already at the right size (``resize_options=None``).
Change detection looks at a luma thumbnail first, so a skipped frame costs a few strided reads
and nothing else.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation
from livekit import rtc
from PIL import Image

from .options import ChangeDetector
from .sampling import Thumbnail, thumbnail_difference

__all__ = [
    "TEXT_THUMBNAIL_SIZE",
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
"""Width and height of the luma thumbnail used for change detection of a scene."""
TEXT_THUMBNAIL_SIZE = (128, 72)
"""Width and height of the luma thumbnail used for change detection of text (a screen share):
a row is 15 px of a 1080p screen, about one line of text."""

_QUARTER_TURNS = {
    # WebRTC rotation = clockwise turn needed to display the frame upright (np.rot90 turns
    # counter-clockwise for positive k).
    rtc.VideoRotation.VIDEO_ROTATION_90: -1,
    rtc.VideoRotation.VIDEO_ROTATION_180: 2,
    rtc.VideoRotation.VIDEO_ROTATION_270: 1,
}
_THUMBNAIL_SAMPLES = 4
"""Luma samples averaged per thumbnail pixel along each axis."""

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
    detector: ChangeDetector = "scene",
) -> Prepared | Skipped:
    """Shrink, rotate and convert one I420 frame, unless it barely differs from ``reference``.

    Args:
        frame: A frame for which ``frame_problem`` returned ``None``.
        rotation: The clockwise rotation that displays the frame upright.
        max_size: Longest side of the result.
        reference: Thumbnail of the last frame sent, ``None`` before the first.
        change_threshold: Skip the frame below this mean luma difference; 0 never skips.
        force: Never skip (first frame, keep-alive).
        detector: How the difference to ``reference`` is measured.
    """
    thumbnail = _thumbnail(frame, TEXT_THUMBNAIL_SIZE if detector == "text" else THUMBNAIL_SIZE)
    if not force and reference is not None and change_threshold > 0:
        difference = thumbnail_difference(thumbnail, reference, detector)
        if difference < change_threshold:
            return Skipped(difference)

    out_w, out_h = fit_size(frame.width, frame.height, max_size)
    rgba = _to_rgba(frame, out_w, out_h)
    turns = _QUARTER_TURNS.get(rotation)
    if turns is not None:
        # One 32-bit word per pixel: the turn moves 4× fewer elements than on bytes.
        rgba = np.ascontiguousarray(np.rot90(rgba.view(np.uint32)[..., 0], turns))
        rgba = rgba.view(np.uint8).reshape(*rgba.shape, 4)
    height, width = rgba.shape[:2]
    small = rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, rgba.data.cast("B"))
    return Prepared(frame=small, thumbnail=thumbnail)


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


def _to_rgba(frame: rtc.VideoFrame, width: int, height: int) -> npt.NDArray[np.uint8]:
    """Return the frame as ``width`` × ``height`` RGBA (height × width × 4 bytes).

    Scaling is libswscale's area filter to I444 at the output size (full-resolution chroma, so
    colour edges stay sharp); the colour conversion is the rtc SDK's (libyuv, BT.601 limited
    range), the same one LiveKit applies, on the small frame only.
    """
    if (width, height) != (frame.width, frame.height):
        scaled = _yuv420p(frame).reformat(
            width, height, "yuv444p", interpolation=Interpolation.AREA
        )
        planes = np.ascontiguousarray(scaled.to_ndarray(), dtype=np.uint8)
        frame = rtc.VideoFrame(width, height, rtc.VideoBufferType.I444, planes.data.cast("B"))
    rgba = frame.convert(rtc.VideoBufferType.RGBA)
    return np.frombuffer(rgba.data, np.uint8).reshape(height, width, 4)


def _yuv420p(frame: rtc.VideoFrame) -> av.VideoFrame:
    """Copy an I420 frame's planes into a PyAV frame (rows may be padded there)."""
    source = av.VideoFrame(frame.width, frame.height, "yuv420p")
    for index, plane in enumerate(source.planes):
        data = frame.get_plane(index)
        if data is None:  # frame_problem() has already checked the format
            raise ValueError("frame has no such plane")
        if plane.buffer_size == len(data):
            plane.update(data)  # type: ignore[arg-type]  # the stub says bytes; any buffer works
        else:  # rows padded for alignment: copy row by row
            rows = np.frombuffer(memoryview(plane), np.uint8)
            rows = rows.reshape(plane.height, plane.line_size)
            rows[:, : plane.width] = np.frombuffer(data, np.uint8).reshape(plane.height, -1)
    return source


def _thumbnail(frame: rtc.VideoFrame, size: tuple[int, int]) -> Thumbnail:
    """A ``size`` average of the luma plane, from a strided grid of samples."""
    width, height = frame.width, frame.height
    columns, rows = size
    plane = frame.get_plane(0)
    if plane is None:
        raise ValueError("frame has no luma plane")
    luma = np.frombuffer(plane, np.uint8, count=width * height).reshape(height, width)
    n = _THUMBNAIL_SAMPLES
    step_y, step_x = height // (rows * n), width // (columns * n)
    if step_y == 0 or step_x == 0:  # a frame smaller than the grid
        image = Image.fromarray(luma).resize(size, Image.Resampling.BOX)
        return np.asarray(image, dtype=np.uint8)
    grid = luma[: step_y * rows * n : step_y, : step_x * columns * n : step_x]
    means = grid.reshape(rows, n, columns, n).mean(axis=(1, 3))
    return np.asarray(means, dtype=np.uint8)
