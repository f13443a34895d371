"""CostReport: frozen, JSON-ready, readable, and a projection from elapsed time."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from livekit_plugins_medvision.costs import Bucket, CostReport, CostTracker
from tests.support.clock import ManualClock

from .factories import FakeStreamer, usage


def two_minute_session() -> tuple[CostTracker, ManualClock]:
    clock = ManualClock()
    tracker = CostTracker("gemini-3.1-flash-live-preview", clock=clock)
    tracker.track_usage(usage(prompt={"AUDIO": 10_000}, response={"AUDIO": 1_000}))
    clock.now += 120.0
    return tracker, clock


def test_rate_and_projection_from_elapsed_time() -> None:
    tracker, _ = two_minute_session()
    report = tracker.report()
    # 10,000 x 3.00 + 1,000 x 12.00 = 0.042 USD in two minutes
    assert report.total_usd == Decimal("0.042")
    assert report.session_seconds == 120.0
    assert report.usd_per_minute == Decimal("0.021")
    assert report.projection(10) == Decimal("0.21")
    assert report.projection(0) == 0


@pytest.mark.parametrize("minutes", [-1.0, float("nan"), float("inf")])
def test_projection_rejects_bad_minutes(minutes: float) -> None:
    tracker, _ = two_minute_session()
    with pytest.raises(ValueError, match="minutes"):
        tracker.report().projection(minutes)


async def test_session_time_stops_at_aclose() -> None:
    tracker, clock = two_minute_session()
    await tracker.aclose()
    clock.now += 600.0
    assert tracker.report().session_seconds == 120.0


def test_report_is_a_frozen_snapshot() -> None:
    tracker, _ = two_minute_session()
    report = tracker.report()
    tracker.track_usage(usage(prompt={"TEXT": 5}))
    assert report.turns == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.turns = 2  # type: ignore[misc]  # frozen on purpose


def test_to_dict_round_trips_through_json_with_exact_money() -> None:
    tracker, _ = two_minute_session()
    streamer = FakeStreamer()
    tracker.attach_vision(streamer)
    streamer.send(frames=3, tokens_each=258)
    data = json.loads(json.dumps(tracker.report().to_dict()))

    assert data["model"] == "gemini-3.1-flash-live-preview"
    assert data["total_usd"] == "0.042"
    assert data["turns"] == 1
    assert data["usd_per_minute"] == "0.021"
    audio = data["buckets"]["input_audio"]
    assert audio == {"tokens": 10_000, "usd_per_million": "3", "usd": "0.03", "exact": True}
    assert set(data["buckets"]) == {b.value for b in Bucket}
    assert data["pricing"]["as_of"] == "2026-07-22"
    assert data["pricing"]["source"].startswith("https://")
    assert data["image_tokens"] == {
        "reported": 0,
        "estimated": 0,
        "frames_sent": 3,
        "estimated_sent": 774,
        "in_context": 0,  # sent after the last turn: in no turn's context yet
    }


def test_render_is_one_readable_table() -> None:
    tracker, _ = two_minute_session()
    text = str(tracker.report())

    assert text == tracker.report().render()
    assert "gemini-3.1-flash-live-preview" in text
    assert "input_audio" in text and "10,000" in text and "0.030000" in text
    assert "total USD" in text and "0.042000" in text
    assert "input_text" not in text  # empty lines are left out
    rows = [line for line in text.splitlines() if line.startswith("input_audio")]
    assert len(rows) == 1


def test_bucket_lookup_by_name_and_unknown_name() -> None:
    report: CostReport = two_minute_session()[0].report()
    assert report.bucket("output_audio").tokens == 1_000
    with pytest.raises(ValueError):
        report.bucket("output_video")
