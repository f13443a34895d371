"""A low hard budget pauses the streamer, and the emulator stops receiving frames."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from google.genai import types
from livekit.agents import Agent, AgentSession, CloseEvent
from livekit.plugins import google

from livekit_plugins_medvision.costs import Budget, BudgetHardExceededEvent, CostTracker
from livekit_plugins_medvision.testing import FakeGeminiLive, wait_for_stats
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import Camera, feed

from .conftest import (
    FPS,
    realtime_model,
)

pytestmark = pytest.mark.e2e

# 2,000 image tokens: $0.006 at the default model's $3 per million, over the $0.001 budget.
EXPENSIVE_TURN = types.UsageMetadata(
    prompt_token_count=2_000,
    response_token_count=10,
    total_token_count=2_010,
    prompt_tokens_details=[
        types.ModalityTokenCount(modality=types.MediaModality.IMAGE, token_count=2_000)
    ],
    response_tokens_details=[
        types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=10)
    ],
)


async def test_hard_budget_pauses_video_at_the_source(
    server: FakeGeminiLive, camera: Camera
) -> None:
    server.queue_usage(EXPENSIVE_TURN)
    streamer = VisionStreamer(
        fps=1.0, silent_fps=1.0, max_size=512, change_threshold=0.0, clock=camera.clock
    )
    model = realtime_model(server, streamer)
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model, budget=Budget(hard_usd=Decimal("0.001")))
    exceeded: asyncio.Queue[BudgetHardExceededEvent] = asyncio.Queue()
    tracker.on("budget_hard_exceeded", exceeded.put_nowait)
    tracker.attach(session)
    tracker.attach_vision(streamer)
    stop = asyncio.Event()

    async def stream_until_stopped() -> None:
        while not stop.is_set():
            await feed(streamer, camera)

    feeder: asyncio.Task[None] | None = None
    try:
        await session.start(Agent(instructions="You help a clinic."), record=False)
        streamer.start_track(camera.track, session.current_agent.realtime_llm_session)
        feeder = asyncio.create_task(stream_until_stopped(), name="test-camera")
        await server.wait_for_images(2)

        reply = await session.generate_reply()
        assert not reply.interrupted  # played out, not cut off
        async with asyncio.timeout(10):
            event = await exceeded.get()
        assert event.video_paused and streamer.paused
        assert event.total_usd >= Decimal("0.006")
        sent_before_pause = streamer.stats.frames_sent
        received_before = streamer.stats.frames_received

        # Five more seconds of camera: read, never sent.
        await wait_for_stats(
            streamer,
            lambda stats: stats.frames_received >= received_before + 5 * FPS,
            what="five more seconds of camera",
        )
        # A second turn goes through the same ordered queue as the frames: once it is
        # answered, every frame sent before it has arrived.
        barrier = await session.generate_reply()
        assert not barrier.interrupted  # played out, not cut off
        await server.wait_for_turns(2)
    finally:
        stop.set()
        if feeder is not None:
            await feeder
        await streamer.aclose()
        await session.aclose()
        await tracker.aclose()
        await model.aclose()

    assert streamer.stats.frames_sent == sent_before_pause
    assert len(server.received.images) == sent_before_pause
    assert streamer.stats.frames_received >= received_before + 5 * FPS


async def test_end_call_says_the_closing_sentence_then_ends_the_session(
    server: FakeGeminiLive,
) -> None:
    server.queue_usage(EXPENSIVE_TURN)
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model)
    closing = "Tell the patient the call ends now because of its cost limit, and say goodbye."
    budget = Budget(hard_usd=Decimal("0.001"), on_hard="end_call", closing_instructions=closing)
    tracker = CostTracker(model.model, budget=budget)
    exceeded: asyncio.Queue[BudgetHardExceededEvent] = asyncio.Queue()
    tracker.on("budget_hard_exceeded", exceeded.put_nowait)
    closed = asyncio.Event()
    turns_at_close: list[int] = []

    def on_close(_event: CloseEvent) -> None:
        turns_at_close.append(len(server.received.turns))
        closed.set()

    session.on("close", on_close)
    tracker.attach(session)
    try:
        await session.start(Agent(instructions="You help a clinic."), record=False)
        reply = await session.generate_reply()
        assert not reply.interrupted
        async with asyncio.timeout(10):
            event = await exceeded.get()
            await closed.wait()
    finally:
        await session.aclose()
        await tracker.aclose()
        await model.aclose()

    assert event.ending_call
    # The closing sentence was asked for and answered before the session closed.
    assert turns_at_close == [2]
    assert any(closing in text.text for text in server.received.texts)
