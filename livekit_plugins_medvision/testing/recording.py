"""Typed records of what the emulator received, for tests to assert on.

Every record carries the connection it arrived on (1-based, in connection order) and a
``time.monotonic()`` timestamp, so tests can check rates and what happened around a reconnect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from google.genai import types

__all__ = [
    "ConnectionRecord",
    "Received",
    "ReceivedAudio",
    "ReceivedImage",
    "ReceivedText",
    "RejectedMessage",
    "SetupRecord",
    "TurnRecord",
    "TurnTrigger",
]

TurnTrigger = Literal[
    "client_content",
    "realtime_text",
    "speech_end",
    "audio_stream_end",
    "activity_end",
    "tool_response",
]
"""What made the emulator answer: a completed client turn, realtime text, the end of speech
its detector heard, the end of the audio stream during speech, the end of user activity (with
detection off, when audio arrived since it started) or a tool response."""


@dataclass
class ConnectionRecord:
    """One websocket connection; ``closed_at`` and ``close_code`` are set when it ends."""

    index: int
    path: str
    """The request path, e.g. ``/ws/google.ai.generativelanguage.v1.GenerativeService...``."""
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None
    """The code of the close frame the emulator sent or received (1006 when none was)."""


@dataclass(frozen=True)
class SetupRecord:
    """The ``setup`` message of one connection: the fields tests ask about, plus the raw JSON."""

    connection: int
    model: str
    response_modalities: tuple[str, ...]
    media_resolution: str | None
    resumption_requested: bool
    """True when the client sent ``sessionResumption`` (with or without a handle)."""
    resumption_handle: str | None
    """The handle the client resumed from, if any."""
    turn_coverage: str | None
    input_transcription: bool
    output_transcription: bool
    system_instruction: str | None
    raw: Mapping[str, object]
    at: float


@dataclass(frozen=True)
class ReceivedImage:
    """One ``realtime_input.video`` frame, decoded far enough to know its format and size."""

    connection: int
    mime_type: str
    format: str
    """The format Pillow recognised in the bytes (``"JPEG"``, ``"PNG"``...)."""
    width: int
    height: int
    size_bytes: int
    """Size of the encoded image, after base64 decoding."""
    at: float


@dataclass(frozen=True)
class ReceivedAudio:
    """One ``realtime_input.audio`` chunk."""

    connection: int
    mime_type: str
    size_bytes: int
    at: float


@dataclass(frozen=True)
class ReceivedText:
    """Text from ``realtime_input.text`` or a ``client_content`` turn part."""

    connection: int
    text: str
    source: Literal["realtime_input", "client_content"]
    role: str | None
    at: float


@dataclass(frozen=True)
class TurnRecord:
    """One answered turn: what triggered it, the usage reported and the reply text."""

    index: int
    """1-based over the emulator's whole life."""
    connection: int
    trigger: TurnTrigger
    usage: types.UsageMetadata
    reply_text: str
    at: float
    interrupted: bool = False
    """The user's speech (or activity, or a client turn) cut the answer short: the client got
    ``interrupted`` instead of the rest of it."""


@dataclass(frozen=True)
class RejectedMessage:
    """A client message the emulator refused, closing the connection with ``code``."""

    connection: int
    code: int
    reason: str
    """The close reason sent, as the service words it."""
    detail: str
    """What was wrong, in more words, for the test's eyes."""
    at: float


@dataclass
class Received:
    """Everything the emulator received since it started, in arrival order."""

    connections: list[ConnectionRecord] = field(default_factory=list)
    setups: list[SetupRecord] = field(default_factory=list)
    images: list[ReceivedImage] = field(default_factory=list)
    audio: list[ReceivedAudio] = field(default_factory=list)
    texts: list[ReceivedText] = field(default_factory=list)
    activity_starts: int = 0
    activity_ends: int = 0
    audio_stream_ends: int = 0
    speech_starts: int = 0
    """Starts of speech the emulator's detector heard (automatic activity detection on)."""
    speech_ends: int = 0
    interruptions: int = 0
    """Answers cut short by a barge-in."""
    tool_responses: list[types.FunctionResponse] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    rejected: list[RejectedMessage] = field(default_factory=list)
    wire: list[object] = field(default_factory=list)
    """Every client message as decoded JSON, when the emulator was made with
    ``record_wire=True``."""

    @property
    def audio_chunks(self) -> int:
        """How many audio chunks arrived."""
        return len(self.audio)

    def images_on(self, connection: int) -> list[ReceivedImage]:
        """Return the frames received on one connection."""
        return [image for image in self.images if image.connection == connection]
