"""Real google-genai and LiveKit usage objects for the cost tests, and a streamer double."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import time
from decimal import Decimal

from google.genai import types
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.agents.metrics.base import Metadata
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from livekit_plugins_medvision.costs import ModelPricing
from livekit_plugins_medvision.vision import SourceProfile, VisionOptions

M = types.MediaModality

ABSURD = ModelPricing(
    input_text=Decimal(10**6),
    input_audio=Decimal(10**6),
    input_image=Decimal(10**6),
    output_text=Decimal(10**6),
    output_audio=Decimal(10**6),
    source="a test's absurd prices: a million USD per million tokens",
    as_of=datetime.date(2026, 1, 1),
)
"""Prices at which a turn of plausible size costs more than the ledger's column holds."""
_REQUEST_IDS = itertools.count(1)


def details(**counts: int) -> list[types.ModalityTokenCount]:
    """``details(TEXT=3, VIDEO=258)`` -> the ModalityTokenCount list Gemini sends."""
    return [types.ModalityTokenCount(modality=M(name), token_count=n) for name, n in counts.items()]


def usage(
    *,
    prompt: dict[str, int] | None = None,
    response: dict[str, int] | None = None,
    prompt_total: int | None = None,
    response_total: int | None = None,
    thoughts: int | None = None,
    tool_use: int | None = None,
    cached: int | None = None,
    cache: dict[str, int] | None = None,
) -> types.UsageMetadata:
    """A UsageMetadata whose counts default to the sum of their details, as Gemini sends them."""
    prompt = prompt or {}
    response = response or {}
    return types.UsageMetadata(
        prompt_token_count=sum(prompt.values()) if prompt_total is None else prompt_total,
        response_token_count=sum(response.values()) if response_total is None else response_total,
        thoughts_token_count=thoughts,
        tool_use_prompt_token_count=tool_use,
        cached_content_token_count=cached,
        prompt_tokens_details=details(**prompt) if prompt else None,
        response_tokens_details=details(**response) if response else None,
        cache_tokens_details=details(**cache) if cache else None,
    )


def metrics(
    *,
    input_tokens: int,
    output_tokens: int = 0,
    total_tokens: int | None = None,
    text: int = 0,
    audio: int = 0,
    image: int = 0,
    out_text: int = 0,
    out_audio: int = 0,
    request_id: str | None = None,
    model: str = "gemini-3.1-flash-live-preview",
) -> RealtimeModelMetrics:
    """A RealtimeModelMetrics shaped like the Google plugin's (a new request id unless given)."""
    return RealtimeModelMetrics(
        request_id=f"resp_{next(_REQUEST_IDS)}" if request_id is None else request_id,
        timestamp=time.time(),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens if total_tokens is None else total_tokens,
        input_token_details=RealtimeModelMetrics.InputTokenDetails(
            text_tokens=text,
            audio_tokens=audio,
            image_tokens=image,
            cached_tokens_details=RealtimeModelMetrics.CachedTokenDetails(),
        ),
        output_token_details=RealtimeModelMetrics.OutputTokenDetails(
            text_tokens=out_text, audio_tokens=out_audio
        ),
        metadata=Metadata(model_name=model, model_provider="Gemini"),
    )


def connect_metric(model: str = "gemini-3.1-flash-live-preview") -> RealtimeModelMetrics:
    """The zero-usage metric LiveKit emits on every (re)connect."""
    return RealtimeModelMetrics(
        request_id="",
        timestamp=time.time(),
        acquire_time=0.12,
        input_token_details=RealtimeModelMetrics.InputTokenDetails(),
        output_token_details=RealtimeModelMetrics.OutputTokenDetails(),
        metadata=Metadata(model_name=model, model_provider="Gemini"),
    )


@dataclasses.dataclass(frozen=True)
class Stats:
    frames_sent: int = 0
    frames_skipped_unchanged: int = 0
    estimated_image_tokens: int = 0


class FakeStreamer:
    """Implements the tracker's VideoStreamer protocol; records what the budget did."""

    def __init__(self) -> None:
        self.options = VisionOptions()
        self.stats = Stats()
        self.paused = False
        self.calls: list[str] = []
        self.fail_with: Exception | None = None

    def update_options(
        self,
        *,
        fps: NotGivenOr[float] = NOT_GIVEN,
        silent_fps: NotGivenOr[float] = NOT_GIVEN,
        max_size: NotGivenOr[int] = NOT_GIVEN,
        change_threshold: NotGivenOr[float] = NOT_GIVEN,
        screen_share: NotGivenOr[SourceProfile] = NOT_GIVEN,
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append("update_options")
        self.options = self.options.replace(
            fps=fps,
            silent_fps=silent_fps,
            max_size=max_size,
            change_threshold=change_threshold,
            screen_share=screen_share,
        )

    def pause(self) -> None:
        self.calls.append("pause")
        self.paused = True

    def resume(self) -> None:
        self.calls.append("resume")
        self.paused = False

    def send(self, frames: int, tokens_each: int) -> None:
        """Pretend ``frames`` more frames were sent."""
        self.stats = Stats(
            frames_skipped_unchanged=self.stats.frames_skipped_unchanged,
            frames_sent=self.stats.frames_sent + frames,
            estimated_image_tokens=self.stats.estimated_image_tokens + frames * tokens_each,
        )
