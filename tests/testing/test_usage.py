"""The emulator's default usage: frame tokens by model family and media resolution, and the
setup's system instruction and tools billed as input text on every turn."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from google import genai
from google.genai import types

from livekit_plugins_medvision.testing import ComputedUsage, FakeGeminiLive, TurnStats

from .conftest import encode_image
from .test_genai_client import has_usage, read_until

pytestmark = pytest.mark.e2e


def prompt_tokens(usage: types.UsageMetadata | None, modality: types.MediaModality) -> int:
    assert usage is not None
    return sum(
        d.token_count or 0 for d in usage.prompt_tokens_details or [] if d.modality == modality
    )


@pytest.mark.parametrize(
    ("model", "resolution", "per_frame"),
    [
        ("gemini-2.5-flash-native-audio-preview-12-2025", None, 258),
        ("gemini-2.5-flash-native-audio-preview-12-2025", "MEDIA_RESOLUTION_LOW", 66),
        ("gemini-2.5-flash-native-audio-preview-12-2025", "MEDIA_RESOLUTION_HIGH", 258),
        ("gemini-3.1-flash-live-preview", None, 70),
        ("gemini-3.1-flash-live-preview", "MEDIA_RESOLUTION_MEDIUM", 70),
        ("gemini-3.8-live", "MEDIA_RESOLUTION_HIGH", 280),
    ],
)
async def test_frame_tokens_follow_model_family_and_media_resolution(
    server: FakeGeminiLive,
    client: genai.Client,
    model: str,
    resolution: str | None,
    per_frame: int,
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        media_resolution=types.MediaResolution(resolution) if resolution else None,
    )
    jpeg = types.Blob(data=encode_image(64, 64), mime_type="image/jpeg")
    async with client.aio.live.connect(model=model, config=config) as session:
        for _ in range(3):
            await session.send_realtime_input(video=jpeg)
        await session.send_realtime_input(text="look")
        messages = await read_until(session, has_usage)
    assert prompt_tokens(messages[-1].usage_metadata, types.MediaModality.IMAGE) == 3 * per_frame


async def test_system_instruction_and_tools_are_billed_on_every_turn(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    instruction = "Você é a assistente da clínica. " * 20  # 640 characters
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(name="look_closely", description="Zoom on the frame.")
        ]
    )
    bare = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
    full = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT], system_instruction=instruction, tools=[tool]
    )
    text_per_turn: dict[str, list[int]] = {}
    for name, config in (("bare", bare), ("full", full)):
        async with client.aio.live.connect(model="gemini-3.8-live", config=config) as session:
            tokens = []
            for _ in range(3):
                await session.send_client_content(
                    turns=types.Content(role="user", parts=[types.Part(text="oi")]),
                    turn_complete=True,
                )
                messages = await read_until(session, has_usage)
                tokens.append(prompt_tokens(messages[-1].usage_metadata, types.MediaModality.TEXT))
        text_per_turn[name] = tokens

    # Each turn pays for the instruction and the tool declarations (as sent) again, on top
    # of the conversation so far ("oi" per turn), at 4 characters per token.
    tools = json.dumps(server.received.setups[1].raw["tools"], separators=(",", ":"))
    declared = len(instruction) + len(tools)
    assert text_per_turn["bare"] == [math.ceil(2 * k / 4) for k in (1, 2, 3)]
    assert text_per_turn["full"] == [math.ceil((2 * k + declared) / 4) for k in (1, 2, 3)]


def test_a_fixed_frame_price_overrides_the_rules() -> None:
    assert (
        ComputedUsage(tokens_per_image=100).frame_tokens(
            _stats("gemini-3.8-live", "MEDIA_RESOLUTION_HIGH")
        )
        == 100
    )
    assert ComputedUsage(gemini3_rate="image").frame_tokens(_stats("gemini-3.8-live", None)) == 1120
    with pytest.raises(ValueError, match="gemini3_rate"):
        ComputedUsage(gemini3_rate="pixels")  # type: ignore[arg-type]  # a typo is refused


def _stats(model: str, resolution: str | None) -> TurnStats:
    return TurnStats(
        turn=1,
        connection=1,
        trigger="client_content",
        new_images=0,
        new_audio_bytes=0,
        new_text_chars=0,
        context_images=0,
        context_audio_bytes=0,
        context_text_chars=0,
        reply_text="",
        reply_audio_bytes=0,
        model=model,
        media_resolution=resolution,
    )


def test_frames_can_be_labelled_video_instead_of_image() -> None:
    stats = _stats("gemini-2.5-flash-native-audio-preview-12-2025", None)
    stats = dataclasses.replace(stats, context_images=2, new_images=2)
    usage = ComputedUsage(image_modality=types.MediaModality.VIDEO)(stats)
    assert prompt_tokens(usage, types.MediaModality.VIDEO) == 516
    assert prompt_tokens(usage, types.MediaModality.IMAGE) == 0
