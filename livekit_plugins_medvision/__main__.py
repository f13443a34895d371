"""Command line: ``python -m livekit_plugins_medvision db migrate|seed-demo [--dsn DSN]``.

``db migrate`` creates or updates the reference schema; ``db seed-demo`` also inserts the demo
clinic and its fictional patients. The DSN comes from ``--dsn`` or ``DATABASE_URL``.
``costs report`` totals ``medvision.cost_ledger`` (see ``costs.reporting.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from .costs.reporting.cli import add_costs_commands, run_costs
from .errors import PatientContextError
from .patients import PatientContextProvider


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m livekit_plugins_medvision")
    groups = parser.add_subparsers(dest="group", required=True)
    db = groups.add_parser("db", help="manage the patient database")
    db.add_argument(
        "command",
        choices=["migrate", "seed-demo"],
        help="migrate: create or update the reference schema; seed-demo: also add the demo data",
    )
    db.add_argument("--dsn", help="PostgreSQL connection URI (default: $DATABASE_URL)")
    add_costs_commands(groups.add_parser("costs", help="report what Gemini Live calls cost"))
    args = parser.parse_args(argv)
    if args.group == "costs":
        return run_costs(args)

    dsn: str | None = args.dsn or os.environ.get("DATABASE_URL")
    if not dsn:
        parser.error("no database: pass --dsn or set DATABASE_URL")
    command: str = args.command
    try:
        print(asyncio.run(_run(command, dsn)))
    except ValueError as exc:  # a DSN asyncpg cannot use; the message never quotes it
        parser.error(str(exc))
    except PatientContextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(command: str, dsn: str) -> str:
    async with await PatientContextProvider.connect(dsn, min_size=1, max_size=1) as provider:
        applied = await provider.migrate()
        done = f"applied migrations: {', '.join(applied)}" if applied else "schema up to date"
        if command == "seed-demo":
            await provider.seed_demo()
            done += "; demo data present"
        return done


if __name__ == "__main__":
    sys.exit(main())
