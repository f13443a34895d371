"""The test clock: a monotonic clock, and a sleep, that only the test moves."""

from __future__ import annotations


class ManualClock:
    """A monotonic clock the test moves by hand; ``sleep`` moves it and records the wait.

    Pass the instance where code takes a ``clock: Callable[[], float]`` and ``clock.sleep``
    where it takes an async ``sleep``: the test then runs in microseconds and never waits on
    the wall clock.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock on by it, without waiting."""
        self.sleeps.append(seconds)
        self.now += seconds
