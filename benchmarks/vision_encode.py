"""VisionStreamer against LiveKit's built-in video path, measured in one run on one machine.

Part 1, per input size (640×480, 1280×720, 1920×1080, 3840×2160), median process CPU time
over frames, end to end per sent frame first (what a call pays for each frame sent):
- anchor: its whole on-loop work, ``images.encode`` of the full frame on the event loop (what
  the google plugin's ``push_video`` does), with the plugin's ``DEFAULT_IMAGE_ENCODE_OPTIONS``
  (fit 1024, upscaling) and with the same ``max_size`` as ours;
- ours, end to end: the worker's ``prepare_frame`` (off the loop) plus the JPEG step that still
  runs on the loop inside the plugin's ``push_video`` (``images.encode`` of the small frame
  with ``image_encode_options()``, no resize);
- then the parts: the worker alone and the on-loop step alone against the anchor;
- JPEG bytes, and PSNR against a Lanczos reference of the same output size.

Part 2, a 1080p30 ``VideoSource`` (fed from another thread, as network frames are) streams for
``--stream-seconds``; a 10 ms ticker on the event loop measures its lateness (p50/p99/max) with
no video, with the anchor path (RoomIO-like: every frame read, one encoded on the loop each
second) and with the VisionStreamer (1 fps out); process and loop-thread CPU % alongside. A
"read only" run (every frame read on the loop, nothing else) shows the floor that any consumer
of the stream pays.

Usage: ``python benchmarks/vision_encode.py [--quick] [--stream-seconds 20]``. Prints a table
and writes ``benchmarks/results/vision_encode.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from livekit import rtc
from livekit.agents.utils import images
from livekit.plugins.google.realtime.realtime_api import DEFAULT_IMAGE_ENCODE_OPTIONS
from PIL import Image

from livekit_plugins_medvision.vision import VisionStreamer
from livekit_plugins_medvision.vision.encoder import Prepared, prepare_frame

SIZES = [(640, 480), (1280, 720), (1920, 1080), (3840, 2160)]
MAX_SIZE = 768
RESULTS = Path(__file__).parent / "results" / "vision_encode.json"
Pixels = npt.NDArray[np.uint8]


def scene(width: int, height: int, t: float = 0.0) -> Pixels:
    """RGBA test picture: colour gradients, sensor-like noise and a square moving with t."""
    rng = np.random.default_rng(int(t * 1000))
    x = np.linspace(0.0, 255.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 255.0, height, dtype=np.float32)[:, None]
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[..., 0] = 0.7 * x + 0.3 * y
    rgb[..., 1] = 0.2 * x + 0.8 * y
    rgb[..., 2] = 255.0 - 0.6 * x
    rgb += rng.normal(0.0, 6.0, rgb.shape).astype(np.float32)
    side = min(width, height) // 5
    left = int((0.1 + 0.6 * ((t * 0.25) % 1.0)) * (width - side))
    top = (height - side) // 3
    rgb[top : top + side, left : left + side] = (250.0, 240.0, 40.0)
    out = np.empty((height, width, 4), dtype=np.uint8)
    out[..., :3] = np.clip(rgb, 0.0, 255.0).astype(np.uint8)
    out[..., 3] = 255
    return out


def i420(pixels: Pixels) -> rtc.VideoFrame:
    height, width = pixels.shape[:2]
    rgba = rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, pixels.tobytes())
    return rgba.convert(rtc.VideoBufferType.I420)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU time of ``fn``, all of this process's threads together, in ms.

    CPU time rather than wall time: on a shared machine other processes would stretch the wall
    time of the slower path more (it is preempted more often) and inflate the ratios. Process
    time, not thread time: libswscale may scale on helper threads. Nothing else runs in the
    process while part 1 measures.
    """
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000.0)
    return statistics.median(times)


def psnr(jpeg: bytes, reference: Image.Image) -> float:
    decoded = Image.open(io.BytesIO(jpeg)).convert("RGB")
    ref = reference.resize(decoded.size, Image.Resampling.LANCZOS)
    diff = np.asarray(decoded, np.float64) - np.asarray(ref, np.float64)
    return 10.0 * float(np.log10(255.0**2 / float(np.mean(diff * diff))))


@dataclass
class EncodeRow:
    """Per-frame figures for one input size."""

    size: str
    anchor_default_ms: float
    anchor_default_out: str
    anchor_default_bytes: int
    anchor_default_psnr: float
    anchor_same_ms: float
    anchor_same_out: str
    anchor_same_bytes: int
    anchor_same_psnr: float
    ours_worker_ms: float
    ours_on_loop_ms: float
    ours_out: str
    ours_bytes: int
    ours_psnr: float
    ours_end_to_end_ms: float
    end_to_end_speedup_vs_same: float
    on_loop_speedup_vs_same: float
    worker_speedup_vs_same: float
    psnr_delta_vs_same: float


def measure_encode(width: int, height: int, repeat: int) -> EncodeRow:
    frame = i420(scene(width, height))
    full = Image.frombytes(
        "RGBA", (width, height), bytes(frame.convert(rtc.VideoBufferType.RGBA).data)
    ).convert("RGB")
    same = images.EncodeOptions(
        format="JPEG",
        quality=75,
        resize_options=images.ResizeOptions(MAX_SIZE, MAX_SIZE, "scale_aspect_fit"),
    )
    ours_options = VisionStreamer(max_size=MAX_SIZE).image_encode_options()

    def prepare() -> Prepared:
        out = prepare_frame(
            frame,
            rtc.VideoRotation.VIDEO_ROTATION_0,
            max_size=MAX_SIZE,
            reference=None,
            change_threshold=0.0,
            force=True,
        )
        assert isinstance(out, Prepared)
        return out

    prepared = prepare().frame
    default_jpeg = images.encode(frame, DEFAULT_IMAGE_ENCODE_OPTIONS)
    same_jpeg = images.encode(frame, same)
    ours_jpeg = images.encode(prepared, ours_options)
    anchor_default_ms = median_ms(
        lambda: images.encode(frame, DEFAULT_IMAGE_ENCODE_OPTIONS), repeat
    )
    anchor_same_ms = median_ms(lambda: images.encode(frame, same), repeat)
    worker_ms = median_ms(prepare, repeat)
    on_loop_ms = median_ms(lambda: images.encode(prepared, ours_options), repeat)
    same_psnr, ours_psnr = psnr(same_jpeg, full), psnr(ours_jpeg, full)
    return EncodeRow(
        size=f"{width}x{height}",
        anchor_default_ms=anchor_default_ms,
        anchor_default_out="x".join(map(str, Image.open(io.BytesIO(default_jpeg)).size)),
        anchor_default_bytes=len(default_jpeg),
        anchor_default_psnr=psnr(default_jpeg, full),
        anchor_same_ms=anchor_same_ms,
        anchor_same_out="x".join(map(str, Image.open(io.BytesIO(same_jpeg)).size)),
        anchor_same_bytes=len(same_jpeg),
        anchor_same_psnr=same_psnr,
        ours_worker_ms=worker_ms,
        ours_on_loop_ms=on_loop_ms,
        ours_out=f"{prepared.width}x{prepared.height}",
        ours_bytes=len(ours_jpeg),
        ours_psnr=ours_psnr,
        ours_end_to_end_ms=worker_ms + on_loop_ms,
        end_to_end_speedup_vs_same=anchor_same_ms / (worker_ms + on_loop_ms),
        on_loop_speedup_vs_same=anchor_same_ms / on_loop_ms,
        worker_speedup_vs_same=anchor_same_ms / worker_ms,
        psnr_delta_vs_same=ours_psnr - same_psnr,
    )


@dataclass
class LagRow:
    """Loop lag and CPU for one streaming scenario."""

    scenario: str
    seconds: float
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float
    process_cpu_pct: float
    loop_thread_cpu_pct: float
    frames_captured: int
    frames_encoded: int
    on_loop_ms_per_sent_frame: float


class Producer:
    """Captures 1080p frames at 30 fps into a VideoSource from its own thread."""

    def __init__(self, source: rtc.VideoSource, frames: list[rtc.VideoFrame]) -> None:
        self._source, self._frames = source, frames
        self._stop = threading.Event()
        self.captured = 0
        self._thread = threading.Thread(target=self._run, name="bench-camera", daemon=True)

    def start(self) -> None:
        """Start capturing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        next_at = time.perf_counter()
        while not self._stop.is_set():
            self._source.capture_frame(self._frames[self.captured % len(self._frames)])
            self.captured += 1
            next_at += 1 / 30
            self._stop.wait(max(0.0, next_at - time.perf_counter()))


async def ticker(seconds: float) -> list[float]:
    """Lateness in ms of a 10 ms periodic wake-up on the event loop."""
    lags: list[float] = []
    end = time.perf_counter() + seconds
    expected = time.perf_counter() + 0.01
    while expected < end:
        await asyncio.sleep(max(0.0, expected - time.perf_counter()))
        lags.append(max(0.0, (time.perf_counter() - expected) * 1000.0))
        expected += 0.01
    return lags


async def measure_lag(
    scenario: str,
    seconds: float,
    frames: list[rtc.VideoFrame],
    consume: Callable[[rtc.VideoTrack], Awaitable[Callable[[], Awaitable[tuple[int, float]]]]]
    | None,
) -> LagRow:
    producer: Producer | None = None
    stop_consumer: Callable[[], Awaitable[tuple[int, float]]] | None = None
    source: rtc.VideoSource | None = None
    if consume is not None:
        source = rtc.VideoSource(1920, 1080)
        track = rtc.LocalVideoTrack.create_video_track("camera", source)
        source.capture_frame(frames[0])
        stop_consumer = await consume(track)
        producer = Producer(source, frames)
        producer.start()
    await asyncio.sleep(0.5)  # settle
    cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    lags = sorted(await ticker(seconds))
    cpu1, loop1, wall1 = time.process_time(), time.thread_time(), time.perf_counter()
    encoded, on_loop = 0, 0.0
    if producer is not None:
        producer.stop()
    if stop_consumer is not None:
        encoded, on_loop = await stop_consumer()
    if source is not None:
        await source.aclose()
    wall = wall1 - wall0
    return LagRow(
        scenario=scenario,
        seconds=round(wall, 1),
        lag_p50_ms=lags[len(lags) // 2],
        lag_p99_ms=lags[min(len(lags) - 1, int(0.99 * len(lags)))],
        lag_max_ms=lags[-1],
        process_cpu_pct=100.0 * (cpu1 - cpu0) / wall,
        loop_thread_cpu_pct=100.0 * (loop1 - loop0) / wall,
        frames_captured=producer.captured if producer else 0,
        frames_encoded=encoded,
        on_loop_ms_per_sent_frame=on_loop,
    )


async def read_only(track: rtc.VideoTrack) -> Callable[[], Awaitable[tuple[int, float]]]:
    """Every frame read on the loop and dropped: the floor cost of consuming the stream."""
    stream = rtc.VideoStream(track, capacity=1)

    async def read() -> None:
        async for _event in stream:
            pass

    task = asyncio.create_task(read())

    async def stop() -> tuple[int, float]:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()
        return 0, 0.0

    return stop


async def anchor_path(track: rtc.VideoTrack) -> Callable[[], Awaitable[tuple[int, float]]]:
    """RoomIO-like: read every frame on the loop; encode one a second there (push_video)."""
    stream = rtc.VideoStream(track)
    times: list[float] = []

    async def read() -> None:
        last = 0.0
        async for event in stream:
            if time.perf_counter() - last >= 1.0:
                last = time.perf_counter()
                images.encode(event.frame, DEFAULT_IMAGE_ENCODE_OPTIONS)
                times.append((time.perf_counter() - last) * 1000.0)

    task = asyncio.create_task(read())

    async def stop() -> tuple[int, float]:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()
        return len(times), statistics.median(times) if times else 0.0

    return stop


class EncodingSink:
    """Does what the google RealtimeSession's push_video does with a frame: JPEG on the loop."""

    def __init__(self, options: images.EncodeOptions) -> None:
        self.options = options

    def push_video(self, frame: rtc.VideoFrame) -> None:
        """Encode the frame as the plugin would, and drop it."""
        images.encode(frame, self.options)


async def component_path(track: rtc.VideoTrack) -> Callable[[], Awaitable[tuple[int, float]]]:
    streamer = VisionStreamer(max_size=MAX_SIZE, change_threshold=0.0)  # exactly 1 fps out
    streamer.set_user_speaking(True)
    streamer.start_track(track, EncodingSink(streamer.image_encode_options()))

    async def stop() -> tuple[int, float]:
        await streamer.aclose()
        stats = streamer.stats
        return stats.frames_sent, stats.on_loop_ms_p50

    return stop


def print_tables(encode: list[EncodeRow], lag: list[LagRow]) -> None:
    print(f"\nEnd to end per sent frame, median ms ({MAX_SIZE=}): ours = worker + on-loop JPEG")
    print("input | anchor on loop (same size) | ours end to end | speed-up")
    for r in encode:
        print(
            f"{r.size} | {r.anchor_same_ms:.1f} | {r.ours_end_to_end_ms:.1f} | "
            f"{r.end_to_end_speedup_vs_same:.1f}x"
        )
    print("\nParts: on the loop, off the loop")
    print("input | on loop: anchor vs ours (speed-up) | worker alone vs anchor (speed-up)")
    for r in encode:
        print(
            f"{r.size} | {r.anchor_same_ms:.1f} vs {r.ours_on_loop_ms:.2f} "
            f"({r.on_loop_speedup_vs_same:.1f}x) | {r.ours_worker_ms:.1f} "
            f"({r.worker_speedup_vs_same:.1f}x)"
        )
    print(f"\nPer frame: median ms, output size, JPEG kB, PSNR dB ({MAX_SIZE=})")
    head = ("input", "anchor 1024", "anchor same size", "ours worker + on loop", "worker x dPSNR")
    print(" | ".join(head))
    for r in encode:
        anchor = f"{r.anchor_default_ms:.1f} ms {r.anchor_default_out} {r.anchor_default_psnr:.1f}"
        same = (
            f"{r.anchor_same_ms:.1f} ms {r.anchor_same_out} "
            f"{r.anchor_same_bytes / 1024:.0f}kB {r.anchor_same_psnr:.1f}"
        )
        ours = (
            f"{r.ours_worker_ms:.1f} + {r.ours_on_loop_ms:.2f} ms {r.ours_out} "
            f"{r.ours_bytes / 1024:.0f}kB {r.ours_psnr:.1f}"
        )
        ratio = f"{r.worker_speedup_vs_same:.1f}x {r.psnr_delta_vs_same:+.2f}"
        print(" | ".join((r.size, anchor, same, ours, ratio)))
    print("\nEvent-loop lag of a 10 ms ticker while a 1080p30 VideoSource streams")
    print("scenario | lag p50 p99 max ms | CPU % process, loop | captured sent on-loop/frame")
    for row in lag:
        print(
            f"{row.scenario} | {row.lag_p50_ms:.2f} {row.lag_p99_ms:.2f} {row.lag_max_ms:.2f} | "
            f"{row.process_cpu_pct:.1f} {row.loop_thread_cpu_pct:.1f} | "
            f"{row.frames_captured} {row.frames_encoded} {row.on_loop_ms_per_sent_frame:.2f} ms"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few frames, 3 s streams")
    parser.add_argument("--stream-seconds", type=float, default=20.0)
    args = parser.parse_args()
    repeat = 5 if args.quick else 30
    seconds = 3.0 if args.quick else args.stream_seconds

    encode = [measure_encode(w, h, repeat) for w, h in SIZES]
    frames = [i420(scene(1920, 1080, t=i / 4)) for i in range(8)]
    lag = [
        await measure_lag("no video", seconds, frames, None),
        await measure_lag("read only", seconds, frames, read_only),
        await measure_lag("anchor", seconds, frames, anchor_path),
        await measure_lag("streamer", seconds, frames, component_path),
    ]
    print_tables(encode, lag)
    base, ours = lag[0], lag[3]
    by_size = {r.size: r for r in encode}
    targets = {
        "1080p end to end <= 1/5 anchor": by_size["1920x1080"].end_to_end_speedup_vs_same >= 5.0,
        "1080p PSNR >= anchor - 0.5 dB": by_size["1920x1080"].psnr_delta_vs_same >= -0.5,
        "4K end to end <= 1/15 anchor": by_size["3840x2160"].end_to_end_speedup_vs_same >= 15.0,
        "on-loop per sent frame <= 1.5 ms": ours.on_loop_ms_per_sent_frame <= 1.5,
        "loop lag p99 within 1 ms of no video": ours.lag_p99_ms <= base.lag_p99_ms + 1.0,
        "process CPU <= 10 % of a core": ours.process_cpu_pct <= 10.0,
    }
    print("\nTargets (ratios from this run):")
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "max_size": MAX_SIZE,
                "encode": [asdict(r) for r in encode],
                "loop_lag": [asdict(r) for r in lag],
                "targets": targets,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    asyncio.run(main())
