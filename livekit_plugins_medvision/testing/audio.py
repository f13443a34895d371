"""A user's microphone and loudspeaker for an ``AgentSession`` without a room.

``Microphone`` streams 16 kHz PCM in real time, silence unless the test makes it ``say()``
something (a voiced, syllable-like signal the emulator's speech detector hears), so a test goes
through LiveKit's default path: audio in, the service's detector ends the turn, no
``generate_reply``. ``Loudspeaker`` plays the agent's audio in real time and records what was
played and cut short, as a room's audio track would.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import numpy as np
from livekit import rtc
from livekit.agents import io

__all__ = ["Loudspeaker", "Microphone", "PlayedSegment", "silence_pcm", "speech_pcm"]

SAMPLE_RATE = 16_000


def speech_pcm(
    seconds: float, *, sample_rate: int = SAMPLE_RATE, level_dbfs: float = -20.0
) -> bytes:
    """Return ``seconds`` of a voice-like signal as 16-bit mono PCM.

    A 140 Hz fundamental with harmonics, its loudness moving at 4 syllables a second but never
    dropping to silence: loud enough for any detector sensitivity at the default level.
    """
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 6))
    envelope = 0.7 + 0.3 * np.sin(2 * np.pi * 4 * t)
    signal = voice * envelope
    peak = float(np.max(np.abs(signal))) if signal.size else 1.0
    rms_target = 32768 * 10 ** (level_dbfs / 20)
    rms = float(np.sqrt(np.mean(signal * signal))) if signal.size else 1.0
    scaled = signal * min(rms_target / max(rms, 1e-9), 32767 / max(peak, 1e-9))
    return np.asarray(scaled, dtype="<i2").tobytes()


def silence_pcm(seconds: float, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return ``seconds`` of digital silence as 16-bit mono PCM."""
    return bytes(round(seconds * sample_rate) * 2)


class Microphone(io.AudioInput):
    """Real-time 16 kHz mono audio: silence, and speech when the test says so.

    Assign it to ``session.input.audio`` before ``session.start()``.
    """

    def __init__(self, *, frame_ms: int = 20, label: str = "test microphone") -> None:
        super().__init__(label=label)
        self._samples = SAMPLE_RATE * frame_ms // 1000
        self._frame_seconds = frame_ms / 1000
        self._queue = bytearray()
        self._spoken = asyncio.Event()
        self._next_at: float | None = None

    async def say(self, seconds: float = 0.6) -> None:
        """Speak for ``seconds`` (then silence again); return once it has all been streamed."""
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        self._spoken.clear()
        self._queue += speech_pcm(seconds)
        await self._spoken.wait()

    async def __anext__(self) -> rtc.AudioFrame:
        """Return the next frame, at the pace of a real microphone."""
        now = time.monotonic()
        if self._next_at is None:
            self._next_at = now
        if self._next_at > now:
            await asyncio.sleep(self._next_at - now)
        self._next_at += self._frame_seconds
        size = self._samples * 2
        if self._queue:
            data = bytes(self._queue[:size]).ljust(size, b"\0")
            del self._queue[:size]
            if not self._queue:
                self._spoken.set()
        else:
            data = bytes(size)
        return rtc.AudioFrame(data, SAMPLE_RATE, 1, self._samples)


@dataclass(frozen=True)
class PlayedSegment:
    """One answer the loudspeaker played: how much of it, and whether it was cut short."""

    seconds: float
    captured_seconds: float
    interrupted: bool


class Loudspeaker(io.AudioOutput):
    """Plays the agent's audio in real time; records what was played and what was cut short.

    Assign it to ``session.output.audio`` before ``session.start()``.
    """

    def __init__(self, *, label: str = "test loudspeaker") -> None:
        super().__init__(label=label, capabilities=io.AudioOutputCapabilities(pause=False))
        self.captured_seconds = 0.0
        """Seconds of audio the agent sent to be played."""
        self.interruptions = 0
        """Segments cut short by ``clear_buffer()`` (a barge-in)."""
        self.started = asyncio.Event()
        """Set while a segment plays."""
        self.segments: list[PlayedSegment] = []
        """Every segment played, in order."""
        self._changed = asyncio.Event()
        self._segment = 0.0
        self._started_at: float | None = None
        self._cut_at: float | None = None
        self._done: asyncio.TimerHandle | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        """Queue a frame: the segment starts playing at its first frame."""
        await super().capture_frame(frame)
        if self._started_at is None:
            self._started_at = time.monotonic()
            self.on_playback_started(created_at=time.time())
            self.started.set()
        seconds = frame.samples_per_channel / frame.sample_rate
        self._segment += seconds
        self.captured_seconds += seconds

    def flush(self) -> None:
        """End the segment: it finishes once all of it has played (or at once if cut)."""
        super().flush()
        if self._started_at is None or self._done is not None:
            return
        if self._cut_at is not None:
            self._finish()
            return
        left = self._started_at + self._segment - time.monotonic()
        self._done = asyncio.get_running_loop().call_later(max(0.0, left), self._finish)

    def clear_buffer(self) -> None:
        """Stop playing now (the user barged in); the segment ends at its flush."""
        if self._started_at is None or self._cut_at is not None:
            return
        self.interruptions += 1
        self._cut_at = time.monotonic()
        if self._done is not None:  # already flushed: it ends now
            self._finish()

    def _finish(self) -> None:
        assert self._started_at is not None
        end = self._cut_at if self._cut_at is not None else time.monotonic()
        played = min(self._segment, end - self._started_at)
        interrupted = self._cut_at is not None
        if self._done is not None:
            self._done.cancel()
        self.segments.append(PlayedSegment(played, self._segment, interrupted))
        self._segment, self._started_at, self._cut_at, self._done = 0.0, None, None, None
        self.started.clear()
        self._changed.set()
        self.on_playback_finished(playback_position=played, interrupted=interrupted)

    async def wait_for_segments(self, count: int, *, seconds: float = 10.0) -> None:
        """Wait until ``count`` segments have finished playing (or were cut short).

        Raises:
            TimeoutError: fewer within ``seconds``.
        """
        try:
            async with asyncio.timeout(seconds):
                while len(self.segments) < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"loudspeaker: no {count} segments within {seconds:g} s") from None
