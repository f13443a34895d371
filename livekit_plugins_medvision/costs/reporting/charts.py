"""The report's charts, drawn by matplotlib as inline SVG (the ``report`` extra).

matplotlib draws off-screen through its object API (``Figure``, no pyplot state), with glyphs
as paths, so the SVG needs no font, script or network to show. Each bar carries an ``id``
(``day-<date>-<modality>``, ``turn-<n>-<modality>``) so a test can read the chart back.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..modality import MODALITIES, Modality
from .summary import DayTotal
from .text import MODALITY_LABELS

__all__ = [
    "COLOURS",
    "budget_line_svg",
    "day_bars_svg",
    "frames_svg",
    "histogram_svg",
    "turn_bars_svg",
]

COLOURS: dict[Modality, str] = {
    "text": "#4c78a8",
    "audio": "#f58518",
    "image": "#54a24b",
    "unattributed": "#9d9d9d",
}
_WIDTH, _HEIGHT = 8.0, 3.4


def day_bars_svg(days: Sequence[DayTotal]) -> str:
    """Cost per day, stacked by modality."""
    labels = [f"{day.day:%m-%d}" for day in days]
    values = {name: [day.by_modality[name] for day in days] for name in MODALITIES}
    figure, axes = _figure()
    _stacked(axes, labels, values, [f"day-{day.day.isoformat()}" for day in days])
    axes.set_ylabel("USD")
    axes.set_title("Cost per day (UTC, month-day), by modality")
    if len(labels) > 10:
        axes.tick_params(axis="x", labelrotation=90, labelsize="small")
    return _svg(figure)


def turn_bars_svg(seconds: Sequence[float], values: dict[Modality, list[Decimal]]) -> str:
    """Cost of each turn of a call, stacked by modality."""
    figure, axes = _figure()
    labels = [str(turn) for turn in range(1, len(seconds) + 1)]
    _stacked(axes, labels, values, [f"turn-{label}" for label in labels])
    if len(labels) > 20:
        axes.xaxis.set_major_locator(MaxNLocator(nbins=20, integer=True))
    axes.set_xlabel("turn")
    axes.set_ylabel("USD")
    axes.set_title("Cost of each turn, by modality (context re-billed every turn)")
    return _svg(figure)


def histogram_svg(call_usd: Sequence[Decimal], p50: Decimal | None, p95: Decimal | None) -> str:
    """How many calls cost how much, with the median and 95th percentile marked."""
    figure, axes = _figure()
    values = [float(usd) for usd in call_usd]
    # A few very long calls would squeeze every other bar into the first bin: the axis ends at
    # the 99th percentile and the calls past it are counted in the title.
    top = float(call_usd[min(len(call_usd) - 1, int(0.99 * len(call_usd)))]) if values else 1.0
    beyond = sum(1 for value in values if value > top)
    axes.hist(
        values,
        bins=min(40, max(5, len(values) // 20)),
        range=(0.0, top or 1.0),
        color=COLOURS["image"],
    )
    for mark, label, style in ((p50, "p50", "--"), (p95, "p95", ":")):
        if mark is not None:
            axes.axvline(float(mark), color="black", linestyle=style, label=f"{label} {mark:.4f}")
    axes.set_xlabel("USD per call")
    axes.set_ylabel("calls")
    axes.set_title(
        f"Cost per call ({beyond:,} calls above {top:.4f} USD not shown)"
        if beyond
        else "Cost per call"
    )
    _legend(axes)
    return _svg(figure)


def budget_line_svg(
    seconds: Sequence[float],
    totals: Sequence[Decimal],
    soft_usd: Decimal | None,
    hard_usd: Decimal | None,
) -> str:
    """The call's running cost against its soft and hard limits."""
    figure, axes = _figure()
    minutes = [0.0, *(s / 60 for s in seconds)]
    axes.step(minutes, [0.0, *(float(t) for t in totals)], where="post", label="cost so far")
    for limit, label, colour in ((soft_usd, "soft", "#e4a11b"), (hard_usd, "hard", "#d62728")):
        if limit is not None:
            axes.axhline(float(limit), color=colour, linestyle="--", label=f"{label} {limit} USD")
    axes.set_xlabel("minutes into the call")
    axes.set_ylabel("USD")
    axes.set_title("Running cost and budget limits")
    _legend(axes)
    return _svg(figure)


def frames_svg(seconds: Sequence[float], sent: Sequence[int], skipped: Sequence[int]) -> str:
    """Frames sent to the model and frames skipped as unchanged so far, at each turn."""
    figure, axes = _figure()
    minutes = [0.0, *(s / 60 for s in seconds)]
    axes.step(minutes, [0, *sent], where="post", label="frames sent", color=COLOURS["image"])
    axes.step(
        minutes,
        [0, *skipped],
        where="post",
        label="frames skipped",
        color=COLOURS["unattributed"],
    )
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("minutes into the call")
    axes.set_ylabel("frames")
    axes.set_title("Frames sent and skipped")
    _legend(axes)
    return _svg(figure)


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(_WIDTH, _HEIGHT))
    # fixed margins (constrained layout doubles the drawing time); the legend sits on the right
    figure.subplots_adjust(left=0.11, right=0.8, top=0.9, bottom=0.2)
    return figure, figure.add_subplot()


def _legend(axes: Axes) -> None:
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def _stacked(
    axes: Axes, labels: Sequence[str], values: dict[Modality, list[Decimal]], ids: Sequence[str]
) -> None:
    bottom = [0.0] * len(labels)
    for name in MODALITIES:
        heights = [float(v) for v in values[name]]
        bars = axes.bar(
            labels, heights, bottom=bottom, color=COLOURS[name], label=MODALITY_LABELS[name]
        )
        for bar, gid in zip(bars, ids, strict=True):
            bar.set_gid(f"{gid}-{name}")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _legend(axes)


def _svg(figure: Figure) -> str:
    """The figure as an ``<svg>`` element to inline in HTML (no XML prolog, no DOCTYPE)."""
    out = io.StringIO()
    # Text stays text (the page's own sans-serif font): smaller and faster than glyph outlines.
    with rc_context({"svg.fonttype": "none", "font.family": "sans-serif"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]
