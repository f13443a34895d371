import sys
from pathlib import Path

import asyncpg
import pytest

from livekit_plugins_medvision.patients import EmbeddedPostgres, start_embedded_postgres

pytestmark = pytest.mark.db


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval("SELECT 1")
        assert isinstance(value, int)
        return value
    finally:
        await conn.close()


async def test_tcp_server_stops_restarts_and_deletes_its_data(server_dir: Path) -> None:
    data = server_dir / "nested" / "pg"
    server = start_embedded_postgres(data, listen_tcp=True, durable=False, delete_on_close=True)
    with server:
        assert await _select_one(server.dsn) == 1
        assert await _select_one(server.dsn_for("postgres", tcp=True)) == 1
        conn = await asyncpg.connect(server.dsn)
        assert await conn.fetchval("SHOW fsync") == "off"
        await conn.close()

        server.stop()
        assert not server.running
        with pytest.raises(OSError):
            await _select_one(server.dsn_for("postgres", tcp=True))
        server.start()
        assert await _select_one(server.dsn_for("postgres", tcp=True)) == 1
    assert not server.running
    assert not data.exists()
    server.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        server.start()


def test_unix_only_server_refuses_a_tcp_dsn(postgres_server: EmbeddedPostgres) -> None:
    with pytest.raises(ValueError, match="tcp"):
        postgres_server.dsn_for("postgres", tcp=True)


def test_missing_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)
    with pytest.raises(ModuleNotFoundError, match=r"livekit-plugins-medvision\[embedded\]"):
        start_embedded_postgres(tmp_path / "pg")
