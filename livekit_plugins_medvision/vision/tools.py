"""Ready function tools an ``Agent`` includes to let the model use the VisionStreamer.

``look_closely_tool(streamer)`` lets the model ask for a sharp frame when the patient wants
something read or inspected; it returns once the frame is handed to the realtime session,
ahead of the tool's own response, so the model has the picture when it reads the result.
``consent_tool(streamer)`` lets the model record the patient's answer when it has asked for
consent to video analysis (``VisionStreamer(require_consent=True)``).
"""

from __future__ import annotations

from livekit.agents import function_tool, llm

from ..errors import VisionUnavailableError
from .streamer import VisionStreamer

__all__ = ["CONSENT_DESCRIPTION", "LOOK_CLOSELY_DESCRIPTION", "consent_tool", "look_closely_tool"]

LOOK_CLOSELY_DESCRIPTION = (
    "Take one sharp, high-resolution picture of the patient's camera or shared screen and send "
    "it to you now. Call it when the patient asks you to read or inspect something closely "
    "(a medicine label, a prescription, a wound, small print on the screen), or when the "
    "regular video is too blurry to answer. Look at the new picture before answering."
)
"""The description the model sees; the agent's instructions may add when to call it."""

CONSENT_DESCRIPTION = (
    "Record the patient's answer after you asked whether you may see and analyse their camera "
    "or shared screen: granted=true only on a clear yes, granted=false on a no or when they "
    "take it back. Until a yes is recorded you see nothing."
)
"""The description the model sees for ``consent_tool``."""


def look_closely_tool(
    streamer: VisionStreamer,
    *,
    max_size: int = 1536,
    jpeg_quality: int = 90,
    name: str = "look_closely",
) -> llm.Tool:
    """Return a function tool that sends one sharp frame through ``streamer.capture()``.

    Args:
        streamer: The streamer following the patient's video.
        max_size: Longest side of the frame sent, in pixels (never upscaled).
        jpeg_quality: Quality for ``Capture.jpeg_bytes``, see ``VisionStreamer.capture``.
        name: The tool's name as the model sees it.

    The result is a short sentence for the model: what was sent, or why nothing could be
    (no video, paused, no consent...), so that it can tell the patient instead of guessing.
    """

    async def look_closely() -> str:
        try:
            capture = await streamer.capture(max_size=max_size, jpeg_quality=jpeg_quality)
        except VisionUnavailableError as error:
            return f"No picture could be taken: {error}. Do not guess; tell the patient."
        what = "shared screen" if capture.source == "screen_share" else "camera"
        return (
            f"A sharp {capture.width}x{capture.height} picture of the patient's {what} was "
            "just sent to you. Answer from it; if it is still unreadable, ask the patient to "
            "hold the object closer and steadier, then call this again."
        )

    return function_tool(look_closely, name=name, description=LOOK_CLOSELY_DESCRIPTION)


def consent_tool(streamer: VisionStreamer, *, name: str = "record_camera_consent") -> llm.Tool:
    """Return a function tool that records the patient's consent with ``record_consent``.

    Args:
        streamer: The streamer following the patient's video (``require_consent=True``).
        name: The tool's name as the model sees it.
    """

    async def record_camera_consent(granted: bool) -> str:
        streamer.record_consent(granted)
        if granted:
            return "Consent recorded: you now see the patient's video."
        return "Recorded: the patient's video is not sent to you; do not describe what you saw."

    return function_tool(record_camera_consent, name=name, description=CONSENT_DESCRIPTION)
