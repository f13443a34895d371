"""The emulator against the real google-genai client over TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from google import genai
from google.genai import errors, live, types

from livekit_plugins_medvision.testing import (
    ComputedUsage,
    FakeGeminiLive,
    Reply,
    TurnStats,
    UsagePlacement,
)

from .conftest import MODEL, encode_image

pytestmark = pytest.mark.e2e

TEXT_ONLY = types.LiveConnectConfig(
    response_modalities=[types.Modality.TEXT],
    session_resumption=types.SessionResumptionConfig(),
)


async def read_until(
    session: live.AsyncSession, done: Callable[[types.LiveServerMessage], bool]
) -> list[types.LiveServerMessage]:
    """Read server messages (across turn boundaries) until ``done`` holds for one.

    Raises:
        TimeoutError: ``done`` held for no message within 10 s (a broken test fails, not hangs).
    """
    messages: list[types.LiveServerMessage] = []
    async with asyncio.timeout(10):
        while True:
            async for message in session.receive():
                messages.append(message)
                if done(message):
                    return messages


def model_texts(messages: list[types.LiveServerMessage]) -> list[str | None]:
    """The text parts of the model's turns, in order."""
    return [
        part.text
        for m in messages
        if m.server_content and m.server_content.model_turn
        for part in m.server_content.model_turn.parts or []
    ]


def has_usage(message: types.LiveServerMessage) -> bool:
    return message.usage_metadata is not None


async def test_setup_frames_text_and_a_computed_turn(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        session_resumption=types.SessionResumptionConfig(),
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        realtime_input_config=types.RealtimeInputConfig(
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_ALL_INPUT
        ),
        system_instruction="You are a clinic assistant.",
    )
    jpeg = encode_image(640, 360)
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await session.send_realtime_input(video=types.Blob(data=jpeg, mime_type="image/jpeg"))
        await session.send_realtime_input(
            video=types.Blob(data=encode_image(320, 240, "PNG"), mime_type="image/png")
        )
        await session.send_realtime_input(text="What do you see?")
        messages = await read_until(session, has_usage)

    setup = server.received.setups[0]
    assert setup.model == f"models/{MODEL}"
    assert setup.response_modalities == ("TEXT",)
    assert setup.media_resolution == "MEDIA_RESOLUTION_LOW"
    assert setup.turn_coverage == "TURN_INCLUDES_ALL_INPUT"
    assert setup.resumption_requested and setup.resumption_handle is None
    assert setup.system_instruction == "You are a clinic assistant."
    assert server.received.connections[0].path.endswith(
        "generativelanguage.v1.GenerativeService.BidiGenerateContent"
    )

    first, second = server.received.images
    assert (first.mime_type, first.format, first.width, first.height) == (
        "image/jpeg",
        "JPEG",
        640,
        360,
    )
    assert first.size_bytes == len(jpeg)
    assert (second.format, second.width, second.height) == ("PNG", 320, 240)
    assert [t.text for t in server.received.texts] == ["What do you see?"]

    assert model_texts(messages) == ["I can see you."]
    assert any(m.server_content and m.server_content.generation_complete for m in messages)
    assert any(m.server_content and m.server_content.turn_complete for m in messages)
    handles = [
        m.session_resumption_update.new_handle for m in messages if m.session_resumption_update
    ]
    assert handles, "a client asking for resumption gets a handle"

    usage = messages[-1].usage_metadata
    assert usage is not None
    # Default usage: 2 frames x 66 (Gemini 2.x at LOW), the 27-character system instruction
    # and the 16-character question / 4, the reply's 14 characters / 4.
    assert usage.prompt_tokens_details == [
        types.ModalityTokenCount(modality=types.MediaModality.IMAGE, token_count=132),
        types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=11),
    ]
    assert usage.prompt_token_count == 143
    assert usage.response_token_count == 4
    assert usage.total_token_count == 147
    assert server.received.turns[0].trigger == "realtime_text"
    assert server.received.turns[0].usage == usage


async def test_audio_reply_with_transcriptions_and_activity_turns(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.queue_reply(Reply(text="Hello.", audio_seconds=0.25, input_transcription="hi"))
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
        # Activity signals are only allowed with the service's own detection off.
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
        ),
    )
    pcm = bytes(3_200)  # 0.1 s of 16 kHz 16-bit mono
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        # No audio since activity start: nothing to answer.
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        await session.send_realtime_input(activity_start=types.ActivityStart())
        for _ in range(5):
            await session.send_realtime_input(
                audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000")
            )
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        messages = await read_until(session, has_usage)

    received = server.received
    assert received.audio_chunks == 5
    assert {chunk.size_bytes for chunk in received.audio} == {3_200}
    assert (received.activity_starts, received.activity_ends) == (2, 2)
    assert [turn.trigger for turn in received.turns] == ["activity_end"]

    contents = [m.server_content for m in messages if m.server_content]
    assert contents[0].input_transcription == types.Transcription(text="hi")
    audio = b"".join(
        part.inline_data.data or b""
        for content in contents
        if content.model_turn
        for part in content.model_turn.parts or []
        if part.inline_data and part.inline_data.mime_type == "audio/pcm;rate=24000"
    )
    assert len(audio) == 12_000  # 0.25 s of 24 kHz 16-bit mono
    assert any(c.output_transcription == types.Transcription(text="Hello.") for c in contents)
    usage = messages[-1].usage_metadata
    assert usage is not None
    # 0.5 s of audio in and 0.25 s out, at 25 tokens per second.
    assert usage.prompt_tokens_details == [
        types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=12)
    ]
    assert usage.response_tokens_details == [
        types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=6)
    ]


@pytest.mark.parametrize("placement", ["after", "with", "before"])
async def test_scripted_usage_reaches_the_client_unchanged(
    server: FakeGeminiLive, client: genai.Client, placement: UsagePlacement
) -> None:
    scripted = types.UsageMetadata(
        prompt_token_count=1_000,
        response_token_count=40,
        thoughts_token_count=12,
        total_token_count=1_040,
        prompt_tokens_details=[
            types.ModalityTokenCount(modality=types.MediaModality.IMAGE, token_count=500),
            types.ModalityTokenCount(modality=types.MediaModality.VIDEO, token_count=70),
            types.ModalityTokenCount(modality=types.MediaModality.AUDIO, token_count=300),
            types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=100),
        ],
        response_tokens_details=[
            types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=40)
        ],
    )
    server.queue_reply(Reply(usage_placement=placement))
    server.queue_usage(scripted)
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="Hi")]), turn_complete=True
        )
        messages = await read_until(session, has_usage)
        if placement == "before":
            # The usage came before turnComplete: read the rest of the turn.
            messages += await read_until(
                session, lambda m: bool(m.server_content and m.server_content.turn_complete)
            )

    usage_messages = [m for m in messages if m.usage_metadata]
    assert [m.usage_metadata for m in usage_messages] == [scripted]
    on_turn_complete = bool(
        usage_messages[0].server_content and usage_messages[0].server_content.turn_complete
    )
    assert on_turn_complete is (placement == "with")
    turn_complete_at = next(
        i for i, m in enumerate(messages) if m.server_content and m.server_content.turn_complete
    )
    usage_at = messages.index(usage_messages[0])
    expected = {"after": usage_at > turn_complete_at, "with": usage_at == turn_complete_at}
    assert expected.get(placement, usage_at < turn_complete_at)
    assert server.received.turns[0].trigger == "client_content"
    assert [t.role for t in server.received.texts] == ["user"]


async def test_a_callable_usage_sees_new_and_context_counts(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    seen: list[TurnStats] = []

    def usage(stats: TurnStats) -> types.UsageMetadata:
        seen.append(stats)
        return ComputedUsage(tokens_per_image=66, accumulate=False)(stats)

    server.queue_reply(Reply(usage=usage), Reply(usage=usage))
    jpeg = types.Blob(data=encode_image(64, 64), mime_type="image/jpeg")
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        for _ in range(3):
            await session.send_realtime_input(video=jpeg)
        await session.send_realtime_input(text="one")
        first = await read_until(session, has_usage)
        await session.send_realtime_input(video=jpeg)
        await session.send_realtime_input(text="two")
        second = await read_until(session, has_usage)

    assert [(s.new_images, s.context_images) for s in seen] == [(3, 3), (1, 4)]
    assert [(s.turn, s.connection) for s in seen] == [(1, 1), (2, 1)]
    image_tokens = [
        [
            d.token_count
            for d in m[-1].usage_metadata.prompt_tokens_details or []
            if d.modality == types.MediaModality.IMAGE
        ]
        for m in (first, second)
        if m[-1].usage_metadata
    ]
    assert image_tokens == [[198], [66]]


async def test_go_away_then_resume_with_the_granted_handle(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    jpeg = types.Blob(data=encode_image(64, 64), mime_type="image/jpeg")
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await session.send_realtime_input(video=jpeg)
        await session.send_realtime_input(video=jpeg)
        await server.wait_for_images(2)
        await server.send_resumption_update()
        updates = await read_until(session, lambda m: m.session_resumption_update is not None)
        await server.send_resumption_update()
        updates += await read_until(session, lambda m: m.session_resumption_update is not None)
        await server.send_go_away(time_left="0.5s")
        go_away = await read_until(session, lambda m: m.go_away is not None)
    assert go_away[-1].go_away == types.LiveServerGoAway(time_left="0.5s")
    handle = updates[-1].session_resumption_update
    assert handle is not None and handle.resumable and handle.new_handle

    resumed = types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        session_resumption=types.SessionResumptionConfig(handle=handle.new_handle),
    )
    async with client.aio.live.connect(model=MODEL, config=resumed) as session:
        await session.send_realtime_input(text="still there?")
        messages = await read_until(session, has_usage)

    assert server.received.setups[1].resumption_handle == handle.new_handle
    usage = messages[-1].usage_metadata
    assert usage is not None and usage.prompt_tokens_details is not None
    # The resumed context still holds the two frames of the first connection.
    assert usage.prompt_tokens_details[0] == types.ModalityTokenCount(
        modality=types.MediaModality.IMAGE, token_count=516
    )


async def test_close_all_reaches_the_client_as_an_api_error(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await server.wait_for_connections(1)
        await server.close_all(code=1011, reason="Internal error encountered.")
        with pytest.raises(errors.APIError) as caught:
            await read_until(session, lambda m: False)
    assert caught.value.code == 1011
    await server.wait_for(lambda r: r.connections[0].close_code == 1011)
    assert server.open_connections == 0


async def test_environment_recipe(server: FakeGeminiLive, monkeypatch: pytest.MonkeyPatch) -> None:
    env = server.env()
    assert env["GOOGLE_GEMINI_BASE_URL"] == f"https://127.0.0.1:{server.port}"
    assert env["SSL_CERT_FILE"] == str(server.cert_path)
    assert server.cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = genai.Client()  # everything from the environment
    try:
        async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
            await session.send_realtime_input(text="hello")
            messages = await read_until(session, has_usage)
    finally:
        await client.aio.aclose()
    assert messages[-1].usage_metadata is not None
    assert server.received.setups[0].model == f"models/{MODEL}"


async def test_held_setup_keeps_the_client_connecting(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.hold_setup()
    connected = asyncio.Event()

    async def connect() -> None:
        async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY):
            connected.set()

    task = asyncio.create_task(connect())
    await server.wait_for(lambda r: len(r.connections) == 1)
    assert not connected.is_set() and server.received.setups == []
    server.release_setup()
    await task
    assert connected.is_set()
    assert len(server.received.setups) == 1


async def test_tool_call_then_the_tool_response_continues_the_turn(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    call = types.FunctionCall(id="call-1", name="look_closer", args={"reason": "rash"})
    server.queue_reply(Reply(tool_calls=(call,)), Reply(text="It looks mild."))
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await session.send_realtime_input(text="Can you look at my arm?")
        first = await read_until(session, has_usage)
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id="call-1", name="look_closer", response={"ok": True})
            ]
        )
        second = await read_until(session, has_usage)

    tool_calls = [m.tool_call for m in first if m.tool_call]
    assert tool_calls == [types.LiveServerToolCall(function_calls=[call])]
    assert not any(m.server_content and m.server_content.turn_complete for m in first)
    assert [t.trigger for t in server.received.turns] == ["realtime_text", "tool_response"]
    assert server.received.tool_responses[0].id == "call-1"
    assert model_texts(second) == ["It looks mild."]


async def test_a_failing_usage_callable_closes_with_1011(
    server: FakeGeminiLive, client: genai.Client, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(stats: TurnStats) -> types.UsageMetadata:
        raise ZeroDivisionError

    server.queue_reply(Reply(usage=broken))
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await session.send_realtime_input(text="hello")
        with pytest.raises(errors.APIError) as caught:
            await read_until(session, lambda m: False)
    assert caught.value.code == 1011
    assert "could not answer a turn" in caplog.text
    assert server.received.turns == []
