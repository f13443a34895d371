"""Waiting on a VisionStreamer's counters in tests, on its events rather than on a timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..vision import VisionStats, VisionStreamer

__all__ = ["wait_for_stats"]


async def wait_for_stats(
    streamer: VisionStreamer,
    predicate: Callable[[VisionStats], bool],
    *,
    seconds: float = 10.0,
    what: str = "the expected stats",
) -> VisionStats:
    """Return ``streamer.stats`` once ``predicate`` holds for it, re-checked on each update.

    Raises:
        TimeoutError: ``predicate`` still false after ``seconds`` (the message names ``what``).
    """
    changed = asyncio.Event()

    def on_update() -> None:
        changed.set()

    streamer.on("stats_updated", on_update)
    try:
        async with asyncio.timeout(seconds):
            while not predicate(stats := streamer.stats):
                changed.clear()
                await changed.wait()
        return stats
    except TimeoutError:
        raise TimeoutError(f"no {what} within {seconds:g} s") from None
    finally:
        streamer.off("stats_updated", on_update)
