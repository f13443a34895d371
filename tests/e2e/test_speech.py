"""LiveKit's default path through a real AgentSession: the patient speaks, the model answers.

Audio goes in through the session's audio input, LiveKit's Google RealtimeModel streams it to
the emulator, whose speech detector ends the turn; nothing calls ``generate_reply``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from livekit.agents import Agent, AgentSession, ChatMessage, ConversationItemAddedEvent
from livekit.plugins import google

from livekit_plugins_medvision.testing import FakeGeminiLive, Reply
from livekit_plugins_medvision.testing.audio import Loudspeaker, Microphone

pytestmark = pytest.mark.e2e


@dataclass
class Call:
    session: AgentSession[None]
    microphone: Microphone
    loudspeaker: Loudspeaker


@asynccontextmanager
async def call(server: FakeGeminiLive, *, aec_warmup: float | None = 3.0) -> AsyncIterator[Call]:
    """An AgentSession on the emulator with a microphone and a loudspeaker, no room."""
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = AgentSession[None](llm=model, aec_warmup_duration=aec_warmup)
    microphone, loudspeaker = Microphone(), Loudspeaker()
    session.input.audio = microphone
    session.output.audio = loudspeaker
    try:
        await session.start(Agent(instructions="Você atende uma clínica."), record=False)
        yield Call(session, microphone, loudspeaker)
    finally:
        await session.aclose()
        await model.aclose()


async def wait_for_answers(session: AgentSession[None], count: int) -> None:
    """Wait until the session's history holds ``count`` assistant messages."""
    added = asyncio.Event()

    def on_item(_: ConversationItemAddedEvent) -> None:
        added.set()

    session.on("conversation_item_added", on_item)
    try:
        async with asyncio.timeout(10):
            while len(assistant_messages(session)) < count:
                added.clear()
                await added.wait()
    finally:
        session.off("conversation_item_added", on_item)


def assistant_messages(session: AgentSession[None]) -> list[ChatMessage]:
    return [
        item
        for item in session.history.items
        if isinstance(item, ChatMessage) and item.role == "assistant"
    ]


async def test_a_spoken_question_gets_a_spoken_answer() -> None:
    async with (
        FakeGeminiLive(
            reply=Reply(text="Bom dia, em que posso ajudar?", audio_seconds=0.4)
        ) as server,
        call(server) as agent,
    ):
        await agent.microphone.say(0.6)
        await agent.loudspeaker.wait_for_segments(1)
        await wait_for_answers(agent.session, 1)

    turn = server.received.turns[0]
    assert turn.trigger == "speech_end"  # the emulator's detector ended the turn
    assert not turn.interrupted
    assert server.received.speech_starts == 1
    assert server.received.texts == []  # audio only: no generate_reply text turn
    # The whole answer was played (0.4 s of it), and LiveKit recorded what was said.
    (played,) = agent.loudspeaker.segments
    assert not played.interrupted
    assert played.captured_seconds == pytest.approx(0.4, abs=0.05)
    assert [m.text_content for m in assistant_messages(agent.session)] == [
        "Bom dia, em que posso ajudar?"
    ]


async def test_speaking_over_the_answer_interrupts_it() -> None:
    replies = (
        Reply(text="Uma resposta bem longa sobre a sua consulta.", audio_seconds=3.0),
        Reply(text="Pois não?", audio_seconds=0.3),
    )
    # LiveKit replaces the user's audio with silence for the first 3 s of each answer (its
    # echo canceller's warm-up, aec_warmup_duration): no barge-in can reach Gemini then. The
    # test has no echo to cancel.
    async with FakeGeminiLive() as server, call(server, aec_warmup=None) as agent:
        server.queue_reply(*replies)
        await agent.microphone.say(0.6)
        await agent.loudspeaker.started.wait()  # the long answer is playing
        await agent.microphone.say(0.6)  # the patient speaks over it
        await server.wait_for_turns(2)

        await agent.loudspeaker.wait_for_segments(2)
        await wait_for_answers(agent.session, 2)

    first, second = server.received.turns
    assert first.interrupted and not second.interrupted
    assert [t.trigger for t in server.received.turns] == ["speech_end", "speech_end"]
    assert server.received.interruptions == 1
    # LiveKit stopped the long answer's playback well before its end, then played the next.
    cut, answered = agent.loudspeaker.segments
    assert cut.interrupted and cut.seconds < 2.5
    assert not answered.interrupted
    answers = assistant_messages(agent.session)
    assert answers[0].interrupted and not answers[-1].interrupted
