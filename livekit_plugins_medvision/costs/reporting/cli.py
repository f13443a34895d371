"""``python -m livekit_plugins_medvision costs report``: where the money went, from the ledger.

Bad input (a period that does not parse, a DSN that is not one or whose database has no
``medvision.cost_ledger``, a period with no calls) ends with one line on stderr and exit
status 2; a database that cannot be reached, with status 1. The DSN is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
from pathlib import Path

import asyncpg

from ...patients.tls import tls_for
from .html import ledger_html
from .period import parse_moment
from .summary import LedgerCall, LedgerRowError, LedgerSummary, fetch_calls, summarize
from .text import render_text

__all__ = ["add_costs_commands", "run_costs"]

BAD_INPUT = 2
UNAVAILABLE = 1


class _Refused(Exception):
    """One line for the user, and the exit status."""

    def __init__(self, message: str, status: int = BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def add_costs_commands(costs: argparse.ArgumentParser) -> None:
    """Add ``report`` to the ``costs`` command group of the package's command line."""
    commands = costs.add_subparsers(dest="command", required=True)
    report = commands.add_parser(
        "report",
        help="totals per day, model and modality from medvision.cost_ledger",
        description=(
            "Totals per day, model and modality; cost per call (p50, p95, max) and per minute; "
            "calls past their soft or hard limit; the image/video share. Text by default."
        ),
    )
    report.add_argument("--dsn", help="PostgreSQL connection URI (default: $DATABASE_URL)")
    report.add_argument(
        "--since", default="7d", help="start: a span back from now (7d, 12h, 2w) or a date"
    )
    report.add_argument("--until", default=None, help="end (excluded): same forms; default now")
    report.add_argument("--model", default=None, help="only calls on this Gemini model")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON for machines")
    output.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained page")


def run_costs(args: argparse.Namespace, *, now: datetime.datetime | None = None) -> int:
    """Run ``costs report`` as parsed; return the exit status."""
    try:
        print(asyncio.run(_report(args, now or datetime.datetime.now(datetime.UTC))))
    except _Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return refused.status
    return 0


async def _report(args: argparse.Namespace, now: datetime.datetime) -> str:
    since, until = _period(args.since, args.until, now)
    dsn: str | None = args.dsn or os.environ.get("DATABASE_URL")
    if not dsn:
        raise _Refused("no database: pass --dsn or set DATABASE_URL")
    model: str | None = args.model
    summary = await _summary(dsn, since=since, until=until, model=model)
    if args.json:
        return json.dumps(summary.to_dict(), indent=2)
    if args.html is not None:
        return _write_html(summary, args.html, now)
    return render_text(summary)


def _period(
    since_text: str, until_text: str | None, now: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    try:
        since = parse_moment(since_text, now=now, option="--since")
        until = now if until_text is None else parse_moment(until_text, now=now, option="--until")
    except ValueError as error:
        raise _Refused(str(error)) from None
    if since >= until:
        raise _Refused("--since must be before --until")
    return since, until


async def _summary(
    dsn: str, *, since: datetime.datetime, until: datetime.datetime, model: str | None
) -> LedgerSummary:
    connection = await _connect(dsn)
    failure: _Refused | None = None
    calls: list[LedgerCall] = []
    try:
        calls = await fetch_calls(connection, since=since, until=until, model=model)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        failure = _Refused(
            "this database has no medvision.cost_ledger: run "
            "`python -m livekit_plugins_medvision db migrate` first, or check the DSN"
        )
    except (asyncpg.DataError, LedgerRowError):
        failure = _Refused("a ledger row holds a report that is not a cost report", UNAVAILABLE)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        failure = _Refused(f"the ledger query failed ({type(error).__name__})", UNAVAILABLE)
    finally:
        await connection.close()
    if failure is not None:
        raise failure
    if not calls:
        scope = f" on {model}" if model else ""
        raise _Refused(
            f"no calls{scope} in medvision.cost_ledger from {since:%Y-%m-%d %H:%M} to "
            f"{until:%Y-%m-%d %H:%M} UTC: widen --since or check --model"
        )
    return summarize(calls, since=since, until=until, model=model)


async def _connect(dsn: str) -> asyncpg.Connection[asyncpg.Record]:
    failure: _Refused | None = None
    try:
        # verify-full unless the DSN says otherwise, as for the patient database
        return await asyncpg.connect(dsn, timeout=10, ssl=tls_for(dsn, None))
    except (ValueError, asyncpg.InterfaceError):
        # asyncpg's message may quote the DSN, password included: keep only what went wrong.
        failure = _Refused("--dsn is not a PostgreSQL connection URI (postgresql://...)")
    except asyncpg.InvalidAuthorizationSpecificationError:
        failure = _Refused("the database refused the login: check the DSN's user and password")
    except asyncpg.InvalidCatalogNameError:
        failure = _Refused("the database named in the DSN does not exist")
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        failure = _Refused(f"cannot reach the database ({type(error).__name__})", UNAVAILABLE)
    # raised outside the handlers, so no traceback context carries asyncpg's message
    raise failure


def _write_html(summary: LedgerSummary, path: Path, now: datetime.datetime) -> str:
    try:
        page = ledger_html(summary, generated_at=now)
    except ModuleNotFoundError as error:
        raise _Refused(f"--html: {error}") from None
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as error:
        raise _Refused(f"cannot write {path} ({error.strerror or type(error).__name__})") from None
    return f"wrote {path}"
