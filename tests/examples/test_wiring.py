"""The worker's wiring against the real RealtimeModel, the emulator and a real database."""

import asyncio
import logging
from decimal import Decimal

import pytest
from clinic.call import build_call, finish_call
from clinic.database import load_context, read_avatar_config
from clinic.settings import ClinicSettings
from livekit.agents.llm import FunctionTool

from livekit_plugins_medvision import PatientContextProvider, clinic_instructions
from livekit_plugins_medvision.costs import BudgetHardExceededEvent
from livekit_plugins_medvision.patients import DEMO_CLINIC_ID, DEMO_PATIENT_IDS, PatientRef
from livekit_plugins_medvision.privacy import hash_patient_id
from livekit_plugins_medvision.testing import FakeGeminiLive

pytestmark = [
    pytest.mark.db,
    pytest.mark.e2e,
]

SETTINGS = ClinicSettings()


@pytest.fixture
async def provider(pg_dsn: str) -> PatientContextProvider:
    provider = await PatientContextProvider.connect(pg_dsn)
    await provider.seed_demo()
    return provider


async def test_the_model_is_set_up_for_long_video_calls() -> None:
    async with FakeGeminiLive() as gemini:
        call = build_call(SETTINGS, None, api_key="fake", http_options=gemini.http_options())
        await call.session.start(call.agent, record=False)
        await gemini.wait_for_connections(1)
        await call.session.aclose()
        await call.streamer.aclose()
    [setup] = gemini.received.setups
    assert setup.model == f"models/{SETTINGS.model}"
    assert setup.media_resolution == "MEDIA_RESOLUTION_LOW"
    assert setup.turn_coverage == "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"
    assert setup.resumption_requested
    assert "contextWindowCompression" in setup.raw
    assert setup.system_instruction == call.instructions
    assert call.instructions.startswith(clinic_instructions(None, language="pt-BR"))
    assert "record_camera_consent" in call.instructions and "look_closely" in call.instructions
    assert call.streamer.image_encode_options().resize_options is None
    # consent before sight: nothing is sent until the patient says yes
    assert call.streamer.consent == "pending"
    tool_names = {tool.info.name for tool in call.agent.tools if isinstance(tool, FunctionTool)}
    assert tool_names == {"record_camera_consent", "look_closely"}


async def test_context_is_loaded_and_its_read_audited(
    provider: PatientContextProvider,
) -> None:
    patient = PatientRef(DEMO_PATIENT_IDS[0], "job")
    try:
        context = await load_context(provider, patient, job_id="job-1", room_name="room-1")
        audited = await provider.pool.fetchval(
            "SELECT count(*) FROM medvision.access_audit WHERE job_id = 'job-1'"
        )
    finally:
        await provider.aclose()
    assert context is not None
    assert context.patient_id == DEMO_PATIENT_IDS[0]
    assert audited == 1


@pytest.mark.parametrize(
    "patient, message",
    [
        (None, "no patient id in job, room or participant"),
        (PatientRef("nobody-0000", "room"), "no record for the patient"),
        (PatientRef("bad id; --", "participant"), "patient id from participant rejected"),
    ],
)
async def test_no_context_is_one_warning_and_the_call_goes_on(
    provider: PatientContextProvider,
    patient: PatientRef | None,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        context = await load_context(provider, patient, job_id="j", room_name="r")
    finally:
        await provider.aclose()
    assert context is None
    [record] = [r for r in caplog.records if r.name == "medvision.clinic_agent"]
    assert message in record.getMessage()
    if patient is not None:
        assert patient.patient_id not in caplog.text


async def test_a_closed_database_degrades_to_no_context(
    provider: PatientContextProvider, caplog: pytest.LogCaptureFixture
) -> None:
    await provider.aclose()
    patient = PatientRef(DEMO_PATIENT_IDS[0], "job")
    assert await load_context(provider, patient, job_id="j", room_name="r") is None
    assert "patient context unavailable (PatientContextUnavailable)" in caplog.text


async def test_hard_budget_pauses_video_tells_the_patient_and_the_ledger_keeps_the_cost(
    provider: PatientContextProvider,
) -> None:
    settings = ClinicSettings(
        budget_soft_usd=Decimal("0.000001"), budget_hard_usd=Decimal("0.000002")
    )
    patient = PatientRef(DEMO_PATIENT_IDS[0], "job")
    try:
        async with FakeGeminiLive() as gemini:
            call = build_call(settings, None, api_key="fake", http_options=gemini.http_options())
            await call.session.start(call.agent, record=False)
            await call.session.generate_reply(user_input="Hello").wait_for_playout()
            await gemini.wait_for(
                lambda received: any(
                    "no longer" in t.text or "não está mais" in t.text for t in received.texts
                ),
                what="the budget notice",
            )
            assert call.streamer.paused
            report, row_id = await finish_call(
                call, provider, job_id="job-2", room_name="room-2", patient=patient
            )
        assert row_id is not None
        row = await provider.pool.fetchrow(
            "SELECT patient_hash, total_usd FROM medvision.cost_ledger WHERE id = $1", row_id
        )
    finally:
        await provider.aclose()
    assert report.total_usd is not None and report.total_usd > settings.budget_hard_usd
    assert row is not None
    assert row["patient_hash"] == hash_patient_id(DEMO_PATIENT_IDS[0])
    assert row["total_usd"] == report.total_usd.quantize(Decimal("0.000001"))


async def test_end_call_at_the_hard_limit_says_goodbye_in_portuguese_then_ends_the_call() -> None:
    settings = ClinicSettings(
        budget_soft_usd=Decimal("0.000001"),
        budget_hard_usd=Decimal("0.000002"),
        budget_on_hard="end_call",
    )
    async with FakeGeminiLive() as gemini:
        call = build_call(settings, None, api_key="fake", http_options=gemini.http_options())
        closed = asyncio.Event()
        call.session.on("close", lambda _event: closed.set())
        try:
            await call.session.start(call.agent, record=False)
            await call.session.generate_reply(user_input="Olá").wait_for_playout()
            async with asyncio.timeout(10):
                await closed.wait()  # ended by the budget, not by the test
        finally:
            await call.session.aclose()
            await call.streamer.aclose()
            await call.tracker.aclose()
    texts = [text.text for text in gemini.received.texts]
    assert any("termina agora" in text and "despeça-se" in text for text in texts)
    assert not any("não está mais vendo" in text for text in texts)  # no camera notice instead
    assert call.streamer.paused


async def test_a_hard_budget_crossed_as_the_session_closes_is_one_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="medvision.clinic_agent")
    call = build_call(SETTINGS, None, api_key="fake")
    try:
        # the session is not running: nobody can be told, and nothing may raise or log an error
        event = BudgetHardExceededEvent(
            total_usd=Decimal("1.5"), hard_usd=Decimal("1"), video_paused=True
        )
        call.tracker.emit("budget_hard_exceeded", event)
    finally:
        await call.streamer.aclose()
        await call.tracker.aclose()
    assert "session closing, the patient is not told" in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_an_unreadable_avatar_configuration_is_one_warning_and_no_avatar(
    provider: PatientContextProvider, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        refused = await read_avatar_config(provider, "no such clinic!")
        demo = await read_avatar_config(provider, DEMO_CLINIC_ID)
    finally:
        await provider.aclose()
    assert refused is None
    [record] = [r for r in caplog.records if r.name == "medvision.clinic_agent"]
    assert record.getMessage() == "avatar configuration unreadable (ValueError): no avatar"
    assert demo is not None and demo.provider == "tavus"
