"""ContextFrames: which frames' tokens are still in context, from the prompt sizes alone."""

from __future__ import annotations

import pytest
from google.genai import types

from livekit_plugins_medvision.costs import Bucket, CostTracker
from livekit_plugins_medvision.costs.context import ContextFrames, SlidingWindowLimits
from livekit_plugins_medvision.testing.compression import SlidingWindow

from .factories import FakeStreamer, metrics

FLASH = "gemini-3.1-flash-live-preview"


def test_without_compression_every_frame_sent_stays_in_context() -> None:
    frames = ContextFrames()
    assert frames.on_turn(prompt_tokens=800, image_tokens_sent=774) == 774
    assert frames.on_turn(prompt_tokens=1400, image_tokens_sent=1290) == 1290
    assert frames.drops == 0


def test_a_shrinking_prompt_drops_the_oldest_turns_and_their_frames() -> None:
    frames = ContextFrames()  # settings unknown: the drop alone tells
    frames.on_turn(prompt_tokens=800, image_tokens_sent=774)
    frames.on_turn(prompt_tokens=1400, image_tokens_sent=1290)
    # 600 tokens left: the newest turn's 516 image tokens and what came with them.
    assert frames.on_turn(prompt_tokens=600, image_tokens_sent=1806) == 516
    assert frames.drops == 1


def test_a_known_trigger_reveals_compression_the_prompt_size_hides() -> None:
    limits = SlidingWindowLimits.from_config(
        types.ContextWindowCompressionConfig(trigger_tokens=1000)
    )
    assert limits == SlidingWindowLimits(trigger_tokens=1000, target_tokens=500)
    frames = ContextFrames(limits)
    frames.on_turn(prompt_tokens=560, image_tokens_sent=516)
    # 560 + 516 new passes 1000: the window cut the first turn although the prompt is the same.
    assert frames.on_turn(prompt_tokens=560, image_tokens_sent=1032) == 516
    assert frames.drops == 1


def test_the_estimate_never_exceeds_what_the_prompt_grew_by() -> None:
    frames = ContextFrames()
    assert frames.on_turn(prompt_tokens=300, image_tokens_sent=2580) == 300


@pytest.mark.parametrize(
    "config",
    [
        types.ContextWindowCompressionConfig(
            trigger_tokens=1000, sliding_window=types.SlidingWindow(target_tokens=1000)
        ),
        types.ContextWindowCompressionConfig(trigger_tokens=-5),
    ],
)
def test_impossible_window_settings_are_refused(
    config: types.ContextWindowCompressionConfig,
) -> None:
    with pytest.raises(ValueError, match="trigger_tokens > 0"):
        CostTracker(FLASH, context_window_compression=config)


def test_tracker_relabels_only_frames_in_context_and_prices_the_rest_by_policy() -> None:
    window = types.ContextWindowCompressionConfig(
        trigger_tokens=1000, sliding_window=types.SlidingWindow(target_tokens=600)
    )
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH, context_window_compression=window)
    tracker.attach_vision(streamer)
    streamer.send(frames=3, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=774 + 40))
    streamer.send(frames=2, tokens_each=258)
    tracker.track_metrics(metrics(input_tokens=516 + 40))  # the first turn left the window

    report = tracker.report()
    assert report.bucket(Bucket.INPUT_IMAGE).tokens == 774 + 516
    line = report.bucket(Bucket.INPUT_UNATTRIBUTED)
    assert (line.tokens, line.usd_per_million) == (
        80,
        tracker.pricing and tracker.pricing.highest_input,
    )
    assert (report.image_tokens_in_context, report.context_drops) == (516, 1)


def test_emulator_window_reads_both_spellings_and_keeps_the_newest_turn() -> None:
    camel = {"contextWindowCompression": {"triggerTokens": "1000", "slidingWindow": {}}}
    snake = {"context_window_compression": {"trigger_tokens": 1000, "sliding_window": {}}}
    assert SlidingWindow.from_setup(camel) == SlidingWindow.from_setup(snake)
    window = SlidingWindow(trigger_tokens=1000, target_tokens=500)
    assert window.apply([400, 300, 200], int) == [400, 300, 200]  # not past the trigger
    assert window.apply([400, 300, 400], int) == [400]
    assert window.apply([1200], int) == [1200]  # the current turn always stays
