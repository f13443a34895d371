"""Speech-aware rate, keep-alive and the luma difference, on a hand-moved clock."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from livekit_plugins_medvision.vision.sampling import FrameSampler, thumbnail_difference
from tests.support.clock import ManualClock


def sampler(clock: ManualClock, *, silent_fps: float = 0.25) -> FrameSampler:
    return FrameSampler(fps=1.0, silent_fps=silent_fps, keepalive_s=5.0, clock=clock)


def count_samples(s: FrameSampler, clock: ManualClock, seconds: float) -> int:
    taken = 0
    for _ in range(int(seconds * 32)):  # a 32 fps camera: steps exact in binary
        if s.due():
            s.take()
            taken += 1
        clock.advance(1 / 32)
    return taken


def test_rate_follows_speech() -> None:
    clock = ManualClock()
    s = sampler(clock)
    s.user_speaking = True
    assert count_samples(s, clock, 10.0) == 10
    s.user_speaking = False
    assert count_samples(s, clock, 12.0) == 3


def test_first_frame_after_restart_is_due_and_forced() -> None:
    clock = ManualClock()
    s = sampler(clock)
    assert s.due() and s.take()  # first: forced
    s.record_sent(np.zeros((18, 32), np.uint8))
    clock.advance(4.0)
    assert s.due() and not s.take()  # change detection decides
    clock.advance(0.5)
    assert not s.due()
    s.restart()
    assert s.due() and s.take()
    assert s.reference is None


def test_keepalive_forces_a_frame() -> None:
    clock = ManualClock()
    s = FrameSampler(fps=1.0, silent_fps=1.0, keepalive_s=3.0, clock=clock)
    s.take()
    s.record_sent(np.zeros((18, 32), np.uint8))
    forced = []
    for _ in range(7):
        clock.advance(1.0)
        forced.append(s.take())
        if forced[-1]:  # an unchanged scene: only the forced frames are sent
            s.record_sent(np.zeros((18, 32), np.uint8))
    assert forced == [False, False, True, False, False, True, False]


def test_zero_fps_when_silent_sends_nothing_not_even_the_first() -> None:
    clock = ManualClock()
    s = sampler(clock, silent_fps=0.0)
    assert not s.due()
    s.user_speaking = True
    assert s.due()
    s.configure(fps=0.5, silent_fps=0.0, keepalive_s=5.0)
    s.take()
    clock.advance(1.0)
    assert not s.due() and s.interval() == 2.0


def test_thumbnail_difference() -> None:
    a = np.full((18, 32), 100, np.uint8)
    b = a.copy()
    b[:9] = 110
    assert thumbnail_difference(a, a) == 0.0
    assert thumbnail_difference(a, b) == 5.0
    assert thumbnail_difference(a, np.zeros((32, 18), np.uint8)) == 255.0


@given(
    fps=st.floats(0.05, 1.0),
    silent_fps=st.floats(0.0, 1.0),
    steps=st.lists(st.floats(0.001, 0.5), min_size=1, max_size=200),
    speaking=st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_never_above_the_rate(
    fps: float, silent_fps: float, steps: list[float], speaking: list[bool]
) -> None:
    clock = ManualClock()
    s = FrameSampler(fps=fps, silent_fps=silent_fps, keepalive_s=5.0, clock=clock)
    last: float | None = None
    for step, talking in zip(steps, speaking, strict=False):
        s.user_speaking = talking
        if s.due():
            s.take()
            now = clock.now
            if last is not None:
                # at most the faster of the two rates, whatever the speech pattern
                assert now - last >= 1.0 / max(fps, silent_fps) - 1e-9
            last = now
        clock.advance(step)
