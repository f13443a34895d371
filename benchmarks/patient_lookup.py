"""Patient lookups with the access audit on: one pool per job against a new connection per lookup.

Runs Debian's PostgreSQL 15 (``tests/support/pg15.py``: durable, fsync on, TCP clients log in
with SCRAM-SHA-256, TLS with a trustme certificate) and measures, over TCP on 127.0.0.1 without
and with TLS (verify-full, as the provider connects by default), both ways of reading a patient
as production reads one: the provider's read-only transaction with its statement timeout and
the reference lookup statement, then the access-audit row.

    python benchmarks/patient_lookup.py            # full run
    python benchmarks/patient_lookup.py --quick    # about 15 s, to check the script

Prints a table with the ratios and writes ``benchmarks/results/patient_lookup.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import platform
import ssl
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg

from livekit_plugins_medvision.patients import (
    DEFAULT_PURPOSE,
    DEMO_PATIENT_IDS,
    REFERENCE_QUERIES,
    PatientContextProvider,
)

# the test helpers' real PostgreSQL 15 server, shared with the TLS tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.pg15 import Pg15Server, start_pg15

RESULTS = Path(__file__).parent / "results" / "patient_lookup.json"
CONCURRENCY = (1, 10, 50)
POOL_MAX_SIZE = 4

Lookup = Callable[[str], Awaitable[object]]


@dataclass
class Row:
    """One measured configuration."""

    mode: str
    tls: bool
    sessions: int
    lookups: int
    p50_ms: float
    p99_ms: float
    lookups_per_s: float
    peak_server_connections: int


# --- the two ways of looking a patient up -------------------------------------------------------


LOOKUP_SQL = REFERENCE_QUERIES.lookup_statement()
AUDIT_SQL = REFERENCE_QUERIES.audit or ""
# what the provider sends to open its read (default statement_timeout of 2 s)
BEGIN_SQL = "BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 2000"


async def read_with_new_connection(dsn: str, tls: ssl.SSLContext | None, patient_id: str) -> None:
    """The anchor: connect, run the provider's read and write its audit row, close."""
    conn = await asyncpg.connect(dsn, ssl=tls if tls is not None else False)
    try:
        await conn.execute(BEGIN_SQL)
        row = await conn.fetchrow(LOOKUP_SQL, patient_id)
        await conn.execute("COMMIT")
        found = row is not None and row["patient"] is not None
        await conn.execute(AUDIT_SQL, patient_id, found, None, None, DEFAULT_PURPOSE)
    finally:
        await conn.close()


async def audited_read(provider: PatientContextProvider, patient_id: str) -> object:
    """Ours: the provider's lookup, with its audit row when the provider audits (the default)."""
    return await provider.get_patient_context(patient_id, job_id="bench")


async def count_connections(admin: asyncpg.Connection[asyncpg.Record]) -> int:
    count = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    return int(count)


async def measure(
    mode: str,
    tls: bool,
    sessions: int,
    per_session: int,
    lookup: Lookup,
    admin: asyncpg.Connection[asyncpg.Record],
) -> Row:
    latencies: list[float] = []
    peak = 0
    running = True

    async def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, await count_connections(admin))
            await asyncio.sleep(0.002)

    async def session(index: int) -> None:
        for i in range(per_session):
            started = time.perf_counter()
            await lookup(DEMO_PATIENT_IDS[(index + i) % len(DEMO_PATIENT_IDS)])
            latencies.append(time.perf_counter() - started)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(sessions)))
    elapsed = time.perf_counter() - started
    running = False
    await sampler
    latencies.sort()
    return Row(
        mode=mode,
        tls=tls,
        sessions=sessions,
        lookups=len(latencies),
        p50_ms=round(statistics.median(latencies) * 1000, 3),
        p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 3),
        lookups_per_s=round(len(latencies) / elapsed, 1),
        peak_server_connections=peak,
    )


async def benchmark(per_session: dict[int, int], server: Pg15Server) -> list[Row]:
    plain = server.dsn(sslmode="disable")  # loopback, no TLS asked for
    async with await PatientContextProvider.connect(plain) as setup:
        await setup.seed_demo()
    admin = await asyncpg.connect(plain)
    try:
        rows: list[Row] = []
        for tls in (False, True):
            # with TLS: verify-full against the server's authority, as the provider insists on
            dsn = server.dsn() if tls else plain
            context = server.client_context() if tls else None
            for sessions in CONCURRENCY:
                n = per_session[sessions]
                rows.append(
                    await measure(
                        "connect-per-call",
                        tls,
                        sessions,
                        n,
                        functools.partial(read_with_new_connection, dsn, context),
                        admin,
                    )
                )
                # end to end (the audit on, as production runs), then the read alone
                for mode, audit in (("pooled", True), ("pooled, audit off", False)):
                    async with await PatientContextProvider.connect(
                        dsn, min_size=1, max_size=POOL_MAX_SIZE, ssl=context, audit=audit
                    ) as provider:
                        for pid in DEMO_PATIENT_IDS:  # warm: connections open, statements ready
                            await provider.get_patient_context(pid)
                        rows.append(
                            await measure(
                                mode,
                                tls,
                                sessions,
                                n * 4,
                                functools.partial(audited_read, provider),
                                admin,
                            )
                        )
        return rows
    finally:
        await admin.close()


def report(rows: list[Row]) -> list[dict[str, float | bool]]:
    header = (
        f"{'mode':<18} {'tls':<4} {'sessions':>8} {'lookups':>8} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'lookups/s':>10} {'peak conns':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.mode:<18} {'on' if r.tls else 'off':<4} {r.sessions:>8} {r.lookups:>8}"
            f" {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} {r.lookups_per_s:>10.0f}"
            f" {r.peak_server_connections:>10}"
        )
    ratios: list[dict[str, float | bool]] = []
    print("\nratios (connect-per-call / pooled)")
    for tls in (False, True):
        for sessions in CONCURRENCY:
            per_call, pooled, read_only = (
                next(r for r in rows if (r.mode, r.tls, r.sessions) == (m, tls, sessions))
                for m in ("connect-per-call", "pooled", "pooled, audit off")
            )
            ratio = {
                "tls": tls,
                "sessions": sessions,
                "p50_ratio": round(per_call.p50_ms / pooled.p50_ms, 1),
                "throughput_ratio": round(pooled.lookups_per_s / per_call.lookups_per_s, 1),
                "pooled_connections_bounded": pooled.peak_server_connections <= POOL_MAX_SIZE,
                "audit_share_of_pooled_p50": round(1 - read_only.p50_ms / pooled.p50_ms, 2),
            }
            ratios.append(ratio)
            print(
                f"  tls {'on ' if tls else 'off'} sessions {sessions:>2}: p50 {ratio['p50_ratio']}x"
                f" lower pooled, {ratio['throughput_ratio']}x the lookups/s, server connections"
                f" {pooled.peak_server_connections} pooled vs"
                f" {per_call.peak_server_connections} per call; the audit row is"
                f" {ratio['audit_share_of_pooled_p50']:.0%} of the pooled p50"
            )
    tls_ok = all(r["p50_ratio"] >= 10 for r in ratios if r["tls"])
    bounded = all(r["pooled_connections_bounded"] for r in ratios)
    print(f"\ntarget pooled p50 >= 10x lower with TLS: {'met' if tls_ok else 'NOT met'}")
    verdict = "met" if bounded else "NOT met"
    print(f"target pooled connections <= max_size ({POOL_MAX_SIZE}): {verdict}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few lookups, to check the script")
    args = parser.parse_args()
    # lookups per session for the connect-per-call runs; pooled runs do 4x as many
    per_session = {1: 20, 10: 5, 50: 2} if args.quick else {1: 200, 10: 50, 50: 20}
    with start_pg15(durable=True) as server:  # fsync on: audit rows are really written
        rows = asyncio.run(benchmark(per_session, server))
    ratios = report(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "machine": {
                    "python": platform.python_version(),
                    "cpus": multiprocessing.cpu_count(),
                },
                "pool_max_size": POOL_MAX_SIZE,
                "server": "PostgreSQL 15 (Debian), durable, TLS verify-full when on",
                "audit": True,
                "rows": [asdict(r) for r in rows],
                "ratios": ratios,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
