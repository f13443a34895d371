"""The BidiGenerateContent wire messages the emulator reads and writes.

Client frames are checked against the documented JSON schema (``wire``), not against
google-genai's classes, and read into the small records below. Server messages are google-genai
types dumped to camelCase JSON, so the real client parses exactly what it would parse from the
service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from google.genai import types

from .wire import SchemaViolation, check_client_message

__all__ = [
    "INVALID_ARGUMENT",
    "INVALID_ARGUMENT_REASON",
    "MAX_REASON_BYTES",
    "ActivityDetection",
    "Blob",
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
    would send with ``code``; neither carries the message's values (they may be a patient's
    words).
    """

    def __init__(
        self, detail: str, reason: str = INVALID_ARGUMENT_REASON, code: int = INVALID_ARGUMENT
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = _clip(reason)
        self.code = code


@dataclass(frozen=True)
class ActivityDetection:
    """``realtimeInputConfig.automaticActivityDetection`` and ``activityHandling``, as sent."""

    disabled: bool = False
    start_sensitivity: str | None = None
    end_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    interrupts: bool = True
    """``activityHandling`` is not ``NO_INTERRUPTION`` (the default interrupts)."""


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
    activity: ActivityDetection = ActivityDetection()
    compression: bool = False
    """Whether ``contextWindowCompression`` was requested."""

    @property
    def instruction_chars(self) -> int:
        """Characters billed as input text on every turn: system instruction and tools (JSON)."""
        tools = self.raw.get("tools")
        tools_chars = len(json.dumps(tools, separators=(",", ":"))) if tools else 0
        return len(self.system_instruction or "") + tools_chars


@dataclass(frozen=True)
class Blob:
    """Inline bytes and their MIME type."""

    mime_type: str
    data: bytes


@dataclass(frozen=True)
class RealtimeInput:
    """A ``realtime_input`` message; the fields it sets, in the proto's order."""

    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    audio_stream_end: bool = False
    activity_start: bool = False
    activity_end: bool = False

    @property
    def field_count(self) -> int:
        """How many fields the message sets."""
        return sum(
            (
                self.audio is not None,
                self.video is not None,
                self.text is not None,
                self.audio_stream_end,
                self.activity_start,
                self.activity_end,
            )
        )


@dataclass(frozen=True)
class ClientContent:
    """A ``client_content`` message: conversation turns, possibly completing the user's turn."""

    turns: tuple[tuple[str | None, tuple[str, ...]], ...]
    """(role, text parts) per turn."""
    turn_complete: bool


@dataclass(frozen=True)
class ToolResponse:
    """A ``tool_response`` message answering function calls."""

    function_responses: tuple[types.FunctionResponse, ...]


ClientMessage = Setup | RealtimeInput | ClientContent | ToolResponse


def parse_client_message(data: str | bytes) -> ClientMessage:
    """Read one client frame, checked against the documented schema.

    Args:
        data: The websocket message, text or binary (both carry JSON).

    Raises:
        ProtocolError: not JSON, or a message the schema does not allow (unknown names, bad
            enum values, bad base64, more than one kind of message, deprecated ``mediaChunks``).
    """
    try:
        decoded: object = json.loads(data)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit;
        # RecursionError, nesting deeper than the parser goes.
        raise ProtocolError("message is not JSON") from None
    if not isinstance(decoded, dict):
        raise ProtocolError("message is not a JSON object")
    try:
        message = check_client_message(decoded)
    except SchemaViolation as exc:
        raise ProtocolError(exc.detail, exc.reason) from None
    except RecursionError:
        raise ProtocolError("message nests too deeply") from None
    kind, body = next(iter(message.items()))
    assert isinstance(body, dict)
    if kind == "setup":
        return _setup(body, decoded.get("setup"))
    if kind == "realtime_input":
        return _realtime_input(body)
    if kind == "client_content":
        return _client_content(body)
    return ToolResponse(
        tuple(
            types.FunctionResponse(
                id=_str(response, "id"), name=_str(response, "name"), response=_dict(response)
            )
            for response in _list(body, "function_responses")
            if isinstance(response, dict)
        )
    )


def dump_server_message(message: types.LiveServerMessage) -> str:
    """Serialise a server message as the service does: camelCase JSON, no null fields."""
    return json.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True))


def _setup(body: dict[str, object], raw: object) -> Setup:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ProtocolError("setup.model is missing")
    generation = _obj(body, "generation_config")
    resumption = body.get("session_resumption")
    handle = _obj(body, "session_resumption").get("handle")
    realtime = _obj(body, "realtime_input_config")
    detection = _obj(realtime, "automatic_activity_detection")
    return Setup(
        model=model,
        response_modalities=tuple(str(m) for m in _list(generation, "response_modalities")),
        media_resolution=_str(generation, "media_resolution"),
        resumption_requested=resumption is not None,
        resumption_handle=handle if isinstance(handle, str) and handle else None,
        turn_coverage=_str(realtime, "turn_coverage"),
        input_transcription="input_audio_transcription" in body,
        output_transcription="output_audio_transcription" in body,
        system_instruction=_instruction_text(body.get("system_instruction")),
        raw=raw if isinstance(raw, dict) else body,
        activity=ActivityDetection(
            disabled=detection.get("disabled") is True,
            start_sensitivity=_str(detection, "start_of_speech_sensitivity"),
            end_sensitivity=_str(detection, "end_of_speech_sensitivity"),
            prefix_padding_ms=_int(detection, "prefix_padding_ms"),
            silence_duration_ms=_int(detection, "silence_duration_ms"),
            interrupts=realtime.get("activity_handling") != "NO_INTERRUPTION",
        ),
        compression="context_window_compression" in body,
    )


def _realtime_input(body: dict[str, object]) -> RealtimeInput:
    if "media_chunks" in body:
        # Deprecated; the current Live models close the connection with 1007 for it.
        raise ProtocolError("realtime_input.mediaChunks is no longer accepted")
    return RealtimeInput(
        audio=_blob(body.get("audio")),
        video=_blob(body.get("video")),
        text=_str(body, "text"),
        audio_stream_end=body.get("audio_stream_end") is True,
        activity_start="activity_start" in body,
        activity_end="activity_end" in body,
    )


def _client_content(body: dict[str, object]) -> ClientContent:
    turns = []
    for turn in _list(body, "turns"):
        assert isinstance(turn, dict)
        texts = tuple(
            text
            for part in _list(turn, "parts")
            if isinstance(part, dict) and isinstance(text := part.get("text"), str)
        )
        turns.append((_str(turn, "role"), texts))
    return ClientContent(turns=tuple(turns), turn_complete=body.get("turn_complete") is True)


def _blob(value: object) -> Blob | None:
    if not isinstance(value, dict):
        return None
    data = value.get("data", b"")
    mime_type = _str(value, "mime_type") or ""
    return Blob(mime_type=mime_type, data=data if isinstance(data, bytes) else b"")


def _obj(body: Mapping[str, object], name: str) -> dict[str, object]:
    value = body.get(name)
    return value if isinstance(value, dict) else {}


def _list(body: Mapping[str, object], name: str) -> list[object]:
    value = body.get(name)
    return value if isinstance(value, list) else []


def _str(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


def _int(body: Mapping[str, object], name: str) -> int | None:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(body: Mapping[str, object]) -> dict[str, object] | None:
    value = body.get("response")
    return value if isinstance(value, dict) else None


def _clip(reason: str) -> str:
    data = reason.encode()
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[:MAX_REASON_BYTES].decode(errors="ignore")


def _instruction_text(instruction: object) -> str | None:
    if not isinstance(instruction, dict):
        return None
    parts = instruction.get("parts")
    if not isinstance(parts, list):
        return None
    texts = [
        text
        for part in parts
        if isinstance(part, dict) and isinstance(text := part.get("text"), str)
    ]
    return "".join(texts) if texts else None
