"""CostTracker attached to an AgentSession on the google RealtimeModel, priced from the emulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from google.genai import types
from livekit.agents import Agent, AgentSession
from livekit.plugins import google

from livekit_plugins_medvision.costs import Bucket, CostTracker, UsageUpdatedEvent
from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import Camera, feed

from .conftest import FPS, realtime_model

pytestmark = pytest.mark.e2e

M = types.MediaModality


def usage(
    *,
    image: int,
    video: int,
    audio: int,
    text: int,
    unlabelled: int,
    out_audio: int,
    out_text: int,
    thoughts: int,
) -> types.UsageMetadata:
    """One turn's usage as Gemini Live reports it: details that do not cover the whole prompt,
    thoughts outside the response details and a total that counts them."""
    prompt = image + video + audio + text + unlabelled
    response = out_audio + out_text
    return types.UsageMetadata(
        prompt_token_count=prompt,
        response_token_count=response,
        thoughts_token_count=thoughts,
        total_token_count=prompt + response + thoughts,
        prompt_tokens_details=[
            types.ModalityTokenCount(modality=M.IMAGE, token_count=image),
            types.ModalityTokenCount(modality=M.VIDEO, token_count=video),
            types.ModalityTokenCount(modality=M.AUDIO, token_count=audio),
            types.ModalityTokenCount(modality=M.TEXT, token_count=text),
        ],
        response_tokens_details=[
            types.ModalityTokenCount(modality=M.AUDIO, token_count=out_audio),
            types.ModalityTokenCount(modality=M.TEXT, token_count=out_text),
        ],
    )


FIRST = usage(
    image=774, video=210, audio=600, text=300, unlabelled=116, out_audio=80, out_text=0, thoughts=40
)
SECOND = usage(
    image=1032,
    video=280,
    audio=900,
    text=500,
    unlabelled=288,
    out_audio=100,
    out_text=20,
    thoughts=60,
)


async def test_two_turns_and_a_reconnect_are_priced_from_the_scripted_usage(
    server: FakeGeminiLive,
) -> None:
    server.queue_usage(FIRST, SECOND)
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model)
    turns: asyncio.Queue[UsageUpdatedEvent] = asyncio.Queue()
    tracker.on("usage_updated", turns.put_nowait)
    tracker.attach(session)
    try:
        await session.start(Agent(instructions="You help a clinic."), record=False)
        reply = await session.generate_reply()
        assert not reply.interrupted  # played out, not cut off
        async with asyncio.timeout(10):
            await turns.get()

        await server.send_go_away(time_left="1s")  # the model reconnects with its handle
        await server.wait_for_connections(2)
        reply = await session.generate_reply()
        assert not reply.interrupted  # played out, not cut off
        async with asyncio.timeout(10):
            await turns.get()
    finally:
        await session.aclose()
        await tracker.aclose()
        await model.aclose()

    handle = server.received.setups[1].resumption_handle
    assert handle is not None and handle.startswith("emulator-1-")
    assert [turn.connection for turn in server.received.turns] == [1, 2]
    assert [turn.usage for turn in server.received.turns] == [FIRST, SECOND]

    report = tracker.report()
    assert report.turns == 2
    tokens = {line.bucket: line.tokens for line in report.buckets}
    assert tokens == {
        Bucket.INPUT_TEXT: 300 + 500,
        Bucket.INPUT_AUDIO: 600 + 900,
        Bucket.INPUT_IMAGE: 774 + 1032,
        Bucket.INPUT_CACHED: 0,
        # LiveKit's metrics drop VIDEO from the breakdown: it joins the unlabelled remainder.
        Bucket.INPUT_UNATTRIBUTED: (210 + 116) + (280 + 288),
        Bucket.TOOL_USE_PROMPT: 0,
        Bucket.OUTPUT_TEXT: 20,
        Bucket.OUTPUT_AUDIO: 80 + 100,
        Bucket.OUTPUT_THINKING: 0,
        Bucket.OUTPUT_UNATTRIBUTED: 0,
        # Not mapped by LiveKit either: recovered from the total.
        Bucket.THINKING_OR_TOOL_USE: 40 + 60,
    }
    exact = {line.bucket for line in report.buckets if line.exact and line.tokens}
    assert exact == {
        Bucket.INPUT_TEXT,
        Bucket.INPUT_AUDIO,
        Bucket.INPUT_IMAGE,
        Bucket.OUTPUT_TEXT,
        Bucket.OUTPUT_AUDIO,
    }

    prices = tracker.pricing
    assert prices is not None
    rate = {
        Bucket.INPUT_TEXT: prices.input_text,
        Bucket.INPUT_AUDIO: prices.input_audio,
        Bucket.INPUT_IMAGE: prices.input_image,
        Bucket.INPUT_UNATTRIBUTED: prices.highest_input,  # the default policy never under-counts
        Bucket.OUTPUT_TEXT: prices.output_text,
        Bucket.OUTPUT_AUDIO: prices.output_audio,
        Bucket.THINKING_OR_TOOL_USE: prices.output_text,
    }
    expected = sum(
        (Decimal(tokens[bucket]) * usd for bucket, usd in rate.items()), Decimal(0)
    ) / Decimal(1_000_000)
    assert report.total_usd == expected
    assert report.bucket(Bucket.INPUT_IMAGE).usd == Decimal(1806) * prices.input_image / 10**6


async def test_image_tokens_of_every_turn_are_summed_and_frames_counted_once(
    server: FakeGeminiLive, camera: Camera
) -> None:
    # The emulator's default usage: every frame in the connection's context, 258 tokens each.
    streamer = VisionStreamer(
        fps=1.0, silent_fps=1.0, max_size=768, change_threshold=0.0, clock=camera.clock
    )
    model = realtime_model(server, streamer)
    session = AgentSession[None](llm=model)
    tracker = CostTracker(model.model)
    turns: asyncio.Queue[UsageUpdatedEvent] = asyncio.Queue()
    tracker.on("usage_updated", turns.put_nowait)
    tracker.attach(session)
    tracker.attach_vision(streamer)
    try:
        await session.start(Agent(instructions="You help a clinic."), record=False)
        streamer.start_track(camera.track, session.current_agent.realtime_llm_session)
        for frames, seconds in ((3, 3), (5, 2)):
            for _ in range(seconds * FPS):
                await feed(streamer, camera)
            await server.wait_for_images(frames)
            reply = await session.generate_reply()
            assert not reply.interrupted  # played out, not cut off
            async with asyncio.timeout(10):
                await turns.get()
        report = tracker.report()  # while the streamer is still attached
    finally:
        await streamer.aclose()
        await session.aclose()
        await tracker.aclose()
        await model.aclose()

    image_details = [
        detail.token_count or 0
        for turn in server.received.turns
        for detail in turn.usage.prompt_tokens_details or []
        if detail.modality == M.IMAGE
    ]
    assert len(image_details) == 2 and 0 < image_details[0] < image_details[1]
    # Each turn's figure is billed in full: summed, neither diffed nor taken as a running total.
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == sum(image_details)
    assert report.image_tokens_reported == sum(image_details)
    # The frames themselves are counted once each.
    assert report.frames_sent == streamer.stats.frames_sent == 5
    assert report.estimated_image_tokens_sent == streamer.stats.estimated_image_tokens
