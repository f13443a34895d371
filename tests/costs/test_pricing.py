"""The shipped price table and ModelPricing's validation."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest

from livekit_plugins_medvision.costs import PRICES, ModelPricing, pricing_for

REQUIRED = [
    "gemini-2.5-flash-native-audio-preview-12-2025",
    "gemini-live-2.5-flash-native-audio",
    "gemini-3.1-flash-live-preview",
    "gemini-3.8-live",
    "gemini-3.8-live-extended-thinking",
]


@pytest.mark.parametrize("model", REQUIRED)
def test_every_current_live_model_is_priced_with_a_source(model: str) -> None:
    pricing = pricing_for(model)
    assert pricing is not None
    assert pricing.source.startswith("https://")
    assert datetime.date(2026, 1, 1) <= pricing.as_of <= datetime.date(2026, 11, 30)
    assert pricing.input_cached is None  # Gemini Live has no context caching


def test_lookup_accepts_the_models_prefix_and_refuses_retired_models() -> None:
    assert (
        pricing_for("models/gemini-3.1-flash-live-preview")
        is PRICES["gemini-3.1-flash-live-preview"]
    )
    assert pricing_for("gemini-2.0-flash-live-001") is None  # shut down 2025-12-09
    assert pricing_for("gpt-4o-realtime") is None


def test_published_rates() -> None:
    flash = PRICES["gemini-3.1-flash-live-preview"]
    assert (flash.input_text, flash.input_audio, flash.input_image) == (
        Decimal("0.75"),
        Decimal("3.00"),
        Decimal("1.00"),
    )
    assert (flash.output_text, flash.output_audio) == (Decimal("4.50"), Decimal("12.00"))
    native = PRICES["gemini-2.5-flash-native-audio-preview-12-2025"]
    assert (native.input_text, native.input_image, native.output_text) == (
        Decimal("0.50"),
        Decimal("3.00"),
        Decimal("2.00"),
    )
    assert PRICES["gemini-live-2.5-flash-native-audio"].output_audio == native.output_audio


def test_unconfirmed_3_8_image_rate_takes_the_conservative_reading() -> None:
    live = PRICES["gemini-3.8-live"]
    assert live.input_image == live.highest_input == Decimal("3.00")
    assert "unconfirmed" in live.note
    assert PRICES["gemini-3.8-live-extended-thinking"] == live


VALID = ModelPricing(
    input_text=Decimal("1"),
    input_audio=Decimal("2"),
    input_image=Decimal("3"),
    output_text=Decimal("4"),
    output_audio=Decimal("5"),
    source="https://example.test",
    as_of=datetime.date(2026, 11, 1),
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_text", Decimal("-1")),
        ("input_audio", 0.5),
        ("output_audio", Decimal("NaN")),
        ("input_cached", Decimal("Infinity")),
    ],
)
def test_bad_rates_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(VALID, **{field: value})  # type: ignore[arg-type]  # bad on purpose


def test_source_and_date_are_required() -> None:
    with pytest.raises(ValueError, match="source"):
        dataclasses.replace(VALID, source=" ")
    with pytest.raises(ValueError, match="as_of"):
        dataclasses.replace(VALID, as_of="2026-11-01")  # type: ignore[arg-type]  # bad on purpose


def test_highest_rates() -> None:
    assert VALID.highest_input == Decimal("3")
    assert VALID.highest_output == Decimal("5")
