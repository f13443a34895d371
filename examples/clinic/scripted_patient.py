"""The demo's scripted patient: a line every few seconds, the emulated answer queued for it.

The call opens as the clinic agent's instructions say: the agent asks for consent to see the
camera, the patient says yes and the emulated model records it with ``record_camera_consent``;
until then no frame is sent. Later the patient asks for a label to be read, and the emulated
model calls ``look_closely`` for a sharp frame before answering.
"""

from __future__ import annotations

import asyncio
from typing import Final

from google.genai import types

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
GOODBYE: Final[dict[Language, str]] = {
    "pt-BR": "Esta consulta chegou ao limite e termina agora. Ligue de novo se precisar. Tchau!",
    "en": "This call has reached its limit and ends now. Call again if you need to. Goodbye!",
}
OPENING: Final[dict[Language, tuple[str, str, str]]] = {
    # the agent asks, the patient consents, the agent thanks
    "pt-BR": (
        "Olá! Antes de começarmos: posso ver e analisar a sua câmera durante esta consulta?",
        "Sim, pode.",
        "Obrigada! Agora estou vendo a sua câmera.",
    ),
    "en": (
        "Hello! Before we start: may I see and analyse your camera during this call?",
        "Yes, you may.",
        "Thank you! I can see your camera now.",
    ),
}
LOOK_CLOSELY: Final = "look_closely"
LINES: Final[dict[Language, tuple[tuple[str, str, str | None], ...]]] = {
    # (patient, emulated agent, the tool the emulated model calls first)
    "pt-BR": (
        (
            "Oi, machuquei o braço ontem. Dá para ver pela câmera?",
            "Estou vendo. Aproxime a câmera, por favor.",
            None,
        ),
        (
            "Pode ler o rótulo do remédio que estou tomando?",
            "Está escrito: paracetamol 500 mg, um comprimido a cada 8 horas.",
            LOOK_CLOSELY,
        ),
        ("Está vermelho e um pouco inchado.", "Entendi. Você tem febre ou dor forte?", None),
        ("Não, só dói quando encosto.", "Vou registrar para a equipe da clínica avaliar.", None),
        ("Obrigada!", "Por nada. Se piorar, procure atendimento.", None),
    ),
    "en": (
        (
            "Hi, I hurt my arm yesterday. Can you see it on camera?",
            "I can see it. Please bring the camera closer.",
            None,
        ),
        (
            "Can you read the label of the medicine I am taking?",
            "It says: paracetamol 500 mg, one tablet every 8 hours.",
            LOOK_CLOSELY,
        ),
        ("It is red and a bit swollen.", "I see. Do you have a fever or strong pain?", None),
        (
            "No, it only hurts when I touch it.",
            "I will note it for the clinic's team to review.",
            None,
        ),
        ("Thank you!", "You're welcome. If it gets worse, please seek care.", None),
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

    async def turn(patient_line: str | None, agent_line: str, tool: Reply | None) -> None:
        if patient_line is not None:
            console.event(f"patient (scripted): {patient_line}")
        if tool is not None:
            gemini.queue_reply(tool)  # the model calls the tool, then answers its result
        gemini.queue_reply(Reply(text=agent_line))
        if patient_line is None:
            handle = call.session.generate_reply()  # the agent speaks first
        else:
            handle = call.session.generate_reply(user_input=patient_line)
        try:
            await asyncio.wait_for(handle.wait_for_playout(), TURN_TIMEOUT_S)
        except TimeoutError:
            console.event("agent: no reply in time")

    ask, yes, thanks = OPENING[language]
    await turn(None, ask, None)
    if not await pause(SPEECH_S / 2):
        return
    await turn(yes, thanks, _tool_call("record_camera_consent", {"granted": True}))
    index = 0
    while await pause(TURN_EVERY_S - SPEECH_S):
        patient_line, agent_line, tool = LINES[language][index % len(LINES[language])]
        call.streamer.set_user_speaking(True)  # more frames while the patient speaks
        if not await pause(SPEECH_S):
            break
        call.streamer.set_user_speaking(False)
        await turn(patient_line, agent_line, None if tool is None else _tool_call(tool, {}))
        index += 1
    if stop.is_set():
        console.event("interrupted: finishing with the report")


def _tool_call(name: str, args: dict[str, object]) -> Reply:
    """The emulated model's reply that calls one of the agent's tools."""
    call = types.FunctionCall(id=f"demo-{name}", name=name, args=args)
    return Reply(tool_calls=(call,))
