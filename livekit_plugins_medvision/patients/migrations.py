"""The reference schema's versioned migrations and the demo seed, shipped as package data.

Migrations are ``sql/NNNN_name.sql`` files applied in order, each once, recorded in
``medvision.schema_migrations``. Everything runs in one transaction holding an advisory lock, so
two workers starting at once apply each migration exactly once and a failed migration leaves
nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

__all__ = [
    "DEMO_CLINIC_ID",
    "DEMO_PATIENT_IDS",
    "Migration",
    "apply_migrations",
    "load_migrations",
    "seed_demo",
]

DEMO_CLINIC_ID = "demo-clinic"
"""The clinic that ``seed_demo`` creates."""

DEMO_PATIENT_IDS = ("demo-0001", "demo-0002", "demo-0003")
"""The fictional patients that ``seed_demo`` creates: a full record, an empty one, and one whose
care note tries a prompt injection."""

# pg_advisory_xact_lock key: the bytes "medvisio" as a signed 64-bit integer.
_LOCK_KEY = int.from_bytes(b"medvisio", "big", signed=True)
# Per statement, instead of the pool's command_timeout (seconds, sized for lookups): a worker
# may wait on the lock while another migrates, and a migration may take a while.
_STATEMENT_TIMEOUT_S = 60.0
_FILE = re.compile(r"(\d{4})_(\w+)\.sql")
_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS medvision;
CREATE TABLE IF NOT EXISTS medvision.schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    """One versioned SQL file."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Return the packaged migrations in version order."""
    found: list[Migration] = []
    for entry in resources.files(__package__).joinpath("sql").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


async def apply_migrations(pool: asyncpg.Pool[asyncpg.Record]) -> list[str]:
    """Apply the migrations not applied yet; return their names (empty when up to date)."""
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1)", _LOCK_KEY, timeout=_STATEMENT_TIMEOUT_S
        )
        await conn.execute(_BOOTSTRAP, timeout=_STATEMENT_TIMEOUT_S)
        rows = await conn.fetch("SELECT version FROM medvision.schema_migrations")
        done = {row["version"] for row in rows}
        for migration in load_migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql, timeout=_STATEMENT_TIMEOUT_S)
            await conn.execute(
                "INSERT INTO medvision.schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(f"{migration.version:04d}_{migration.name}")
    return applied


async def seed_demo(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    """Insert the demo clinic, its avatar configuration and the fictional patients, once."""
    sql = resources.files(__package__).joinpath("sql", "seed_demo.sql").read_text(encoding="utf-8")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(sql, timeout=_STATEMENT_TIMEOUT_S)
