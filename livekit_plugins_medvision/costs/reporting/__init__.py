"""Cost reports across calls (``medvision.cost_ledger``) and for one call.

- ``fetch_calls`` / ``summarize`` -> ``LedgerSummary``: totals per day, model and modality.
- ``render_text``: the summary as text tables; ``LedgerSummary.to_dict()`` for JSON.
- ``ledger_html`` / ``call_html`` (in ``.html``, needs the ``report`` extra): self-contained
  pages with inline SVG charts.
- ``python -m livekit_plugins_medvision costs report``: the command line (``.cli``).
"""

from .summary import DayTotal, LedgerCall, LedgerSummary, ModelTotal, fetch_calls, summarize
from .text import render_text

__all__ = [
    "DayTotal",
    "LedgerCall",
    "LedgerSummary",
    "ModelTotal",
    "fetch_calls",
    "render_text",
    "summarize",
]
