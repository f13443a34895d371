"""Dates a record can hold but a person cannot have: read as unknown, never a failed read."""

import dataclasses
from datetime import UTC, date, datetime

import pytest

from livekit_plugins_medvision import (
    PatientContextError,
    PatientContextProvider,
    render_patient_context,
)
from livekit_plugins_medvision.patients import (
    DEMO_CLINIC_ID,
    DEMO_PATIENT_IDS,
    REFERENCE_QUERIES,
    Condition,
)

pytestmark = pytest.mark.db


async def _insert(provider: PatientContextProvider, patient_id: str, birth_date: str) -> None:
    async with provider.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO medvision.patients (id, clinic_id, preferred_name, birth_date)"
            " VALUES ($1, $2, 'Ana', $3::text::date)",
            patient_id,
            DEMO_CLINIC_ID,
            birth_date,
        )


@pytest.mark.parametrize(
    "birth_date",
    ["infinity", "-infinity", "3000-01-01", "1800-01-01", "4713-01-01 BC"],
)
async def test_an_impossible_birth_date_is_an_unknown_age(
    provider: PatientContextProvider, birth_date: str
) -> None:
    await _insert(provider, "odd-1", birth_date)
    context = await provider.get_patient_context("odd-1")
    assert context is not None and context.preferred_name == "Ana"
    assert context.age_years is None
    assert "Age: unknown\n" in render_patient_context(context, language="en")


async def test_ages_at_the_edges_of_a_life_are_kept(provider: PatientContextProvider) -> None:
    await _insert(provider, "newborn", date.today().isoformat())
    await _insert(provider, "eldest", "1900-01-01")
    newborn = await provider.get_patient_context("newborn")
    eldest = await provider.get_patient_context("eldest")
    assert newborn is not None and newborn.age_years == 0
    assert eldest is not None and eldest.age_years is not None and eldest.age_years >= 125


async def test_infinite_timestamps_and_future_onsets_render_as_unknown(
    provider: PatientContextProvider,
) -> None:
    await _insert(provider, "odd-2", "1980-05-05")
    async with provider.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO medvision.conditions (patient_id, name, since) VALUES"
            " ($1, 'asma', 'infinity'), ($1, 'gota', '3000-01-01'), ($1, 'rinite', '-infinity'),"
            " ($1, 'dor', '2001-02-03'), ($1, 'tosse', '20000-01-01'),"
            " ($1, 'febre', '4000-01-01 BC')",
            "odd-2",
        )
        await conn.execute(
            "INSERT INTO medvision.vital_signs (patient_id, measured_at, heart_rate_bpm)"
            " VALUES ($1, '20000-01-01', 70)",  # beyond what Python's datetime holds
            "odd-2",
        )
        await conn.execute(
            "INSERT INTO medvision.care_notes (patient_id, written_at, body)"
            " VALUES ($1, '-infinity', 'antiga'), ($1, 'infinity', 'futura'),"
            " ($1, '2026-01-01 10:05+00', 'recente')",
            "odd-2",
        )
    context = await provider.get_patient_context("odd-2")
    assert context is not None
    assert sorted(context.conditions, key=lambda c: c.name) == [
        Condition("asma", None),
        Condition("dor", date(2001, 2, 3)),
        Condition("febre", None),
        Condition("gota", None),
        Condition("rinite", None),
        Condition("tosse", None),
    ]
    assert context.vitals is not None and context.vitals.measured_at is None
    assert context.vitals.heart_rate_bpm == 70
    assert [n.written_at for n in context.care_notes] == [  # newest first
        None,
        datetime(2026, 1, 1, 10, 5, tzinfo=UTC),
        None,
    ]
    prompt = render_patient_context(context, language="en")
    assert not any(year in prompt for year in ("9999", "0001", "3000", "20000"))
    assert "- unknown: antiga" in prompt
    assert "unknown, HR 70 bpm" in prompt
    assert "- dor (since 2001-02-03)" in prompt and "- gota\n" in prompt


async def test_a_value_asyncpg_cannot_decode_is_a_package_error(
    provider: PatientContextProvider,
) -> None:
    # A clinic's own query without the reference queries' guard: the read fails, as ours.
    unguarded = dataclasses.replace(
        REFERENCE_QUERIES,
        vitals="SELECT timestamptz '20000-01-01' AS measured_at, NULL::int AS heart_rate_bpm,"
        " NULL::int AS systolic_mmhg, NULL::int AS diastolic_mmhg,"
        " NULL::float AS temperature_c, NULL::int AS spo2_pct, NULL::int AS respiratory_rate"
        " WHERE $1 <> ''",
    )
    reader = PatientContextProvider(provider.pool, queries=unguarded)
    with pytest.raises(PatientContextError, match=r"failed \(OverflowError\)"):
        await reader.get_patient_context(DEMO_PATIENT_IDS[0])
