"""attach(session) across agent handoffs, on a real AgentSession, RealtimeModel and emulator.

Each handoff here either replaces the realtime session (the next agent has its own model) or
hands the same one over (same model, nothing incompatible); either way every turn is counted
once. Reconnects within one realtime session are covered in tests/e2e/test_session_costs.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.plugins import google

from livekit_plugins_medvision.costs import Bucket, CostTracker, UsageUpdatedEvent
from livekit_plugins_medvision.testing import FakeGeminiLive

from .factories import metrics, usage

pytestmark = pytest.mark.e2e

TURNS = [
    usage(prompt={"TEXT": 100, "AUDIO": 1_000}, response={"AUDIO": 50}),
    usage(prompt={"TEXT": 200, "AUDIO": 2_000}, response={"AUDIO": 60}),
    usage(prompt={"TEXT": 300, "AUDIO": 3_000}, response={"AUDIO": 70}),
]


class Step(Agent):
    """An agent that says when it has taken over."""

    def __init__(
        self, name: str, model: NotGivenOr[google.realtime.RealtimeModel] = NOT_GIVEN
    ) -> None:
        super().__init__(instructions=f"You are the clinic's {name} agent.", llm=model)
        self.entered = asyncio.Event()

    async def on_enter(self) -> None:
        self.entered.set()


@pytest.fixture
async def server() -> AsyncIterator[FakeGeminiLive]:
    async with FakeGeminiLive() as emulator:
        emulator.queue_usage(*TURNS)
        yield emulator


async def test_handoffs_are_followed_and_no_turn_counts_twice(server: FakeGeminiLive) -> None:
    intake_model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    triage_model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=intake_model)
    tracker = CostTracker(intake_model.model)
    counted: asyncio.Queue[UsageUpdatedEvent] = asyncio.Queue()
    tracker.on("usage_updated", counted.put_nowait)
    tracker.attach(session)  # before start: picked up once the first agent runs
    rt_sessions: list[llm.RealtimeSession[object]] = []

    async def reply_and_count() -> None:
        rt_sessions.append(session.current_agent.realtime_llm_session)
        reply = await session.generate_reply()
        assert reply.done()
        async with asyncio.timeout(10):
            await counted.get()

    async def hand_off(agent: Step) -> None:
        session.update_agent(agent)
        async with asyncio.timeout(10):
            await agent.entered.wait()

    try:
        await session.start(Step("intake"), record=False)
        await reply_and_count()
        await hand_off(Step("triage", triage_model))  # its own model: a new realtime session
        await reply_and_count()
        await hand_off(Step("follow-up", triage_model))  # same model: the session is kept
        await reply_and_count()
    finally:
        await session.aclose()
        await intake_model.aclose()
        await triage_model.aclose()

    first, second, third = rt_sessions
    assert second is not first
    assert third is second

    report = tracker.report()
    assert report.turns == 3
    assert counted.empty()
    assert report.bucket(Bucket.INPUT_TEXT).tokens == 100 + 200 + 300
    assert report.bucket(Bucket.INPUT_AUDIO).tokens == 1_000 + 2_000 + 3_000
    assert report.bucket(Bucket.OUTPUT_AUDIO).tokens == 50 + 60 + 70

    # The session's close detached the tracker from everything: stale or late metrics from any
    # realtime session it followed are not counted, and session time has stopped.
    for rt_session in (first, second):
        rt_session.emit("metrics_collected", metrics(input_tokens=10, text=10))
    assert tracker.report().turns == 3
    assert tracker.report().session_seconds == report.session_seconds


async def test_attaching_to_a_running_session_counts_from_then_on(server: FakeGeminiLive) -> None:
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model)
    counted: asyncio.Queue[UsageUpdatedEvent] = asyncio.Queue()
    tracker.on("usage_updated", counted.put_nowait)
    try:
        await session.start(Step("intake"), record=False)
        await server.wait_for_connections(1)  # its connect metric is long gone
        tracker.attach(session)
        reply = await session.generate_reply()
        assert reply.done()
        async with asyncio.timeout(10):
            await counted.get()
    finally:
        await session.aclose()
        await model.aclose()

    assert tracker.report().turns == 1
    assert tracker.report().bucket(Bucket.INPUT_AUDIO).tokens == 1_000


async def test_attach_twice_is_refused(server: FakeGeminiLive) -> None:
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model)
    tracker.attach(session)
    with pytest.raises(RuntimeError, match="already attached"):
        tracker.attach(session)
    tracker.detach()
    tracker.attach(session)  # fine again after detach()
    await tracker.aclose()
    await model.aclose()
