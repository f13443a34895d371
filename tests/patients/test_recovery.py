"""A database outage mid-conversation, on a server of its own so other tests are not disturbed."""

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit_plugins_medvision import PatientContextProvider, PatientContextUnavailable
from livekit_plugins_medvision.patients import (
    DEMO_PATIENT_IDS,
    REFERENCE_QUERIES,
    EmbeddedPostgres,
    start_embedded_postgres,
)

from .activity import wait_until_running

pytestmark = pytest.mark.db


@pytest.fixture
def own_server(server_dir: Path) -> Iterator[EmbeddedPostgres]:
    with start_embedded_postgres(server_dir / "pg", durable=False, delete_on_close=True) as server:
        yield server


async def test_outage_raises_unavailable_and_the_pool_recovers(
    own_server: EmbeddedPostgres,
) -> None:
    async with await PatientContextProvider.connect(
        own_server.dsn, min_size=2, max_size=2, lookup_timeout=2.0, connect_timeout=1.0
    ) as provider:
        await provider.seed_demo()
        assert await provider.get_patient_context(DEMO_PATIENT_IDS[0]) is not None

        slow = dataclasses.replace(
            REFERENCE_QUERIES,
            patient="SELECT NULL AS preferred_name, NULL::int AS age_years, NULL AS sex,"
            " NULL AS preferred_language FROM pg_sleep(30) WHERE $1 <> ''",
        )
        sleeper = PatientContextProvider(provider.pool, queries=slow, statement_timeout=60)
        in_flight = asyncio.create_task(sleeper.get_patient_context(DEMO_PATIENT_IDS[0]))
        await wait_until_running(own_server.dsn, "pg_sleep(30)")

        await asyncio.to_thread(own_server.stop)
        with pytest.raises(PatientContextUnavailable, match="database unavailable"):
            await in_flight
        for _ in range(3):  # refused connections, every time, within the lookup's limit
            with pytest.raises(PatientContextUnavailable):
                await provider.get_patient_context(DEMO_PATIENT_IDS[0])

        await asyncio.to_thread(own_server.start)
        results = await asyncio.gather(
            *(provider.get_patient_context(pid) for pid in DEMO_PATIENT_IDS)
        )
        assert all(r is not None for r in results)
