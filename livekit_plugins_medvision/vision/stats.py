"""Counters and timings of a VisionStreamer, and their frozen snapshot.

Only the event loop thread writes them (the worker's timings come back with its results), so
no lock is needed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .consent import ConsentState

__all__ = ["StatsRecorder", "VisionStats"]

_WINDOW = 256  # recent timings kept for the percentiles


@dataclass(frozen=True, kw_only=True)
class VisionStats:
    """A snapshot of what a VisionStreamer received, dropped and sent.

    A received frame is rejected as invalid, or not due (not counted further), or sampled; a
    sampled frame is dropped (worker busy), skipped (unchanged), discarded, a worker or sink
    error, or sent.
    """

    frames_received: int = 0
    """Frames read from the video stream."""
    frames_sampled: int = 0
    """Well-formed frames taken for sending: due by the current rate, or taken by ``capture()``."""
    frames_sent: int = 0
    """Frames pushed into the sink."""
    frames_dropped_busy: int = 0
    """Due frames dropped because the worker was still busy with the previous one."""
    frames_skipped_unchanged: int = 0
    """Due frames not sent because they barely differed from the last one sent."""
    frames_rejected_invalid: int = 0
    """Frames rejected as malformed (empty, odd-sized, truncated, unsupported format)."""
    frames_discarded: int = 0
    """Frames prepared but not sent: the track, the pause state or the session changed meanwhile."""
    worker_errors: int = 0
    """Frames the worker failed on (logged once per kind of error)."""
    sink_errors: int = 0
    """Frames whose ``push_video`` raised."""
    worker_refused: int = 0
    """Jobs the worker thread refused (one in flight, or closing); the frame was dropped."""
    worker_restarts: int = 0
    """Times the worker thread was replaced: it had died, or a job was stuck."""
    worker_ms_p50: float = 0.0
    """Median worker time per frame, in milliseconds (recent frames)."""
    worker_ms_p95: float = 0.0
    """95th percentile of the worker time per frame, in milliseconds (recent frames)."""
    worker_ms_max: float = 0.0
    """Longest worker time per frame since start, in milliseconds."""
    on_loop_ms_p50: float = 0.0
    """Median event-loop time of one ``push_video`` (the sink's own encode), in milliseconds."""
    on_loop_ms_max: float = 0.0
    """Longest event-loop time of one ``push_video`` since start, in milliseconds."""
    bytes_sent: int = 0
    """Estimated JPEG bytes sent: each frame's pixels times a ratio measured now and then."""
    last_sent_size: tuple[int, int] | None = None
    """Width and height of the last frame sent."""
    estimated_image_tokens: int = 0
    """Gemini image tokens of every frame sent, by ``estimate_image_tokens``, captures included."""
    captures_sent: int = 0
    """Frames sent by ``capture()`` (also counted in ``frames_sent``)."""
    capture_tokens: int = 0
    """Image tokens of those captures (also counted in ``estimated_image_tokens``)."""
    consent: ConsentState = "not_required"
    """Consent of the followed video: nothing is sent but in ``granted`` or ``not_required``."""
    frames_withheld_consent: int = 0
    """Frames received and not looked at because consent was pending or withdrawn."""


class StatsRecorder:
    """The mutable side of ``VisionStats``, written from the event loop thread only."""

    def __init__(self) -> None:
        self.frames_received = 0
        self.frames_sampled = 0
        self.frames_sent = 0
        self.frames_dropped_busy = 0
        self.frames_skipped_unchanged = 0
        self.frames_rejected_invalid = 0
        self.frames_discarded = 0
        self.worker_errors = 0
        self.sink_errors = 0
        self.worker_refused = 0
        self.worker_restarts = 0
        self.bytes_sent = 0.0
        self.last_sent_size: tuple[int, int] | None = None
        self.estimated_image_tokens = 0
        self.captures_sent = 0
        self.capture_tokens = 0
        self.consent: ConsentState = "not_required"
        self.frames_withheld_consent = 0
        self._worker_ms: deque[float] = deque(maxlen=_WINDOW)
        self._worker_ms_max = 0.0
        self._on_loop_ms: deque[float] = deque(maxlen=_WINDOW)
        self._on_loop_ms_max = 0.0

    def add_worker_time(self, ms: float) -> None:
        """Record the worker time of one frame."""
        self._worker_ms.append(ms)
        self._worker_ms_max = max(self._worker_ms_max, ms)

    def add_on_loop_time(self, ms: float) -> None:
        """Record the event-loop time of one push into the sink."""
        self._on_loop_ms.append(ms)
        self._on_loop_ms_max = max(self._on_loop_ms_max, ms)

    def snapshot(self) -> VisionStats:
        """Return the current figures as a frozen ``VisionStats``."""
        worker = sorted(self._worker_ms)
        return VisionStats(
            frames_received=self.frames_received,
            frames_sampled=self.frames_sampled,
            frames_sent=self.frames_sent,
            frames_dropped_busy=self.frames_dropped_busy,
            frames_skipped_unchanged=self.frames_skipped_unchanged,
            frames_rejected_invalid=self.frames_rejected_invalid,
            frames_discarded=self.frames_discarded,
            worker_errors=self.worker_errors,
            sink_errors=self.sink_errors,
            worker_refused=self.worker_refused,
            worker_restarts=self.worker_restarts,
            worker_ms_p50=_percentile(worker, 0.50),
            worker_ms_p95=_percentile(worker, 0.95),
            worker_ms_max=self._worker_ms_max,
            on_loop_ms_p50=_percentile(sorted(self._on_loop_ms), 0.50),
            on_loop_ms_max=self._on_loop_ms_max,
            bytes_sent=round(self.bytes_sent),
            last_sent_size=self.last_sent_size,
            estimated_image_tokens=self.estimated_image_tokens,
            captures_sent=self.captures_sent,
            capture_tokens=self.capture_tokens,
            consent=self.consent,
            frames_withheld_consent=self.frames_withheld_consent,
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
