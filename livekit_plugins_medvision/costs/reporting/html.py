"""Self-contained HTML cost reports: the ledger's, across calls, and one call's.

Each is one file: inline CSS, charts as inline SVG (``charts``), no script, no link, nothing
fetched when it is opened. Every figure shown also sits in a ``data-usd`` (or ``data-count``)
attribute with its exact value, so a test can check the page against the rows it came from.
Text from the database (model names) is escaped.
"""

from __future__ import annotations

import contextlib
import datetime
import html
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from ..modality import MODALITIES
from ..report import CostReport
from ..timeline import TurnCost
from .summary import LedgerSummary
from .text import MODALITY_LABELS, show_usd

__all__ = ["REPORT_EXTRA_HINT", "call_html", "ledger_html"]

REPORT_EXTRA_HINT = (
    "the HTML cost reports need the 'report' extra (matplotlib): "
    'pip install "livekit-plugins-medvision[report]"'
)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 2em; }
.sub { color: #666; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: .8em; margin: 1.2em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 9em; }
.card b { display: block; font-size: 1.35em; } .card span { color: #666; font-size: .85em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .8em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 13px; }
.note { background: #fff8e1; border-left: 4px solid #e4a11b; padding: .6em 1em; }
"""


def ledger_html(summary: LedgerSummary, *, generated_at: datetime.datetime) -> str:
    """The ledger summary as one self-contained HTML page.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (the message names the extra).
    """
    with _report_extra():
        from . import charts
    share = summary.image_share
    period = f"{summary.since:%Y-%m-%d %H:%M} to {summary.until:%Y-%m-%d %H:%M} UTC"
    cards: list[tuple[str, str, str, Decimal | int | None]] = [
        ("total", "total USD", show_usd(summary.total_usd), summary.total_usd),
        ("calls", "calls", f"{summary.calls:,}", summary.calls),
        ("per-minute", "USD per minute", show_usd(summary.usd_per_minute), summary.usd_per_minute),
        ("p50", "USD per call, p50", show_usd(summary.per_call(0.5)), summary.per_call(0.5)),
        ("p95", "USD per call, p95", show_usd(summary.per_call(0.95)), summary.per_call(0.95)),
        ("max", "USD per call, max", show_usd(summary.per_call(1.0)), summary.per_call(1.0)),
        ("image-share", "image/video share", "n/a" if share is None else f"{share:.1%}", None),
        (
            "crossed-soft",
            "calls past soft limit",
            f"{summary.crossed_soft:,}",
            summary.crossed_soft,
        ),
        (
            "crossed-hard",
            "calls past hard limit",
            f"{summary.crossed_hard:,}",
            summary.crossed_hard,
        ),
    ]
    day_rows = [
        [
            _cell(day.day.isoformat()),
            _cell(f"{day.calls:,}", day.calls),
            _cell(show_usd(day.usd), day.usd),
            *(_cell(show_usd(day.by_modality[n]), day.by_modality[n]) for n in MODALITIES),
        ]
        for day in summary.days
    ]
    model_rows = [
        [
            _cell(model.model),
            _cell(f"{model.calls:,}", model.calls),
            _cell(show_usd(model.usd), model.usd),
            _cell(f"{model.minutes:,.1f}"),
        ]
        for model in summary.models
    ]
    unpriced = (
        f'<p class="note">{summary.unpriced_calls:,} calls ran on models without known prices: '
        "they are counted as calls but not in any USD figure.</p>"
        if summary.unpriced_calls
        else ""
    )
    body = [
        "<h1>Gemini Live cost</h1>",
        f'<p class="sub">{_e(period)}, {_e(summary.model or "all models")}; '
        f"made {generated_at:%Y-%m-%d %H:%M} UTC from medvision.cost_ledger</p>",
        _cards(cards),
        unpriced,
        "<h2>Cost per day</h2>",
        f'<figure id="chart-days">{charts.day_bars_svg(summary.days)}</figure>',
        _table("days", ["day (UTC)", "calls", "USD", *_modality_heads()], day_rows),
        "<h2>Cost per call</h2>",
        f'<figure id="chart-calls" data-count="{len(summary.call_usd)}">'
        f"{charts.histogram_svg(summary.call_usd, summary.per_call(0.5), summary.per_call(0.95))}"
        "</figure>",
        "<h2>By modality</h2>",
        _table(
            "modalities",
            ["modality", "USD", "share"],
            [
                [
                    _cell(MODALITY_LABELS[n], key=n),
                    _cell(show_usd(summary.by_modality[n]), summary.by_modality[n]),
                    _cell(_share(summary.by_modality[n], summary.total_usd)),
                ]
                for n in MODALITIES
            ],
        ),
        "<h2>By model</h2>",
        _table("models", ["model", "calls", "USD", "minutes"], model_rows),
    ]
    return _page("Gemini Live cost", body)


def call_html(report: CostReport, timeline: Sequence[TurnCost], *, title: str) -> str:
    """One call's cost as a self-contained HTML page: per-turn cost, frames, budget lines.

    Raises:
        ModuleNotFoundError: matplotlib is not installed (the message names the extra).
    """
    with _report_extra():
        from . import charts
    seconds = [turn.at_seconds for turn in timeline]
    per_turn = {name: [turn.usd_by_modality[name] for turn in timeline] for name in MODALITIES}
    budget = report.budget
    rebilled = report.rebilled_image
    cards: list[tuple[str, str, str, Decimal | int | None]] = [
        ("total", "total USD", show_usd(report.total_usd, 6), report.total_usd),
        ("turns", "turns", f"{report.turns:,}", report.turns),
        ("minutes", "minutes", f"{report.session_seconds / 60:,.1f}", None),
        (
            "per-minute",
            "USD per minute now",
            show_usd(report.usd_per_minute_now, 6),
            report.usd_per_minute_now,
        ),
    ]
    if report.frames_sent is not None:
        cards.append(("frames-sent", "frames sent", f"{report.frames_sent:,}", report.frames_sent))
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">model {_e(report.model)}</p>',
        _cards(cards),
    ]
    if rebilled is not None:
        body.append(f'<p class="note" id="rebilled">{_e(rebilled.sentence())}</p>')
    totals = [t.total_usd or Decimal(0) for t in timeline]
    budget_chart = charts.budget_line_svg(seconds, totals, budget.soft_usd, budget.hard_usd)
    body += [
        "<h2>Cost of each turn</h2>",
        f'<figure id="chart-turns">{charts.turn_bars_svg(seconds, per_turn)}</figure>',
        "<h2>Budget</h2>",
        f'<figure id="chart-budget">{budget_chart}</figure>',
    ]
    if timeline and timeline[-1].frames_sent is not None:
        body += [
            "<h2>Frames</h2>",
            '<figure id="chart-frames">'
            + charts.frames_svg(
                seconds,
                [t.frames_sent or 0 for t in timeline],
                [t.frames_skipped or 0 for t in timeline],
            )
            + "</figure>",
        ]
    body += ["<h2>Bill</h2>", f"<pre>{_e(report.render())}</pre>"]
    return _page(title, body)


@contextlib.contextmanager
def _report_extra() -> Iterator[None]:
    """Turn a missing matplotlib into an error that names the extra to install."""
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("matplotlib"):
            raise
        raise ModuleNotFoundError(REPORT_EXTRA_HINT, name="matplotlib") from None


def _page(title: str, body: Iterable[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
            *body,
            "</body></html>",
        ]
    )


def _cards(cards: Sequence[tuple[str, str, str, Decimal | int | None]]) -> str:
    items = [
        f'<div class="card" id="card-{key}"{_data(value)}><b>{_e(shown)}</b>'
        f"<span>{_e(label)}</span></div>"
        for key, label, shown, value in cards
    ]
    return f'<div class="cards">{"".join(items)}</div>'


def _cell(shown: str, value: Decimal | int | None = None, *, key: str | None = None) -> str:
    key_attr = "" if key is None else f' data-key="{_e(key)}"'
    return f"<td{key_attr}{_data(value)}>{_e(shown)}</td>"


def _table(name: str, heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return f'<table id="table-{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _data(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f' data-usd="{value.normalize():f}"'
    return f' data-count="{value}"'


def _modality_heads() -> list[str]:
    return [MODALITY_LABELS[name] for name in MODALITIES]


def _share(part: Decimal, total: Decimal) -> str:
    return "n/a" if not total else f"{float(part / total):.1%}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
