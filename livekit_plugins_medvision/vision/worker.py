"""The single worker thread: one job at a time, never a queue.

The event loop hands over at most one frame; while that frame is being prepared, ``submit``
refuses the next one (the caller drops and counts it), so a slow frame can never build a
backlog. Results come back on the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["FrameWorker"]

_R = TypeVar("_R")


class FrameWorker:
    """A dedicated thread that runs one job at a time for the event loop that owns it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, name: str) -> None:
        self._loop = loop
        self._cond = threading.Condition()
        self._job: Callable[[], None] | None = None
        self._closing = False
        self._busy = False  # read and written on the event loop only
        self._exited: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a job is in flight (its result not yet back on the event loop)."""
        return self._busy

    def submit(self, job: Callable[[], _R], done: Callable[[_R | Exception, float], None]) -> bool:
        """Run ``job`` in the thread, then ``done(result or exception, milliseconds)`` on the loop.

        Returns:
            ``False`` (and runs nothing) when a job is already in flight or the worker is closing.
        """
        if self._busy or self._closing:
            return False
        self._busy = True

        def run() -> None:
            start = time.perf_counter()
            outcome: _R | Exception
            try:
                outcome = job()
            except Exception as error:  # reported to the caller, which counts and logs it
                outcome = error
            self._post(self._finish, done, outcome, (time.perf_counter() - start) * 1000.0)

        with self._cond:
            self._job = run
            self._cond.notify()
        return True

    async def aclose(self) -> None:
        """Stop the thread once its current job (if any) is done; idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        await asyncio.shield(self._exited)
        self._thread.join()  # it has posted its last callback: only returning is left

    def _finish(
        self, done: Callable[[_R | Exception, float], None], outcome: _R | Exception, ms: float
    ) -> None:
        self._busy = False
        done(outcome, ms)

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._job is None and not self._closing:
                        self._cond.wait()
                    if self._closing:
                        break
                    job, self._job = self._job, None
                if job is not None:
                    job()
        finally:  # even when a job ends the thread (SystemExit), aclose() must not wait forever
            self._post(self._set_exited)

    def _set_exited(self) -> None:
        if not self._exited.done():
            self._exited.set_result(None)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody waits for this result any more
            pass
