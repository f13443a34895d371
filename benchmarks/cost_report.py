"""``costs report`` on a large ledger: text, JSON and HTML against a bare SQL aggregate.

Fills ``medvision.cost_ledger`` of an embedded PostgreSQL with synthetic calls (real
``CostReport`` JSON, 30 days, three models, a few past their budget), then times, end to end
through the command line, each output; then the parts (the query, the totals, the charts). The
anchor is what any report pays at least: one ``GROUP BY`` of day and model in SQL.

    python benchmarks/cost_report.py               # 100,000 rows
    python benchmarks/cost_report.py --quick       # 5,000 rows, to check the script

Writes the HTML page it timed to ``benchmarks/results/cost_report.html`` and the figures to
``benchmarks/results/cost_report.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import io
import json
import platform
import random
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import asyncpg

from livekit_plugins_medvision.__main__ import main
from livekit_plugins_medvision.costs.reporting import fetch_calls, render_text, summarize
from livekit_plugins_medvision.costs.reporting.html import ledger_html
from livekit_plugins_medvision.patients import PatientContextProvider, start_embedded_postgres

_T = TypeVar("_T")
RESULTS = Path(__file__).parent / "results"
MODELS = (
    ("gemini-3.1-flash-live-preview", Decimal("1.00")),
    ("gemini-2.5-flash-native-audio-preview-12-2025", Decimal("3.00")),
    ("gemini-3.8-live", Decimal("3.00")),
)
ANCHOR = """
SELECT date_trunc('day', recorded_at), model, count(*), sum(total_usd), sum(session_seconds)
FROM medvision.cost_ledger WHERE recorded_at >= $1 GROUP BY 1, 2
"""


def synthetic_row(
    rng: random.Random, now: datetime.datetime
) -> tuple[datetime.datetime, str, int, float, Decimal, str]:
    """One call: a few minutes, audio-heavy, images re-billed, sometimes past its budget."""
    model, image_rate = rng.choice(MODELS)
    minutes = rng.lognormvariate(1.2, 0.6)
    turns = max(1, round(minutes * 4))
    usd = {
        "input_text": Decimal(rng.randint(500, 3000) * turns) * Decimal("0.75"),
        "input_audio": Decimal(rng.randint(800, 1600) * turns * turns) * Decimal(3),
        "input_image": Decimal(rng.randint(60, 260) * turns * turns) * image_rate,
        "input_unattributed": Decimal(rng.randint(20, 60) * turns) * Decimal(3),
        "output_audio": Decimal(rng.randint(200, 600) * turns) * Decimal(12),
        "thinking_or_tool_use": Decimal(rng.randint(0, 100) * turns) * Decimal("4.5"),
    }
    usd = {
        bucket: (value / 1_000_000).quantize(Decimal("0.000001")) for bucket, value in usd.items()
    }
    total = sum(usd.values(), Decimal(0))
    step = "hard" if total > Decimal("0.60") else "soft" if total > Decimal("0.30") else "none"
    report = {
        "model": model,
        "buckets": {b: {"tokens": 0, "usd": f"{v:f}", "exact": True} for b, v in usd.items()},
        "total_usd": f"{total:f}",
        "budget": {"soft_usd": "0.30", "hard_usd": "0.60", "step": step},
    }
    at = now - datetime.timedelta(seconds=rng.uniform(0, 30 * 86_400))
    return at, model, turns, minutes * 60, total, json.dumps(report)


def timed(label: str, times: dict[str, float], action: Callable[[], _T]) -> _T:
    start = time.perf_counter()
    result = action()
    times[label] = time.perf_counter() - start
    return result


def cli(dsn: str, *argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["costs", "report", "--dsn", dsn, "--since", "30d", *argv])
    if status != 0:
        raise SystemExit(f"costs report exited with {status}")
    return out.getvalue()


async def fill(dsn: str, rows: int, now: datetime.datetime) -> None:
    provider = await PatientContextProvider.connect(dsn, min_size=1, max_size=1)
    async with provider:
        await provider.migrate()
    rng = random.Random(14)
    records = [synthetic_row(rng, now) for _ in range(rows)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "cost_ledger",
            schema_name="medvision",
            columns=["recorded_at", "model", "turns", "session_seconds", "total_usd", "report"],
            records=records,
        )
        await connection.execute("ANALYZE medvision.cost_ledger")
    finally:
        await connection.close()


async def parts(dsn: str, now: datetime.datetime, times: dict[str, float]) -> None:
    since = now - datetime.timedelta(days=30)
    connection = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        await connection.fetch(ANCHOR, since)
        times["anchor: SQL GROUP BY day, model"] = time.perf_counter() - start
        start = time.perf_counter()
        calls = await fetch_calls(connection, since=since, until=now, model=None)
        times["part: query (per-call modality sums)"] = time.perf_counter() - start
    finally:
        await connection.close()
    summary = timed("part: totals", times, lambda: summarize(calls, since=since, until=now))
    timed("part: text tables", times, lambda: render_text(summary))
    timed("part: HTML with charts", times, lambda: ledger_html(summary, generated_at=now))


def run(rows: int) -> None:
    now = datetime.datetime.now(datetime.UTC)
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medvision-bench-") as folder:
        server = start_embedded_postgres(Path(folder) / "data", durable=False, delete_on_close=True)
        with server:
            dsn = server.dsn
            start = time.perf_counter()
            asyncio.run(fill(dsn, rows, now))
            fill_s = time.perf_counter() - start
            times: dict[str, float] = {}
            asyncio.run(parts(dsn, now, times))
            page = RESULTS / "cost_report.html"
            timed("end to end: costs report (text)", times, lambda: cli(dsn))
            timed("end to end: costs report --json", times, lambda: cli(dsn, "--json"))
            timed("end to end: costs report --html", times, lambda: cli(dsn, "--html", str(page)))
    anchor = times["anchor: SQL GROUP BY day, model"]
    order = sorted(times, key=lambda k: (not k.startswith("end"), k.startswith("anchor")))
    print(f"costs report on {rows:,} ledger rows ({fill_s:.1f} s to fill)")
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{'step':44} {'seconds':>8} {'x anchor':>9}")
    for label in order:
        print(f"{label:44} {times[label]:8.3f} {times[label] / anchor:9.1f}")
    (RESULTS / "cost_report.json").write_text(
        json.dumps({"rows": rows, "seconds": times, "when": now.isoformat()}, indent=2)
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, default=None, help="how many rows to report on")
    args = parser.parse_args()
    run(args.rows or (5_000 if args.quick else 100_000))
