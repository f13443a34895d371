"""Consent before sight: nothing is sent until the followed participant consents, and a
withdrawal stops the video at the next frame."""

from __future__ import annotations

import threading

import pytest
from livekit import rtc
from livekit.agents import AgentSession

from livekit_plugins_medvision import VisionUnavailableError
from livekit_plugins_medvision.testing import wait_for_stats
from livekit_plugins_medvision.vision import (
    CONSENT_ATTRIBUTE,
    ConsentChangedEvent,
    VisionStreamer,
)
from tests.support.clock import ManualClock
from tests.support.video import RecordingSink, feed, make_camera, settled

from .rooms import CAMERA, STANDARD, Participant, Publication, Room


def state(streamer: VisionStreamer) -> str:
    return streamer.consent  # read through a call: the value changes between asserts


def recorder(streamer: VisionStreamer) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []

    def on_change(event: ConsentChangedEvent) -> None:
        events.append((event.state, event.reason))

    streamer.on("consent_changed", on_change)
    return events


async def test_nothing_is_sent_before_consent_and_a_withdrawal_stops_the_next_frame() -> None:
    clock = ManualClock()
    async with VisionStreamer(clock=clock, require_consent=True, change_threshold=0) as s:
        events = recorder(s)
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        for t in range(3):
            await feed(s, camera, t=t)
            clock.advance(5.0)
        stats = s.stats
        assert sink.frames == [] and (stats.frames_sent, stats.frames_sampled) == (0, 0)
        assert (stats.consent, stats.frames_withheld_consent) == ("pending", 3)
        with pytest.raises(VisionUnavailableError, match="not consented"):
            await s.capture()

        s.record_consent(True)
        assert state(s) == "granted"
        await feed(s, camera, t=4.0)  # the first frame after consent goes at once
        assert len(sink.frames) == 1
        assert (await s.capture()).width == 1280

        s.record_consent(False)
        clock.advance(5.0)
        await feed(s, camera, t=5.0)
        assert len(sink.frames) == 2  # the capture; the frame after withdrawal is withheld
        with pytest.raises(VisionUnavailableError, match="not consented"):
            await s.capture()
        assert s.stats.consent == "withdrawn" and s.stats.frames_withheld_consent == 4
        assert events == [("granted", "agent"), ("withdrawn", "agent")]


async def test_a_frame_in_the_worker_when_consent_is_withdrawn_is_discarded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    convert = rtc.VideoFrame.convert
    release = threading.Event()
    started = threading.Event()

    def slow_convert(
        frame: rtc.VideoFrame, type: rtc.VideoBufferType.ValueType, *, flip_y: bool = False
    ) -> rtc.VideoFrame:
        started.set()
        release.wait(5.0)
        return convert(frame, type, flip_y=flip_y)

    monkeypatch.setattr(rtc.VideoFrame, "convert", slow_convert)
    async with VisionStreamer(clock=ManualClock(), require_consent=True) as s:
        s.record_consent(True)  # before any track: nobody followed, nothing recorded
        assert state(s) == "pending"
        camera = make_camera(1280, 720)
        sink = RecordingSink()
        s.start_track(camera.track, sink)
        s.record_consent(True)
        camera.capture(t=1.0)
        await wait_for_stats(s, lambda stats: stats.frames_sampled == 1)
        s.record_consent(False)  # while the frame is in the worker
        release.set()
        stats = await wait_for_stats(s, settled)
        assert sink.frames == [] and stats.frames_discarded == 1


async def test_the_participant_attribute_grants_and_withdraws_per_participant() -> None:
    room = Room()
    camera = make_camera(320, 180)
    patient = Participant("patient", STANDARD, {"c": Publication(CAMERA, camera.track)})
    room.participants["patient"] = patient
    async with VisionStreamer(require_consent=True) as s:
        events = recorder(s)
        await s.start(AgentSession[None](), room=room)
        assert state(s) == "pending"
        camera.capture()
        await wait_for_stats(s, lambda stats: stats.frames_withheld_consent >= 1)

        patient.attributes[CONSENT_ATTRIBUTE] = "granted"
        room.emit("participant_attributes_changed", {CONSENT_ATTRIBUTE: "granted"}, patient)
        assert state(s) == "granted"
        patient.attributes[CONSENT_ATTRIBUTE] = "withdrawn"
        room.emit("participant_attributes_changed", {CONSENT_ATTRIBUTE: "withdrawn"}, patient)
        assert state(s) == "withdrawn"
        s.record_consent(True)  # the patient said yes again: the latest signal wins
        assert state(s) == "granted"

        # Someone else followed: their own consent, none yet.
        other_camera = make_camera(320, 180)
        other = Participant("other", STANDARD, {"c": Publication(CAMERA, other_camera.track)})
        del room.participants["patient"]
        room.participants["other"] = other
        room.emit("participant_disconnected", patient)
        assert state(s) == "pending" and s.current_track is other_camera.track
        assert events == [
            ("granted", "attribute"),
            ("withdrawn", "attribute"),
            ("granted", "agent"),
            ("pending", "participant"),
        ]


def test_consent_is_not_required_by_default() -> None:
    streamer = VisionStreamer()
    assert streamer.consent == "not_required" and streamer.stats.consent == "not_required"
    with pytest.raises(ValueError, match="require_consent"):
        VisionStreamer(require_consent="yes")  # type: ignore[arg-type]  # the wrong type on purpose
