"""When to send a frame: speech-aware rate, change detection and keep-alive.

Pure logic, no I/O and no threads: time comes from an injected clock, so the rules are tested
without sleeping. The rate gate runs on the event loop for every received frame (a clock read and
a comparison); the luma difference runs in the worker thread on a 32×18 thumbnail.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .options import ChangeDetector

__all__ = ["FrameSampler", "Thumbnail", "thumbnail_difference"]

Thumbnail = npt.NDArray[np.uint8]
"""A tiny luma image (rows × columns) that stands for a whole frame in change detection."""


def thumbnail_difference(a: Thumbnail, b: Thumbnail, detector: ChangeDetector = "scene") -> float:
    """Return how much two luma thumbnails differ, 0-255.

    ``scene``: the mean absolute difference over the whole thumbnail. ``text``: the largest
    mean absolute difference of any one row, so that one line of text that changed on a still
    page is not averaged away by the rest of the page. Thumbnails of different shapes count as
    entirely different (a guard: the encoder makes them one size per detector).
    """
    if a.shape != b.shape:
        return 255.0
    difference = np.abs(a.astype(np.int16) - b.astype(np.int16))
    if detector == "text":
        return float(difference.mean(axis=1).max())
    return float(np.mean(difference))


class FrameSampler:
    """Decides which received frames are worth a look, and which of those must be sent.

    A frame is *due* when the interval of the current rate (``fps`` while the user speaks,
    ``silent_fps`` otherwise) has passed since the last sample. A due frame is *forced* (sent
    whatever its content) when it is the first since ``restart()``, when ``keepalive_s`` has
    passed since the last frame sent, or when its rotation differs from that frame's (the same
    pixels turned are a new picture to the model); otherwise the worker skips it if it barely
    differs from the last frame sent.
    """

    def __init__(
        self,
        *,
        fps: float,
        silent_fps: float,
        keepalive_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._clock = clock
        self._fps = fps
        self._silent_fps = silent_fps
        self._keepalive_s = keepalive_s
        self._speaking = False
        self._last_sample: float | None = None
        self._last_sent: float | None = None
        self._reference: Thumbnail | None = None
        self._reference_rotation = 0

    @property
    def user_speaking(self) -> bool:
        """Whether the faster, speaking rate applies."""
        return self._speaking

    @user_speaking.setter
    def user_speaking(self, speaking: bool) -> None:
        self._speaking = speaking

    @property
    def reference(self) -> Thumbnail | None:
        """The thumbnail of the last frame sent, or ``None`` before the first one."""
        return self._reference

    def configure(self, *, fps: float, silent_fps: float, keepalive_s: float) -> None:
        """Change the rates and keep-alive; the next decision uses them."""
        self._fps = fps
        self._silent_fps = silent_fps
        self._keepalive_s = keepalive_s

    def restart(self) -> None:
        """Forget the past: the next frame is due at once and sent whatever its content."""
        self._last_sample = None
        self._last_sent = None
        self._reference = None

    def interval(self) -> float:
        """Return the seconds between samples at the current rate (``inf`` when it is 0)."""
        rate = self._fps if self._speaking else self._silent_fps
        return 1.0 / rate if rate > 0 else math.inf

    def due(self) -> bool:
        """Return whether a frame received now should be looked at (never at a rate of 0)."""
        interval = self.interval()
        if math.isinf(interval):
            return False
        return self._last_sample is None or self._clock() - self._last_sample >= interval

    def take(self, rotation: int = 0) -> bool:
        """Record that a due frame goes to the worker; return whether it must be sent.

        A frame must be sent when none has been since ``restart()``, when the keep-alive
        interval has passed since the last one sent, or when its ``rotation`` (the track's
        rotation value) differs from the last one sent: the thumbnail is taken before rotating,
        so change detection alone would see the same picture.
        """
        now = self._clock()
        self._last_sample = now
        return (
            self._last_sent is None
            or now - self._last_sent >= self._keepalive_s
            or rotation != self._reference_rotation
        )

    def record_sent(self, thumbnail: Thumbnail, rotation: int = 0) -> None:
        """Record a frame sent: the reference for change detection and the keep-alive clock."""
        self._last_sent = self._clock()
        self._reference = thumbnail
        self._reference_rotation = rotation
