"""The README's agent, exactly as printed: type-checked, then run against the emulator.

Its entrypoint runs with a real ``AgentSession`` and ``RealtimeModel`` (reaching the Gemini Live
emulator through the environment, as a default-built client would reach Google), a real
PostgreSQL with the demo patients, and a job context carrying the dispatch metadata. The
shutdown callbacks then run the way LiveKit runs them: all at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest
from livekit import rtc
from livekit.protocol import agent as agent_proto
from mypy import api as mypy_api

from livekit_plugins_medvision import MedVision, PatientContextProvider, hash_patient_id
from livekit_plugins_medvision.patients import DEMO_PATIENT_IDS
from livekit_plugins_medvision.testing import FakeGeminiLive, Reply
from tests.support.video import Camera

from .conftest import ROOT, python_blocks

pytestmark = [pytest.mark.db, pytest.mark.e2e]

PATIENT = DEMO_PATIENT_IDS[0]

Callback = Callable[[], Coroutine[None, None, None]] | Callable[[str], Coroutine[None, None, None]]


class JobView:
    """A job's context as ``MedVision.start`` reads it: room, job, shutdown callbacks, shutdown."""

    def __init__(self, metadata: str) -> None:
        self.room = rtc.Room()  # never connected: the call runs without a LiveKit server
        self.job = agent_proto.Job(id="job-readme", metadata=metadata)
        self.callbacks: list[Callback] = []
        self.shutdowns: list[str] = []

    def add_shutdown_callback(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        self.shutdowns.append(reason)


def readme_agent() -> str:
    [first, *_] = python_blocks(ROOT / "README.md")
    assert not first.fragment, "the README's first block is a whole agent file"
    return first.code


def load(code: str, tmp_path: Path) -> ModuleType:
    file = tmp_path / "readme_agent.py"
    file.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("readme_agent", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_agent_is_a_few_lines_over_a_plain_one() -> None:
    code = readme_agent()
    added = [line for line in code.splitlines() if "# +" in line]
    assert 1 <= len(added) <= 10
    assert "MedVision.start(ctx, session, agent)" in code


def test_the_readme_agent_passes_mypy_strict(tmp_path: Path) -> None:
    file = tmp_path / "readme_agent.py"
    file.write_text(readme_agent(), encoding="utf-8")
    config = str(ROOT / "pyproject.toml")
    out, err, status = mypy_api.run(["--strict", "--config-file", config, str(file)])
    assert status == 0, out + err


@pytest.fixture
async def database(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.seed_demo()
    monkeypatch.setenv("DATABASE_URL", pg_dsn)
    return pg_dsn


@pytest.fixture
async def gemini(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGeminiLive]:
    async with FakeGeminiLive() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


async def test_the_readme_agent_runs_and_closes_in_order(
    database: str, gemini: FakeGeminiLive, tmp_path: Path
) -> None:
    module = load(readme_agent(), tmp_path)
    ctx = JobView(json.dumps({"patient_id": PATIENT}))
    try:
        await asyncio.wait_for(module.entrypoint(ctx), 10)
        [callback] = ctx.callbacks  # one callback closes everything, in order
        call = getattr(callback, "__self__", None)
        assert isinstance(call, MedVision) and callback == call.aclose
        assert call.context is not None  # the dispatched patient's record was read
        await gemini.wait_for_connections(1)
        [setup] = gemini.received.setups
        assert setup.system_instruction is not None
        assert "<patient_record>" in setup.system_instruction  # fenced into the prompt
        priced = asyncio.Event()
        call.tracker.on("usage_updated", lambda _: priced.set())
        gemini.queue_reply(Reply(text="Olá."))
        _ = call.session.generate_reply(user_input="Oi")  # no room to play it out in
        await asyncio.wait_for(priced.wait(), 10)
        assert call.report().turns >= 1  # priced from the session's real usage
        # LiveKit runs shutdown callbacks concurrently, the session's own close among them
        await asyncio.gather(call.aclose(), call.session.aclose())
    finally:
        sys.modules.pop("readme_agent", None)
    assert call.ledger_row is not None  # written before the pool closed
    assert call.provider is not None and call.provider.pool.is_closing()
    connection = await asyncpg.connect(database)
    try:
        row = await connection.fetchrow(
            "SELECT patient_hash, job_id FROM medvision.cost_ledger WHERE id = $1", call.ledger_row
        )
    finally:
        await connection.close()
    assert row is not None
    assert (row["patient_hash"], row["job_id"]) == (hash_patient_id(PATIENT), "job-readme")


async def test_medvision_sends_a_local_camera_and_counts_its_frames(
    database: str, gemini: FakeGeminiLive
) -> None:
    from livekit.agents import Agent, AgentSession
    from livekit.plugins import google

    camera = Camera(640, 360)
    model = google.realtime.RealtimeModel(image_encode_options=MedVision.image_encode_options())
    session = AgentSession[None](llm=model)
    ctx = JobView(json.dumps({"patient_id": PATIENT}))
    call = await MedVision.start(ctx, session, Agent(instructions="Hi."), track=camera.track)
    try:
        camera.capture()
        await gemini.wait_for_images(1)
        assert call.streamer.stats.frames_sent >= 1
    finally:
        assert ctx.callbacks == [call.aclose]
        await call.aclose()
        await camera.aclose()
    assert call.report().frames_sent == call.streamer.stats.frames_sent
    assert call.provider is not None and call.ledger_row is not None
