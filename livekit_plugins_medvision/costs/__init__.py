"""CostTracker: per-modality Gemini Live cost of a session, budgets that act on video, a ledger.

- ``CostTracker`` prices usage as it arrives (``track_usage``, ``track_metrics``, ``attach``),
  reports it (``report()`` -> ``CostReport``), enforces a ``Budget`` on an attached streamer,
  and at the end logs a summary and writes a ``medvision.cost_ledger`` row.
- ``ModelPricing`` / ``PRICES`` / ``pricing_for``: the sourced price table.
"""

from ..errors import CostLedgerError
from .budget import Budget, BudgetStep
from .events import (
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    CostEventTypes,
    UsageUpdatedEvent,
    VideoDegradedEvent,
)
from .pricing import PRICES, ModelPricing, pricing_for
from .report import BucketCost, CostReport
from .streamer import StreamerOptions, StreamerStats, VideoStreamer
from .tracker import CostTracker
from .usage import Bucket, UnattributedPolicy

__all__ = [
    "PRICES",
    "Bucket",
    "BucketCost",
    "Budget",
    "BudgetHardExceededEvent",
    "BudgetSoftExceededEvent",
    "BudgetStep",
    "CostEventTypes",
    "CostLedgerError",
    "CostReport",
    "CostTracker",
    "ModelPricing",
    "StreamerOptions",
    "StreamerStats",
    "UnattributedPolicy",
    "UsageUpdatedEvent",
    "VideoDegradedEvent",
    "VideoStreamer",
    "pricing_for",
]
