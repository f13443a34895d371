"""CostTracker: per-modality Gemini Live cost of a session, budgets that act on video, a ledger.

- ``CostTracker`` prices usage as it arrives (``track_usage``, ``track_metrics``, ``attach``),
  reports it (``report()`` -> ``CostReport``), enforces a ``Budget`` on an attached streamer,
  and at the end logs a summary and writes a ``medvision.cost_ledger`` row.
- ``ModelPricing`` / ``PRICES`` / ``pricing_for``: the sourced price table.
- ``reporting``: ``python -m livekit_plugins_medvision costs report`` over the ledger, and the
  HTML pages (``reporting.html.call_html`` for one call).
"""

from ..errors import CostLedgerError
from .budget import DEFAULT_CLOSING_INSTRUCTIONS, Budget, BudgetStep, OnHard
from .events import (
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    CostEventTypes,
    UsageUpdatedEvent,
    VideoDegradedEvent,
)
from .modality import MODALITIES, Modality
from .pricing import PRICES, ModelPricing, pricing_for
from .report import BucketCost, BudgetStatus, CostReport, RebilledImage
from .streamer import StreamerOptions, StreamerStats, VideoStreamer
from .timeline import TurnCost
from .tracker import CostTracker
from .usage import Bucket, UnattributedPolicy

__all__ = [
    "DEFAULT_CLOSING_INSTRUCTIONS",
    "MODALITIES",
    "PRICES",
    "Bucket",
    "BucketCost",
    "Budget",
    "BudgetHardExceededEvent",
    "BudgetSoftExceededEvent",
    "BudgetStatus",
    "BudgetStep",
    "CostEventTypes",
    "CostLedgerError",
    "CostReport",
    "CostTracker",
    "Modality",
    "ModelPricing",
    "OnHard",
    "RebilledImage",
    "StreamerOptions",
    "StreamerStats",
    "TurnCost",
    "UnattributedPolicy",
    "UsageUpdatedEvent",
    "VideoDegradedEvent",
    "VideoStreamer",
    "pricing_for",
]
