"""Hand-computed cases, one per accounting rule, on real UsageMetadata and RealtimeModelMetrics.

Rates (USD per 1M tokens) used below:
gemini-3.1-flash-live-preview: text in 0.75, audio in 3.00, image in 1.00, text out 4.50,
audio out 12.00. gemini-3.8-live: the same, image in 3.00 (unconfirmed, conservative).
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

import pytest

from livekit_plugins_medvision.costs import Bucket, CostTracker, ModelPricing

from .factories import FakeStreamer, connect_metric, metrics, usage

FLASH = "gemini-3.1-flash-live-preview"


def usd(micro_usd_per_million: str) -> Decimal:
    """Tokens x rate summed by hand, in token-USD per 1M, to USD."""
    return Decimal(micro_usd_per_million) / 1_000_000


def test_video_labelled_frame_is_billed_as_image_input() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"TEXT": 42, "VIDEO": 258}))

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == 258
    assert report.bucket(Bucket.INPUT_IMAGE).exact
    assert report.image_tokens_reported == 258
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 0
    # 42 x 0.75 + 258 x 1.00
    assert report.total_usd == usd("289.5")


def test_thinking_tokens_are_billed_as_output_text() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"TEXT": 100}, response={"AUDIO": 40}, thoughts=136))

    report = tracker.report()
    assert report.bucket(Bucket.OUTPUT_THINKING).tokens == 136
    assert report.bucket(Bucket.OUTPUT_THINKING).usd_per_million == Decimal("4.50")
    # 100 x 0.75 + 40 x 12 + 136 x 4.5
    assert report.total_usd == usd("1167")


def test_tool_use_prompt_tokens_are_billed_as_input_text() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"TEXT": 100}, tool_use=50))

    assert tracker.report().bucket(Bucket.TOOL_USE_PROMPT).tokens == 50
    # (100 + 50) x 0.75
    assert tracker.report().total_usd == usd("112.5")


def test_unattributed_remainder_real_3_8_message() -> None:
    """The real 3.8 Live message: prompt 522 = TEXT 332 + AUDIO 165 + 25 unlabelled."""
    message = usage(
        prompt={"TEXT": 332, "AUDIO": 165},
        prompt_total=522,
        response={"AUDIO": 42},
        thoughts=136,
    )
    conservative = CostTracker("gemini-3.8-live")
    conservative.track_usage(message)
    report = conservative.report()
    line = report.bucket(Bucket.INPUT_UNATTRIBUTED)
    assert (line.tokens, line.usd_per_million, line.exact) == (25, Decimal("3.00"), False)
    # 332 x 0.75 + 165 x 3 + 25 x 3 (highest input rate) + 42 x 12 + 136 x 4.5
    assert report.total_usd == usd("1935")

    as_text = CostTracker("gemini-3.8-live", unattributed_policy="input_text")
    as_text.track_usage(message)
    # the 25 tokens at 0.75 instead of 3.00
    assert as_text.report().total_usd == usd("1878.75")


def test_unlabelled_response_tokens_get_the_highest_output_rate() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(response={"TEXT": 10}, response_total=30))

    line = tracker.report().bucket(Bucket.OUTPUT_UNATTRIBUTED)
    assert (line.tokens, line.usd_per_million) == (20, Decimal("12.00"))
    # 10 x 4.5 + 20 x 12
    assert tracker.report().total_usd == usd("285")


CACHED_PRICING = ModelPricing(
    input_text=Decimal("0.75"),
    input_audio=Decimal("3.00"),
    input_image=Decimal("1.00"),
    output_text=Decimal("4.50"),
    output_audio=Decimal("12.00"),
    input_cached=Decimal("0.10"),
    source="https://example.test/prices",
    as_of=datetime.date(2026, 11, 1),
)


def test_cached_discount_by_modality() -> None:
    tracker = CostTracker(FLASH, pricing=CACHED_PRICING)
    tracker.track_usage(usage(prompt={"TEXT": 1000}, cached=600, cache={"TEXT": 600}))

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_TEXT).tokens == 400
    assert report.bucket(Bucket.INPUT_CACHED).tokens == 600
    # 400 x 0.75 + 600 x 0.10
    assert report.total_usd == usd("360")


def test_cached_tokens_without_modality_come_out_of_the_unattributed_remainder_only() -> None:
    tracker = CostTracker(FLASH, pricing=CACHED_PRICING)
    tracker.track_usage(usage(prompt={"TEXT": 900}, prompt_total=1000, cached=150))

    report = tracker.report()
    # 100 unattributed tokens can be the cached ones; the other 50 stay at the full text rate.
    assert report.bucket(Bucket.INPUT_CACHED).tokens == 100
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 0
    assert report.bucket(Bucket.INPUT_TEXT).tokens == 900
    # 900 x 0.75 + 100 x 0.10
    assert report.total_usd == usd("685")


def test_without_a_cached_rate_cached_tokens_pay_full_price() -> None:
    tracker = CostTracker(FLASH)  # Gemini Live has no context caching: no cached rate
    tracker.track_usage(usage(prompt={"TEXT": 1000}, cached=600, cache={"TEXT": 600}))

    assert tracker.report().bucket(Bucket.INPUT_CACHED).tokens == 0
    assert tracker.report().total_usd == usd("750")


def test_unknown_model_warns_once_and_reports_no_cost(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        tracker = CostTracker("gemini-live-2.5-flash-preview")
        tracker.track_usage(usage(prompt={"TEXT": 100}))
        tracker.track_usage(usage(prompt={"AUDIO": 100}))

    warnings = [r for r in caplog.records if "no prices known" in r.getMessage()]
    assert len(warnings) == 1
    assert "gemini-live-2.5-flash-preview" in warnings[0].getMessage()
    report = tracker.report()
    assert report.total_usd is None
    assert report.pricing is None
    assert report.turns == 2
    assert report.bucket(Bucket.INPUT_TEXT).tokens == 100
    assert all(line.usd is None for line in report.buckets)
    assert report.usd_per_minute is None and report.projection(10) is None
    assert "n/a" in report.render()


def test_each_message_is_one_turn_and_the_session_is_their_sum() -> None:
    """Growing prompts (143 -> 181 -> 224) are billed in full every turn, never diffed."""
    tracker = CostTracker(FLASH)
    for prompt in (143, 181, 224):
        tracker.track_usage(usage(prompt={"TEXT": prompt}))

    report = tracker.report()
    assert report.turns == 3
    assert report.bucket(Bucket.INPUT_TEXT).tokens == 143 + 181 + 224
    # (143 + 181 + 224) x 0.75
    assert report.total_usd == usd("411")


def test_an_empty_usage_message_is_not_a_turn() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage())
    assert tracker.report().turns == 0


# -- LiveKit's RealtimeModelMetrics --------------------------------------------------------


def test_metrics_video_tokens_land_in_unattributed() -> None:
    """LiveKit drops VIDEO from the details: VIDEO 516 + TEXT 1 -> input 517, image 0."""
    tracker = CostTracker(FLASH)
    tracker.track_metrics(metrics(input_tokens=517, text=1))

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 516
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == 0
    # 1 x 0.75 + 516 x 3.00 (highest input rate: never less than the true 516 x 1.00)
    assert report.total_usd == usd("1548.75")


def test_metrics_recover_thinking_and_tool_use_from_the_total() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_metrics(
        metrics(input_tokens=100, text=100, output_tokens=40, out_audio=40, total_tokens=276)
    )

    report = tracker.report()
    line = report.bucket(Bucket.THINKING_OR_TOOL_USE)
    assert (line.tokens, line.usd_per_million, line.exact) == (136, Decimal("4.50"), False)
    # Metrics cannot carry thinking or tool-use tokens as such.
    assert not report.bucket(Bucket.OUTPUT_THINKING).exact
    assert not report.bucket(Bucket.TOOL_USE_PROMPT).exact
    # 100 x 0.75 + 40 x 12 + 136 x 4.5
    assert report.total_usd == usd("1167")


def test_metrics_total_without_thoughts_recovers_nothing() -> None:
    """3.8 Live was seen leaving thoughts out of its total: nothing to recover then."""
    tracker = CostTracker(FLASH)
    tracker.track_metrics(metrics(input_tokens=100, text=100, output_tokens=40, out_audio=40))
    assert tracker.report().bucket(Bucket.THINKING_OR_TOOL_USE).tokens == 0


def test_zero_usage_connect_metric_is_not_a_turn() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_metrics(connect_metric())
    tracker.track_metrics(metrics(input_tokens=100, text=100))
    tracker.track_metrics(connect_metric())  # a reconnect

    report = tracker.report()
    assert report.turns == 1
    assert report.total_usd == usd("75")


def test_metrics_from_another_model_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    tracker = CostTracker(FLASH)
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        for _ in range(2):
            tracker.track_metrics(metrics(input_tokens=10, text=10, model="gemini-3.8-live"))
    assert len([r for r in caplog.records if "priced as" in r.getMessage()]) == 1
    assert tracker.report().turns == 2


# -- the estimate when the server gives no image breakdown ---------------------------------


def test_estimate_fills_the_image_bucket_from_unattributed_tokens() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH)
    tracker.attach_vision(streamer)
    streamer.send(frames=2, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=517, text=1))

    report = tracker.report()
    image = report.bucket(Bucket.INPUT_IMAGE)
    assert (image.tokens, image.exact) == (516, False)
    assert report.image_estimated
    assert (report.image_tokens_reported, report.image_tokens_estimated) == (0, 516)
    assert (report.frames_sent, report.estimated_image_tokens_sent) == (2, 516)
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 0
    # 1 x 0.75 + 516 x 1.00
    assert report.total_usd == usd("516.75")


def test_estimate_is_capped_by_what_the_server_left_unexplained() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH)
    tracker.attach_vision(streamer)
    streamer.send(frames=10, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=300, text=100))

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == 200
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 0


def test_frames_in_context_are_estimated_again_every_turn() -> None:
    """Gemini re-bills every frame in context each turn; so does the estimate."""
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH)
    tracker.attach_vision(streamer)
    streamer.send(frames=1, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=1258, audio=1000))
    streamer.send(frames=1, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=2516, audio=2000))

    assert tracker.report().image_tokens_estimated == 258 + 516


def test_a_server_image_breakdown_wins_over_the_estimate() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH)
    tracker.attach_vision(streamer)
    streamer.send(frames=4, tokens_each=258)
    tracker.track_usage(usage(prompt={"TEXT": 10, "IMAGE": 258}, prompt_total=300))

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == 258
    assert report.bucket(Bucket.INPUT_IMAGE).exact
    assert report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 32
    assert (report.image_tokens_reported, report.image_tokens_estimated) == (258, 0)


def test_usage_of_the_wrong_kind_is_refused_and_nothing_is_lost() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"TEXT": 100}))
    with pytest.raises(ValueError, match="usage must be a UsageMetadata, not a dict"):
        tracker.track_usage({"promptTokenCount": 100})  # type: ignore[arg-type]  # the wire dict
    with pytest.raises(ValueError, match="metrics must be a RealtimeModelMetrics"):
        tracker.track_metrics(usage(prompt={"TEXT": 100}))  # type: ignore[arg-type]  # mixed up

    report = tracker.report()
    assert report.turns == 1
    assert report.total_usd == usd("75")
