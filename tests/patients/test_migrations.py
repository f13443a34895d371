import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from livekit_plugins_medvision import PatientContextProvider
from livekit_plugins_medvision.__main__ import main
from livekit_plugins_medvision.patients import DEMO_CLINIC_ID, DEMO_PATIENT_IDS
from livekit_plugins_medvision.patients.migrations import _LOCK_KEY, load_migrations

from .activity import wait_until_running

pytestmark = pytest.mark.db


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'medvision'"
        )
        return {str(row["table_name"]) for row in rows}
    finally:
        await conn.close()


async def test_migrate_creates_the_reference_schema_once(pg_dsn: str) -> None:
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        first = await provider.migrate()
        assert first == [f"{m.version:04d}_{m.name}" for m in load_migrations()]
        assert await provider.migrate() == []
    assert await _tables(pg_dsn) >= {
        "schema_migrations",
        "clinics",
        "patients",
        "allergies",
        "medications",
        "conditions",
        "vital_signs",
        "care_notes",
        "avatar_configs",
        "access_audit",
        "cost_ledger",
    }


async def test_concurrent_workers_apply_each_migration_exactly_once(pg_dsn: str) -> None:
    providers = [await PatientContextProvider.connect(pg_dsn, min_size=0) for _ in range(4)]
    try:
        results = await asyncio.gather(*(p.migrate() for p in providers))
    finally:
        for p in providers:
            await p.aclose()
    assert sorted(len(r) for r in results) == [0, 0, 0, len(load_migrations())]
    conn = await asyncpg.connect(pg_dsn)
    try:
        count = await conn.fetchval("SELECT count(*) FROM medvision.schema_migrations")
    finally:
        await conn.close()
    assert count == len(load_migrations())


async def test_a_worker_waits_for_another_migrating_beyond_command_timeout(pg_dsn: str) -> None:
    async with await PatientContextProvider.connect(pg_dsn, command_timeout=0.3) as provider:
        holder = await asyncpg.connect(pg_dsn)
        try:
            async with holder.transaction():
                # another worker mid-migration: it holds the lock longer than command_timeout
                await holder.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                waiting = asyncio.create_task(provider.migrate())
                await wait_until_running(pg_dsn, "pg_advisory_xact_lock")
                await holder.execute("SELECT pg_sleep(0.6)")  # deliberately past 0.3 s
            assert await waiting == [f"{m.version:04d}_{m.name}" for m in load_migrations()]
        finally:
            await holder.close()


async def test_cost_ledger_has_the_agreed_columns(pg_dsn: str) -> None:
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.migrate()
        async with provider.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'medvision' AND table_name = 'cost_ledger'"
                " ORDER BY ordinal_position"
            )
            await conn.execute(
                "INSERT INTO medvision.cost_ledger (model, turns, session_seconds, report)"
                " VALUES ('gemini-live', 3, 12.5, '{}')"
            )
    assert [(r["column_name"], r["data_type"], r["is_nullable"]) for r in rows] == [
        ("id", "bigint", "NO"),
        ("recorded_at", "timestamp with time zone", "NO"),
        ("job_id", "text", "YES"),
        ("room_hash", "text", "YES"),
        ("patient_hash", "text", "YES"),
        ("model", "text", "NO"),
        ("turns", "integer", "NO"),
        ("session_seconds", "double precision", "NO"),
        ("total_usd", "numeric", "YES"),
        ("report", "jsonb", "NO"),
    ]


async def test_seed_demo_is_idempotent(pg_dsn: str) -> None:
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.seed_demo()
        await provider.seed_demo()
        async with provider.pool.acquire() as conn:
            ids = [
                r["id"] for r in await conn.fetch("SELECT id FROM medvision.patients ORDER BY id")
            ]
            notes = await conn.fetchval("SELECT count(*) FROM medvision.care_notes")
            avatars = await conn.fetch(
                "SELECT provider, enabled FROM medvision.avatar_configs WHERE clinic_id = $1",
                DEMO_CLINIC_ID,
            )
    assert ids == list(DEMO_PATIENT_IDS)
    assert notes == 3
    assert sorted((r["provider"], r["enabled"]) for r in avatars) == [
        ("bey", False),
        ("tavus", True),
    ]


async def test_cli_migrates_as_a_subprocess(pg_dsn: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [sys.executable, "-m", "livekit_plugins_medvision", "db", "migrate", "--dsn", pg_dsn]
    migrated = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "0001_reference_schema" in migrated.stdout
    assert "cost_ledger" in await _tables(pg_dsn)


async def test_cli_seeds_from_database_url(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_dsn)
    assert await asyncio.to_thread(main, ["db", "seed-demo"]) == 0
    assert "demo data present" in capsys.readouterr().out
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        assert await provider.get_patient_context(DEMO_PATIENT_IDS[0]) is not None


def test_cli_needs_a_dsn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["db", "migrate"])
    assert exited.value.code == 2
    assert "DATABASE_URL" in capsys.readouterr().err


def test_cli_rejects_a_malformed_dsn_without_quoting_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for dsn in ("not-a-dsn", "postgresql://u:secret-pw@[malformed/db"):
        with pytest.raises(SystemExit) as exited:
            main(["db", "migrate", "--dsn", dsn])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert "dsn: " in err
        assert "secret-pw" not in err


def test_cli_reports_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "migrate", "--dsn", "postgresql://postgres@127.0.0.1:1/none"]) == 1
    assert "could not open the patient database pool" in capsys.readouterr().err
