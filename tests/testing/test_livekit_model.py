"""The emulator against LiveKit's Google ``RealtimeModel``, with no room or AgentSession."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types
from livekit import rtc
from livekit.agents import Agent, AgentSession, function_tool
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive, Reply

pytestmark = pytest.mark.e2e


def rgba_frame(width: int, height: int) -> rtc.VideoFrame:
    return rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, bytes(width * height * 4))


async def test_realtime_model_sends_frames_and_reports_scripted_usage(
    server: FakeGeminiLive,
) -> None:
    server.queue_usage(
        types.UsageMetadata(
            prompt_token_count=900,
            response_token_count=30,
            total_token_count=930,
            prompt_tokens_details=[
                types.ModalityTokenCount(modality=types.MediaModality.IMAGE, token_count=516),
                types.ModalityTokenCount(modality=types.MediaModality.VIDEO, token_count=70),
                types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=200),
                types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=100),
            ],
            response_tokens_details=[
                types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=30)
            ],
        )
    )
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = model.session()
    metrics: list[RealtimeModelMetrics] = []
    turn_metrics = asyncio.Event()

    def on_metrics(event: object) -> None:
        if isinstance(event, RealtimeModelMetrics):
            metrics.append(event)
            if event.request_id:
                turn_metrics.set()

    session.on("metrics_collected", on_metrics)
    try:
        session.push_video(rgba_frame(1280, 720))
        await server.wait_for_images(1)
        generation = await session.generate_reply()
        async with asyncio.timeout(10):
            await turn_metrics.wait()
    finally:
        await session.aclose()
        await model.aclose()

    image = server.received.images[0]
    assert (image.mime_type, image.format, image.width, image.height) == (
        "image/jpeg",
        "JPEG",
        1024,
        576,
    )
    setup = server.received.setups[0]
    assert setup.model == "models/gemini-2.5-flash-native-audio-preview-12-2025"
    assert setup.resumption_requested
    assert server.received.turns[0].trigger == "client_content"
    assert generation.user_initiated

    # The zero-usage connection metric, then the turn's.
    assert [m.input_tokens for m in metrics] == [0, 900]
    turn = metrics[-1]
    assert turn.output_tokens == 30
    details = turn.input_token_details
    # LiveKit keeps IMAGE, AUDIO and TEXT and drops VIDEO from the breakdown.
    assert (details.image_tokens, details.audio_tokens, details.text_tokens) == (516, 200, 100)
    assert turn.output_token_details.audio_tokens == 30


class Clinician(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You help a clinic.")
        self.looked_at: list[str] = []

    @function_tool
    async def look_closer(self, reason: str) -> str:
        """Ask for a sharper frame of what the patient shows.

        Args:
            reason: What to look at.
        """
        self.looked_at.append(reason)
        return "sharper frame requested"


async def test_agent_session_runs_a_scripted_tool_call(server: FakeGeminiLive) -> None:
    call = types.FunctionCall(id="call-1", name="look_closer", args={"reason": "rash"})
    server.queue_reply(Reply(tool_calls=(call,)), Reply(text="It looks mild."))
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model)
    agent = Clinician()
    try:
        await session.start(agent, record=False)
        reply = await session.generate_reply()
        assert not reply.interrupted  # played out, not cut off
        await server.wait_for_turns(2)
    finally:
        await session.aclose()
        await model.aclose()

    assert agent.looked_at == ["rash"]
    response = server.received.tool_responses[0]
    assert (response.id, response.name) == ("call-1", "look_closer")
    assert response.response == {"output": "sharper frame requested"}
    assert [turn.trigger for turn in server.received.turns] == ["client_content", "tool_response"]
