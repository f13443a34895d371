"""One turn's tokens split into billing buckets, and their price.

Gemini Live sends one usage message per turn and bills the whole context again on every turn,
so a session costs the sum of its messages; nothing here keeps a running total or diffs two
messages. The rules, from the Gemini usage semantics:

- Prompt details by modality: TEXT (and MODALITY_UNSPECIFIED, which the SDK treats as text),
  AUDIO, IMAGE and VIDEO (billed as image input). Prompt tokens the details do not cover (and
  DOCUMENT, which Live does not use) go to ``input_unattributed``, priced by an
  ``UnattributedPolicy`` that never under-counts by default.
- Response details: TEXT and AUDIO; response tokens they do not cover go to
  ``output_unattributed``, priced at the highest output rate.
- ``thoughts_token_count`` is billed as output text, ``tool_use_prompt_token_count`` as input
  text.
- Tokens of ``total_token_count`` that no other count explains (a message with only a total)
  go to ``input_unattributed``: never exact, at the highest input rate by default.
- Cached tokens leave their modality bucket for ``input_cached`` only when the model has a
  cached rate; otherwise they stay where they are, at the full rate.

LiveKit's ``RealtimeModelMetrics`` carries less: VIDEO tokens stay inside ``input_tokens`` (so
they land in ``input_unattributed``), and thinking and tool-use tokens are not mapped at all.
``total_tokens - input_tokens - output_tokens`` recovers them when the server's total includes
them; that remainder goes to ``thinking_or_tool_use``, priced as output text (the higher of the
two rates it may stand for).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal

from google.genai import types
from livekit.agents.metrics import RealtimeModelMetrics

from .pricing import ModelPricing

__all__ = [
    "Bucket",
    "TurnTokens",
    "UnattributedPolicy",
    "bucket_rates",
    "price_tokens",
    "tokens_from_metrics",
    "tokens_from_usage",
]

UnattributedPolicy = Literal["highest_input", "input_text", "input_audio", "input_image"]
"""How prompt tokens of unknown modality are priced. ``"highest_input"`` (the default) can only
over-count; the others name the rate to use instead and can under-count."""

_M = types.MediaModality
_MILLION = 6  # prices are per 10**6 tokens


class Bucket(enum.StrEnum):
    """A line of the bill: tokens of one kind, priced at one rate."""

    INPUT_TEXT = "input_text"
    INPUT_AUDIO = "input_audio"
    INPUT_IMAGE = "input_image"
    INPUT_CACHED = "input_cached"
    INPUT_UNATTRIBUTED = "input_unattributed"
    TOOL_USE_PROMPT = "tool_use_prompt"
    OUTPUT_TEXT = "output_text"
    OUTPUT_AUDIO = "output_audio"
    OUTPUT_THINKING = "output_thinking"
    OUTPUT_UNATTRIBUTED = "output_unattributed"
    THINKING_OR_TOOL_USE = "thinking_or_tool_use"


_PROMPT_BUCKETS = (
    Bucket.INPUT_TEXT,
    Bucket.INPUT_AUDIO,
    Bucket.INPUT_IMAGE,
    Bucket.INPUT_CACHED,
    Bucket.INPUT_UNATTRIBUTED,
)


@dataclasses.dataclass(frozen=True)
class TurnTokens:
    """The tokens of one turn, by bucket (absent buckets hold zero)."""

    counts: Mapping[Bucket, int]
    """Tokens per bucket."""
    reported_image: int = 0
    """IMAGE and VIDEO prompt tokens the server reported this turn."""
    estimated_image: int = 0
    """Image tokens taken from the estimate of frames sent (see ``with_image_estimate``)."""

    def __getitem__(self, bucket: Bucket) -> int:
        return self.counts.get(bucket, 0)

    @property
    def prompt(self) -> int:
        """The turn's prompt tokens (the context processed), tool-use prompt aside."""
        return sum(self[bucket] for bucket in _PROMPT_BUCKETS)

    @property
    def is_empty(self) -> bool:
        """Whether the turn holds no token at all (e.g. LiveKit's per-connection metric)."""
        return not any(self.counts.values())

    def with_image_estimate(self, estimated_in_context: int) -> TurnTokens:
        """Move up to ``estimated_in_context`` tokens from the unattributed bucket to the image one.

        Used when the server gave no image breakdown this turn while frames were being sent: the
        estimate (frames still in context, see ``ContextFrames``) can only explain prompt tokens
        the server left unexplained, so it is capped by the unattributed bucket and never adds
        tokens; what it does not explain stays unattributed, priced by the policy.
        """
        if self.reported_image:
            return self
        moved = min(max(estimated_in_context, 0), self[Bucket.INPUT_UNATTRIBUTED])
        if not moved:
            return self
        counts = dict(self.counts)
        counts[Bucket.INPUT_UNATTRIBUTED] -= moved
        counts[Bucket.INPUT_IMAGE] = counts.get(Bucket.INPUT_IMAGE, 0) + moved
        return dataclasses.replace(self, counts=counts, estimated_image=moved)


def tokens_from_usage(usage: types.UsageMetadata, *, split_cached: bool) -> TurnTokens:
    """Split one Gemini Live ``usageMetadata`` message into buckets.

    Args:
        usage: The message, as google-genai parses it.
        split_cached: Whether cached tokens get their own bucket (the model has a cached rate).
    """
    prompt = _by_modality(usage.prompt_tokens_details)
    response = _by_modality(usage.response_tokens_details)
    counts = {
        Bucket.INPUT_TEXT: prompt.get(_M.TEXT, 0) + prompt.get(_M.MODALITY_UNSPECIFIED, 0),
        Bucket.INPUT_AUDIO: prompt.get(_M.AUDIO, 0),
        Bucket.INPUT_IMAGE: prompt.get(_M.IMAGE, 0) + prompt.get(_M.VIDEO, 0),
        Bucket.OUTPUT_TEXT: response.get(_M.TEXT, 0),
        Bucket.OUTPUT_AUDIO: response.get(_M.AUDIO, 0),
        Bucket.OUTPUT_THINKING: usage.thoughts_token_count or 0,
        Bucket.TOOL_USE_PROMPT: usage.tool_use_prompt_token_count or 0,
    }
    counts[Bucket.INPUT_UNATTRIBUTED] = _remainder(
        usage.prompt_token_count,
        counts[Bucket.INPUT_TEXT] + counts[Bucket.INPUT_AUDIO] + counts[Bucket.INPUT_IMAGE],
    )
    counts[Bucket.OUTPUT_UNATTRIBUTED] = _remainder(
        usage.response_token_count, counts[Bucket.OUTPUT_TEXT] + counts[Bucket.OUTPUT_AUDIO]
    )
    counts[Bucket.INPUT_UNATTRIBUTED] += _remainder(usage.total_token_count, sum(counts.values()))
    reported_image = counts[Bucket.INPUT_IMAGE]
    if split_cached:
        cached = _by_modality(usage.cache_tokens_details)
        _split_cached(
            counts,
            text=cached.get(_M.TEXT, 0) + cached.get(_M.MODALITY_UNSPECIFIED, 0),
            audio=cached.get(_M.AUDIO, 0),
            image=cached.get(_M.IMAGE, 0) + cached.get(_M.VIDEO, 0),
            total=max(usage.cached_content_token_count or 0, sum(cached.values())),
        )
    return TurnTokens(counts=counts, reported_image=reported_image)


def tokens_from_metrics(metrics: RealtimeModelMetrics, *, split_cached: bool) -> TurnTokens:
    """Split one LiveKit ``RealtimeModelMetrics`` into buckets (see the module notes on gaps).

    Args:
        metrics: What the Google plugin emitted for one usage message.
        split_cached: Whether cached tokens get their own bucket (the model has a cached rate).
    """
    inp = metrics.input_token_details
    out = metrics.output_token_details
    counts = {
        Bucket.INPUT_TEXT: inp.text_tokens,
        Bucket.INPUT_AUDIO: inp.audio_tokens,
        Bucket.INPUT_IMAGE: inp.image_tokens,
        Bucket.OUTPUT_TEXT: out.text_tokens,
        Bucket.OUTPUT_AUDIO: out.audio_tokens,
        Bucket.INPUT_UNATTRIBUTED: _remainder(
            metrics.input_tokens, inp.text_tokens + inp.audio_tokens + inp.image_tokens
        ),
        Bucket.OUTPUT_UNATTRIBUTED: _remainder(
            metrics.output_tokens, out.text_tokens + out.audio_tokens
        ),
    }
    unexplained = _remainder(metrics.total_tokens, metrics.input_tokens + metrics.output_tokens)
    if metrics.input_tokens or metrics.output_tokens:
        counts[Bucket.THINKING_OR_TOOL_USE] = unexplained
    else:  # only a total: priced as prompt tokens of unknown modality
        counts[Bucket.INPUT_UNATTRIBUTED] += unexplained
    if split_cached:
        details = inp.cached_tokens_details
        _split_cached(
            counts,
            text=details.text_tokens if details else 0,
            audio=details.audio_tokens if details else 0,
            image=details.image_tokens if details else 0,
            total=inp.cached_tokens,
        )
    return TurnTokens(counts=counts, reported_image=inp.image_tokens)


def bucket_rates(pricing: ModelPricing, policy: UnattributedPolicy) -> Mapping[Bucket, Decimal]:
    """Return the USD-per-million rate of every bucket under ``pricing``."""
    unattributed = {
        "highest_input": pricing.highest_input,
        "input_text": pricing.input_text,
        "input_audio": pricing.input_audio,
        "input_image": pricing.input_image,
    }[policy]
    return {
        Bucket.INPUT_TEXT: pricing.input_text,
        Bucket.INPUT_AUDIO: pricing.input_audio,
        Bucket.INPUT_IMAGE: pricing.input_image,
        # Cached tokens are split out only when the model has a cached rate; without one the
        # line stays empty, and its rate is the one that could never under-count.
        Bucket.INPUT_CACHED: (
            pricing.highest_input if pricing.input_cached is None else pricing.input_cached
        ),
        Bucket.INPUT_UNATTRIBUTED: unattributed,
        Bucket.TOOL_USE_PROMPT: pricing.input_text,
        Bucket.OUTPUT_TEXT: pricing.output_text,
        Bucket.OUTPUT_AUDIO: pricing.output_audio,
        Bucket.OUTPUT_THINKING: pricing.output_text,
        Bucket.OUTPUT_UNATTRIBUTED: pricing.highest_output,
        Bucket.THINKING_OR_TOOL_USE: pricing.output_text,
    }


def price_tokens(tokens: int, rate: Decimal) -> Decimal:
    """Return the exact USD cost of ``tokens`` at ``rate`` USD per million tokens."""
    return (rate * tokens).scaleb(-_MILLION)


def _by_modality(details: Iterable[types.ModalityTokenCount] | None) -> dict[_M, int]:
    counts: dict[_M, int] = {}
    for detail in details or ():
        if detail.modality is not None and detail.token_count:
            counts[detail.modality] = counts.get(detail.modality, 0) + detail.token_count
    return counts


def _remainder(total: int | None, covered: int) -> int:
    return max((total or 0) - covered, 0)


def _split_cached(
    counts: dict[Bucket, int], *, text: int, audio: int, image: int, total: int
) -> None:
    """Move cached tokens out of their modality bucket into ``INPUT_CACHED``.

    Cached tokens without a modality come out of the unattributed bucket; what that cannot cover
    stays at the full rate, so the discount is never over-applied.
    """
    moved = 0
    for bucket, cached in (
        (Bucket.INPUT_TEXT, text),
        (Bucket.INPUT_AUDIO, audio),
        (Bucket.INPUT_IMAGE, image),
    ):
        take = min(cached, counts[bucket])
        counts[bucket] -= take
        moved += take
    take = min(max(total - text - audio - image, 0), counts[Bucket.INPUT_UNATTRIBUTED])
    counts[Bucket.INPUT_UNATTRIBUTED] -= take
    counts[Bucket.INPUT_CACHED] = moved + take
