"""What the installed google-genai and LiveKit clients send, checked against the schema the
Live API reference documents (written down in the package, not google-genai's classes).

An SDK upgrade that sends a field or value the service does not document fails here.
"""

from __future__ import annotations

import pytest
from google import genai
from google.genai import types
from livekit import rtc
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.testing.wire import check_client_message

from .conftest import MODEL, encode_image
from .test_genai_client import has_usage, read_until

pytestmark = pytest.mark.e2e

FULL_CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
    system_instruction="Você atende uma clínica.",
    tools=[
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name="look_closely",
                    description="Zoom on the frame.",
                    parameters=types.Schema(
                        type=types.Type.OBJECT,
                        properties={"reason": types.Schema(type=types.Type.STRING)},
                    ),
                )
            ]
        )
    ],
    realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(
            start_of_speech_sensitivity=types.StartSensitivity.START_SENSITIVITY_LOW,
            end_of_speech_sensitivity=types.EndSensitivity.END_SENSITIVITY_HIGH,
            prefix_padding_ms=20,
            silence_duration_ms=300,
        ),
        activity_handling=types.ActivityHandling.START_OF_ACTIVITY_INTERRUPTS,
        turn_coverage=types.TurnCoverage.TURN_INCLUDES_ALL_INPUT,
    ),
    context_window_compression=types.ContextWindowCompressionConfig(
        trigger_tokens=10_000, sliding_window=types.SlidingWindow(target_tokens=5_000)
    ),
    session_resumption=types.SessionResumptionConfig(),
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    speech_config=types.SpeechConfig(
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Puck")
        ),
        language_code="pt-BR",
    ),
    thinking_config=types.ThinkingConfig(thinking_budget=0),
    proactivity=types.ProactivityConfig(proactive_audio=True),
    enable_affective_dialog=True,
    temperature=0.4,
)


async def test_every_message_the_installed_clients_send_matches_the_documented_schema() -> None:
    async with FakeGeminiLive(record_wire=True) as server:
        client = genai.Client(api_key="fake", http_options=server.http_options())
        try:
            async with client.aio.live.connect(model=MODEL, config=FULL_CONFIG) as session:
                await session.send_realtime_input(
                    video=types.Blob(data=encode_image(64, 64), mime_type="image/jpeg")
                )
                await session.send_realtime_input(
                    audio=types.Blob(data=bytes(640), mime_type="audio/pcm;rate=16000")
                )
                await session.send_realtime_input(audio_stream_end=True)
                await session.send_realtime_input(text="Olá")
                await read_until(session, has_usage)
                await session.send_client_content(
                    turns=types.Content(role="user", parts=[types.Part(text="Tudo bem?")]),
                    turn_complete=True,
                )
                await read_until(session, has_usage)
                await session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(id="c1", name="look_closely", response={"ok": 1})
                    ]
                )
                await read_until(session, has_usage)
        finally:
            await client.aio.aclose()

        model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
        rt = model.session()
        try:
            rt.push_audio(rtc.AudioFrame(bytes(960), 48_000, 1, 480))
            rt.push_video(rtc.VideoFrame(64, 64, rtc.VideoBufferType.RGBA, bytes(64 * 64 * 4)))
            await rt.generate_reply(instructions="Cumprimente o paciente.")
            await server.wait_for(lambda r: len(r.images) >= 2 and len(r.turns) >= 4)
        finally:
            await rt.aclose()
            await model.aclose()

    kinds: set[str] = set()
    for message in server.received.wire:
        checked = check_client_message(message)  # raises SchemaViolation on drift
        kinds |= checked.keys()
    assert kinds == {"setup", "realtime_input", "client_content", "tool_response"}
    assert server.received.rejected == []
    livekit_setup = server.received.setups[-1].raw
    assert livekit_setup["model"] == f"models/{MODEL}"
