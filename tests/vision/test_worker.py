"""The worker thread: one job at a time, errors reported, and nothing a job does can wedge it."""

from __future__ import annotations

import asyncio
import threading

from livekit_plugins_medvision.vision.worker import FrameWorker, JobAborted
from tests.support.clock import ManualClock


def is_busy(worker: FrameWorker) -> bool:
    """``worker.busy``, read through a call so that mypy does not keep an earlier narrowing."""
    return worker.busy


def _names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


async def test_one_job_at_a_time_and_errors_come_back() -> None:
    loop = asyncio.get_running_loop()
    worker = FrameWorker(loop, name="test-worker")
    release = threading.Event()
    results: asyncio.Queue[object] = asyncio.Queue()

    def slow() -> str:
        release.wait(5.0)
        return threading.current_thread().name

    def fail() -> str:
        raise ValueError("bad frame")

    assert worker.submit(slow, lambda outcome, _ms: results.put_nowait(outcome))
    busy_while_running = worker.busy
    assert not worker.submit(fail, lambda outcome, _ms: results.put_nowait(outcome))
    assert worker.refused == 1
    release.set()
    assert await results.get() == "test-worker"
    assert busy_while_running and not worker.busy
    assert worker.submit(fail, lambda outcome, _ms: results.put_nowait(outcome))
    error = await results.get()
    assert isinstance(error, ValueError)
    await worker.aclose()
    await worker.aclose()
    assert not worker.submit(slow, lambda outcome, _ms: results.put_nowait(outcome))
    assert worker.refused == 2
    assert "test-worker" not in _names()


async def test_a_base_exception_comes_back_and_the_same_thread_goes_on() -> None:
    worker = FrameWorker(asyncio.get_running_loop(), name="test-worker-base")
    results: asyncio.Queue[object] = asyncio.Queue()

    def leave() -> str:
        raise SystemExit  # not an Exception: uncaught, it would end the thread silently

    def interrupt() -> str:
        raise KeyboardInterrupt

    def ok() -> str:
        return threading.current_thread().name

    for job in (leave, interrupt, ok):
        assert worker.submit(job, lambda outcome, _ms: results.put_nowait(outcome))
        outcome = await results.get()
        if job is ok:
            assert outcome == "test-worker-base"
        else:
            assert isinstance(outcome, JobAborted) and str(outcome) in {
                "SystemExit",
                "KeyboardInterrupt",
            }
    assert worker.restarts == 0 and not worker.busy
    await asyncio.wait_for(worker.aclose(), 5.0)
    assert "test-worker-base" not in _names()


async def test_a_stuck_job_is_abandoned_and_a_new_thread_takes_over() -> None:
    clock = ManualClock()
    worker = FrameWorker(
        asyncio.get_running_loop(), name="test-worker-stuck", stall_s=10.0, clock=clock
    )
    release = threading.Event()
    started = threading.Event()
    results: asyncio.Queue[object] = asyncio.Queue()
    threads: list[threading.Thread] = []

    def stuck() -> str:
        threads.append(threading.current_thread())
        started.set()
        release.wait(10.0)
        return "late"

    def ok() -> str:
        return "fresh"

    assert worker.submit(stuck, lambda outcome, _ms: results.put_nowait(outcome))
    assert await asyncio.to_thread(started.wait, 5.0)  # stuck in the job, not waiting to start
    clock.advance(9.0)
    assert worker.busy and not worker.submit(ok, lambda outcome, _ms: results.put_nowait(outcome))
    clock.advance(2.0)
    assert not is_busy(worker)  # stuck for 11 s: no longer blocks the next frame
    assert worker.submit(ok, lambda outcome, _ms: results.put_nowait(outcome))
    assert await results.get() == "fresh"
    assert worker.restarts == 1

    release.set()  # the abandoned thread finishes; its result is ignored, then it exits
    await asyncio.to_thread(threads[0].join, 5.0)
    assert not threads[0].is_alive()
    await worker.aclose()
    assert results.empty()


async def test_aclose_never_blocks_the_event_loop_even_on_a_stuck_job() -> None:
    worker = FrameWorker(asyncio.get_running_loop(), name="test-worker-close", close_wait_s=0.3)
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(10.0)

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    assert worker.submit(stuck, lambda _outcome, _ms: None)
    assert await asyncio.to_thread(started.wait, 5.0)
    ticker = asyncio.create_task(tick())
    try:
        await worker.aclose()  # gives up on the stuck job after close_wait_s, loop still free
    finally:
        ticker.cancel()
    # the ticker ran again after its first sleep, so the loop was free while aclose() waited;
    # a count that depends on how much CPU this process got would fail on a busy machine
    assert ticks >= 2
    release.set()
