"""``costs report`` on a real ledger: text, JSON and HTML checked against the rows themselves."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import asyncpg
import pytest

from livekit_plugins_medvision import PatientContextProvider
from livekit_plugins_medvision.__main__ import main
from livekit_plugins_medvision.costs import Budget, CostTracker
from livekit_plugins_medvision.patients.embedded import start_embedded_postgres
from tests.support.clock import ManualClock

from .factories import usage

pytestmark = pytest.mark.db

FLASH = "gemini-3.1-flash-live-preview"
NATIVE = "gemini-2.5-flash-native-audio-preview-12-2025"
NOW = datetime.datetime.now(datetime.UTC)
# The report's groups, written out here so the test does not reuse the code under test.
GROUPS = {
    "text": (
        "input_text",
        "tool_use_prompt",
        "output_text",
        "output_thinking",
        "thinking_or_tool_use",
    ),
    "audio": ("input_audio", "output_audio"),
    "image": ("input_image",),
    "unattributed": ("input_cached", "input_unattributed", "output_unattributed"),
}


@dataclass(frozen=True)
class Row:
    day: datetime.date
    model: str
    usd: Decimal | None
    minutes: float
    split: dict[str, Decimal]
    step: str | None


def tracker_for(model: str, turns: int, budget: Budget | None) -> CostTracker:
    clock = ManualClock()
    tracker = CostTracker(model, budget=budget, clock=clock)
    for turn in range(1, turns + 1):
        clock.now += 20
        tracker.track_usage(
            usage(
                prompt={"AUDIO": 900 * turn, "IMAGE": 258 * turn, "TEXT": 120},
                prompt_total=900 * turn + 258 * turn + 120 + 25,
                response={"AUDIO": 300},
                thoughts=40,
            )
        )
    clock.now += 5
    return tracker


@pytest.fixture
async def ledger(pg_dsn: str) -> AsyncIterator[str]:
    """Nine calls over three days on two models (one unpriced), two past their soft limit."""
    provider = await PatientContextProvider.connect(pg_dsn)
    try:
        await provider.migrate()
        soft = Budget(soft_usd=Decimal("0.02"), hard_usd=Decimal("0.05"))
        plan = [
            (0, FLASH, 2, None),
            (0, FLASH, 3, soft),  # past soft only
            (1, NATIVE, 3, None),
            (1, FLASH, 1, None),
            (1, NATIVE, 9, soft),  # past hard
            (2, FLASH, 4, None),
            (2, NATIVE, 2, None),
            (2, "gemini-9-live", 3, None),  # no known prices
            (3, FLASH, 5, None),
        ]
        for days_ago, model, turns, budget in plan:
            tracker = tracker_for(model, turns, budget)
            await tracker.aclose()
            row_id = await tracker.write_ledger(provider.pool, job_id="AJ", room_name="r")
            await provider.pool.execute(
                "UPDATE medvision.cost_ledger SET recorded_at = $1 WHERE id = $2",
                NOW - datetime.timedelta(days=days_ago, hours=1),
                row_id,
            )
        yield pg_dsn
    finally:
        await provider.aclose()


async def rows_of(dsn: str, *, days: int) -> list[Row]:
    connection = await asyncpg.connect(dsn)
    try:
        records = await connection.fetch(
            "SELECT recorded_at, model, total_usd, session_seconds, report::text AS report "
            "FROM medvision.cost_ledger WHERE recorded_at >= $1",
            NOW - datetime.timedelta(days=days),
        )
    finally:
        await connection.close()
    rows = []
    for record in records:
        report = json.loads(record["report"])
        buckets = report["buckets"]
        split = {
            group: sum((Decimal(buckets[b]["usd"] or 0) for b in names), Decimal(0))
            for group, names in GROUPS.items()
        }
        step = report.get("budget", {}).get("step")
        rows.append(
            Row(
                day=record[0].astimezone(datetime.UTC).date(),
                model=record[1],
                usd=record[2],
                minutes=record[3] / 60,
                split=split,
                step=step if step in ("soft", "hard") else None,
            )
        )
    return rows


def nearest_rank(values: list[Decimal], fraction: float) -> Decimal:
    ordered = sorted(values)
    index = max(int(-(-fraction * len(ordered) // 1)), 1)
    return ordered[index - 1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["costs", "report", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_totals_match_the_rows(ledger: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = asyncio.run(rows_of(ledger, days=3))
    status, out, err = run(capsys, "--dsn", ledger, "--since", "3d", "--json")
    assert (status, err) == (0, "")
    data = json.loads(out)

    priced = [row for row in rows if row.usd is not None]
    total = sum((row.usd for row in priced if row.usd is not None), Decimal(0))
    assert data["calls"] == len(rows) == 8  # the call four days ago is outside --since 3d
    assert data["unpriced_calls"] == 1
    assert Decimal(data["total_usd"]) == total
    usd = [row.usd for row in priced if row.usd is not None]
    assert {k: Decimal(v) for k, v in data["per_call_usd"].items()} == {
        "p50": nearest_rank(usd, 0.5),
        "p95": nearest_rank(usd, 0.95),
        "max": max(usd),
    }
    minutes = sum(row.minutes for row in rows)
    assert float(data["usd_per_minute"]) == pytest.approx(float(total) / minutes)
    for group in GROUPS:
        assert Decimal(data["by_modality"][group]) == sum(
            (row.split[group] for row in priced), Decimal(0)
        )
    assert data["image_share"] == round(
        float(sum((r.split["image"] for r in priced), Decimal(0)) / total), 4
    )
    assert (data["crossed_soft"], data["crossed_hard"]) == (2, 1)
    days = {d["day"]: (d["calls"], Decimal(d["usd"])) for d in data["days"]}
    assert days == {
        day.isoformat(): (
            len([r for r in rows if r.day == day]),
            sum((r.usd or Decimal(0) for r in rows if r.day == day), Decimal(0)),
        )
        for day in {r.day for r in rows}
    }
    models = {m["model"]: m["calls"] for m in data["models"]}
    assert models == {FLASH: 4, NATIVE: 3, "gemini-9-live": 1}

    status, out, _ = run(capsys, "--dsn", ledger, "--since", "3d", "--json", "--model", NATIVE)
    assert json.loads(out)["calls"] == 3


def test_text_report_is_a_readable_table(ledger: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--dsn", ledger, "--since", "7d")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Gemini Live cost, ")
    assert re.search(r"^calls\s+9 \(1 without known prices", out, re.M)
    assert re.search(r"^calls past soft / hard limit\s+2 / 1$", out, re.M)
    assert re.search(rf"^{re.escape(FLASH)}\s+5\s", out, re.M)
    assert re.search(r"^image/video\s+[\d.]+\s+[\d.]+%$", out, re.M)


class Page(HTMLParser):
    """Collects what the test checks: ids with their data, table cells, bars, external refs."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, dict[str, str]] = {}
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.rows: dict[str, list[list[dict[str, str]]]] = {}
        self.bars: dict[str, float] = {}
        self._table: str | None = None
        self._bar: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for key in ("src", "href", "xlink:href"):
            if key in values and not values[key].startswith("#"):
                self.refs.append(values[key])
        if "id" in values:
            self.data[values["id"]] = values
            if values["id"].startswith("table-"):
                self._table = values["id"].removeprefix("table-")
                self.rows[self._table] = []
            self._bar = values["id"] if values["id"].startswith("day-") else None
        if tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        if tag == "td" and self._table is not None:
            self.rows[self._table][-1].append(values)
        if tag == "path" and self._bar is not None and "d" in values:
            ys = [float(y) for y in re.findall(r"[ML]\s*[-\d.]+\s+([-\d.]+)", values["d"])]
            self.bars[self._bar] = max(ys) - min(ys)
            self._bar = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def test_html_report_figures_and_bars_match_the_rows(
    ledger: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = asyncio.run(rows_of(ledger, days=7))
    target = tmp_path / "costs.html"
    status, out, err = run(capsys, "--dsn", ledger, "--since", "7d", "--html", str(target))
    assert (status, out.strip(), err) == (0, f"wrote {target}", "")
    page = Page()
    page.feed(target.read_text(encoding="utf-8"))

    # Self-contained: no script, stylesheet link, image or frame, nothing fetched.
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert page.refs == []
    assert page.tags.count("svg") == 2

    priced = [r for r in rows if r.usd is not None]
    usd = [r.usd for r in priced if r.usd is not None]
    total = sum(usd, Decimal(0))
    assert Decimal(page.data["card-total"]["data-usd"]) == total
    assert int(page.data["card-calls"]["data-count"]) == 9
    assert Decimal(page.data["card-p95"]["data-usd"]) == nearest_rank(usd, 0.95)
    assert Decimal(page.data["card-max"]["data-usd"]) == max(usd)
    assert int(page.data["card-crossed-hard"]["data-count"]) == 1
    assert int(page.data["chart-calls"]["data-count"]) == len(usd)

    days = sorted({r.day for r in rows})
    table = page.rows["days"][1:]  # the header row has no cells
    assert len(table) == len(days)
    for cells, day in zip(table, days, strict=True):
        of_day = [r for r in priced if r.day == day]
        assert Decimal(cells[2]["data-usd"]) == sum((r.usd or 0 for r in of_day), Decimal(0))
        for cell, group in zip(cells[3:], GROUPS, strict=True):
            assert Decimal(cell["data-usd"]) == sum((r.split[group] for r in of_day), Decimal(0))

    # The stacked bars are drawn to scale: each bar's height over its value is one constant.
    scales = []
    for day in days:
        for group in GROUPS:
            value = sum((r.split[group] for r in priced if r.day == day), Decimal(0))
            bar = f"day-{day.isoformat()}-{group}"
            if value:
                scales.append(page.bars[bar] / float(value))
    assert len(scales) >= 3 * len(days)
    assert max(scales) / min(scales) == pytest.approx(1.0, rel=0.01)


def test_an_empty_period_is_one_line_and_exit_2(
    ledger: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys, "--dsn", ledger, "--since", "2020-01-01", "--until", "2020-02-01"
    )
    assert (status, out) == (2, "")
    assert err.startswith("error: no calls in medvision.cost_ledger from 2020-01-01 00:00")
    assert err.count("\n") == 1


async def test_a_database_without_the_schema_is_one_line_and_exit_2(pg_dsn: str) -> None:
    """The real entry point, in its own process: one line on stderr, no traceback, no DSN."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "livekit_plugins_medvision",
        "costs",
        "report",
        "--dsn",
        pg_dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    assert (process.returncode, out) == (2, b"")
    message = err.decode()
    assert message.startswith("error: this database has no medvision.cost_ledger: run ")
    assert message.count("\n") == 1
    assert pg_dsn not in message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "a week"], "error: --since 'a week' is not a span such as 7d, 12h"),
        (["--since", "1d", "--until", "2d"], "error: --since must be before --until"),
        (["--dsn", "mysql://user:secret@x/db"], "error: --dsn is not a PostgreSQL connection URI"),
        (["--dsn", ""], "error: no database: pass --dsn or set DATABASE_URL"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "secret" not in err


def test_html_without_matplotlib_names_the_extra(
    ledger: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from livekit_plugins_medvision.costs import reporting

    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    monkeypatch.delitem(sys.modules, "livekit_plugins_medvision.costs.reporting.charts", False)
    monkeypatch.delattr(reporting, "charts", raising=False)
    status, out, err = run(capsys, "--dsn", ledger, "--html", str(tmp_path / "r.html"))
    assert (status, out) == (2, "")
    assert err == (
        "error: --html: the HTML cost reports need the 'report' extra (matplotlib): "
        'pip install "livekit-plugins-medvision[report]"\n'
    )
    assert not (tmp_path / "r.html").exists()


def test_a_dsn_without_sslmode_asks_for_a_verified_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the provider: no sslmode means verify-full, so a server without TLS is refused."""
    server = start_embedded_postgres(
        tmp_path / "data", listen_tcp=True, durable=False, delete_on_close=True
    )
    try:
        # the embedded build has no TLS; over TCP without sslmode, no silent cleartext
        cleartext = server.dsn_for("postgres", tcp=True).replace("?sslmode=disable", "")
        status, out, err = run(capsys, "--dsn", cleartext)
    finally:
        server.close()
    assert (status, out) == (1, "")
    assert err.startswith("error: cannot reach the database")
