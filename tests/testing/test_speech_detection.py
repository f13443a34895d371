"""The emulator's speech detector: the service's knobs, and turns from audio alone."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import live, types

from livekit_plugins_medvision.testing import FakeGeminiLive, Reply, VoiceActivitySettings
from livekit_plugins_medvision.testing.audio import silence_pcm, speech_pcm
from livekit_plugins_medvision.testing.protocol import ActivityDetection
from livekit_plugins_medvision.testing.vad import EnergyVad

from .conftest import MODEL
from .test_genai_client import has_usage, read_until

pytestmark = pytest.mark.e2e

DEFAULTS = VoiceActivitySettings()


def events(vad: EnergyVad, *chunks: bytes) -> list[str]:
    return [event for chunk in chunks for event in vad.feed(chunk, 16_000)]


def test_speech_then_silence_starts_and_ends_an_utterance() -> None:
    vad = EnergyVad(ActivityDetection(), DEFAULTS)
    assert events(vad, silence_pcm(0.3), speech_pcm(0.5), silence_pcm(0.4)) == ["start"]
    assert events(vad, silence_pcm(0.2)) == ["end"]  # 500 ms of silence by default


def test_prefix_padding_ignores_speech_shorter_than_it() -> None:
    vad = EnergyVad(ActivityDetection(prefix_padding_ms=200), DEFAULTS)
    assert events(vad, speech_pcm(0.15), silence_pcm(0.3)) == []
    assert events(vad, speech_pcm(0.25)) == ["start"]


def test_silence_duration_bridges_a_pause_shorter_than_it() -> None:
    vad = EnergyVad(ActivityDetection(silence_duration_ms=800), DEFAULTS)
    assert events(vad, speech_pcm(0.3), silence_pcm(0.6), speech_pcm(0.3)) == ["start"]
    assert events(vad, silence_pcm(0.8)) == ["end"]


def test_low_start_sensitivity_does_not_hear_quiet_speech() -> None:
    quiet = speech_pcm(0.5, level_dbfs=-38.0)
    high = EnergyVad(ActivityDetection(start_sensitivity="START_SENSITIVITY_HIGH"), DEFAULTS)
    low = EnergyVad(ActivityDetection(start_sensitivity="START_SENSITIVITY_LOW"), DEFAULTS)
    assert events(high, quiet) == ["start"]
    assert events(low, quiet) == []


def test_high_end_sensitivity_ends_fading_speech_sooner() -> None:
    # Speech that fades 16 dB: under the end level at HIGH (-51 dBFS), above it at LOW (-60).
    fading = speech_pcm(0.8, level_dbfs=-56.0)
    for sensitivity, expected in (("END_SENSITIVITY_HIGH", ["end"]), ("END_SENSITIVITY_LOW", [])):
        vad = EnergyVad(ActivityDetection(end_sensitivity=sensitivity), DEFAULTS)
        assert events(vad, speech_pcm(0.3, level_dbfs=-40.0)) == ["start"]
        assert events(vad, fading) == expected


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="silence_duration_ms"):
        VoiceActivitySettings(silence_duration_ms=-1)
    with pytest.raises(ValueError, match="start_dbfs_low"):
        VoiceActivitySettings(start_dbfs_low=3.0)


async def send_pcm(session: live.AsyncSession, pcm: bytes) -> None:
    """Send PCM in 20 ms chunks, as LiveKit does."""
    for start in range(0, len(pcm), 640):
        await session.send_realtime_input(
            audio=types.Blob(data=pcm[start : start + 640], mime_type="audio/pcm;rate=16000")
        )


SPOKEN = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    realtime_input_config=types.RealtimeInputConfig(
        automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=200)
    ),
)


async def test_audio_alone_makes_a_turn_when_the_speaker_falls_silent(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    async with client.aio.live.connect(model=MODEL, config=SPOKEN) as session:
        await send_pcm(session, speech_pcm(0.5) + silence_pcm(0.3))
        await read_until(session, has_usage)
    assert [t.trigger for t in server.received.turns] == ["speech_end"]
    assert (server.received.speech_starts, server.received.speech_ends) == (1, 1)


async def test_the_end_of_the_stream_makes_a_turn_only_during_speech(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    async with client.aio.live.connect(model=MODEL, config=SPOKEN) as session:
        await send_pcm(session, silence_pcm(0.5))
        await session.send_realtime_input(audio_stream_end=True)  # silence only: no turn
        await send_pcm(session, speech_pcm(0.4))
        await session.send_realtime_input(audio_stream_end=True)  # mid-speech: a turn
        await read_until(session, has_usage)
    assert server.received.audio_stream_ends == 2
    assert [t.trigger for t in server.received.turns] == ["audio_stream_end"]


async def test_speech_during_an_answer_interrupts_it(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.queue_reply(Reply(text="A long answer.", audio_seconds=5.0))
    async with client.aio.live.connect(model=MODEL, config=SPOKEN) as session:
        await send_pcm(session, speech_pcm(0.4) + silence_pcm(0.3))
        answer = await read_until(
            session, lambda m: bool(m.server_content and m.server_content.generation_complete)
        )
        await send_pcm(session, speech_pcm(0.3))  # the user speaks over it
        rest = await read_until(session, has_usage)
    contents = [m.server_content for m in rest if m.server_content]
    assert contents[0].interrupted  # then turnComplete, with the rest of the answer unplayed
    assert any(c.turn_complete for c in contents)
    assert answer and server.received.turns[0].interrupted
    assert server.received.interruptions == 1


async def test_no_interruption_when_the_setup_asks_for_none(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.queue_reply(Reply(text="Hear me out.", audio_seconds=0.6))
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(silence_duration_ms=200),
            activity_handling=types.ActivityHandling.NO_INTERRUPTION,
        ),
    )
    async with client.aio.live.connect(model=MODEL, config=config) as session:
        await send_pcm(session, speech_pcm(0.4) + silence_pcm(0.3))
        await read_until(
            session, lambda m: bool(m.server_content and m.server_content.generation_complete)
        )
        await send_pcm(session, speech_pcm(0.3))
        await read_until(session, has_usage)
    assert not server.received.turns[0].interrupted
    assert server.received.interruptions == 0


async def test_a_client_turn_during_an_answer_interrupts_it(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.queue_reply(Reply(text="A long answer.", audio_seconds=5.0))
    async with client.aio.live.connect(model=MODEL, config=SPOKEN) as session:
        await session.send_realtime_input(text="Tell me everything.")
        await read_until(
            session, lambda m: bool(m.server_content and m.server_content.generation_complete)
        )
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="Stop.")]), turn_complete=True
        )
        await read_until(session, lambda m: bool(m.server_content and m.server_content.interrupted))
        await read_until(session, has_usage)
    assert [t.interrupted for t in server.received.turns[:1]] == [True]
