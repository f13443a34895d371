"""Usage is not taken on faith: malformed messages refused, repeats counted once, totals priced."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from google.genai import types
from hypothesis import given, settings, strategies as st
from livekit.agents.metrics import RealtimeModelMetrics

from livekit_plugins_medvision import PatientContextProvider
from livekit_plugins_medvision.costs import Bucket, CostLedgerError, CostTracker
from livekit_plugins_medvision.costs.intake import MAX_TOKENS
from livekit_plugins_medvision.log import logger

from .factories import ABSURD, details, metrics, usage
from .test_properties import priced, record_costs

FLASH = "gemini-3.1-flash-live-preview"


@contextmanager
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """The package's WARNING records while the block runs (caplog does not mix with @given)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def like_livekit(message: types.UsageMetadata, request_id: str) -> RealtimeModelMetrics:
    """The metric LiveKit's Google plugin emits for ``message`` (its counts, copied as-is)."""
    by = {d.modality: d.token_count or 0 for d in message.prompt_tokens_details or []}
    out = {d.modality: d.token_count or 0 for d in message.response_tokens_details or []}
    return metrics(
        input_tokens=message.prompt_token_count or 0,
        output_tokens=message.response_token_count or 0,
        total_tokens=message.total_token_count or 0,
        text=by.get(types.MediaModality.TEXT, 0),
        audio=by.get(types.MediaModality.AUDIO, 0),
        image=by.get(types.MediaModality.IMAGE, 0),
        out_text=out.get(types.MediaModality.TEXT, 0),
        out_audio=out.get(types.MediaModality.AUDIO, 0),
        request_id=request_id,
    )


def alone(message: types.UsageMetadata) -> Decimal:
    """What ``message`` costs counted by a tracker of its own."""
    tracker = CostTracker(FLASH)
    tracker.track_usage(message)
    total = tracker.report().total_usd
    assert total is not None
    return total


# -- malformed messages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        types.UsageMetadata(prompt_token_count=-500),
        types.UsageMetadata(prompt_token_count=100, response_token_count=-1),
        types.UsageMetadata(prompt_tokens_details=details(AUDIO=-10)),
        types.UsageMetadata(thoughts_token_count=MAX_TOKENS + 1),
        types.UsageMetadata.model_construct(prompt_token_count=1.5),
        types.UsageMetadata.model_construct(prompt_token_count="12"),
        types.UsageMetadata.model_construct(prompt_token_count=True),
    ],
    ids=["negative", "negative-response", "negative-detail", "huge", "float", "text", "bool"],
)
def test_a_malformed_message_is_refused_never_priced(bad: types.UsageMetadata) -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"AUDIO": 40_000}, response={"AUDIO": 900}))
    before = tracker.report()
    tracker.track_usage(bad)
    after = tracker.report()
    assert after.total_usd == before.total_usd and after.turns == before.turns == 1
    assert tracker.messages_refused == 1


def test_a_negative_message_cannot_undo_a_hard_budget() -> None:
    # The session: 1.20 USD went back to 0 after one negative message.
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"AUDIO": 1_000_000}))
    spent = tracker.report().total_usd
    tracker.track_usage(usage(prompt={"AUDIO": -1_000_000}))
    assert tracker.report().total_usd == spent


def test_refusals_warn_once_per_session_naming_the_field_not_the_value() -> None:
    with warnings_logged() as records:
        first, second = CostTracker(FLASH), CostTracker(FLASH)
        for _ in range(3):
            first.track_usage(types.UsageMetadata(response_token_count=-987_654))
        second.track_metrics(metrics(input_tokens=-5))
    refusals = [r.getMessage() for r in records if "refused" in r.getMessage()]
    assert len(refusals) == 2  # one per tracker
    assert "response_token_count is negative" in refusals[0]
    assert "input_tokens is negative" in refusals[1]
    assert not any("987" in text for text in refusals)
    assert first.messages_refused == 3


def test_a_malformed_livekit_metric_is_refused() -> None:
    tracker = CostTracker(FLASH)
    bad = metrics(input_tokens=100, audio=100)
    bad.input_token_details.audio_tokens = -100
    tracker.track_metrics(bad)
    tracker.track_metrics(metrics(input_tokens=MAX_TOKENS * 2))
    assert tracker.report().turns == 0 and tracker.messages_refused == 2


# -- repeats ----------------------------------------------------------------------------------


def test_the_same_usage_object_counts_once() -> None:
    tracker = CostTracker(FLASH)
    message = usage(prompt={"AUDIO": 10_000}, response={"AUDIO": 500})
    tracker.track_usage(message)
    tracker.track_usage(message)
    assert tracker.report().turns == 1 and tracker.messages_repeated == 1
    assert tracker.report().total_usd == alone(message)


def test_a_metric_seen_twice_counts_once_by_request_id() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_metrics(metrics(input_tokens=1000, audio=1000, request_id="resp_7"))
    tracker.track_metrics(metrics(input_tokens=1000, audio=1000, request_id="resp_7"))
    # the same counts under another request id are another turn
    tracker.track_metrics(metrics(input_tokens=1000, audio=1000, request_id="resp_8"))
    # and one generation reporting twice with new counts counts both
    tracker.track_metrics(metrics(input_tokens=1500, audio=1500, request_id="resp_8"))
    assert tracker.report().turns == 3 and tracker.messages_repeated == 1


@pytest.mark.parametrize("usage_first", [True, False])
def test_attach_and_track_usage_seeing_one_turn_count_it_once(usage_first: bool) -> None:
    message = usage(prompt={"AUDIO": 20_000, "VIDEO": 258}, response={"AUDIO": 700})
    metric = like_livekit(message, "resp_1")
    tracker = CostTracker(FLASH)
    if usage_first:
        tracker.track_usage(message)
        tracker.track_metrics(metric)  # what attach() hands over
    else:
        tracker.track_metrics(metric)
        tracker.track_usage(message)
    assert tracker.report().turns == 1 and tracker.messages_repeated == 1
    next_turn = usage(prompt={"AUDIO": 30_000}, response={"AUDIO": 100})
    tracker.track_usage(next_turn)
    assert tracker.report().turns == 2


# -- a message with only a total -------------------------------------------------------------


def test_a_message_with_only_a_total_is_priced_high_and_marked_estimated() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(types.UsageMetadata(total_token_count=10_000))
    report = tracker.report()
    line = report.bucket(Bucket.INPUT_UNATTRIBUTED)
    assert line.tokens == 10_000 and not line.exact
    pricing = tracker.pricing
    assert pricing is not None and line.usd_per_million == pricing.highest_input
    assert report.total_usd == pricing.highest_input * 10_000 / 1_000_000


def test_a_livekit_metric_with_only_a_total_is_priced_the_same_way() -> None:
    via_usage, via_metrics = CostTracker(FLASH), CostTracker(FLASH)
    via_usage.track_usage(types.UsageMetadata(total_token_count=10_000))
    via_metrics.track_metrics(metrics(input_tokens=0, total_tokens=10_000))
    assert via_metrics.report().bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 10_000
    assert via_metrics.report().total_usd == via_usage.report().total_usd


def test_a_total_above_the_other_counts_adds_its_remainder() -> None:
    tracker = CostTracker(FLASH)
    tracker.track_usage(usage(prompt={"AUDIO": 1000}, response={"AUDIO": 200}))
    plain = tracker.report().total_usd
    padded = CostTracker(FLASH)
    message = usage(prompt={"AUDIO": 1000}, response={"AUDIO": 200})
    message.total_token_count = 1500
    padded.track_usage(message)
    assert padded.report().bucket(Bucket.INPUT_UNATTRIBUTED).tokens == 300
    more = padded.report().total_usd
    assert plain is not None and more is not None and more > plain


# -- arbitrary sequences ----------------------------------------------------------------------

COUNT = st.integers(min_value=0, max_value=300_000)
BAD_COUNT = st.integers(max_value=-1) | st.integers(min_value=MAX_TOKENS + 1, max_value=10**18)


@st.composite
def valid_messages(draw: st.DrawFn) -> types.UsageMetadata:
    prompt = draw(st.dictionaries(st.sampled_from(["TEXT", "AUDIO", "IMAGE", "VIDEO"]), COUNT))
    response = draw(st.dictionaries(st.sampled_from(["TEXT", "AUDIO"]), COUNT))
    with_details = draw(st.booleans())  # missing details: counts only, or only a total
    only_total = draw(st.booleans()) and not with_details
    total = sum(prompt.values()) + sum(response.values()) + draw(st.integers(0, 1000))
    if only_total:
        return types.UsageMetadata(total_token_count=total)
    return types.UsageMetadata(
        prompt_token_count=sum(prompt.values()),
        response_token_count=sum(response.values()),
        total_token_count=draw(st.none() | st.just(total)),
        thoughts_token_count=draw(st.none() | COUNT),
        prompt_tokens_details=details(**prompt) if with_details and prompt else None,
        response_tokens_details=details(**response) if with_details and response else None,
    )


@st.composite
def bad_messages(draw: st.DrawFn) -> types.UsageMetadata:
    field = draw(
        st.sampled_from(
            ["prompt_token_count", "response_token_count", "total_token_count", "detail"]
        )
    )
    bad = draw(BAD_COUNT)
    if field == "detail":
        return types.UsageMetadata(prompt_token_count=10, prompt_tokens_details=details(AUDIO=bad))
    return types.UsageMetadata.model_validate({field: bad})


# One step of a sequence: a new valid message, a repeat of an earlier one (the same object, or
# its LiveKit metric), or a malformed one.
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["new", "new", "repeat", "livekit-twin", "bad"]),
        valid_messages(),
        bad_messages(),
        st.integers(min_value=0),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS)
def test_any_sequence_prices_each_valid_turn_once_and_never_decreases(
    steps: list[tuple[str, types.UsageMetadata, types.UsageMetadata, int]],
) -> None:
    tracker = CostTracker(FLASH)
    _, running = record_costs(tracker)
    counted: list[types.UsageMetadata] = []
    bad = 0
    with warnings_logged() as records:
        for kind, fresh, malformed, pick in steps:
            if kind == "bad":
                tracker.track_usage(malformed)
                bad += 1
            elif kind == "new" or not counted:
                tracker.track_usage(fresh)
                counted.append(fresh)
            elif kind == "repeat":
                tracker.track_usage(counted[pick % len(counted)])
            else:  # LiveKit's metric of an earlier turn: one request id per turn
                earlier = counted[pick % len(counted)]
                tracker.track_metrics(like_livekit(earlier, f"resp_{id(earlier)}"))
    total = priced(running)
    assert total == sorted(total)  # never decreases
    report = tracker.report()
    expected = sum((alone(m) for m in counted), Decimal(0))
    assert report.total_usd == expected
    assert tracker.messages_refused == bad
    assert len([r for r in records if "refused" in r.getMessage()]) == min(bad, 1)


# -- the ledger -------------------------------------------------------------------------------


@pytest.mark.db
async def test_a_total_the_ledger_cannot_hold_fails_clearly_before_the_insert(
    pg_dsn: str,
) -> None:
    tracker = CostTracker(FLASH, pricing=ABSURD)
    tracker.track_usage(usage(prompt={"AUDIO": MAX_TOKENS}))  # 10**9 USD
    async with await PatientContextProvider.connect(pg_dsn) as provider:
        await provider.migrate()
        with pytest.raises(CostLedgerError, match=r"numeric\(14, 6\)"):
            await tracker.write_ledger(provider.pool, job_id="j")
        async with provider.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM medvision.cost_ledger") == 0
        fine = CostTracker(FLASH)
        fine.track_usage(usage(prompt={"AUDIO": MAX_TOKENS}))
        assert await fine.write_ledger(provider.pool, job_id="j") > 0
