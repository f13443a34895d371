"""The cost-ledger row, in the reference schema on the real embedded PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest

from livekit_plugins_medvision import PatientContextProvider, hash_patient_id
from livekit_plugins_medvision.costs import CostLedgerError, CostTracker
from livekit_plugins_medvision.privacy import hash_room_name
from tests.support.clock import ManualClock

from .factories import ABSURD, usage

pytestmark = pytest.mark.db

FLASH = "gemini-3.1-flash-live-preview"


@pytest.fixture
async def provider(pg_dsn: str) -> AsyncIterator[PatientContextProvider]:
    """The PatientContextProvider's pool, with the reference schema migrated."""
    provider = await PatientContextProvider.connect(pg_dsn)
    try:
        await provider.migrate()
        yield provider
    finally:
        await provider.aclose()


def session(model: str = FLASH) -> CostTracker:
    """Two turns in a 90-second session."""
    clock = ManualClock()
    tracker = CostTracker(model, clock=clock)
    tracker.track_usage(usage(prompt={"AUDIO": 10_000, "VIDEO": 258}, response={"AUDIO": 900}))
    tracker.track_usage(usage(prompt={"AUDIO": 12_000, "VIDEO": 516}, response={"AUDIO": 400}))
    clock.now += 90.0
    return tracker


async def test_one_row_per_session_with_the_report(provider: PatientContextProvider) -> None:
    tracker = session()
    patient = hash_patient_id("patient-0042")
    row_id = await tracker.write_ledger(
        provider.pool, job_id="AJ_1", room_name="clinic-room-7", patient_hash=patient
    )

    row = await provider.pool.fetchrow("SELECT * FROM medvision.cost_ledger WHERE id = $1", row_id)
    assert row is not None
    report = tracker.report()
    # the room is often named after the patient: only its keyed hash is stored
    assert (row["job_id"], row["room_hash"], row["patient_hash"]) == (
        "AJ_1",
        hash_room_name("clinic-room-7"),
        patient,
    )
    assert row["room_hash"].startswith("mvr1_")
    assert (row["model"], row["turns"]) == (FLASH, 2)
    # 22,000 x 3 + 774 x 1 + 1,300 x 12 = 82,374 per 1M
    assert row["total_usd"] == report.total_usd == Decimal("0.082374")
    assert row["session_seconds"] == report.session_seconds == 90.0
    stored = json.loads(row["report"])
    assert stored["buckets"]["input_image"]["tokens"] == 774
    assert stored["total_usd"] == "0.082374"


async def test_spend_per_patient_per_day_in_sql(provider: PatientContextProvider) -> None:
    alice, bob = hash_patient_id("alice"), hash_patient_id("bob")
    for patient in (alice, alice, bob):
        await session().write_ledger(provider.pool, job_id="j", room_name="r", patient_hash=patient)

    rows = await provider.pool.fetch(
        """
        SELECT date_trunc('day', recorded_at) AS day, patient_hash, sum(total_usd) AS usd
        FROM medvision.cost_ledger GROUP BY 1, 2 ORDER BY usd DESC
        """
    )
    assert [(r["patient_hash"], r["usd"]) for r in rows] == [
        (alice, Decimal("0.164748")),
        (bob, Decimal("0.082374")),
    ]


async def test_an_unpriced_model_is_stored_as_unknown_not_zero(
    provider: PatientContextProvider,
) -> None:
    row_id = await session("gemini-9-live").write_ledger(provider.pool)
    total = await provider.pool.fetchval(
        "SELECT total_usd FROM medvision.cost_ledger WHERE id = $1", row_id
    )
    assert total is None


async def test_a_raw_patient_id_is_refused_and_nothing_is_written(
    provider: PatientContextProvider,
) -> None:
    with pytest.raises(ValueError, match="patient_hash"):
        await session().write_ledger(provider.pool, patient_hash="Maria da Silva")
    assert await provider.pool.fetchval("SELECT count(*) FROM medvision.cost_ledger") == 0


@pytest.mark.parametrize("patient_hash", ["Maria da Silva", "12345678909", "0123456789abcdef"])
async def test_only_the_versioned_hash_form_is_stored(
    provider: PatientContextProvider, patient_hash: str
) -> None:
    # a CPF or an MRN of digits used to pass as "hex"; the hash has its own form now
    with pytest.raises(ValueError, match="mvh1_"):
        await session().write_ledger(provider.pool, patient_hash=patient_hash)
    assert await provider.pool.fetchval("SELECT count(*) FROM medvision.cost_ledger") == 0


async def test_a_cost_beyond_the_column_range_is_a_clear_error_before_the_insert(
    provider: PatientContextProvider,
) -> None:
    tracker = CostTracker(FLASH, clock=ManualClock(), pricing=ABSURD)
    tracker.track_usage(usage(prompt={"AUDIO": 10**9}, response={"AUDIO": 1}))  # 10**9 USD
    assert tracker.report().total_usd is not None
    with pytest.raises(CostLedgerError, match=r"total_usd does not fit numeric\(14, 6\)"):
        await tracker.write_ledger(provider.pool, room_name="r")
    assert await provider.pool.fetchval("SELECT count(*) FROM medvision.cost_ledger") == 0


async def test_database_errors_carry_no_arguments(pg_dsn: str) -> None:
    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(CostLedgerError) as raised:  # no migrations: no table
            await session().write_ledger(pool, room_name="clinic-room-7")
    finally:
        await pool.close()
    assert "UndefinedTableError" in str(raised.value)
    assert "clinic-room-7" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None  # not even the implicit chain holds the error


def test_summary_is_logged_once_with_the_hash_only(caplog: pytest.LogCaptureFixture) -> None:
    tracker = session()
    patient = hash_patient_id("patient-0042")
    with caplog.at_level(logging.INFO, logger="livekit.plugins.medvision"):
        tracker.log_summary(patient_hash=patient)
        tracker.log_summary(patient_hash=patient)

    records = [r for r in caplog.records if "session cost" in r.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert "0.082374" in record.getMessage() and "2 turns" in record.getMessage()
    assert record.__dict__["medvision_patient_hash"] == patient
    assert record.__dict__["medvision_cost"] == tracker.report().to_dict()
    assert "patient-0042" not in caplog.text


def test_summary_refuses_a_raw_patient_id() -> None:
    with pytest.raises(ValueError, match="patient_hash"):
        session().log_summary(patient_hash="patient-0042")
