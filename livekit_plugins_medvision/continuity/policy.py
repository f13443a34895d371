"""How long a call waits for Gemini Live to come back, and how often it tries meanwhile."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ReconnectPolicy"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """Backoff between reconnect attempts, within a bounded outage.

    The delay before attempt ``n`` (0-based) is ``min(max_delay_s, first_delay_s *
    multiplier ** n)``, of which a random half is taken off ("equal jitter"): calls cut by one
    network fault do not all reconnect in the same instant, and none retries faster than half
    the nominal delay. After the network comes back, the call waits at most ``max_delay_s``
    (plus the connect itself) to resume.

    All durations are seconds; scaling them all by ``k`` scales the supervisor's behaviour by
    ``k`` (the fault tests use that to run a 30 s cut in 3 s).
    """

    max_outage_s: float = 60.0
    """How long the call waits for the model to come back before it ends."""
    first_delay_s: float = 0.25
    """Delay before the first attempt."""
    max_delay_s: float = 2.0
    """Longest delay between attempts."""
    multiplier: float = 2.0
    """Growth of the delay from one attempt to the next."""
    jitter: bool = True
    """Take a random part (up to half) off each delay."""
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    """Uniform numbers in [0, 1) for the jitter (injectable for tests)."""

    def __post_init__(self) -> None:
        for name in ("max_outage_s", "first_delay_s", "max_delay_s", "multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number of seconds, got {type(value).__name__}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be finite and not negative, got {value!r}")
        if self.max_outage_s <= 0:
            raise ValueError("max_outage_s must be positive")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be at least 1, got {self.multiplier!r}")
        if self.max_delay_s < self.first_delay_s:
            raise ValueError("max_delay_s must be at least first_delay_s")

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait before attempt ``attempt`` (0 for the first)."""
        if attempt < 0:
            raise ValueError("attempt must be 0 or more")
        # the exponent is capped so a long outage cannot overflow the float
        nominal = min(self.max_delay_s, self.first_delay_s * self.multiplier ** min(attempt, 64))
        if not self.jitter:
            return nominal
        return nominal / 2 + self.rand() * nominal / 2

    def scaled(self, factor: float) -> ReconnectPolicy:
        """Return this policy with every duration multiplied by ``factor``."""
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"factor must be positive, got {factor!r}")
        return ReconnectPolicy(
            max_outage_s=self.max_outage_s * factor,
            first_delay_s=self.first_delay_s * factor,
            max_delay_s=self.max_delay_s * factor,
            multiplier=self.multiplier,
            jitter=self.jitter,
            rand=self.rand,
        )
