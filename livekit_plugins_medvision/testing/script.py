"""How a test scripts the emulator's answers and the usage it reports.

By default every turn is answered with a short text or audio reply (audio when the client asked
for the AUDIO modality) and a ``usageMetadata`` computed from what the connection received:
frames × tokens per frame (by model family and ``mediaResolution``, see ``models``), seconds of
audio × audio tokens per second, text characters / 4, plus the system instruction and the tool
declarations, which the service bills as input text on every turn. A test replaces that per turn
by queueing ``Reply`` objects or ``UsageMetadata`` snapshots.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from google.genai import types

from .models import FrameRate, frame_tokens
from .recording import TurnTrigger

__all__ = [
    "INPUT_AUDIO_BYTES_PER_SECOND",
    "OUTPUT_AUDIO_BYTES_PER_SECOND",
    "OUTPUT_AUDIO_MIME_TYPE",
    "ComputedUsage",
    "Reply",
    "TurnStats",
    "UsageFn",
    "UsagePlacement",
]

INPUT_AUDIO_BYTES_PER_SECOND = 16_000 * 2
"""Client audio: 16 kHz, 16-bit mono PCM."""
OUTPUT_AUDIO_BYTES_PER_SECOND = 24_000 * 2
"""Model audio: 24 kHz, 16-bit mono PCM."""
OUTPUT_AUDIO_MIME_TYPE = "audio/pcm;rate=24000"

UsagePlacement = Literal["after", "with", "before"]
"""Where ``usageMetadata`` goes relative to ``turnComplete``: its own message after it (what
the service does), on the same message, or its own message just before it."""


@dataclass(frozen=True)
class TurnStats:
    """What one connection received, handed to a usage callable when a turn is answered.

    ``new_*`` counts what arrived since the previous turn on the connection; ``context_*``
    counts everything since its setup (the context the service processes again each turn).
    """

    turn: int
    """1-based over the emulator's whole life."""
    connection: int
    trigger: TurnTrigger
    new_images: int
    new_audio_bytes: int
    new_text_chars: int
    context_images: int
    context_audio_bytes: int
    context_text_chars: int
    reply_text: str
    reply_audio_bytes: int
    """PCM bytes of the spoken reply (0 when the reply is text)."""
    model: str = "gemini-2.5-flash-native-audio-preview-12-2025"
    """The setup's model id (without ``models/``)."""
    media_resolution: str | None = None
    """The setup's ``generationConfig.mediaResolution`` name, ``None`` when unset."""
    instruction_chars: int = 0
    """Characters of the system instruction plus the tool declarations (as JSON): the part of
    the setup the service bills as input text on every turn."""


UsageFn = Callable[[TurnStats], types.UsageMetadata]
"""Computes a turn's usage from what was received."""


@dataclass(frozen=True)
class ComputedUsage:
    """The default usage: token counts derived from what the connection received.

    With ``accumulate`` (the default) the prompt counts the whole connection's context each
    turn, as the service bills it; otherwise only what arrived since the previous turn.
    """

    tokens_per_image: int | None = None
    """Tokens per frame; ``None`` (the default) follows the model family and the setup's
    ``mediaResolution`` (``models.frame_tokens``: Gemini 2.x 258, 66 at LOW; Gemini 3 70, 280
    at HIGH)."""
    audio_tokens_per_second: int = 25
    chars_per_text_token: int = 4
    image_modality: types.MediaModality | None = types.MediaModality.IMAGE
    """The modality frames are reported under: IMAGE by default, as users report the service
    does for realtime video (no official statement; VIDEO is the other choice); ``None`` leaves
    their tokens out of the details, in the prompt total only."""
    unlabelled_tokens: int = 0
    """Prompt tokens of every turn that no detail covers (the service leaves 25-51 unlabelled
    on 3.8 Live)."""
    accumulate: bool = True
    gemini3_rate: FrameRate = "video"
    """Whether Gemini 3 bills a Live frame at the video rate (70) or the image rate (1120 at
    its default resolution); unverified, see ``models``."""

    def __post_init__(self) -> None:
        for name in (
            "tokens_per_image",
            "audio_tokens_per_second",
            "chars_per_text_token",
            "unlabelled_tokens",
        ):
            value = getattr(self, name)
            if name == "tokens_per_image" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.chars_per_text_token == 0:
            raise ValueError("chars_per_text_token must be positive")
        if self.gemini3_rate not in ("video", "image"):
            raise ValueError(f"gemini3_rate must be 'video' or 'image', got {self.gemini3_rate!r}")

    def frame_tokens(self, stats: TurnStats) -> int:
        """Return the tokens one frame costs on the turn's connection."""
        if self.tokens_per_image is not None:
            return self.tokens_per_image
        return frame_tokens(stats.model, stats.media_resolution, gemini3_rate=self.gemini3_rate)

    def __call__(self, stats: TurnStats) -> types.UsageMetadata:
        """Return the usage of one turn."""
        images = stats.context_images if self.accumulate else stats.new_images
        audio = stats.context_audio_bytes if self.accumulate else stats.new_audio_bytes
        # The system instruction and tool declarations are input on every turn.
        chars = stats.instruction_chars + (
            stats.context_text_chars if self.accumulate else stats.new_text_chars
        )
        image_tokens, audio_tokens, text_tokens = self.input_tokens(
            images, audio, chars, per_frame=self.frame_tokens(stats)
        )
        prompt: dict[types.MediaModality, int] = {}
        if self.image_modality is not None:
            prompt[self.image_modality] = image_tokens
        for modality, tokens in (
            (types.MediaModality.AUDIO, audio_tokens),
            (types.MediaModality.TEXT, text_tokens),
        ):
            prompt[modality] = prompt.get(modality, 0) + tokens
        unlabelled = self.unlabelled_tokens + (image_tokens if self.image_modality is None else 0)
        if stats.reply_audio_bytes:
            seconds = stats.reply_audio_bytes / OUTPUT_AUDIO_BYTES_PER_SECOND
            response = {types.MediaModality.AUDIO: round(seconds * self.audio_tokens_per_second)}
        else:
            response = {
                types.MediaModality.TEXT: math.ceil(
                    len(stats.reply_text) / self.chars_per_text_token
                )
            }
        prompt_total = sum(prompt.values()) + unlabelled
        response_total = sum(response.values())
        return types.UsageMetadata(
            prompt_token_count=prompt_total,
            response_token_count=response_total,
            total_token_count=prompt_total + response_total,
            prompt_tokens_details=_details(prompt),
            response_tokens_details=_details(response),
        )

    def input_tokens(
        self, images: int, audio_bytes: int, text_chars: int, *, per_frame: int | None = None
    ) -> tuple[int, int, int]:
        """Return the image, audio and text tokens of this much input.

        ``per_frame`` defaults to ``tokens_per_image``, else Gemini 2.x's 258.
        """
        if per_frame is None:
            per_frame = self.tokens_per_image if self.tokens_per_image is not None else 258
        return (
            images * per_frame,
            round(audio_bytes / INPUT_AUDIO_BYTES_PER_SECOND * self.audio_tokens_per_second),
            math.ceil(text_chars / self.chars_per_text_token),
        )


@dataclass(frozen=True)
class Reply:
    """How the emulator answers one turn."""

    text: str = "I can see you."
    """Sent as a text part, or as the output transcription of the audio when the client asked
    for audio and transcriptions."""
    audio_seconds: float = 0.2
    """Length of the spoken reply (silent PCM) when the client asked for the AUDIO modality;
    0 answers with a text part instead."""
    input_transcription: str | None = None
    """If set, sent first as the transcription of the user's speech."""
    usage: types.UsageMetadata | UsageFn | None = None
    """This turn's usage; ``None`` takes the next queued usage, else the emulator's default."""
    usage_placement: UsagePlacement = "after"
    tool_calls: tuple[types.FunctionCall, ...] = ()
    """If set, the model calls these functions instead of speaking: a ``toolCall`` message
    (and the usage), then the turn goes on when the client sends the tool response."""

    def __post_init__(self) -> None:
        # checked as given, whatever the hints say: a test's typo fails here, not mid-call
        if not isinstance(self.text, str):
            raise ValueError(f"text must be a string, got {type(self.text).__name__}")
        usage: object = self.usage
        if usage is not None and not isinstance(usage, types.UsageMetadata) and not callable(usage):
            raise ValueError("usage must be a UsageMetadata or a callable taking TurnStats")
        if not math.isfinite(self.audio_seconds) or not 0 <= self.audio_seconds <= 60:
            raise ValueError(f"audio_seconds must be within 0..60, got {self.audio_seconds!r}")
        calls: tuple[object, ...] = self.tool_calls
        for call in calls:
            if not isinstance(call, types.FunctionCall) or not call.name:
                raise ValueError("tool_calls must be named google.genai.types.FunctionCall objects")
        if self.usage_placement not in ("after", "with", "before"):
            raise ValueError(
                f"usage_placement must be 'after', 'with' or 'before', got {self.usage_placement!r}"
            )

    def audio_bytes(self) -> int:
        """Return the size of the spoken reply in PCM bytes (whole 16-bit samples)."""
        return round(self.audio_seconds * OUTPUT_AUDIO_BYTES_PER_SECOND) // 2 * 2


def _details(counts: dict[types.MediaModality, int]) -> list[types.ModalityTokenCount]:
    # The service omits modalities with no tokens.
    return [
        types.ModalityTokenCount(modality=modality, token_count=count)
        for modality, count in counts.items()
        if count
    ]
