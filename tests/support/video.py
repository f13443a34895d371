"""Synthetic video for the tests: one picture, one hand-fed camera, one sink, one ``settled()``.

Frames are real ``livekit.rtc`` frames through a real ``rtc.VideoSource``; the picture (a
gradient, sensor noise and a square that moves with ``t``) is realistic enough for PSNR and
scene-change tests.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc

from livekit_plugins_medvision.testing import wait_for_stats
from livekit_plugins_medvision.vision import VisionStats, VisionStreamer

from .clock import ManualClock

Pixels = npt.NDArray[np.uint8]


@functools.lru_cache(maxsize=8)
def scene(width: int, height: int, *, t: float = 0.0, seed: int = 0) -> Pixels:
    """An RGBA picture: diagonal colour gradients, noise, and a bright square that moves with t.

    Cached (4K pictures take a while to make), hence returned read-only.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 255.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 255.0, height, dtype=np.float32)[:, None]
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[..., 0] = 0.7 * x + 0.3 * y
    rgb[..., 1] = 0.2 * x + 0.8 * y
    rgb[..., 2] = 255.0 - 0.6 * x
    rgb += rng.integers(-10, 11, rgb.shape, dtype=np.int8)  # sensor-like noise
    side = max(2, min(width, height) // 5)
    left = int((0.1 + 0.6 * ((t * 0.25) % 1.0)) * (width - side))
    top = (height - side) // 3
    rgb[top : top + side, left : left + side] = (250.0, 240.0, 40.0)
    out = np.empty((height, width, 4), dtype=np.uint8)
    out[..., :3] = np.clip(rgb, 0.0, 255.0).astype(np.uint8)
    out[..., 3] = 255
    out.flags.writeable = False
    return out


def rgba_frame(pixels: Pixels) -> rtc.VideoFrame:
    """Wrap RGBA pixels in an rtc frame."""
    height, width = pixels.shape[:2]
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, pixels.tobytes())


def i420_frame(pixels: Pixels) -> rtc.VideoFrame:
    """The same picture as WebRTC carries it: I420, BT.601 limited range (libyuv)."""
    return rgba_frame(pixels).convert(rtc.VideoBufferType.I420)


def psnr(a: Pixels, b: Pixels) -> float:
    """Peak signal-to-noise ratio in dB of two RGB(A) pictures of the same size (RGB only)."""
    diff = a[..., :3].astype(np.float64) - b[..., :3].astype(np.float64)
    mse = float(np.mean(diff * diff))
    return 99.0 if mse == 0 else 10.0 * float(np.log10(255.0 * 255.0 / mse))


def fail_conversions(monkeypatch: pytest.MonkeyPatch, *failures: BaseException) -> None:
    """Make the rtc SDK's ``VideoFrame.convert`` raise ``failures``, last first, then work."""
    convert = rtc.VideoFrame.convert
    pending = list(failures)

    def flaky_convert(
        frame: rtc.VideoFrame, type: rtc.VideoBufferType.ValueType, *, flip_y: bool = False
    ) -> rtc.VideoFrame:
        if pending:
            raise pending.pop()
        return convert(frame, type, flip_y=flip_y)

    monkeypatch.setattr(rtc.VideoFrame, "convert", flaky_convert)


class RecordingSink:
    """A ``VideoSink`` that keeps every frame pushed, and can be told to fail."""

    def __init__(self) -> None:
        self.frames: list[rtc.VideoFrame] = []
        self.fail_with: Exception | None = None

    def push_video(self, frame: rtc.VideoFrame) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.frames.append(frame)


class Camera:
    """A camera fed by hand: a real ``rtc.VideoSource``, its local track, and a test clock.

    With ``fps``, the camera runs on its clock: capture number n happens at ``start + n / fps``
    (the clock is set before the frame goes out), so a streamer reading the same clock sees
    a steady camera however fast the test runs. Without it the clock is the test's to move.
    """

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        *,
        fps: float | None = None,
        clock: ManualClock | None = None,
    ) -> None:
        self.width = width
        self.height = height
        self.fps = fps
        self.clock = ManualClock() if clock is None else clock
        self._start = self.clock.now
        self.source = rtc.VideoSource(width, height)
        # Until its first frame a VideoSource sends black frames, 10 a second, to every stream
        # reading its track: one frame now, before any stream reads it, so that none ever does.
        chroma = ((width + 1) // 2) * ((height + 1) // 2)
        first = bytes(width * height + 2 * chroma)
        self.source.capture_frame(rtc.VideoFrame(width, height, rtc.VideoBufferType.I420, first))
        self.track = rtc.LocalVideoTrack.create_video_track("camera", self.source)
        self.captured = 0

    def capture(
        self,
        *,
        t: float = 0.0,
        rotation: rtc.VideoRotation.ValueType = rtc.VideoRotation.VIDEO_ROTATION_0,
        seed: int = 0,
    ) -> None:
        """Capture the scene at time ``t`` (with noise ``seed``) into the source."""
        if self.fps is not None:
            self.clock.now = self._start + self.captured / self.fps
        # RGBA, converted by the SDK as a camera's frames are (and untouched by fail_conversions)
        frame = rgba_frame(scene(self.width, self.height, t=t, seed=seed))
        self.source.capture_frame(frame, rotation=rotation)
        self.captured += 1

    async def aclose(self) -> None:
        """Release the source."""
        await self.source.aclose()


def make_camera(width: int, height: int) -> Camera:
    """A camera at the sizes given, on its own clock."""
    return Camera(width, height)


def settled(stats: VisionStats) -> bool:
    """Every frame the streamer sampled has an outcome: nothing is left in its worker."""
    done = (
        stats.frames_sent
        + stats.frames_skipped_unchanged
        + stats.frames_dropped_busy
        + stats.frames_discarded
        + stats.worker_errors
        + stats.sink_errors
    )
    return done >= stats.frames_sampled


async def feed(
    streamer: VisionStreamer,
    camera: Camera,
    *,
    t: float = 0.0,
    rotation: rtc.VideoRotation.ValueType = rtc.VideoRotation.VIDEO_ROTATION_0,
    seed: int = 0,
) -> None:
    """Capture one frame and wait until the streamer has read it and finished with it."""
    target = streamer.stats.frames_received + 1
    camera.capture(t=t, rotation=rotation, seed=seed)
    await wait_for_stats(
        streamer,
        lambda stats: stats.frames_received >= target and settled(stats),
        what=f"frame {target} read and settled",
    )
