"""A database outage mid-conversation, on a server of its own so other tests are not disturbed."""

import asyncio
import dataclasses
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit_plugins_medvision import PatientContextProvider, PatientContextUnavailable
from livekit_plugins_medvision.patients import (
    DEMO_CLINIC_ID,
    DEMO_PATIENT_IDS,
    REFERENCE_QUERIES,
    EmbeddedPostgres,
    start_embedded_postgres,
)
from livekit_plugins_medvision.privacy import PATIENT_HASH_PREFIX
from tests.support.clock import ManualClock

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


async def test_an_outage_logs_one_warning_bounded_summaries_and_one_recovery(
    own_server: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    async with await PatientContextProvider.connect(
        own_server.dsn, min_size=2, max_size=2, lookup_timeout=2.0, clock=clock
    ) as provider:
        await provider.seed_demo()
        known = [await provider.get_patient_context(pid) for pid in DEMO_PATIENT_IDS]
        caplog.set_level(logging.DEBUG, logger="livekit.plugins.medvision")

        await asyncio.to_thread(own_server.stop)  # cuts the pool's connections
        for _ in range(10):  # waves of reads 25 s apart: a 250 s outage, 130 failed reads
            results = await asyncio.gather(
                *(provider.get_patient_context(pid) for pid in DEMO_PATIENT_IDS * 4),
                provider.get_avatar_config(DEMO_CLINIC_ID),
                return_exceptions=True,
            )
            assert all(isinstance(r, PatientContextUnavailable) for r in results)
            clock.advance(25)
        await asyncio.to_thread(own_server.start)
        for pid in DEMO_PATIENT_IDS:
            assert await provider.get_patient_context(pid) is not None

    ours = [r for r in caplog.records if r.name == "livekit.plugins.medvision"]
    lines = [r for r in ours if r.levelno >= logging.INFO]
    assert [r.getMessage() for r in lines] == [
        "patient database read failed",
        # one summary per 60 s at most: the waves at 75, 150 and 225 s
        "patient database still failing: 40 failed reads in 75 s",
        "patient database still failing: 79 failed reads in 150 s",
        "patient database still failing: 118 failed reads in 225 s",
        "patient database recovered after 250.0 s, 130 failed reads",
    ]
    assert re.fullmatch(r"patient context: database unavailable \(\w+\)", vars(lines[0])["error"])
    patient_values = set(DEMO_PATIENT_IDS)
    for context in known:
        assert context is not None
        patient_values |= {v for v in _leaves(dataclasses.asdict(context)) if len(v) >= 4}
    standard = set(vars(logging.makeLogRecord({})))
    for record in ours:  # the message and every extra field
        text = record.getMessage() + repr(
            {k: v for k, v in vars(record).items() if k not in standard}
        )
        assert not [v for v in patient_values if v in text]
        patient_hash = vars(record).get("patient_hash")
        assert patient_hash is None or patient_hash.startswith(PATIENT_HASH_PREFIX)


def _leaves(value: object) -> Iterator[str]:
    """Every text value inside ``value``'s dicts, lists and tuples."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value
