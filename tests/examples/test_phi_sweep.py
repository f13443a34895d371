"""A PHI sweep: the demo and the worker's code path, every logger at DEBUG, no seed value anywhere.

Any string of the demo seed (patient ids, names, birth dates, allergies, medications, conditions,
care notes) in a log record (message, arguments, ``extra``, traceback) or in an exception
message fails the test. The demo's deliberate prompt preview goes to stdout, not to a log.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from clinic.call import build_call, finish_call
from clinic.database import connect, load_context, read_avatar_config
from clinic.demo import run_demo
from clinic.settings import ClinicSettings

from livekit_plugins_medvision import PatientContextError, PatientContextProvider
from livekit_plugins_medvision.patients import (
    DEMO_CLINIC_ID,
    DEMO_PATIENT_IDS,
    PatientRef,
    parse_patient_id_sources,
    resolve_patient_id,
)
from livekit_plugins_medvision.privacy import check_patient_hash
from livekit_plugins_medvision.testing import FakeGeminiLive

pytestmark = [pytest.mark.db, pytest.mark.e2e]

LOGGERS = (
    "",  # the root: everything propagates here
    "livekit",
    "livekit.agents",
    "livekit.plugins",
    "livekit.plugins.google",
    "livekit.plugins.medvision",
    "medvision",
    "asyncpg",
    "websockets",
    "websockets.client",
    "google_genai",
    "httpx",
    "httpcore",
)
# attributes every LogRecord has; anything else came in through ``extra``
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        texts = [record.getMessage(), record.stack_info or ""]
        texts += [repr(v) for k, v in vars(record).items() if k not in _STANDARD]
        if record.exc_info and record.exc_info[1] is not None:
            texts += traceback.format_exception(record.exc_info[1])
        self.texts.append("\n".join(texts))


@pytest.fixture
def every_log() -> Iterator[_Everything]:
    """Every logger at DEBUG, every record captured (restored afterwards)."""
    handler = _Everything()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
async def seeded(pg_dsn: str) -> AsyncIterator[tuple[PatientContextProvider, list[str]]]:
    """A provider on the demo data, and every patient value of the demo seed."""
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.seed_demo()
        rows = await provider.pool.fetch(
            """
            SELECT id AS v FROM medvision.patients
            UNION SELECT preferred_name FROM medvision.patients
            UNION SELECT birth_date::text FROM medvision.patients
            UNION SELECT substance FROM medvision.allergies
            UNION SELECT reaction FROM medvision.allergies
            UNION SELECT name FROM medvision.medications
            UNION SELECT dosage FROM medvision.medications
            UNION SELECT name FROM medvision.conditions
            UNION SELECT body FROM medvision.care_notes
            """
        )
        values = {str(r["v"]) for r in rows if r["v"]}
        # each word of a name on its own, and the start of each note
        names = await provider.pool.fetch("SELECT preferred_name FROM medvision.patients")
        values |= {w.strip("()") for r in names for w in r[0].split() if len(w.strip("()")) > 3}
        values |= {v[:30] for v in list(values) if len(v) > 30}
        yield provider, sorted(values, key=len, reverse=True)


def _leaks(texts: list[str], seed: list[str]) -> list[str]:
    found = []
    for text in texts:
        lowered = text.casefold()
        found += [f"{value!r} in {text[:200]!r}" for value in seed if value.casefold() in lowered]
    return found


async def test_the_demo_logs_no_patient_data(
    every_log: _Everything,
    seeded: tuple[PatientContextProvider, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, seed = seeded
    assert "Maria Exemplo (fictícia)" in seed and "dipirona" in seed  # the sweep knows the seed
    assert await run_demo(ClinicSettings(data_dir=tmp_path / "pgdata"), 4.0) == 0
    out = capsys.readouterr().out
    assert "Maria Exemplo" in out  # the demo's deliberate preview, on stdout only
    assert len(every_log.texts) > 50  # DEBUG really was on
    assert _leaks(every_log.texts, seed) == []


async def test_the_worker_path_logs_and_raises_no_patient_data(
    every_log: _Everything,
    seeded: tuple[PatientContextProvider, list[str]],
    pg_dsn: str,
) -> None:
    _, seed = seeded
    errors: list[str] = []
    # where the id comes from: every source tried, the refused ones included
    patient = resolve_patient_id(
        job_metadata=json.dumps({"patient_id": DEMO_PATIENT_IDS[0]}),
        room_metadata=json.dumps({"patient_id": DEMO_PATIENT_IDS[1]}),
        participant_attributes={"patient_id": DEMO_PATIENT_IDS[2]},
    )
    assert patient is not None
    resolve_patient_id(
        room_metadata=json.dumps({"patient_id": DEMO_PATIENT_IDS[1]}),
        participant_attributes={"patient_id": DEMO_PATIENT_IDS[2]},
        sources=parse_patient_id_sources("job,room,participant"),
    )
    provider = await connect(pg_dsn)
    assert provider is not None
    try:
        for patient_id in (*DEMO_PATIENT_IDS, "nobody-0000", "bad id; --"):
            await load_context(provider, PatientRef(patient_id, "job"), job_id="j", room_name="r")
        context = await load_context(provider, patient, job_id="job-1", room_name="room-1")
        assert context is not None
        await read_avatar_config(provider, DEMO_CLINIC_ID)
        # one call, through the real RealtimeModel and the emulator, to its ledger row
        async with FakeGeminiLive() as gemini:
            call = build_call(
                ClinicSettings(), context, api_key="fake", http_options=gemini.http_options()
            )
            await call.session.start(call.agent, record=False)
            await call.session.generate_reply(user_input="Olá").wait_for_playout()
            _, row_id = await finish_call(
                call, provider, job_id="job-1", room_name="room-1", patient=patient
            )
        assert row_id is not None
        # raw ids offered where only hashes are taken
        for raw in DEMO_PATIENT_IDS:
            with pytest.raises(ValueError) as refused:
                check_patient_hash(raw)
            errors.append(str(refused.value))
            with pytest.raises(ValueError) as refused:
                call.tracker.log_summary(patient_hash=raw)
            errors.append(str(refused.value))
    finally:
        await provider.aclose()
    # the database gone: lookups fail as package errors and the call goes on
    for patient_id in DEMO_PATIENT_IDS:
        try:
            await provider.get_patient_context(patient_id)
        except PatientContextError as exc:
            errors.append("".join(traceback.format_exception(exc)))
        assert (
            await load_context(provider, PatientRef(patient_id, "job"), job_id="j", room_name="r")
            is None
        )
    assert len(errors) == 2 * len(DEMO_PATIENT_IDS) * 2 - len(DEMO_PATIENT_IDS)
    assert _leaks(every_log.texts + errors, seed) == []
