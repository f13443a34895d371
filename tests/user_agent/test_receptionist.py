"""The receptionist against the local Gemini Live, through the fake_gemini_live fixture only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from google.genai import types
from livekit.agents import AgentSession

from livekit_plugins_medvision.testing import FakeGeminiLive, Reply, realtime_model
from livekit_plugins_medvision.testing.audio import Loudspeaker, Microphone

from .receptionist import OPENING_HOURS, Receptionist

HOURS_CALL = types.FunctionCall(id="call-1", name="opening_hours", args={})


@asynccontextmanager
async def phone_call(gemini: FakeGeminiLive) -> AsyncIterator[tuple[Microphone, Loudspeaker]]:
    """The receptionist on a call: the caller's microphone and loudspeaker, no room."""
    model = realtime_model(gemini)
    session = AgentSession[None](llm=model)
    microphone, loudspeaker = Microphone(), Loudspeaker()
    session.input.audio, session.output.audio = microphone, loudspeaker
    try:
        await session.start(Receptionist(), record=False)
        yield microphone, loudspeaker
    finally:
        await session.aclose()
        await model.aclose()


@pytest.mark.fake_gemini_live(reply=Reply(text="Bom dia! Em que posso ajudar?"))
async def test_a_spoken_hello_gets_an_answer(fake_gemini_live: FakeGeminiLive) -> None:
    async with phone_call(fake_gemini_live) as (microphone, loudspeaker):
        await microphone.say(0.6)  # speech, then silence: the emulator ends the turn
        await loudspeaker.wait_for_segments(1)

    setup = fake_gemini_live.received.setups[0]
    assert setup.system_instruction is not None
    assert "Clínica Boa Vista" in setup.system_instruction
    assert fake_gemini_live.received.turns[0].trigger == "speech_end"
    assert not loudspeaker.segments[0].interrupted


@pytest.mark.fake_gemini_live(reply=Reply(text="Abrimos de segunda a sexta."))
async def test_the_model_can_ask_for_the_opening_hours(fake_gemini_live: FakeGeminiLive) -> None:
    fake_gemini_live.queue_reply(Reply(tool_calls=(HOURS_CALL,)))
    async with phone_call(fake_gemini_live) as (microphone, _):
        await microphone.say(0.6)
        await fake_gemini_live.wait_for_turns(2)  # the call, then the answer after the tool

    (response,) = fake_gemini_live.received.tool_responses
    assert (response.id, response.name) == ("call-1", "opening_hours")
    assert response.response is not None and OPENING_HOURS in str(response.response)
