"""Per-session spending limits and the steps taken as spending crosses them.

Every step lowers what the session costs per minute under the token rules: a frame costs the
same tokens at any size (``livekit_plugins_medvision.tokens``), so only fewer frames cut the
image bill, and pausing them ends it. As the session's cost grows, each step comes at most once:

1. ``soft_usd`` reached: the soft-limit event, and video is turned down, the camera's profile
   and the screen share's alike (whichever is streamed, or comes next): ``degraded_fps`` while
   the user speaks, ``degraded_silent_fps`` (0: none) while silent, and change detection at
   least at ``degraded_change_threshold`` (the camera's scene scale) or
   ``degraded_text_change_threshold`` (a screen share's text scale), so small changes wait.
2. ``hard_usd`` reached: video pauses and the hard-limit event tells the agent, which can tell
   the patient. With ``on_hard="end_call"`` the agent also says ``closing_instructions`` and
   the session then ends (audio and the re-billed context keep spending otherwise).

Settings are only ever lowered, never raised, and nothing is undone automatically.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from decimal import Decimal
from typing import Literal, get_args

from ..vision.options import SourceProfile

__all__ = ["DEFAULT_CLOSING_INSTRUCTIONS", "Budget", "BudgetStep", "OnHard"]

OnHard = Literal["pause_video", "end_call"]
"""What the hard limit does: pause video only, or also end the call politely."""

DEFAULT_CLOSING_INSTRUCTIONS = (
    "In one or two short sentences, tell the user that this call has reached its time and cost "
    "limit and ends now, suggest they call again or contact the clinic if they need more, and "
    "say goodbye."
)


class BudgetStep(enum.IntEnum):
    """The steps of a budget, in the order they are taken."""

    NONE = 0
    SOFT = 1
    """Soft limit crossed: fewer frames (rates lowered, change detection stronger)."""
    HARD = 2
    """Hard limit crossed: video paused, and the call ended if ``on_hard="end_call"``."""


@dataclasses.dataclass(frozen=True)
class Budget:
    """A session's spending limits in USD, and what the budget does as they are crossed.

    Raises:
        ValueError: a limit that is not a finite positive ``Decimal``, no limit at all,
            ``soft_usd`` not below ``hard_usd``, a degraded setting out of range, an unknown
            ``on_hard`` or empty ``closing_instructions`` (the message names the option).
    """

    soft_usd: Decimal | None = None
    """Cost at which video is turned down; ``None`` for no soft limit."""
    hard_usd: Decimal | None = None
    """Cost at which video pauses; ``None`` for no hard limit."""
    degraded_fps: float = 0.5
    """Frame rate while the user speaks, once the soft limit is crossed (a ceiling)."""
    degraded_silent_fps: float = 0.0
    """Frame rate while the user is silent, once the soft limit is crossed (a ceiling; 0 sends
    no frame while the user is silent)."""
    degraded_change_threshold: float = 6.0
    """Mean luma difference (0-255) under which a frame counts as unchanged and is skipped, once
    the soft limit is crossed (a floor: a stronger threshold already set is kept), for profiles
    measuring change by ``scene`` (the camera's): three times the camera's default 2.0."""
    degraded_text_change_threshold: float = 12.0
    """The same floor for profiles measuring change by ``text`` (the screen share's): three
    times its default 4.0. A line edited (~22) or scrolled (~27) still goes at once; a change
    of part of a line waits for a larger one or the keep-alive."""
    on_hard: OnHard = "pause_video"
    """``"pause_video"``, or ``"end_call"``: pause video, have the agent say
    ``closing_instructions``, then end the session (needs ``CostTracker.attach``)."""
    closing_instructions: str = DEFAULT_CLOSING_INSTRUCTIONS
    """What the agent is told to say before the call ends (write them in the call's language)."""

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
        _check_number("degraded_fps", self.degraded_fps, low=0.0, allow_low=False)
        _check_number("degraded_silent_fps", self.degraded_silent_fps, low=0.0, allow_low=True)
        for name in ("degraded_change_threshold", "degraded_text_change_threshold"):
            _check_number(name, getattr(self, name), low=0.0, allow_low=False)
            if getattr(self, name) > 255:
                raise ValueError(f"{name} must be at most 255")
        if self.on_hard not in get_args(OnHard):
            raise ValueError(f"on_hard must be one of {get_args(OnHard)}")
        closing: object = self.closing_instructions  # checked as given, whatever the hints say
        if not isinstance(closing, str) or not closing.strip():
            raise ValueError("closing_instructions must say what the agent tells the user")

    def step_for(self, total_usd: Decimal) -> BudgetStep:
        """Return the furthest step a session costing ``total_usd`` has reached."""
        if self.hard_usd is not None and total_usd >= self.hard_usd:
            return BudgetStep.HARD
        if self.soft_usd is not None and total_usd >= self.soft_usd:
            return BudgetStep.SOFT
        return BudgetStep.NONE

    def degrade(self, profile: SourceProfile) -> SourceProfile:
        """Return ``profile`` as the soft step leaves it: rates capped, change threshold floored.

        Only lowers the cost rate: a rate already lower, or a threshold already stronger, is
        kept. The floor is the one of the profile's change detector, whose scales differ.
        """
        floor = (
            self.degraded_text_change_threshold
            if profile.detector == "text"
            else self.degraded_change_threshold
        )
        return dataclasses.replace(
            profile,
            fps=min(profile.fps, self.degraded_fps),
            silent_fps=min(profile.silent_fps, self.degraded_silent_fps),
            change_threshold=max(profile.change_threshold, floor),
        )


def _check_number(name: str, value: object, *, low: float, allow_low: bool) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < low
        or (value == low and not allow_low)
    ):
        bound = f"{'at least' if allow_low else 'above'} {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}")
