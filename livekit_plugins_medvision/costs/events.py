"""The events a CostTracker emits, each carrying a frozen dataclass."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Literal

from ..vision.options import SourceProfile
from .report import CostReport

__all__ = [
    "BudgetHardExceededEvent",
    "BudgetSoftExceededEvent",
    "CostEventTypes",
    "UsageUpdatedEvent",
    "VideoDegradedEvent",
]

CostEventTypes = Literal[
    "usage_updated", "budget_soft_exceeded", "video_degraded", "budget_hard_exceeded"
]
"""Event names of ``CostTracker``."""


@dataclasses.dataclass(frozen=True)
class UsageUpdatedEvent:
    """``"usage_updated"``: a turn was counted."""

    turn_usd: Decimal | None
    """What this turn cost; ``None`` when the model has no known prices."""
    report: CostReport
    """The session so far, this turn included."""


@dataclasses.dataclass(frozen=True)
class BudgetSoftExceededEvent:
    """``"budget_soft_exceeded"``: the session's cost reached the soft limit."""

    total_usd: Decimal
    """The session's cost when the limit was crossed."""
    soft_usd: Decimal
    """The limit."""


@dataclasses.dataclass(frozen=True)
class VideoDegradedEvent:
    """``"video_degraded"``: the budget turned the attached streamer down (fewer frames).

    Sent only when a setting really changed.
    """

    total_usd: Decimal
    """The session's cost when video was turned down."""
    fps: float
    """Frame rate while the user speaks, after the change."""
    silent_fps: float
    """Frame rate while the user is silent, after the change."""
    change_threshold: float
    """Mean luma difference under which a frame is skipped as unchanged, after the change."""
    max_size: int
    """Longest side of frames in pixels (left as it was: a frame costs the same at any size)."""
    screen_share: SourceProfile
    """The screen share's profile after the change (``fps`` ... ``max_size`` are the camera's)."""


@dataclasses.dataclass(frozen=True)
class BudgetHardExceededEvent:
    """``"budget_hard_exceeded"``: the session's cost reached the hard limit.

    The agent can use it to tell the patient that the camera is no longer being watched.
    """

    total_usd: Decimal
    """The session's cost when the limit was crossed."""
    hard_usd: Decimal
    """The limit."""
    video_paused: bool
    """Whether an attached streamer was paused."""
    ending_call: bool = False
    """Whether the agent was asked to say its closing sentence and the session to end after
    it (``Budget(on_hard="end_call")`` with an attached session)."""
