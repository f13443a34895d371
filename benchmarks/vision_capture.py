"""capture(), the look_closely path, and the screen-share profile, measured in one run.

Part 1, end to end (what a ``look_closely`` call pays), at 1080p and 4K: from the call to the
frame received by the Gemini Live emulator over TLS, through LiveKit's google
``RealtimeSession`` and google-genai, median over ``--repeat`` captures taken a slot apart.
- ours: ``VisionStreamer.capture()`` (1536 px, prepared in the worker thread);
- anchor: what an agent does without it: ``RealtimeSession.push_video(latest_frame)`` with the
  plugin's ``DEFAULT_IMAGE_ENCODE_OPTIONS`` (fit 1024, all on the event loop), and the same
  with a 1536-px fit for an equally sharp frame.
The event loop's share is measured by a 5 ms ticker's worst lateness during each call, and for
ours also as ``Capture.on_loop_ms`` (the plugin's JPEG encode of the ready frame).

Part 2, tokens a capture costs against a stream frame, by ``estimate_image_tokens``.

Part 3, a 1080p screen share for ``--minutes`` minutes at 2 fps, caret blinking: a still page,
a document scrolled one line every 6.5 s, or a note typed one line every 6.5 s (a new line at
the bottom of a still page): frames sent per minute and their size with the screen-share
profile and with the camera profile (user speaking, then silent), and how many changes were
sent within a second (6.5 s is no multiple of a keep-alive or a sampling interval, so neither
passes for a change seen).

Usage: ``python benchmarks/vision_capture.py [--quick] [--screen-only]``. Prints tables and writes
``benchmarks/results/vision_capture.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from livekit import rtc
from livekit.agents.utils import images
from livekit.plugins import google
from livekit.plugins.google.realtime.realtime_api import DEFAULT_IMAGE_ENCODE_OPTIONS

from livekit_plugins_medvision.testing import FakeGeminiLive, wait_for_stats
from livekit_plugins_medvision.testing.screen import document_frame
from livekit_plugins_medvision.tokens import estimate_image_tokens
from livekit_plugins_medvision.vision import VisionStats, VisionStreamer
from livekit_plugins_medvision.vision.options import DEFAULT_MODEL

RESULTS = Path(__file__).parent / "results" / "vision_capture.json"
SIZES = [(1920, 1080), (3840, 2160)]


class Ticker:
    """A 5 ms ticker on the event loop; ``worst()`` is its largest lateness since ``reset()``."""

    def __init__(self) -> None:
        self._late = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start ticking on the running loop."""
        self._task = asyncio.create_task(self._run())

    def reset(self) -> None:
        """Forget the lateness seen so far."""
        self._late = 0.0

    def worst(self) -> float:
        """The largest lateness since ``reset()``, in milliseconds."""
        return self._late * 1000.0

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            self._late = max(self._late, time.perf_counter() - due)


@dataclass
class LatencyRow:
    """Call to frame received by the emulator, for one path at one input size."""

    size: str
    path: str
    out: str
    call_to_wire_ms: float
    loop_blocked_ms: float
    on_loop_ms: float


class LatestFrame:
    """Keeps the last frame of a track, as an agent without the streamer would."""

    def __init__(self, track: rtc.Track) -> None:
        self.frame: rtc.VideoFrame | None = None
        self._stream = rtc.VideoStream(track, capacity=1)
        self._task = asyncio.create_task(self._read())
        self.arrived = asyncio.Event()

    async def _read(self) -> None:
        async for event in self._stream:
            self.frame = event.frame
            self.arrived.set()

    async def aclose(self) -> None:
        """Stop reading and close the stream."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._stream.aclose()


FIT_1536 = images.EncodeOptions(
    format="JPEG", quality=75, resize_options=images.ResizeOptions(1536, 1536, "scale_aspect_fit")
)


async def measure_latency(
    server: FakeGeminiLive, width: int, height: int, repeat: int
) -> list[LatencyRow]:
    """Ours, then the two anchors, at one input size."""
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    streamer = VisionStreamer(silent_fps=0.0)  # no stream frames: only captures
    model = google.realtime.RealtimeModel(
        api_key="fake",
        http_options=server.http_options(),
        image_encode_options=streamer.image_encode_options(),
    )
    session = model.session()
    ticker = Ticker()
    ticker.start()
    results: list[tuple[float, float, float]] = []
    try:
        streamer.start_track(track, session)
        source.capture_frame(document_frame(width, height, seed=3))  # a label's small print
        await wait_for_stats(streamer, lambda s: s.frames_received >= 1)
        for _ in range(repeat):
            await asyncio.sleep(1.05)  # a free slot, and a quiet loop
            before = len(server.received.images)
            ticker.reset()
            start = time.monotonic()
            capture = await streamer.capture()
            await server.wait_for_images(before + 1)
            wire = (server.received.images[before].at - start) * 1000.0
            results.append((wire, ticker.worst(), capture.on_loop_ms))
    finally:
        await streamer.aclose()
        await ticker.stop()
        await session.aclose()
        await model.aclose()
        await source.aclose()
    rows = [_row(width, height, "ours: capture()", results, server)]
    rows += await measure_anchor(server, width, height, repeat, DEFAULT_IMAGE_ENCODE_OPTIONS)
    rows += await measure_anchor(server, width, height, repeat, FIT_1536)
    return rows


async def measure_anchor(
    server: FakeGeminiLive,
    width: int,
    height: int,
    repeat: int,
    options: images.EncodeOptions,
) -> list[LatencyRow]:
    """``push_video(latest frame)`` on a RealtimeModel built with ``options``."""
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track("camera", source)
    model = google.realtime.RealtimeModel(
        api_key="fake", http_options=server.http_options(), image_encode_options=options
    )
    session = model.session()
    latest = LatestFrame(track)
    ticker = Ticker()
    ticker.start()
    results: list[tuple[float, float, float]] = []
    try:
        source.capture_frame(document_frame(width, height, seed=3))
        await latest.arrived.wait()
        for _ in range(repeat):
            await asyncio.sleep(1.05)
            before = len(server.received.images)
            ticker.reset()
            start = time.monotonic()
            frame = latest.frame
            assert frame is not None
            pushed = time.perf_counter()
            session.push_video(frame)  # encodes on the loop, then queues
            on_loop = (time.perf_counter() - pushed) * 1000.0
            await server.wait_for_images(before + 1)
            wire = (server.received.images[before].at - start) * 1000.0
            results.append((wire, ticker.worst(), on_loop))
    finally:
        await latest.aclose()
        await ticker.stop()
        await session.aclose()
        await model.aclose()
        await source.aclose()
    resize = options.resize_options
    name = f"anchor: push_video, fit {resize.width if resize else 'none'}"
    return [_row(width, height, name, results, server)]


def _row(
    width: int,
    height: int,
    path: str,
    results: list[tuple[float, float, float]],
    server: FakeGeminiLive,
) -> LatencyRow:
    last = server.received.images[-1]
    return LatencyRow(
        size=f"{width}x{height}",
        path=path,
        out=f"{last.width}x{last.height}",
        call_to_wire_ms=statistics.median(r[0] for r in results),
        loop_blocked_ms=statistics.median(r[1] for r in results),
        on_loop_ms=statistics.median(r[2] for r in results),
    )


@dataclass
class TokenRow:
    """Tokens of a stream frame and of a capture for one model."""

    model: str
    stream_frame: str
    stream_tokens: int
    capture: str
    capture_tokens: int
    ratio: float


def token_rows() -> list[TokenRow]:
    rows = []
    for model in (DEFAULT_MODEL, "gemini-3.1-flash-live-preview"):
        stream = estimate_image_tokens(768, 432, model=model, kind="video_frame")
        capture = estimate_image_tokens(1536, 864, model=model, kind="image")
        rows.append(TokenRow(model, "768x432", stream, "1536x864", capture, capture / stream))
    return rows


class ManualClock:
    """The streamer's clock, moved by the document's frame times."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        """The current time in seconds."""
        return self.now


class Sink:
    """A ``VideoSink`` that notes when and how big each frame was."""

    def __init__(self, clock: ManualClock) -> None:
        self.sent: list[tuple[float, int, int]] = []
        self._clock = clock

    def push_video(self, frame: rtc.VideoFrame) -> None:
        """Note the frame."""
        self.sent.append((self._clock.now, frame.width, frame.height))


@dataclass
class ScreenRow:
    """Frames sent from a scrolling document by one profile."""

    document: str
    profile: str
    user: str
    frames_per_minute: float
    frame_size: str
    changes_sent_within_1s: str


async def screen_share(document: str, kind: str, speaking: bool, minutes: float) -> ScreenRow:
    """A 1080p page at 2 fps, a change every 6.5 s (none when still), caret blinking."""
    clock = ManualClock()
    streamer = VisionStreamer(clock=clock)
    source = rtc.VideoSource(1920, 1080)
    track = rtc.LocalVideoTrack.create_video_track("screen", source)
    sink = Sink(clock)
    streamer.start_track(track, sink, kind="screen_share" if kind == "screen share" else "camera")
    streamer.set_user_speaking(speaking)
    scrolls: list[float] = []
    steps = int(minutes * 60 * 2)
    try:
        for step in range(steps):
            clock.now = step / 2
            change = 0 if document == "still" else step // 13  # one change every 6.5 s
            if document != "still" and step and step % 13 == 0:
                scrolls.append(clock.now)
            caret = step % 2 == 0
            if document == "typed":
                page = document_frame(1920, 1080, lines=10 + change, caret=caret)
            else:
                page = document_frame(1920, 1080, first_line=change, caret=caret)
            source.capture_frame(page)
            await wait_for_stats(streamer, partial(_settled, step + 1))
    finally:
        await streamer.aclose()
        await source.aclose()
    seen = sum(1 for t in scrolls if any(t <= sent < t + 1.0 for sent, _, _ in sink.sent))
    sizes = {f"{w}x{h}" for _, w, h in sink.sent}
    return ScreenRow(
        document=document,
        profile=kind,
        user="speaking" if speaking else "silent",
        frames_per_minute=len(sink.sent) / minutes,
        frame_size=",".join(sorted(sizes)),
        changes_sent_within_1s=f"{seen}/{len(scrolls)}",
    )


def _settled(received: int, stats: VisionStats) -> bool:
    done = stats.frames_sent + stats.frames_skipped_unchanged + stats.frames_dropped_busy
    return stats.frames_received >= received and done >= stats.frames_sampled


def table(title: str, rows: list[object]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    fields = list(asdict(rows[0]).keys())  # type: ignore[call-overload]  # dataclass rows
    print(" | ".join(fields))
    for row in rows:
        values = asdict(row).values()  # type: ignore[call-overload]  # dataclass rows
        print(" | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in values))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a shorter document")
    parser.add_argument("--screen-only", action="store_true", help="part 3 only")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    minutes = 1.0 if args.quick else 2.0
    print(
        f"vision_capture {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{platform.python_version()}, repeat={repeat}, minutes={minutes:g}"
    )
    latency: list[LatencyRow] = []
    if not args.screen_only:
        async with FakeGeminiLive() as server:
            for width, height in SIZES:
                latency += await measure_latency(server, width, height, repeat)
    table("capture latency, call to frame received by the emulator (ms, median)", list(latency))
    tokens = token_rows()
    table("tokens: a capture against a stream frame", list(tokens))
    screen = [
        await screen_share(document, kind, speaking, minutes)
        for document in ("still", "scrolled", "typed")
        for kind in ("screen share", "camera")
        for speaking in (True, False)
    ]
    table("a shared document: frames sent", list(screen))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "latency": [asdict(r) for r in latency],
                "tokens": [asdict(r) for r in tokens],
                "screen_share": [asdict(r) for r in screen],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
