"""The ledger summary as plain-text tables, for a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ..modality import MODALITIES
from .summary import LedgerSummary

__all__ = ["MODALITY_LABELS", "render_text", "show_usd"]

MODALITY_LABELS = {
    "text": "text",
    "audio": "audio",
    "image": "image/video",
    "unattributed": "unattributed",
}


def show_usd(value: Decimal | None, places: int = 4) -> str:
    """Money for people: ``1,234.5678``; ``n/a`` for no figure."""
    return "n/a" if value is None else f"{value:,.{places}f}"


def render_text(summary: LedgerSummary) -> str:
    """Return the summary as a few aligned tables (USD rounded to 4 places)."""
    period = f"{summary.since:%Y-%m-%d %H:%M} to {summary.until:%Y-%m-%d %H:%M} UTC"
    scope = summary.model or "all models"
    share = summary.image_share
    calls = f"{summary.calls:,}"
    if summary.unpriced_calls:
        calls += f" ({summary.unpriced_calls:,} without known prices, not in the USD figures)"
    per_call = " / ".join(show_usd(summary.per_call(f)) for f in (0.50, 0.95, 1.0))
    lines = [
        f"Gemini Live cost, {period}, {scope}",
        "",
        *_table(
            [
                ("calls", calls),
                ("total USD", show_usd(summary.total_usd)),
                ("minutes", f"{summary.minutes:,.1f}"),
                ("USD per minute", show_usd(summary.usd_per_minute)),
                ("USD per call p50 / p95 / max", per_call),
                ("image/video share", "n/a" if share is None else f"{share:.1%}"),
                (
                    "calls past soft / hard limit",
                    f"{summary.crossed_soft} / {summary.crossed_hard}",
                ),
            ]
        ),
        "",
        *_table(
            [("modality", "USD", "share")]
            + [
                (
                    MODALITY_LABELS[name],
                    show_usd(summary.by_modality[name]),
                    _share(summary.by_modality[name], summary.total_usd),
                )
                for name in MODALITIES
            ]
        ),
        "",
        *_table(
            [("day (UTC)", "calls", "USD", *(MODALITY_LABELS[name] for name in MODALITIES))]
            + [
                (
                    day.day.isoformat(),
                    f"{day.calls:,}",
                    show_usd(day.usd),
                    *(show_usd(day.by_modality[name]) for name in MODALITIES),
                )
                for day in summary.days
            ]
        ),
        "",
        *_table(
            [("model", "calls", "USD", "minutes")]
            + [
                (m.model, f"{m.calls:,}", show_usd(m.usd), f"{m.minutes:,.1f}")
                for m in summary.models
            ]
        ),
    ]
    return "\n".join(lines)


def _share(part: Decimal, total: Decimal) -> str:
    return "n/a" if not total else f"{float(part / total):.1%}"


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-align the first column, right-align the others."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            [
                row[0].ljust(widths[0]),
                *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)),
            ]
        ).rstrip()
        for row in rows
    ]
