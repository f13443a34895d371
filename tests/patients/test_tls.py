"""TLS to the patient database, against Debian's PostgreSQL 15 with a real certificate."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

import pytest

from livekit_plugins_medvision import (
    PatientContextError,
    PatientContextProvider,
    PatientContextUnavailable,
)
from livekit_plugins_medvision.patients import start_embedded_postgres
from livekit_plugins_medvision.patients.tls import parse_dsn

from ..support.pg15 import Pg15Server

WARNING = "does not fully verify the server"


async def _ssl_in_use(provider: PatientContextProvider) -> bool:
    in_use = await provider.pool.fetchval(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    )
    return bool(in_use)


async def test_a_certificate_nobody_trusts_is_refused_by_default(
    pg15_server: Pg15Server, caplog: pytest.LogCaptureFixture
) -> None:
    # the same DSN that asyncpg alone would accept (sslmode=prefer: no check at all)
    with pytest.raises(PatientContextError, match="TLS certificate was refused") as caught:
        await PatientContextProvider.connect(pg15_server.dsn(), audit=False)
    assert "pg15-test-only" not in str(caught.value)  # the password stays out
    assert WARNING not in caplog.text


async def test_a_trusted_certificate_is_accepted_over_tls(
    pg15_server: Pg15Server, caplog: pytest.LogCaptureFixture
) -> None:
    context = pg15_server.client_context()
    async with await PatientContextProvider.connect(
        pg15_server.dsn(), ssl=context, audit=False
    ) as provider:
        assert await _ssl_in_use(provider)
    # the DSN's own root certificate, with no sslmode, is verify-full too
    dsn = pg15_server.dsn(sslrootcert=str(pg15_server.ca_path))
    async with await PatientContextProvider.connect(dsn, audit=False) as provider:
        assert await _ssl_in_use(provider)
    assert WARNING not in caplog.text


async def test_the_host_name_is_verified_not_only_the_chain(pg15_server: Pg15Server) -> None:
    # the certificate names 127.0.0.1 and localhost: another address of this machine is refused
    host = pg15_server.remote_host
    if host is None:
        pytest.skip("this machine has no non-loopback address")
    dsn = pg15_server.dsn(host=host, sslrootcert=str(pg15_server.ca_path))
    with pytest.raises(PatientContextError, match="TLS certificate was refused"):
        await PatientContextProvider.connect(dsn, audit=False, connect_timeout=10)
    # verify-ca, asked for explicitly, checks the chain only: accepted
    dsn = pg15_server.dsn(host=host, sslmode="verify-ca", sslrootcert=str(pg15_server.ca_path))
    async with await PatientContextProvider.connect(dsn, audit=False) as provider:
        assert await _ssl_in_use(provider)


async def test_sslmode_disable_to_a_remote_host_is_honoured_and_warned(
    pg15_server: Pg15Server, caplog: pytest.LogCaptureFixture
) -> None:
    host = pg15_server.remote_host
    if host is None:
        pytest.skip("this machine has no non-loopback address")
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        async with await PatientContextProvider.connect(
            pg15_server.dsn(host=host, sslmode="disable"), audit=False
        ) as provider:
            assert not await _ssl_in_use(provider)
    warnings = [r for r in caplog.records if WARNING in r.getMessage()]
    assert len(warnings) == 1
    assert "sslmode=disable" in warnings[0].getMessage()
    assert "pg15-test-only" not in caplog.text


async def test_weak_modes_to_loopback_are_not_warned(
    pg15_server: Pg15Server, caplog: pytest.LogCaptureFixture
) -> None:
    async with await PatientContextProvider.connect(
        pg15_server.dsn(sslmode="require"), audit=False
    ) as provider:
        assert await _ssl_in_use(provider)  # require: encrypted, not verified
    assert WARNING not in caplog.text


async def test_no_silent_fall_back_to_cleartext(pg_dsn: str) -> None:
    # a server without TLS (the embedded build has none), over TCP, no sslmode: refused
    with tempfile.TemporaryDirectory(prefix="medvision-pg-") as folder:
        server = await asyncio.to_thread(
            start_embedded_postgres,
            Path(folder) / "data",
            listen_tcp=True,
            durable=False,
            delete_on_close=True,
        )
        try:
            cleartext = server.dsn_for("postgres", tcp=True).replace("?sslmode=disable", "")
            with pytest.raises(PatientContextUnavailable):
                await PatientContextProvider.connect(cleartext, audit=False)
        finally:
            await asyncio.to_thread(server.close)
    # Unix sockets need no TLS: the socket DSN connects as before
    async with await PatientContextProvider.connect(pg_dsn, audit=False) as provider:
        assert not await _ssl_in_use(provider)


@pytest.mark.parametrize(
    "dsn, hosts, sslmode",
    [
        ("postgresql://u:p@db.example:5432/ehr", ("db.example",), None),
        ("postgres://u@[::1]:5/x?sslmode=require", ("::1",), "require"),
        ("postgresql://u@/x?host=/run/postgresql&port=5", ("/run/postgresql",), None),
        ("postgresql://u@a:1,b:2/x?sslmode=verify-full", ("a", "b"), "verify-full"),
    ],
)
def test_dsns_are_read_as_asyncpg_reads_them(
    dsn: str, hosts: tuple[str, ...], sslmode: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGSSLMODE", raising=False)
    monkeypatch.delenv("PGHOST", raising=False)
    address = parse_dsn(dsn)
    assert (address.hosts, address.sslmode) == (hosts, sslmode)


@pytest.mark.parametrize(
    "dsn, problem",
    [
        ("not-a-dsn", "postgresql://"),
        ("mysql://u:s3cret@db/x", "postgresql://"),
        ("postgresql://u:s3cret@db:99999/x", "port"),
        ("postgresql://u:s3cret@db/x?sslmode=sometimes", "sslmode"),
        ("postgresql://u:s3cret@[::1/x", "URI"),
    ],
)
async def test_a_bad_dsn_is_a_clear_error_that_never_quotes_it(dsn: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        await PatientContextProvider.connect(dsn)
    assert "s3cret" not in str(caught.value)
