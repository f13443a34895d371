"""The image estimate against the emulator's billed tokens, with and without a sliding window.

The emulator compresses the context as the service documents it and leaves 40 prompt tokens a
turn unlabelled, as Gemini does. The tracker must count only the frames still in context, and
leave those 40 tokens unattributed (priced by the policy) instead of relabelling them as image.
"""

from __future__ import annotations

import asyncio

import pytest
from google import genai
from google.genai import live, types
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.agents.utils import images

from livekit_plugins_medvision.costs import Bucket, CostTracker, UsageUpdatedEvent
from livekit_plugins_medvision.testing import ComputedUsage, FakeGeminiLive
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import Camera, feed

from .conftest import FPS, realtime_model

pytestmark = pytest.mark.e2e

M = types.MediaModality
MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # 258 tokens a frame, $3 per 1M image
UNLABELLED = 40
FRAMES_PER_TURN = (3, 2, 2, 2)
WINDOW = types.ContextWindowCompressionConfig(
    trigger_tokens=1_000, sliding_window=types.SlidingWindow(target_tokens=600)
)
CASES = {"no compression": None, "sliding window": WINDOW}


async def stream_seconds(camera: Camera, streamer: VisionStreamer, seconds: int) -> None:
    """One frame a second reaches the model (fps 1, change detection off)."""
    for _ in range(seconds * FPS):
        await feed(streamer, camera)


def estimated_per_turn(events: list[UsageUpdatedEvent]) -> list[int]:
    totals = [event.report.image_tokens_estimated for event in events]
    return [after - before for before, after in zip([0, *totals], totals, strict=False)]


@pytest.mark.parametrize("compression", CASES.values(), ids=CASES.keys())
async def test_metrics_path_estimates_only_frames_left_in_context(
    camera: Camera, compression: types.ContextWindowCompressionConfig | None
) -> None:
    # LiveKit's metrics drop VIDEO: the frames' tokens reach the tracker unlabelled.
    usage = ComputedUsage(image_modality=M.VIDEO, unlabelled_tokens=UNLABELLED)
    streamer = VisionStreamer(
        fps=1.0, silent_fps=1.0, max_size=768, change_threshold=0.0, clock=camera.clock
    )
    async with FakeGeminiLive(usage=usage) as server:
        model = realtime_model(server, streamer, context_window_compression=compression)
        session = AgentSession[None](llm=model)
        tracker = CostTracker(model.model, context_window_compression=compression)
        events: list[UsageUpdatedEvent] = []
        counted = asyncio.Event()

        def on_usage(event: UsageUpdatedEvent) -> None:
            events.append(event)
            counted.set()

        tracker.on("usage_updated", on_usage)
        tracker.attach(session)
        tracker.attach_vision(streamer)
        try:
            await session.start(Agent(instructions="You help a clinic."), record=False)
            streamer.start_track(camera.track, session.current_agent.realtime_llm_session)
            sent = 0
            for frames in FRAMES_PER_TURN:
                await stream_seconds(camera, streamer, frames)
                sent += frames
                await server.wait_for_images(sent)
                counted.clear()
                reply = await session.generate_reply()
                assert not reply.interrupted
                async with asyncio.timeout(10):
                    await counted.wait()
            report = tracker.report()
        finally:
            await streamer.aclose()
            await session.aclose()
            await tracker.aclose()
            await model.aclose()
        billed = [
            sum(
                d.token_count or 0
                for d in t.usage.prompt_tokens_details or []
                if d.modality == M.VIDEO
            )
            for t in server.received.turns
        ]

    if compression is None:
        assert billed == [774, 1290, 1806, 2322]  # every frame re-billed every turn
        assert report.context_drops == 0
    else:
        assert billed == [774, 516, 516, 516]  # the window keeps the newest turn's frames
        assert report.context_drops == 3
    assert estimated_per_turn(events) == billed
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == sum(billed)
    assert report.image_tokens_in_context == billed[-1]
    # What the estimate does not explain stays unattributed, at the highest input rate.
    unattributed = report.bucket(Bucket.INPUT_UNATTRIBUTED)
    assert unattributed.tokens == UNLABELLED * len(FRAMES_PER_TURN)
    assert tracker.pricing is not None
    assert unattributed.usd_per_million == tracker.pricing.highest_input


class GenaiSink:
    """Takes the streamer's frames and sends them with google-genai, as a direct user would."""

    def __init__(self, encode: images.EncodeOptions) -> None:
        self._encode = encode
        self._pending: list[bytes] = []

    def push_video(self, frame: rtc.VideoFrame) -> None:
        self._pending.append(images.encode(frame, self._encode))

    async def flush(self, session: live.AsyncSession) -> None:
        for data in self._pending:
            await session.send_realtime_input(video=types.Blob(data=data, mime_type="image/jpeg"))
        self._pending.clear()


async def next_usage(session: live.AsyncSession) -> types.UsageMetadata:
    """Read (across the turn boundary) until the turn's usage message."""
    async with asyncio.timeout(10):
        while True:
            async for message in session.receive():
                if message.usage_metadata is not None:
                    return message.usage_metadata


@pytest.mark.parametrize("compression", CASES.values(), ids=CASES.keys())
async def test_track_usage_path_estimates_only_frames_left_in_context(
    camera: Camera, compression: types.ContextWindowCompressionConfig | None
) -> None:
    # Frames reported under no modality at all: their tokens are in the prompt total only.
    usage = ComputedUsage(image_modality=None, unlabelled_tokens=UNLABELLED)
    streamer = VisionStreamer(
        fps=1.0, silent_fps=1.0, max_size=768, change_threshold=0.0, clock=camera.clock
    )
    sink = GenaiSink(streamer.image_encode_options())
    tracker = CostTracker(MODEL, context_window_compression=compression)
    tracker.attach_vision(streamer)
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT], context_window_compression=compression
    )
    billed: list[int] = []
    estimated: list[int] = []
    async with FakeGeminiLive(usage=usage) as server:
        client = genai.Client(api_key="fake", http_options=server.http_options())
        try:
            async with client.aio.live.connect(model=MODEL, config=config) as session:
                streamer.start_track(camera.track, sink)
                for frames in FRAMES_PER_TURN:
                    await stream_seconds(camera, streamer, frames)
                    await sink.flush(session)
                    await session.send_realtime_input(text=".")
                    turn = await next_usage(session)
                    before = tracker.report().image_tokens_estimated
                    tracker.track_usage(turn)
                    estimated.append(tracker.report().image_tokens_estimated - before)
                    labelled = sum(d.token_count or 0 for d in turn.prompt_tokens_details or [])
                    billed.append((turn.prompt_token_count or 0) - labelled - UNLABELLED)
        finally:
            await streamer.aclose()
            await tracker.aclose()
            await client.aio.aclose()

    assert billed == ([774, 1290, 1806, 2322] if compression is None else [774, 516, 516, 516])
    assert estimated == billed
    report = tracker.report()
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == sum(billed)
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == UNLABELLED * len(FRAMES_PER_TURN)
