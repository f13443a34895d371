"""Budgets: validation, the steps in order, and their effect on a streamer double."""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal

import pytest
from google.genai import types

from livekit_plugins_medvision.costs import (
    Budget,
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    BudgetStep,
    CostTracker,
    VideoDegradedEvent,
    VideoStreamer,
)
from livekit_plugins_medvision.vision import SCREEN_SHARE_PROFILE, VisionOptions
from tests.support.clock import ManualClock

from .factories import FakeStreamer, usage

FLASH = "gemini-3.1-flash-live-preview"


def turn() -> types.UsageMetadata:
    """A new turn's usage message: 500 audio tokens at 3.00 per 1M, 0.0015 USD."""
    return usage(prompt={"AUDIO": 500})


# The soft step on the screen share's own profile: its rates capped, its text-scale floor.
DEGRADED_SCREEN = dataclasses.replace(
    SCREEN_SHARE_PROFILE, fps=0.5, silent_fps=0.0, change_threshold=12.0
)

Event = BudgetSoftExceededEvent | VideoDegradedEvent | BudgetHardExceededEvent


def record(tracker: CostTracker) -> list[Event]:
    seen: list[Event] = []

    def on_event(event: Event) -> None:
        seen.append(event)

    for name in ("budget_soft_exceeded", "video_degraded", "budget_hard_exceeded"):
        tracker.on(name, on_event)
    return seen


def test_the_streamer_double_satisfies_the_protocol() -> None:
    streamer: VideoStreamer = FakeStreamer()
    assert streamer.options.max_size == 768


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({}, "soft_usd, hard_usd"),
        ({"soft_usd": Decimal(0)}, "soft_usd"),
        ({"soft_usd": 0.5}, "soft_usd"),
        ({"hard_usd": Decimal("NaN")}, "hard_usd"),
        ({"soft_usd": Decimal(2), "hard_usd": Decimal(1)}, "soft_usd must be below hard_usd"),
        ({"soft_usd": Decimal(1), "degraded_fps": 0.0}, "degraded_fps"),
        ({"soft_usd": Decimal(1), "degraded_silent_fps": float("inf")}, "degraded_silent_fps"),
        ({"soft_usd": Decimal(1), "degraded_silent_fps": -0.1}, "degraded_silent_fps"),
        ({"soft_usd": Decimal(1), "degraded_change_threshold": 0.0}, "degraded_change_threshold"),
        ({"soft_usd": Decimal(1), "degraded_change_threshold": 300.0}, "at most 255"),
        (
            {"soft_usd": Decimal(1), "degraded_text_change_threshold": 0.0},
            "degraded_text_change_threshold",
        ),
        ({"soft_usd": Decimal(1), "degraded_text_change_threshold": 256.0}, "at most 255"),
        ({"hard_usd": Decimal(1), "on_hard": "hang_up"}, "on_hard"),
        ({"hard_usd": Decimal(1), "closing_instructions": " "}, "closing_instructions"),
    ],
)
def test_bad_budgets_name_the_option(kwargs: dict[str, object], option: str) -> None:
    with pytest.raises(ValueError, match=option):
        Budget(**kwargs)  # type: ignore[arg-type]  # bad values on purpose


def test_steps_by_cost() -> None:
    budget = Budget(soft_usd=Decimal("1"), hard_usd=Decimal("3"))
    assert budget.step_for(Decimal("0.99")) is BudgetStep.NONE
    assert budget.step_for(Decimal("1")) is BudgetStep.SOFT
    assert budget.step_for(Decimal("2.99")) is BudgetStep.SOFT
    assert budget.step_for(Decimal("3")) is BudgetStep.HARD
    soft_only = Budget(soft_usd=Decimal("1"))
    assert soft_only.step_for(Decimal("1000")) is BudgetStep.SOFT
    hard_only = Budget(hard_usd=Decimal("1"))
    assert hard_only.step_for(Decimal("0.5")) is BudgetStep.NONE
    assert hard_only.step_for(Decimal("1")) is BudgetStep.HARD


def test_crossing_soft_sends_fewer_frames_then_hard_pauses() -> None:
    streamer = FakeStreamer()
    budget = Budget(soft_usd=Decimal("0.001"), hard_usd=Decimal("0.004"))
    tracker = CostTracker(FLASH, budget=budget)
    tracker.attach_vision(streamer)
    events = record(tracker)

    tracker.track_usage(turn())  # 0.0015: soft
    assert events == [
        BudgetSoftExceededEvent(total_usd=Decimal("0.0015"), soft_usd=Decimal("0.001")),
        VideoDegradedEvent(
            total_usd=Decimal("0.0015"),
            fps=0.5,
            silent_fps=0.0,
            change_threshold=6.0,
            max_size=768,  # left alone: a frame costs the same tokens at any size
            screen_share=DEGRADED_SCREEN,
        ),
    ]
    assert streamer.options == VisionOptions(
        fps=0.5, silent_fps=0.0, max_size=768, change_threshold=6.0, screen_share=DEGRADED_SCREEN
    )

    tracker.track_usage(turn())  # 0.003: still soft, nothing more to do
    assert len(events) == 2
    assert "pause" not in streamer.calls

    tracker.track_usage(turn())  # 0.0045: hard
    assert events[2:] == [
        BudgetHardExceededEvent(
            total_usd=Decimal("0.0045"), hard_usd=Decimal("0.004"), video_paused=True
        )
    ]
    assert streamer.paused

    tracker.track_usage(turn())  # nothing repeats
    assert len(events) == 3
    assert streamer.calls == ["update_options", "pause"]


def test_one_expensive_turn_takes_every_step_in_order() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.0001"), hard_usd=Decimal("0.0002"))
    )
    tracker.attach_vision(streamer)
    events = record(tracker)
    tracker.track_usage(turn())

    assert [type(e) for e in events] == [
        BudgetSoftExceededEvent,
        VideoDegradedEvent,
        BudgetHardExceededEvent,
    ]
    assert streamer.calls == ["update_options", "pause"]


def test_settings_are_only_ever_lowered_and_a_step_that_changes_nothing_is_not_announced() -> None:
    streamer = FakeStreamer()
    low_screen = dataclasses.replace(DEGRADED_SCREEN, fps=0.2, change_threshold=20.0)
    streamer.update_options(fps=0.2, silent_fps=0.0, change_threshold=10.0, screen_share=low_screen)
    tracker = CostTracker(FLASH, budget=Budget(soft_usd=Decimal("0.001")))
    tracker.attach_vision(streamer)
    events = record(tracker)
    tracker.track_usage(turn())
    assert streamer.options == VisionOptions(
        fps=0.2, silent_fps=0.0, max_size=768, change_threshold=10.0, screen_share=low_screen
    )
    assert [type(e) for e in events] == [BudgetSoftExceededEvent]  # video was already that low


def test_hard_limit_only_pauses() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH, budget=Budget(hard_usd=Decimal("0.001")))
    tracker.attach_vision(streamer)
    events = record(tracker)
    tracker.track_usage(turn())

    assert events == [
        BudgetHardExceededEvent(
            total_usd=Decimal("0.0015"), hard_usd=Decimal("0.001"), video_paused=True
        )
    ]
    assert streamer.calls == ["pause"]


def test_hard_event_without_a_streamer_says_video_was_not_paused() -> None:
    tracker = CostTracker(FLASH, budget=Budget(hard_usd=Decimal("0.001")))
    events = record(tracker)
    tracker.track_usage(turn())
    assert events == [
        BudgetHardExceededEvent(
            total_usd=Decimal("0.0015"), hard_usd=Decimal("0.001"), video_paused=False
        )
    ]


def test_a_streamer_attached_late_gets_the_steps_already_taken_without_new_budget_events() -> None:
    tracker = CostTracker(FLASH, budget=Budget(soft_usd=Decimal("0.001")))
    tracker.track_usage(turn())
    events = record(tracker)
    streamer = FakeStreamer()
    tracker.attach_vision(streamer)

    assert [type(e) for e in events] == [VideoDegradedEvent]
    assert (streamer.options.fps, streamer.options.silent_fps) == (0.5, 0.0)


def test_a_failing_streamer_does_not_break_accounting(caplog: pytest.LogCaptureFixture) -> None:
    streamer = FakeStreamer()
    streamer.fail_with = RuntimeError("streamer closed")
    tracker = CostTracker(FLASH, budget=Budget(soft_usd=Decimal("0.001")))
    tracker.attach_vision(streamer)
    events = record(tracker)
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        tracker.track_usage(turn())
        tracker.track_usage(turn())

    assert tracker.report().turns == 2
    assert [type(e) for e in events] == [BudgetSoftExceededEvent]
    assert any("could not be applied" in r.getMessage() for r in caplog.records)


def test_budget_of_an_unknown_model_cannot_act(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        tracker = CostTracker("gemini-9-live", budget=Budget(hard_usd=Decimal("0.000001")))
    streamer = FakeStreamer()
    tracker.attach_vision(streamer)
    tracker.track_usage(turn())
    assert not streamer.paused
    assert any("budget cannot act" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"model": " "}, "model"),
        ({"model": FLASH, "pricing": "cheap"}, "pricing"),
        ({"model": FLASH, "budget": Decimal(1)}, "budget"),
        ({"model": FLASH, "unattributed_policy": "zero"}, "unattributed_policy"),
    ],
)
def test_bad_tracker_options_name_the_option(kwargs: dict[str, object], option: str) -> None:
    with pytest.raises(ValueError, match=option):
        CostTracker(**kwargs)  # type: ignore[arg-type]  # bad values on purpose


async def test_the_report_keeps_the_streamer_figures_after_aclose() -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH)
    tracker.attach_vision(streamer)
    tracker.track_usage(turn())
    before = tracker.report()
    await tracker.aclose()
    after = tracker.report()

    assert after.frames_sent == before.frames_sent == streamer.stats.frames_sent
    assert after.estimated_image_tokens_sent == streamer.stats.estimated_image_tokens
    assert "image tokens, frames sent (est.)" in after.render()


def test_a_failing_handler_neither_reaches_the_caller_nor_stops_the_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LiveKit's EventEmitter re-raises a handler's TypeError; the tracker must not."""
    streamer = FakeStreamer()
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.001"), hard_usd=Decimal("0.004"))
    )
    tracker.attach_vision(streamer)

    def broken(_event: object) -> None:
        raise TypeError("a bug in the agent's handler")

    for name in ("usage_updated", "budget_soft_exceeded", "video_degraded"):
        tracker.on(name, broken)
    with caplog.at_level(logging.ERROR, logger="livekit.plugins.medvision"):
        tracker.track_usage(turn())  # 0.0015: soft, its handler fails
        tracker.track_usage(turn())  # 0.003
        tracker.track_usage(turn())  # 0.0045: hard

    assert tracker.report().turns == 3
    assert (streamer.options.fps, streamer.options.change_threshold) == (0.5, 6.0)
    assert streamer.paused
    assert any("handler failed" in r.getMessage() for r in caplog.records)


def test_end_call_without_an_attached_session_only_pauses(caplog: pytest.LogCaptureFixture) -> None:
    streamer = FakeStreamer()
    tracker = CostTracker(FLASH, budget=Budget(hard_usd=Decimal("0.001"), on_hard="end_call"))
    tracker.attach_vision(streamer)
    events = record(tracker)
    with caplog.at_level(logging.WARNING, logger="livekit.plugins.medvision"):
        tracker.track_usage(turn())
    assert events == [
        BudgetHardExceededEvent(
            total_usd=Decimal("0.0015"),
            hard_usd=Decimal("0.001"),
            video_paused=True,
            ending_call=False,
        )
    ]
    assert any("needs CostTracker.attach" in r.getMessage() for r in caplog.records)


def test_live_projection_minutes_left_at_the_current_rate() -> None:
    clock = ManualClock()
    tracker = CostTracker(
        FLASH, budget=Budget(soft_usd=Decimal("0.006"), hard_usd=Decimal("0.012")), clock=clock
    )
    for _ in range(3):  # 0.0015 USD every 30 s: 0.003 USD a minute
        clock.now += 30
        tracker.track_usage(turn())
    report = tracker.report()
    assert report.usd_per_minute_now == Decimal("0.003")
    # 0.0045 spent: 0.0015 to soft (half a minute), 0.0075 to hard (2.5 minutes)
    assert (report.budget.minutes_to_soft, report.budget.minutes_to_hard) == (0.5, 2.5)
    assert report.budget.step == "none"

    # The rate follows the last two minutes, not the call's average.
    for _ in range(4):
        clock.now += 60
        tracker.track_usage(turn())
    report = tracker.report()
    assert report.usd_per_minute_now == Decimal("0.0015")
    assert report.usd_per_minute is not None and report.usd_per_minute > Decimal("0.0015")
    assert report.budget.step == "soft" and report.budget.minutes_to_soft == 0.0
    assert report.budget.soft_at_seconds == 150.0
    assert "minutes to hard limit (0.012 USD)" in report.render()
    assert report.to_dict()["budget"] == {
        "soft_usd": "0.006",
        "hard_usd": "0.012",
        "step": "soft",
        "soft_at_seconds": 150.0,
        "hard_at_seconds": None,
        "minutes_to_soft": 0.0,
        "minutes_to_hard": 1.0,  # 0.0105 spent, 0.0015 left at 0.0015 a minute
    }
