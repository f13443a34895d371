"""What the offline demo prints: timestamped lines, and a status line that rewrites itself."""

from __future__ import annotations

import time

from .call import ClinicCall


class Console:
    """What the demo prints: timestamped lines, and a status line that rewrites itself."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._started = time.monotonic()
        self._status_open = False
        self._last_status = float("-inf")

    def line(self, text: str = "") -> None:
        """Print one line (after ending the status line)."""
        self._end_status()
        print(text, flush=True)

    def event(self, text: str) -> None:
        """Print one line stamped with the seconds since the demo started."""
        self.line(f"[{time.monotonic() - self._started:5.1f}s] {text}")

    def status(self, call: ClinicCall, *, final: bool = False) -> None:
        """Show frames, image tokens and USD so far; rewritten in place on a terminal."""
        now = time.monotonic()
        if final and not self.interactive and now - self._last_status < 1.0:
            return  # the periodic line printed a moment ago says the same
        self._last_status = now
        stats = call.streamer.stats
        usd = call.tracker.report().total_usd
        text = (
            f"[{now - self._started:5.1f}s] frames in {stats.frames_received}"
            f" | sent {stats.frames_sent} | skipped unchanged {stats.frames_skipped_unchanged}"
            # the streamer's estimate for the frames it sent; the server's count is in the report
            f" | image tokens sent ~{stats.estimated_image_tokens}"
            f" | USD {'unknown' if usd is None else f'{usd:.6f}'}"
        )
        if self.interactive and not final:
            print(f"\r\x1b[2K{text}", end="", flush=True)  # rewritten in place
            self._status_open = True
        else:
            self.line(text)

    def _end_status(self) -> None:
        if self._status_open:
            print("\r\x1b[2K", end="", flush=True)
            self._status_open = False
