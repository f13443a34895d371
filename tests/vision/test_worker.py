"""The worker thread: one job at a time, errors reported, clean stop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from livekit_plugins_medvision.vision.worker import FrameWorker


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
    release.set()
    assert await results.get() == "test-worker"
    assert busy_while_running and not worker.busy
    assert worker.submit(fail, lambda outcome, _ms: results.put_nowait(outcome))
    error = await results.get()
    assert isinstance(error, ValueError)
    await worker.aclose()
    await worker.aclose()
    assert not worker.submit(slow, lambda outcome, _ms: results.put_nowait(outcome))
    assert "test-worker" not in {t.name for t in threading.enumerate()}


# the thread ends with an uncaught SystemExit on purpose; pytest reports that as a warning
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_a_job_that_ends_the_thread_does_not_hang_aclose() -> None:
    worker = FrameWorker(asyncio.get_running_loop(), name="test-worker-exit")
    started = threading.Event()

    def leave() -> None:
        started.set()
        raise SystemExit  # not an Exception: it ends the thread, silently

    assert worker.submit(leave, lambda outcome, _ms: None)
    assert await asyncio.to_thread(started.wait, 5.0)  # the job runs before aclose() asks
    await asyncio.wait_for(worker.aclose(), 5.0)
    assert "test-worker-exit" not in {t.name for t in threading.enumerate()}
