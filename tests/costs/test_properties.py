"""Property tests: the session total is the sum of per-turn costs and never decreases."""

from __future__ import annotations

from decimal import Decimal

from google.genai import types
from hypothesis import given, settings, strategies as st
from livekit.agents.metrics import RealtimeModelMetrics

from livekit_plugins_medvision.costs import Bucket, CostTracker, UsageUpdatedEvent

from .factories import FakeStreamer, Stats, details, metrics

MODELS = st.sampled_from(
    ["gemini-3.1-flash-live-preview", "gemini-3.8-live", "gemini-live-2.5-flash-native-audio"]
)
COUNT = st.integers(min_value=0, max_value=200_000)
MODALITIES = st.sampled_from(["TEXT", "AUDIO", "IMAGE", "VIDEO", "DOCUMENT"])


def record_costs(tracker: CostTracker) -> tuple[list[Decimal | None], list[Decimal | None]]:
    """Lists that fill, turn by turn, with each turn's cost and the session total after it.

    The handler only records: the tracker logs what a handler raises, so an assertion in it
    could never fail a test.
    """
    per_turn: list[Decimal | None] = []
    running: list[Decimal | None] = []

    def on_usage(event: UsageUpdatedEvent) -> None:
        per_turn.append(event.turn_usd)
        running.append(event.report.total_usd)

    tracker.on("usage_updated", on_usage)
    return per_turn, running


def priced(costs: list[Decimal | None]) -> list[Decimal]:
    """``costs``, each checked to be known (the models drawn all have prices)."""
    assert None not in costs
    return [cost for cost in costs if cost is not None]


@st.composite
def usage_messages(draw: st.DrawFn) -> types.UsageMetadata:
    prompt = draw(st.dictionaries(MODALITIES, COUNT, max_size=4))
    response = draw(st.dictionaries(st.sampled_from(["TEXT", "AUDIO"]), COUNT, max_size=2))
    # The server's counts may exceed, match or (wrongly) fall short of the details.
    prompt_total = sum(prompt.values()) + draw(st.integers(min_value=-50, max_value=500))
    return types.UsageMetadata(
        prompt_token_count=max(prompt_total, 0),
        response_token_count=sum(response.values()) + draw(st.integers(0, 100)),
        thoughts_token_count=draw(st.none() | COUNT),
        tool_use_prompt_token_count=draw(st.none() | COUNT),
        prompt_tokens_details=details(**prompt) or None,
        response_tokens_details=details(**response) or None,
    )


@settings(max_examples=60, deadline=None)
@given(model=MODELS, turns=st.lists(usage_messages(), max_size=12))
def test_total_is_the_sum_of_turns_and_never_decreases(
    model: str, turns: list[types.UsageMetadata]
) -> None:
    tracker = CostTracker(model)
    turn_costs, totals = record_costs(tracker)
    for message in turns:
        tracker.track_usage(message)

    total = tracker.report().total_usd
    per_turn, running = priced(turn_costs), priced(totals)
    assert len(per_turn) == len(running) == tracker.report().turns
    assert total == sum(per_turn, Decimal(0))
    assert running == sorted(running)
    assert all(cost >= 0 for cost in per_turn)

    # Each turn priced alone, by a tracker of its own, adds up to the same total.
    alone = Decimal(0)
    for message in turns:
        single = CostTracker(model)
        single.track_usage(message)
        assert single.report().total_usd is not None
        alone += single.report().total_usd or Decimal(0)
    assert total == alone


@settings(max_examples=60, deadline=None)
@given(
    model=MODELS,
    turns=st.lists(usage_messages(), min_size=1, max_size=8),
    frames=st.none() | st.lists(st.integers(min_value=0, max_value=40), min_size=8, max_size=8),
)
def test_buckets_add_up_and_the_default_policy_never_under_counts(
    model: str, turns: list[types.UsageMetadata], frames: list[int] | None
) -> None:
    """With or without a streamer whose image-token estimate fills what the server left out."""
    conservative = CostTracker(model)
    cheap = CostTracker(model, unattributed_policy="input_text")
    streamer = FakeStreamer()
    if frames is not None:
        conservative.attach_vision(streamer)
        cheap.attach_vision(streamer)
    sent = 0
    for index, message in enumerate(turns):
        if frames is not None:
            sent += frames[index]
            streamer.stats = Stats(frames_sent=sent, estimated_image_tokens=258 * sent)
        conservative.track_usage(message)
        cheap.track_usage(message)

    report = conservative.report()
    assert report.total_usd == sum((line.usd or Decimal(0) for line in report.buckets), Decimal(0))
    prompt = sum(m.prompt_token_count or 0 for m in turns)
    input_buckets = (Bucket.INPUT_TEXT, Bucket.INPUT_AUDIO, Bucket.INPUT_IMAGE)
    labelled = sum(report.bucket(b).tokens for b in input_buckets)
    # every prompt token is in exactly one input bucket, unless details over-count the prompt
    assert labelled + report.bucket(Bucket.INPUT_UNATTRIBUTED).tokens >= prompt
    cheap_total = cheap.report().total_usd
    assert cheap_total is not None
    assert report.total_usd >= cheap_total


@st.composite
def metrics_messages(draw: st.DrawFn) -> RealtimeModelMetrics:
    text, audio, image = draw(COUNT), draw(COUNT), draw(COUNT)
    out_text, out_audio = draw(COUNT), draw(COUNT)
    # VIDEO and unlabelled tokens stay inside input_tokens; thinking may sit in the total.
    input_tokens = text + audio + image + draw(COUNT)
    output_tokens = out_text + out_audio
    return metrics(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens + draw(COUNT),
        text=text,
        audio=audio,
        image=image,
        out_text=out_text,
        out_audio=out_audio,
    )


@settings(max_examples=60, deadline=None)
@given(model=MODELS, turns=st.lists(metrics_messages(), max_size=12))
def test_metrics_totals_are_the_sum_of_turns_and_never_decrease(
    model: str, turns: list[RealtimeModelMetrics]
) -> None:
    tracker = CostTracker(model)
    turn_costs, totals = record_costs(tracker)
    for message in turns:
        tracker.track_metrics(message)

    per_turn, running = priced(turn_costs), priced(totals)
    assert len(per_turn) == len(running) == tracker.report().turns
    assert tracker.report().total_usd == sum(per_turn, Decimal(0))
    assert running == sorted(running)
    total_tokens = sum(line.tokens for line in tracker.report().buckets)
    assert total_tokens == sum(m.total_tokens for m in turns)
