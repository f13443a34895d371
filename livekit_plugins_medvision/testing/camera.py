"""A synthetic camera: a moving, changing scene rendered into a real ``rtc.VideoSource``.

The scene alternates stretches of motion with stretches where nothing changes, so a streamer
that skips unchanged frames has something to skip. Frames are I420, like a WebRTC camera's, and
are a pure function of their index: the same index always renders the same bytes, and every
frame of a still stretch repeats the last moving frame exactly.

    camera = SyntheticCamera()
    camera.start()                       # renders in real time on the running loop
    streamer.start_track(camera.track, sink)
    ...
    await camera.aclose()
"""

from __future__ import annotations

import asyncio
import math
from types import TracebackType

import numpy as np
import numpy.typing as npt
from livekit import rtc

from ..log import logger

__all__ = ["SyntheticCamera"]

_Plane = npt.NDArray[np.uint8]

# Each cycle of the scene gets its own background tint (U, V chroma pairs), so consecutive
# moving stretches look different, not just shifted.
_TINTS = ((128, 128), (150, 110), (110, 150), (140, 160), (160, 140))
_BOX = 0.22  # the main object's side, as a share of the frame height


class SyntheticCamera:
    """Renders a deterministic scene into an ``rtc.VideoSource`` at a steady frame rate.

    Args:
        width: Frame width in pixels (even).
        height: Frame height in pixels (even).
        fps: Frames per second captured while running.
        moving_seconds: Length of each stretch where the scene moves.
        still_seconds: Length of each stretch where the scene stays exactly the same.
        track_name: Name of the local video track.

    Raises:
        ValueError: a size that is not a positive even integer, or a rate or length that is not
            positive and finite (``still_seconds`` may be 0); the message names the option.
    """

    def __init__(
        self,
        *,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        moving_seconds: float = 3.0,
        still_seconds: float = 2.0,
        track_name: str = "synthetic-camera",
    ) -> None:
        _check_even("width", width)
        _check_even("height", height)
        # `not 0 < x < inf` also refuses NaN, which every comparison answers False
        if not 0 < fps < math.inf:
            raise ValueError(f"fps must be positive and finite, got {fps!r}")
        if not 0 < moving_seconds < math.inf:
            raise ValueError(f"moving_seconds must be positive and finite, got {moving_seconds!r}")
        if not 0 <= still_seconds < math.inf:
            raise ValueError(f"still_seconds must be 0 or more and finite, got {still_seconds!r}")
        self._width = width
        self._height = height
        self._fps = fps
        self._moving_frames = max(1, round(moving_seconds * fps))
        self._cycle_frames = self._moving_frames + round(still_seconds * fps)
        self._frames_captured = 0
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # a horizontal luma ramp, copied into every frame before the objects are drawn
        ramp = np.linspace(40, 110, width, dtype=np.float32).astype(np.uint8)
        self._luma_background: _Plane = np.tile(ramp, (height, 1))
        self.source = rtc.VideoSource(width, height)
        """The video source the frames are captured into."""
        self.track = rtc.LocalVideoTrack.create_video_track(track_name, self.source)
        """A local video track on ``source``; read it with ``rtc.VideoStream(track)``."""

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self._width

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self._height

    @property
    def fps(self) -> float:
        """Frames per second captured while running."""
        return self._fps

    @property
    def frames_captured(self) -> int:
        """Frames captured into ``source`` so far."""
        return self._frames_captured

    def is_still(self, index: int) -> bool:
        """Whether frame ``index`` repeats the frame before it exactly."""
        return index % self._cycle_frames >= self._moving_frames

    def render(self, index: int) -> rtc.VideoFrame:
        """Return frame ``index`` of the scene as an I420 ``rtc.VideoFrame``.

        Raises:
            ValueError: ``index`` is negative.
        """
        if index < 0:
            raise ValueError(f"index must be 0 or more, got {index!r}")
        cycle, position = divmod(index, self._cycle_frames)
        # still stretches freeze on the cycle's last moving frame
        t = (cycle * self._moving_frames + min(position, self._moving_frames - 1)) / self._fps
        w, h = self._width, self._height
        data = bytearray(w * h * 3 // 2)
        buffer = np.frombuffer(data, dtype=np.uint8)
        y = buffer[: w * h].reshape(h, w)
        u = buffer[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
        v = buffer[w * h * 5 // 4 :].reshape(h // 2, w // 2)
        np.copyto(y, self._luma_background)
        tint_u, tint_v = _TINTS[cycle % len(_TINTS)]
        u.fill(tint_u)
        v.fill(tint_v)

        side = int(h * _BOX) // 2 * 2
        # the main object follows a Lissajous path across the frame
        x0 = int((w - side) * (0.5 + 0.45 * math.sin(t * 1.3)))
        y0 = int((h - side) * (0.5 + 0.45 * math.sin(t * 1.7 + 0.6)))
        _fill(y, u, v, x0, y0, side, side, (225, 90, 200))
        # a smaller object on a slower circle
        small = side // 2 // 2 * 2
        x1 = int((w - small) * (0.5 + 0.3 * math.cos(t * 0.8)))
        y1 = int((h - small) * (0.5 + 0.3 * math.sin(t * 0.8)))
        _fill(y, u, v, x1, y1, small, small, (170, 200, 80))
        # a progress bar along the bottom: the slow, small change a monitor screen would show
        bar = int(w * ((t / 10.0) % 1.0)) // 2 * 2
        _fill(y, u, v, 0, h - 12, bar, 12, (200, 128, 128))
        return rtc.VideoFrame(w, h, rtc.VideoBufferType.I420, data)

    def start(self) -> None:
        """Start capturing frames in real time on the running event loop.

        Raises:
            RuntimeError: already started or closed.
        """
        if self._closed or self._task is not None:
            raise RuntimeError("SyntheticCamera can be started once, before aclose()")
        self._task = asyncio.create_task(self._run(), name="synthetic-camera")

    async def aclose(self) -> None:
        """Stop capturing and release the source. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._task is not None:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    # The capture task ends cancelled either way; only the caller's own
                    # cancellation (its cancel count) is to be passed on.
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise
        finally:
            await self.source.aclose()

    async def __aenter__(self) -> SyntheticCamera:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        index = 0
        while True:
            self.source.capture_frame(self.render(index), timestamp_us=int(index * 1e6 / self._fps))
            self._frames_captured += 1
            index += 1
            delay = started + index / self._fps - loop.time()
            if delay < -1.0 / self._fps:
                # a busy machine: drop the frames that are already late instead of bursting them
                skipped = int(-delay * self._fps)
                logger.debug("synthetic camera behind, skipping %d frames", skipped)
                index += skipped
                delay += skipped / self._fps
            await asyncio.sleep(max(delay, 0.0))


def _check_even(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % 2:
        raise ValueError(f"{name} must be a positive even integer, got {value!r}")


def _fill(
    y: _Plane,
    u: _Plane,
    v: _Plane,
    x: int,
    top: int,
    width: int,
    height: int,
    colour: tuple[int, int, int],
) -> None:
    """Paint a rectangle of ``colour`` (Y, U, V) with its top-left corner at even (x, top)."""
    x, top = x // 2 * 2, top // 2 * 2
    y[top : top + height, x : x + width] = colour[0]
    u[top // 2 : (top + height) // 2, x // 2 : (x + width) // 2] = colour[1]
    v[top // 2 : (top + height) // 2, x // 2 : (x + width) // 2] = colour[2]
