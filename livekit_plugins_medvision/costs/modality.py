"""The four groups a bill is shown in: text, audio, image/video, and unattributed tokens."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from .usage import Bucket

__all__ = ["MODALITIES", "MODALITY_OF", "Modality"]

Modality = Literal["text", "audio", "image", "unattributed"]
"""A group of bill lines: input and output of one kind together."""

MODALITIES: tuple[Modality, ...] = ("text", "audio", "image", "unattributed")
"""In the order reports show them."""

MODALITY_OF: Mapping[Bucket, Modality] = MappingProxyType(
    {
        Bucket.INPUT_TEXT: "text",
        Bucket.TOOL_USE_PROMPT: "text",
        Bucket.OUTPUT_TEXT: "text",
        Bucket.OUTPUT_THINKING: "text",
        Bucket.THINKING_OR_TOOL_USE: "text",
        Bucket.INPUT_AUDIO: "audio",
        Bucket.OUTPUT_AUDIO: "audio",
        Bucket.INPUT_IMAGE: "image",
        # Gemini Live has no caching; a cached line would stand for input of unknown kind.
        Bucket.INPUT_CACHED: "unattributed",
        Bucket.INPUT_UNATTRIBUTED: "unattributed",
        Bucket.OUTPUT_UNATTRIBUTED: "unattributed",
    }
)
"""Which group each bill line belongs to (images and video frames are one: ``image``)."""
