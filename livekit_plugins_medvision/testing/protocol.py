"""The BidiGenerateContent wire messages the emulator reads and writes.

Client messages carry one top-level key, sent snake_case by google-genai (``realtime_input``,
``client_content``, ``tool_response``) and camelCase by other clients; nested keys come in both
spellings too. Both are accepted: everything but ``setup`` is validated with google-genai's own
pydantic types, which take either spelling and reject unknown fields, as the service does.
``setup`` is read leniently (google-genai sends fields, such as ``realtimeInputConfig``, that its
``LiveClientSetup`` type does not declare). Server messages are google-genai types dumped to
camelCase JSON, so the real client parses exactly what it would parse from the service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pydantic
from google.genai import types

__all__ = [
    "INVALID_ARGUMENT",
    "INVALID_ARGUMENT_REASON",
    "MAX_REASON_BYTES",
    "ClientContent",
    "ClientMessage",
    "ProtocolError",
    "RealtimeInput",
    "Setup",
    "ToolResponse",
    "dump_server_message",
    "parse_client_message",
]

INVALID_ARGUMENT = 1007
"""The close code Gemini Live uses for a message it cannot accept (RFC 6455: invalid payload).

livekit-plugins-google treats it as fatal, not retryable. Users report it with the generic
reason below (https://github.com/rudyll/stackchan-ai-server/issues/7), for the deprecated
``mediaChunks`` (https://github.com/google/adk-python/issues/5075), and, for a field the
service does not know, with ``Invalid JSON payload received. Unknown name "scheduling" at
'tool_response.function_responses[0]': Cannot find field.``
(https://github.com/livekit/agents/issues/3853).
"""
INVALID_ARGUMENT_REASON = "Request contains an invalid argument."
"""The generic close reason Gemini Live sends with ``INVALID_ARGUMENT``."""

MAX_REASON_BYTES = 123
"""The longest close reason, in UTF-8 bytes (RFC 6455: a close frame carries at most 125)."""

JsonObject = Mapping[str, object]


class ProtocolError(Exception):
    """A client message the service would refuse.

    ``detail`` says why, for the test's eyes, and ``reason`` is the close reason the service
    would send; neither carries the message's values (they may be a patient's words).
    """

    def __init__(self, detail: str, reason: str = INVALID_ARGUMENT_REASON) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = _clip(reason)


@dataclass(frozen=True)
class Setup:
    """The first message of a connection, read into the fields the emulator acts on."""

    model: str
    response_modalities: tuple[str, ...]
    media_resolution: str | None
    resumption_requested: bool
    resumption_handle: str | None
    turn_coverage: str | None
    input_transcription: bool
    output_transcription: bool
    system_instruction: str | None
    raw: JsonObject


@dataclass(frozen=True)
class RealtimeInput:
    """A ``realtime_input`` message: exactly one of its fields is set."""

    message: types.LiveClientRealtimeInput


@dataclass(frozen=True)
class ClientContent:
    """A ``client_content`` message: conversation turns, possibly completing the user's turn."""

    message: types.LiveClientContent


@dataclass(frozen=True)
class ToolResponse:
    """A ``tool_response`` message answering function calls."""

    message: types.LiveClientToolResponse


ClientMessage = Setup | RealtimeInput | ClientContent | ToolResponse

_KINDS: dict[str, str] = {
    "setup": "setup",
    "realtime_input": "realtime_input",
    "realtimeInput": "realtime_input",
    "client_content": "client_content",
    "clientContent": "client_content",
    "tool_response": "tool_response",
    "toolResponse": "tool_response",
}


def parse_client_message(data: str | bytes) -> ClientMessage:
    """Read one client frame.

    Args:
        data: The websocket message, text or binary (both carry JSON).

    Raises:
        ProtocolError: not JSON, not exactly one known top-level field, or a field the service
            would reject (unknown names, bad base64, deprecated ``mediaChunks``).
    """
    try:
        decoded: object = json.loads(data)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit;
        # RecursionError, nesting deeper than the parser goes.
        raise ProtocolError("message is not JSON") from None
    if not isinstance(decoded, dict):
        raise ProtocolError("message is not a JSON object")
    if len(decoded) != 1:
        raise ProtocolError(f"message has {len(decoded)} top-level fields, expected one")
    key, body = next(iter(decoded.items()))
    kind = _KINDS.get(key)
    if kind is None:
        raise ProtocolError(f"unknown top-level field {key!r}", _unknown_name(key, None))
    if not isinstance(body, dict):
        raise ProtocolError(f"{key} is not an object")
    if kind == "setup":
        return _parse_setup(body)
    try:
        if kind == "realtime_input":
            return _realtime_input(types.LiveClientRealtimeInput.model_validate(body))
        if kind == "client_content":
            return ClientContent(types.LiveClientContent.model_validate(body))
        return ToolResponse(types.LiveClientToolResponse.model_validate(body))
    except pydantic.ValidationError as exc:
        raise ProtocolError(f"{key}: {_describe(exc)}", _reason(kind, exc)) from None


def dump_server_message(message: types.LiveServerMessage) -> str:
    """Serialise a server message as the service does: camelCase JSON, no null fields."""
    return json.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True))


def _realtime_input(message: types.LiveClientRealtimeInput) -> RealtimeInput:
    if message.media_chunks is not None:
        # Deprecated; the current Live models close the connection with 1007 for it.
        raise ProtocolError("realtime_input.mediaChunks is no longer accepted")
    set_fields = [name for name, value in message if value is not None]
    if len(set_fields) != 1:
        raise ProtocolError(f"realtime_input sets {len(set_fields)} fields, expected one")
    return RealtimeInput(message)


def _describe(exc: pydantic.ValidationError) -> str:
    # Locations and error types only: the input values may be a patient's words or images.
    return "; ".join(
        ".".join(str(part) for part in error["loc"]) + f" ({error['type']})"
        for error in exc.errors()
    )


def _reason(kind: str, exc: pydantic.ValidationError) -> str:
    """The service's reason: it names the first unknown field, else it is the generic one."""
    for error in exc.errors():
        if error["type"] == "extra_forbidden" and error["loc"]:
            *parents, name = error["loc"]
            path = kind
            for part in parents:
                path += f"[{part}]" if isinstance(part, int) else f".{_snake(str(part))}"
            return _unknown_name(str(name), path)
    return INVALID_ARGUMENT_REASON


def _unknown_name(name: str, at: str | None) -> str:
    where = f" at '{at}'" if at else ""
    return f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _clip(reason: str) -> str:
    data = reason.encode()
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[:MAX_REASON_BYTES].decode(errors="ignore")


def _parse_setup(body: dict[str, object]) -> Setup:
    model = _field(body, "model")
    if not isinstance(model, str) or not model:
        raise ProtocolError("setup.model is missing")
    generation = _object(body, "generationConfig", "generation_config")
    modalities = _field(generation, "responseModalities", "response_modalities")
    resumption = _field(body, "sessionResumption", "session_resumption")
    handle = _field(resumption, "handle") if isinstance(resumption, dict) else None
    coverage = _field(
        _object(body, "realtimeInputConfig", "realtime_input_config"),
        "turnCoverage",
        "turn_coverage",
    )
    resolution = _field(generation, "mediaResolution", "media_resolution")
    return Setup(
        model=model,
        response_modalities=tuple(str(m) for m in modalities)
        if isinstance(modalities, list)
        else (),
        media_resolution=resolution if isinstance(resolution, str) else None,
        resumption_requested=resumption is not None,
        resumption_handle=handle if isinstance(handle, str) and handle else None,
        turn_coverage=coverage if isinstance(coverage, str) else None,
        input_transcription=_field(body, "inputAudioTranscription", "input_audio_transcription")
        is not None,
        output_transcription=_field(body, "outputAudioTranscription", "output_audio_transcription")
        is not None,
        system_instruction=_instruction_text(
            _field(body, "systemInstruction", "system_instruction")
        ),
        raw=body,
    )


def _field(body: object, *names: str) -> object:
    if not isinstance(body, dict):
        return None
    for name in names:
        if name in body:
            value: object = body[name]
            return value
    return None


def _object(body: object, *names: str) -> dict[str, object]:
    value = _field(body, *names)
    return value if isinstance(value, dict) else {}


def _instruction_text(instruction: object) -> str | None:
    parts = _field(instruction, "parts")
    if not isinstance(parts, list):
        return None
    texts = [text for part in parts if isinstance(text := _field(part, "text"), str)]
    return "".join(texts) if texts else None
