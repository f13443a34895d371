"""The demo's scripted patient: a line every few seconds, the emulated answer queued for it."""

from __future__ import annotations

import asyncio
from typing import Final

from livekit_plugins_medvision.patients import Language
from livekit_plugins_medvision.testing import FakeGeminiLive, Reply

from .call import ClinicCall
from .console import Console

TURN_EVERY_S: Final = 4.0
SPEECH_S: Final = 2.5  # how long the scripted patient "speaks" before each agent reply
TURN_TIMEOUT_S: Final = 10.0

CAMERA_OFF: Final[dict[Language, str]] = {
    "pt-BR": "Não estou mais vendo a sua câmera; seguimos só por voz.",
    "en": "I can no longer see your camera; let's continue by voice.",
}
LINES: Final[dict[Language, tuple[tuple[str, str], ...]]] = {
    "pt-BR": (
        (
            "Oi, machuquei o braço ontem. Dá para ver pela câmera?",
            "Estou vendo. Aproxime a câmera, por favor.",
        ),
        ("Está vermelho e um pouco inchado.", "Entendi. Você tem febre ou dor forte?"),
        ("Não, só dói quando encosto.", "Vou registrar para a equipe da clínica avaliar."),
        ("Obrigada!", "Por nada. Se piorar, procure atendimento."),
    ),
    "en": (
        (
            "Hi, I hurt my arm yesterday. Can you see it on camera?",
            "I can see it. Please bring the camera closer.",
        ),
        ("It is red and a bit swollen.", "I see. Do you have a fever or strong pain?"),
        ("No, it only hurts when I touch it.", "I will note it for the clinic's team to review."),
        ("Thank you!", "You're welcome. If it gets worse, please seek care."),
    ),
}


async def play_patient(
    call: ClinicCall,
    gemini: FakeGeminiLive,
    stop: asyncio.Event,
    seconds: float,
    language: Language,
    console: Console,
) -> None:
    """Every few seconds the scripted patient speaks and the agent answers, until the end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def pause(duration: float) -> bool:
        """Wait ``duration`` or until the end; return whether the demo should go on."""
        remaining = min(duration, deadline - loop.time())
        if remaining > 0:
            try:
                await asyncio.wait_for(stop.wait(), remaining)
            except TimeoutError:
                pass
        return not stop.is_set() and loop.time() < deadline

    turn = 0
    while await pause(TURN_EVERY_S - SPEECH_S):
        patient_line, agent_line = LINES[language][turn % len(LINES[language])]
        call.streamer.set_user_speaking(True)  # more frames while the patient speaks
        if not await pause(SPEECH_S):
            break
        call.streamer.set_user_speaking(False)
        console.event(f"patient (scripted): {patient_line}")
        gemini.queue_reply(Reply(text=agent_line))
        handle = call.session.generate_reply(user_input=patient_line)
        try:
            await asyncio.wait_for(handle.wait_for_playout(), TURN_TIMEOUT_S)
        except TimeoutError:
            console.event("agent: no reply in time")
        turn += 1
    if stop.is_set():
        console.event("interrupted: finishing with the report")
