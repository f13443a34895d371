"""The call's eyes: consent asked in the first turn, and a sharp look on request.

The streamer sends nothing until the patient consents (``require_consent=True``); the agent asks
in its first turn and records the answer with the ``record_camera_consent`` tool, and calls
``look_closely`` for a sharp frame when the patient wants something read or inspected.
"""

from __future__ import annotations

from typing import Final

from livekit.agents import llm

from livekit_plugins_medvision import VisionStreamer, consent_tool, look_closely_tool
from livekit_plugins_medvision.patients import Language

VISION_GUIDE: Final[dict[Language, str]] = {
    "pt-BR": (
        "## Câmera: consentimento e leitura de perto\n"
        "Na sua primeira fala, antes de qualquer outra coisa, pergunte ao paciente se ele "
        "autoriza você a ver e analisar a câmera dele nesta consulta, e registre a resposta com "
        "record_camera_consent (granted=true só para um sim claro). Sem essa autorização você "
        "não vê nada: não descreva imagens. Se o paciente retirar a autorização, registre "
        "granted=false. Quando o paciente pedir para ler ou examinar algo de perto (por "
        'exemplo: "pode ler o rótulo do remédio?", uma receita, um ferimento), chame '
        "look_closely e responda a partir da nova imagem; se ainda estiver ilegível, peça para "
        "aproximar e segurar firme."
    ),
    "en": (
        "## Camera: consent and close reading\n"
        "In your first turn, before anything else, ask the patient whether you may see and "
        "analyse their camera during this call, and record the answer with "
        "record_camera_consent (granted=true only on a clear yes). Without it you see nothing: "
        "do not describe images. If the patient withdraws it, record granted=false. When the "
        'patient asks you to read or inspect something closely (for example: "can you read the '
        'medicine label?", a prescription, a wound), call look_closely and answer from the new '
        "picture; if it is still unreadable, ask them to bring it closer and hold it still."
    ),
}
"""Appended to the clinic's instructions: when to ask for consent and when to look closely."""


def vision_tools(streamer: VisionStreamer) -> list[llm.Tool | llm.Toolset]:
    """The agent's vision tools: record the patient's consent, and look closely."""
    return [consent_tool(streamer), look_closely_tool(streamer)]
