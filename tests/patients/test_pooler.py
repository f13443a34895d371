"""Through a real PgBouncer in transaction mode: lookups, migrations, and the pooler's faults."""

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from livekit_plugins_medvision import (
    PatientContextError,
    PatientContextProvider,
    PatientContextUnavailable,
)
from livekit_plugins_medvision.patients import (
    DEMO_PATIENT_IDS,
    EmbeddedPostgres,
    PoolMode,
    start_embedded_postgres,
)
from livekit_plugins_medvision.patients.migrations import load_migrations
from tests.support.pgbouncer import PgBouncer, find_pgbouncer

pytestmark = pytest.mark.db

_PATIENT = DEMO_PATIENT_IDS[0]
# A lookup that times out mid-statement may add the provider's rollback grace (1 s) before its
# connection is dropped; half a second more for a loaded machine.
_GRACE_S = 1.5


def _bouncer(server: EmbeddedPostgres, pool_size: int) -> PgBouncer:
    if find_pgbouncer() is None:
        if os.environ.get("CI"):
            pytest.fail(
                "pgbouncer is missing: `make pytest` installs it (scripts/system-packages.sh)"
            )
        pytest.skip("pgbouncer is not installed: run `bash scripts/system-packages.sh` as root")
    return PgBouncer.start(
        str(server.socket_dir),
        server.port,
        owner_uid=server.data_dir.stat().st_uid,
        pool_size=pool_size,
    )


@pytest.fixture
def bouncer(postgres_server: EmbeddedPostgres) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode with two server connections per database."""
    with _bouncer(postgres_server, pool_size=2) as bouncer:
        yield bouncer


def _database(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def _seed(pg_dsn: str) -> None:
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.seed_demo()


async def _lookups(dsn: str, *, jobs: int, each: int, pool_mode: PoolMode) -> list[BaseException]:
    """``jobs`` providers (one per simulated call) doing ``each`` audited lookups at once."""
    errors: list[BaseException] = []

    async def job(n: int) -> None:
        async with await PatientContextProvider.connect(dsn, pool_mode=pool_mode) as provider:
            for _ in range(each):
                try:
                    context = await provider.get_patient_context(_PATIENT, job_id=f"job-{n}")
                    assert context is not None
                except PatientContextError as exc:
                    errors.append(exc)

    await asyncio.gather(*(job(n) for n in range(jobs)))
    return errors


async def test_transaction_mode_reads_and_audits_through_pgbouncer(
    pg_dsn: str, bouncer: PgBouncer
) -> None:
    await _seed(pg_dsn)
    dsn = bouncer.dsn_for(_database(pg_dsn))

    errors = await _lookups(dsn, jobs=16, each=10, pool_mode="transaction")

    assert errors == []
    conn = await asyncpg.connect(pg_dsn)
    try:
        audited = await conn.fetchval("SELECT count(*) FROM medvision.access_audit")
        server_side = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            _database(pg_dsn),
        )
    finally:
        await conn.close()
    assert audited == 160
    assert server_side <= bouncer.pool_size  # 16 pools shared two server connections


async def test_session_mode_through_a_transaction_pooler_breaks_as_documented(
    pg_dsn: str, bouncer: PgBouncer
) -> None:
    """The contrast: asyncpg's statement cache through transaction pooling fails lookups."""
    await _seed(pg_dsn)

    errors = await _lookups(bouncer.dsn_for(_database(pg_dsn)), jobs=8, each=5, pool_mode="session")

    # prepared statements missing on, or clashing with, another server connection: 26000, 42P05
    assert any("SQLSTATE 26000" in str(e) or "SQLSTATE 42P05" in str(e) for e in errors)


async def test_concurrent_migrations_through_pgbouncer_apply_each_once(
    pg_dsn: str, bouncer: PgBouncer
) -> None:
    dsn = bouncer.dsn_for(_database(pg_dsn))
    providers = [
        await PatientContextProvider.connect(dsn, min_size=0, pool_mode="transaction")
        for _ in range(4)
    ]
    try:
        results = await asyncio.gather(*(p.migrate() for p in providers))
        await providers[0].seed_demo()
        assert await providers[1].get_patient_context(_PATIENT) is not None
    finally:
        for p in providers:
            await p.aclose()
    assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations())]
    conn = await asyncpg.connect(pg_dsn)
    try:
        versions = await conn.fetch("SELECT version FROM medvision.schema_migrations")
    finally:
        await conn.close()
    assert sorted(r["version"] for r in versions) == [m.version for m in load_migrations()]


async def test_pool_exhausted_is_unavailable_within_the_lookup_timeout(
    pg_dsn: str, postgres_server: EmbeddedPostgres
) -> None:
    await _seed(pg_dsn)
    with _bouncer(postgres_server, pool_size=1) as bouncer:
        dsn = bouncer.dsn_for(_database(pg_dsn))
        async with await PatientContextProvider.connect(
            dsn, pool_mode="transaction", lookup_timeout=0.5
        ) as provider:
            holder = await asyncpg.connect(dsn, statement_cache_size=0)
            try:
                await holder.execute("BEGIN")  # holds the only server connection
                started = time.perf_counter()
                with pytest.raises(PatientContextUnavailable, match="no answer within 0.5 s"):
                    await provider.get_patient_context(_PATIENT)
                assert time.perf_counter() - started < 0.5 + _GRACE_S
                await holder.execute("COMMIT")
            finally:
                await holder.close()
            assert await provider.get_patient_context(_PATIENT) is not None


async def test_pgbouncer_down_is_unavailable_and_the_pool_recovers(
    pg_dsn: str, bouncer: PgBouncer
) -> None:
    await _seed(pg_dsn)
    async with await PatientContextProvider.connect(
        bouncer.dsn_for(_database(pg_dsn)),
        pool_mode="transaction",
        lookup_timeout=2.0,
        connect_timeout=1.0,
    ) as provider:
        assert await provider.get_patient_context(_PATIENT) is not None

        bouncer.kill()
        for _ in range(3):  # refused, every time, within the lookup's limit
            started = time.perf_counter()
            with pytest.raises(PatientContextUnavailable, match="database unavailable"):
                await provider.get_patient_context(_PATIENT)
            assert time.perf_counter() - started < 2.0 + _GRACE_S

        await asyncio.to_thread(bouncer.resume)
        results = await asyncio.gather(
            *(provider.get_patient_context(pid) for pid in DEMO_PATIENT_IDS)
        )
        assert results[0] is not None


async def test_database_down_behind_pgbouncer_is_unavailable_and_recovers(
    server_dir: Path,
) -> None:
    with start_embedded_postgres(server_dir / "pg", durable=False, delete_on_close=True) as server:
        await _seed(server.dsn)
        with _bouncer(server, pool_size=2) as bouncer:
            async with await PatientContextProvider.connect(
                bouncer.dsn_for("postgres"), pool_mode="transaction", lookup_timeout=1.0
            ) as provider:
                assert await provider.get_patient_context(_PATIENT) is not None

                await asyncio.to_thread(server.stop)
                started = time.perf_counter()
                with pytest.raises(PatientContextUnavailable):
                    await provider.get_patient_context(_PATIENT)
                assert time.perf_counter() - started < 1.0 + _GRACE_S

                await asyncio.to_thread(server.start)
                # PgBouncer refuses at once until its next server login (server_login_retry = 1 s)
                deadline = time.monotonic() + 10
                while True:
                    try:
                        assert await provider.get_patient_context(_PATIENT) is not None
                        break
                    except PatientContextUnavailable:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.1)
                assert time.monotonic() - deadline < -7  # back within about a retry interval
