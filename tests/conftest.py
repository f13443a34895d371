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

from livekit_plugins_medvision.patients.embedded import EmbeddedPostgres, start_embedded_postgres
from livekit_plugins_medvision.privacy import HASH_KEY_ENV

from .support.pg15 import Pg15Server, pg15_missing, start_pg15

# One hashing key for the whole run, subprocesses included, so hashes computed here match the
# ones a demo or worker process writes (without it every process draws its own random key).
os.environ.setdefault(HASH_KEY_ENV, "6d65647669736e6f6e2d7465737420686173682d6b6579")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server for the whole test session (fsync off), deleted at the end.

    Its folder is not under pytest's ``tmp_path``: pytest deletes all but its three newest base
    folders, so overlapping runs on one machine would remove a running server's data.
    """
    with tempfile.TemporaryDirectory(prefix="medvision-pg-") as folder:
        server = start_embedded_postgres(Path(folder) / "data", durable=False, delete_on_close=True)
        with server:
            yield server


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """An empty folder for a test's own PostgreSQL data directory, removed afterwards.

    Not pytest's ``tmp_path``, for the reason given in ``postgres_server``.
    """
    with tempfile.TemporaryDirectory(prefix="medvision-pg-") as folder:
        yield Path(folder)


@pytest.fixture
async def pg_dsn(postgres_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """The DSN of a brand-new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_server.dsn_for(name)
    admin = await asyncpg.connect(postgres_server.dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[Pg15Server]:
    """Debian's PostgreSQL 15 with TLS on (a trustme certificate), for the whole test session.

    Skips, saying why, where PostgreSQL 15 cannot be installed; in CI, where ``make pytest``
    installs it, its absence fails the test instead.
    """
    missing = pg15_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with start_pg15() as server:
        yield server
