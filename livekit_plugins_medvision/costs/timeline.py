"""What each turn of a call cost, kept by the tracker for the per-call report."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from .modality import Modality

__all__ = ["TurnCost"]


@dataclasses.dataclass(frozen=True)
class TurnCost:
    """One counted turn: when it came, what it cost by modality, and the video so far."""

    turn: int
    """1-based."""
    at_seconds: float
    """Session time when its usage arrived."""
    usd_by_modality: Mapping[Modality, Decimal]
    """This turn's cost per modality (zeros when the model has no known prices)."""
    total_usd: Decimal | None
    """The session's cost up to and including this turn; ``None`` without prices."""
    frames_sent: int | None
    """Frames the attached streamer had sent by then; ``None`` with no streamer."""
    frames_skipped: int | None
    """Frames it had skipped as unchanged by then; ``None`` with no streamer."""
