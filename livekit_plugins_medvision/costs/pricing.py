"""Gemini Live prices per modality, with where each figure comes from.

Prices are USD per million tokens, as ``Decimal`` so that sums are exact. They age: every entry
carries its source and the date it was read, and ``CostTracker(pricing=...)`` takes a
``ModelPricing`` of your own when Google changes a figure before this table does.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

__all__ = ["PRICES", "ModelPricing", "pricing_for"]

_RATE_FIELDS = ("input_text", "input_audio", "input_image", "output_text", "output_audio")


@dataclasses.dataclass(frozen=True)
class ModelPricing:
    """What one Gemini Live model charges, in USD per million tokens.

    Raises:
        ValueError: a rate that is not a finite, non-negative ``Decimal``, an empty ``source``
            or an ``as_of`` that is not a date (the message names the field).
    """

    input_text: Decimal
    """Text input, also tool-use prompt tokens."""
    input_audio: Decimal
    """Audio input."""
    input_image: Decimal
    """Image input: images and video frames alike (Gemini's VIDEO modality)."""
    output_text: Decimal
    """Text output, thinking tokens included."""
    output_audio: Decimal
    """Audio output."""
    source: str
    """Where the figures were read (a URL)."""
    as_of: datetime.date
    """When the figures were read."""
    input_cached: Decimal | None = None
    """Cached input; ``None`` when the model has no cached rate (Gemini Live has no caching), in
    which case cached tokens are billed at their modality's full rate."""
    note: str = ""
    """Caveats about the figures, e.g. a rate that is not confirmed."""

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            _check_rate(name, getattr(self, name))
        if self.input_cached is not None:
            _check_rate("input_cached", self.input_cached)
        _check_source(self.source)
        _check_date(self.as_of)

    @property
    def highest_input(self) -> Decimal:
        """The highest input rate: what an input token of unknown modality may cost at most."""
        return max(self.input_text, self.input_audio, self.input_image)

    @property
    def highest_output(self) -> Decimal:
        """The highest output rate: what an output token of unknown modality may cost at most."""
        return max(self.output_text, self.output_audio)


def _check_rate(name: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative Decimal (USD per 1M tokens)")


def _check_source(value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("source must name where the prices come from")


def _check_date(value: object) -> None:
    if not isinstance(value, datetime.date):
        raise ValueError("as_of must be a datetime.date")


_GEMINI_PRICING = "https://ai.google.dev/gemini-api/docs/pricing"

_GEMINI_3_LIVE = ModelPricing(
    input_text=Decimal("0.75"),
    input_audio=Decimal("3.00"),
    input_image=Decimal("3.00"),
    output_text=Decimal("4.50"),
    output_audio=Decimal("12.00"),
    source=_GEMINI_PRICING,
    as_of=datetime.date(2026, 9, 28),
    note=(
        "image/video input rate unconfirmed (likely 1.00, as on gemini-3.1-flash-live-preview); "
        "priced at 3.00, the highest input rate, so the report never under-counts"
    ),
)

_GEMINI_2_5_NATIVE_AUDIO = ModelPricing(
    input_text=Decimal("0.50"),
    input_audio=Decimal("3.00"),
    input_image=Decimal("3.00"),
    output_text=Decimal("2.00"),
    output_audio=Decimal("12.00"),
    source="https://github.com/pydantic/genai-prices",
    as_of=datetime.date(2026, 7, 24),
)

PRICES: Mapping[str, ModelPricing] = MappingProxyType(
    {
        "gemini-3.8-live": _GEMINI_3_LIVE,
        "gemini-3.8-live-extended-thinking": _GEMINI_3_LIVE,
        "gemini-3.1-flash-live-preview": ModelPricing(
            input_text=Decimal("0.75"),
            input_audio=Decimal("3.00"),
            input_image=Decimal("1.00"),
            output_text=Decimal("4.50"),
            output_audio=Decimal("12.00"),
            source=f"{_GEMINI_PRICING}#gemini-3.1-flash-live-preview",
            as_of=datetime.date(2026, 7, 22),
        ),
        "gemini-2.5-flash-native-audio-preview-12-2025": _GEMINI_2_5_NATIVE_AUDIO,
        # Vertex AI's GA name for the same model, priced the same.
        "gemini-live-2.5-flash-native-audio": dataclasses.replace(
            _GEMINI_2_5_NATIVE_AUDIO,
            source="https://github.com/langfuse/langfuse/issues/12607",
        ),
    }
)
"""The shipped price table of current Gemini Live models (Developer API, paid tier)."""


def pricing_for(model: str) -> ModelPricing | None:
    """Return the shipped prices of ``model``, or ``None`` when the table does not know it.

    Args:
        model: A Gemini model id, with or without the ``models/`` prefix.
    """
    return PRICES.get(model.strip().removeprefix("models/"))
