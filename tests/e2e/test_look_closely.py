"""The look_closely tool end to end: Gemini (the emulator) calls it, one sharp frame goes out,
then the tool's response, and the cost estimate counts the frame."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types
from livekit.agents import Agent, AgentSession

from livekit_plugins_medvision.costs import CostTracker, UsageUpdatedEvent
from livekit_plugins_medvision.testing import (
    ComputedUsage,
    FakeGeminiLive,
    Reply,
    TurnStats,
    wait_for_stats,
)
from livekit_plugins_medvision.vision import VisionStreamer, look_closely_tool
from tests.support.video import Camera

from .conftest import realtime_model

pytestmark = pytest.mark.e2e


async def test_the_model_calls_look_closely_and_gets_one_sharp_frame_before_the_response(
    server: FakeGeminiLive, camera: Camera
) -> None:
    images_before_response: list[int] = []

    def answer_usage(stats: TurnStats) -> types.UsageMetadata:
        # What arrived on the connection between the tool call and the tool response.
        images_before_response.append(stats.new_images)
        return ComputedUsage()(stats)

    server.queue_reply(
        Reply(tool_calls=(types.FunctionCall(id="look-1", name="look_closely", args={}),)),
        Reply(text="Está escrito: dipirona 500 mg.", usage=answer_usage),
    )
    # No stream frames while the user is silent: the only frame sent is the capture.
    streamer = VisionStreamer(silent_fps=0.0, clock=camera.clock)
    model = realtime_model(server, streamer)
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model)
    usage_updates: asyncio.Queue[UsageUpdatedEvent] = asyncio.Queue()
    tracker.on("usage_updated", usage_updates.put_nowait)
    tracker.attach(session)
    tracker.attach_vision(streamer)
    agent = Agent(instructions="You help a clinic.", tools=[look_closely_tool(streamer)])
    try:
        await session.start(agent, record=False)
        await streamer.start(session, track=camera.track)
        camera.capture()
        await wait_for_stats(streamer, lambda s: s.frames_received >= 1, what="a frame read")

        handle = session.generate_reply(user_input="Pode ler o rótulo do remédio?")
        await server.wait_for_turns(2, timeout=20.0)
        await handle.wait_for_playout()
        async with asyncio.timeout(10):
            while tracker.report().turns < 2:  # the answer's usage reaches the tracker
                await usage_updates.get()
        report = tracker.report()
        stats = streamer.stats
    finally:
        await streamer.aclose()
        await session.aclose()
        await tracker.aclose()
        await model.aclose()

    received = server.received
    assert [(image.width, image.height) for image in received.images] == [(1536, 864)]
    assert [turn.trigger for turn in received.turns] == ["client_content", "tool_response"]
    # Same connection, in order: the frame was on the wire before the tool response.
    assert images_before_response == [1]
    assert received.images[0].at <= received.turns[1].at
    [response] = received.tool_responses
    assert response.name == "look_closely" and response.id == "look-1"
    assert "1536x864" in str(response.response)
    assert (stats.captures_sent, stats.frames_sent, stats.capture_tokens) == (1, 1, 4 * 258)
    assert (report.frames_sent, report.estimated_image_tokens_sent) == (1, 4 * 258)
