"""Patient lookups: one pool per job against a new connection per lookup, with and without TLS.

Runs an embedded PostgreSQL listening on 127.0.0.1 (TCP clients log in with SCRAM-SHA-256, as on
a production server) and, for TLS, a TLS-terminating proxy in a
child process (the embedded build has no SSL): it answers the client's SSLRequest with ``S``,
completes the handshake with a trustme certificate, and pipes bytes to the plain server. Both
ways run the same read: the provider's read-only transaction with its statement timeout and the
reference lookup statement (the access audit is off in both, as the reviewed code had none).

    python benchmarks/patient_lookup.py            # full run
    python benchmarks/patient_lookup.py --quick    # about 10 s, to check the script

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
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

import asyncpg
import trustme

from livekit_plugins_medvision.patients import (
    DEMO_PATIENT_IDS,
    REFERENCE_QUERIES,
    PatientContextProvider,
    start_embedded_postgres,
)

RESULTS = Path(__file__).parent / "results" / "patient_lookup.json"
CONCURRENCY = (1, 10, 50)
POOL_MAX_SIZE = 4
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
PASSWORD = "bench-only-secret"

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


# --- the TLS-terminating proxy (runs in a child process, so it has a core of its own) ---------


def run_proxy(listen_port: int, upstream_port: int, cert: str, key: str, ready: Event) -> None:
    asyncio.run(_proxy(listen_port, upstream_port, cert, key, ready))


async def _proxy(listen_port: int, upstream_port: int, cert: str, key: str, ready: Event) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if await reader.readexactly(8) != SSL_REQUEST:
                writer.close()
                return
            writer.write(b"S")
            await writer.drain()
            await writer.start_tls(context)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=512)
    ready.set()
    async with server:
        await server.serve_forever()


# --- the two ways of looking a patient up -------------------------------------------------------


LOOKUP_SQL = REFERENCE_QUERIES.lookup_statement()
# what the provider sends to open its read (default statement_timeout of 2 s)
BEGIN_SQL = "BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 2000"


async def read_with_new_connection(dsn: str, tls: ssl.SSLContext | None, patient_id: str) -> None:
    """The reviewed pattern: connect, run the provider's read, close."""
    conn = await asyncpg.connect(dsn, ssl=tls)
    try:
        await conn.execute(BEGIN_SQL)
        await conn.fetchrow(LOOKUP_SQL, patient_id)
        await conn.execute("COMMIT")
    finally:
        await conn.close()


async def require_passwords(provider: PatientContextProvider, data_dir: Path) -> None:
    """Make TCP clients log in with SCRAM-SHA-256, as production servers do (initdb: trust)."""
    async with provider.pool.acquire() as conn:
        await conn.execute(f"ALTER USER postgres PASSWORD '{PASSWORD}'")
        (data_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        await conn.execute("SELECT pg_reload_conf()")


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


async def benchmark(per_session: dict[int, int], work_dir: Path) -> list[Row]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = work_dir / "cert.pem", work_dir / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for blob in leaf.cert_chain_pems[1:]:
        blob.write_to_path(str(cert), append=True)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)

    server = await asyncio.to_thread(
        start_embedded_postgres,
        work_dir / "pg",
        listen_tcp=True,
        durable=False,
        delete_on_close=True,
    )
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    proxy_port = _free_port()
    proxy = spawn.Process(
        target=run_proxy, args=(proxy_port, server.port, str(cert), str(key), ready), daemon=True
    )
    proxy.start()
    try:
        async with await PatientContextProvider.connect(server.dsn) as setup:
            await setup.seed_demo()
            await require_passwords(setup, server.data_dir)
        if not await asyncio.to_thread(ready.wait, 30):
            raise RuntimeError("the TLS proxy did not start")
        admin = await asyncpg.connect(server.dsn)
        try:
            rows: list[Row] = []
            for tls in (False, True):
                port = proxy_port if tls else server.port
                dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
                tls_context = client_tls if tls else None
                for sessions in CONCURRENCY:
                    n = per_session[sessions]
                    rows.append(
                        await measure(
                            "connect-per-call",
                            tls,
                            sessions,
                            n,
                            functools.partial(read_with_new_connection, dsn, tls_context),
                            admin,
                        )
                    )
                    async with await PatientContextProvider.connect(
                        dsn, min_size=1, max_size=POOL_MAX_SIZE, audit=False, ssl=tls_context
                    ) as provider:
                        for pid in DEMO_PATIENT_IDS:  # warm: connections open, statements prepared
                            await provider.get_patient_context(pid)
                        rows.append(
                            await measure(
                                "pooled", tls, sessions, n * 4, provider.get_patient_context, admin
                            )
                        )
            return rows
        finally:
            await admin.close()
    finally:
        proxy.terminate()
        proxy.join(10)
        await asyncio.to_thread(server.close)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def report(rows: list[Row]) -> list[dict[str, float | bool]]:
    header = (
        f"{'mode':<17} {'tls':<4} {'sessions':>8} {'lookups':>8} {'p50 ms':>9} {'p99 ms':>9}"
        f" {'lookups/s':>10} {'peak conns':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.mode:<17} {'on' if r.tls else 'off':<4} {r.sessions:>8} {r.lookups:>8}"
            f" {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} {r.lookups_per_s:>10.0f}"
            f" {r.peak_server_connections:>10}"
        )
    ratios: list[dict[str, float | bool]] = []
    print("\nratios (connect-per-call / pooled)")
    for tls in (False, True):
        for sessions in CONCURRENCY:
            per_call, pooled = (
                next(r for r in rows if (r.mode, r.tls, r.sessions) == (m, tls, sessions))
                for m in ("connect-per-call", "pooled")
            )
            ratio = {
                "tls": tls,
                "sessions": sessions,
                "p50_ratio": round(per_call.p50_ms / pooled.p50_ms, 1),
                "throughput_ratio": round(pooled.lookups_per_s / per_call.lookups_per_s, 1),
                "pooled_connections_bounded": pooled.peak_server_connections <= POOL_MAX_SIZE,
            }
            ratios.append(ratio)
            print(
                f"  tls {'on ' if tls else 'off'} sessions {sessions:>2}: p50 {ratio['p50_ratio']}x"
                f" lower pooled, {ratio['throughput_ratio']}x the lookups/s, server connections"
                f" {pooled.peak_server_connections} pooled vs"
                f" {per_call.peak_server_connections} per call"
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
    with tempfile.TemporaryDirectory(prefix="medvision-bench-") as tmp:
        rows = asyncio.run(benchmark(per_session, Path(tmp)))
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
                "rows": [asdict(r) for r in rows],
                "ratios": ratios,
            },
            indent=2,
        )
    )
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
