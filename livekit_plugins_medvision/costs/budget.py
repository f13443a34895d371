"""Per-session spending limits and the steps taken as spending crosses them.

As the session's cost grows, the steps come in this order, each at most once:

1. ``soft_usd`` reached: the soft-limit event, and video drops to ``degraded_fps`` /
   ``degraded_silent_fps`` (frame rate is what drives image tokens).
2. Halfway from ``soft_usd`` to ``hard_usd`` (at ``soft_usd`` when there is no hard limit):
   frames shrink to ``degraded_max_size``.
3. ``hard_usd`` reached: video pauses and the hard-limit event tells the agent, which can tell
   the patient.

Settings are only ever lowered, never raised, and nothing is undone automatically.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from decimal import Decimal

__all__ = ["Budget", "BudgetStep"]


class BudgetStep(enum.IntEnum):
    """The steps of a budget, in the order they are taken."""

    NONE = 0
    SOFT = 1
    """Soft limit crossed: frame rate lowered."""
    SMALLER_FRAMES = 2
    """Frames made smaller."""
    HARD = 3
    """Hard limit crossed: video paused."""


@dataclasses.dataclass(frozen=True)
class Budget:
    """A session's spending limits in USD, and how far video is turned down at the soft limit.

    Raises:
        ValueError: a limit that is not a finite positive ``Decimal``, no limit at all,
            ``soft_usd`` not below ``hard_usd``, or a degraded setting that is not positive
            (the message names the option).
    """

    soft_usd: Decimal | None = None
    """Cost at which video is turned down; ``None`` for no soft limit."""
    hard_usd: Decimal | None = None
    """Cost at which video pauses; ``None`` for no hard limit."""
    degraded_fps: float = 0.5
    """Frame rate while the user speaks, once the soft limit is crossed (a ceiling)."""
    degraded_silent_fps: float = 0.1
    """Frame rate while the user is silent, once the soft limit is crossed (a ceiling)."""
    degraded_max_size: int = 512
    """Longest side of frames in pixels, from the second step on (a ceiling)."""

    def __post_init__(self) -> None:
        for name in ("soft_usd", "hard_usd"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, Decimal) or not value.is_finite() or value <= 0
            ):
                raise ValueError(f"{name} must be a finite, positive Decimal or None")
        if self.soft_usd is None and self.hard_usd is None:
            raise ValueError("a Budget needs soft_usd, hard_usd or both")
        if self.soft_usd is not None and self.hard_usd is not None:
            if self.soft_usd >= self.hard_usd:
                raise ValueError("soft_usd must be below hard_usd")
        for name in ("degraded_fps", "degraded_silent_fps"):
            _check_positive_number(name, getattr(self, name))
        _check_positive_int("degraded_max_size", self.degraded_max_size)

    def step_for(self, total_usd: Decimal) -> BudgetStep:
        """Return the furthest step a session costing ``total_usd`` has reached."""
        if self.hard_usd is not None and total_usd >= self.hard_usd:
            return BudgetStep.HARD
        if self.soft_usd is None:
            return BudgetStep.NONE
        smaller_at = self.soft_usd if self.hard_usd is None else (self.soft_usd + self.hard_usd) / 2
        if total_usd >= smaller_at:
            return BudgetStep.SMALLER_FRAMES
        if total_usd >= self.soft_usd:
            return BudgetStep.SOFT
        return BudgetStep.NONE


def _check_positive_number(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number above 0")


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer")
