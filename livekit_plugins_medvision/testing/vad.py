"""Server-side voice activity detection on the client's PCM, as the service's knobs describe it.

The service detects speech itself unless the setup disables automatic activity detection; its
knobs (``realtimeInputConfig.automaticActivityDetection``, https://ai.google.dev/api/live and
the v1beta proto) are a start and an end sensitivity (HIGH by default), ``prefixPaddingMs``
(speech needed before its start is committed) and ``silenceDurationMs`` (non-speech needed before
its end is committed). How the service detects speech and its default durations are not
published: the emulator uses the energy of 10 ms frames against a threshold, and the levels and
defaults in ``VoiceActivitySettings`` are its own (unverified).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .protocol import ActivityDetection

__all__ = ["EnergyVad", "VadEvent", "VoiceActivitySettings"]

VadEvent = Literal["start", "end"]

_FRAME_SECONDS = 0.01


@dataclass(frozen=True)
class VoiceActivitySettings:
    """The emulator's detector: levels per sensitivity and the defaults of the two durations.

    A 10 ms frame is speech when its RMS level reaches the start threshold; once speech has
    started, a frame keeps it going while it stays within the end hysteresis below that level.
    """

    start_dbfs_high: float = -45.0
    """Start threshold at ``START_SENSITIVITY_HIGH`` (the service's default): more starts."""
    start_dbfs_low: float = -30.0
    """Start threshold at ``START_SENSITIVITY_LOW``."""
    end_hysteresis_high_db: float = 6.0
    """How far below the start threshold speech goes on at ``END_SENSITIVITY_HIGH`` (the
    default, which ends speech more often)."""
    end_hysteresis_low_db: float = 15.0
    """The same at ``END_SENSITIVITY_LOW``."""
    prefix_padding_ms: int = 20
    """Used when the setup sets no ``prefixPaddingMs``."""
    silence_duration_ms: int = 500
    """Used when the setup sets no ``silenceDurationMs``."""

    def __post_init__(self) -> None:
        for name in ("prefix_padding_ms", "silence_duration_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("start_dbfs_high", "start_dbfs_low"):
            value = getattr(self, name)
            if not math.isfinite(value) or value > 0:
                raise ValueError(f"{name} must be a level in dBFS (at most 0), got {value!r}")


class EnergyVad:
    """Turns a stream of 16-bit mono PCM into speech start and end events."""

    def __init__(self, detection: ActivityDetection, settings: VoiceActivitySettings) -> None:
        low_start = detection.start_sensitivity == "START_SENSITIVITY_LOW"
        low_end = detection.end_sensitivity == "END_SENSITIVITY_LOW"
        self.start_dbfs = settings.start_dbfs_low if low_start else settings.start_dbfs_high
        hysteresis = settings.end_hysteresis_low_db if low_end else settings.end_hysteresis_high_db
        self.end_dbfs = self.start_dbfs - hysteresis
        prefix = detection.prefix_padding_ms
        silence = detection.silence_duration_ms
        self.prefix_frames = _frames(prefix if prefix is not None else settings.prefix_padding_ms)
        self.silence_frames = _frames(
            silence if silence is not None else settings.silence_duration_ms
        )
        self.speaking = False
        self._run = 0  # consecutive frames arguing for a change of state
        self._pending = b""
        self._rate = 0

    def feed(self, pcm: bytes, sample_rate: int) -> list[VadEvent]:
        """Add PCM; return the events its complete 10 ms frames cause, in order."""
        if sample_rate != self._rate:
            self._pending, self._rate = b"", sample_rate
        frame_bytes = max(2, round(sample_rate * _FRAME_SECONDS) * 2)
        data = self._pending + pcm
        whole = len(data) // frame_bytes * frame_bytes
        self._pending = data[whole:]
        if not whole:
            return []
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float64)
        frames = samples.reshape(-1, frame_bytes // 2)
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        levels = 20 * np.log10(np.maximum(rms, 1e-9) / 32768)
        events: list[VadEvent] = []
        for level in levels:
            event = self._step(float(level))
            if event is not None:
                events.append(event)
        return events

    def end_stream(self) -> bool:
        """The audio stream ended: end speech now; return whether speech was going on."""
        was_speaking = self.speaking
        self.speaking, self._run, self._pending = False, 0, b""
        return was_speaking

    def _step(self, level: float) -> VadEvent | None:
        if not self.speaking:
            self._run = self._run + 1 if level >= self.start_dbfs else 0
            if self._run >= self.prefix_frames:
                self.speaking, self._run = True, 0
                return "start"
            return None
        self._run = self._run + 1 if level < self.end_dbfs else 0
        if self._run >= self.silence_frames:
            self.speaking, self._run = False, 0
            return "end"
        return None


def _frames(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000 / _FRAME_SECONDS))
