"""The worker thread: one job at a time, errors reported, clean stop."""

from __future__ import annotations

import asyncio
import threading

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
