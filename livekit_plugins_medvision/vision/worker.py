"""The single worker thread: one job at a time, never a queue, and it cannot wedge.

The event loop hands over at most one frame; while that frame is being prepared, ``submit``
refuses the next one (the caller drops and counts it), so a slow frame can never build a
backlog. Results come back on the event loop with ``call_soon_threadsafe``.

Nothing a job does can silence the worker: any exception, ``BaseException`` included, comes back
to the caller as an ``Exception`` and the thread goes on; a thread that died anyway, or a job
stuck for longer than ``stall_s``, is replaced by a fresh thread at the next ``submit`` (the
stuck one is abandoned, its late result ignored). ``aclose()`` only awaits, with a time limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..log import logger

__all__ = ["FrameWorker", "JobAborted"]

_R = TypeVar("_R")


class JobAborted(Exception):
    """A job ended with a ``BaseException`` that is not an ``Exception`` (``SystemExit``...).

    Caught in the worker thread so the thread goes on; the message names the type only.
    """


class _Lane:
    """One thread and its one-job slot."""

    def __init__(self, worker: FrameWorker, name: str) -> None:
        self.cond = threading.Condition()
        self.job: Callable[[], None] | None = None
        self.closing = False
        self.exited: asyncio.Future[None] = worker.loop.create_future()
        self.thread = threading.Thread(target=self._run, args=(worker,), name=name, daemon=True)
        self.thread.start()

    def give(self, job: Callable[[], None]) -> None:
        with self.cond:
            self.job = job
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify()

    def _run(self, worker: FrameWorker) -> None:
        try:
            while True:
                with self.cond:
                    while self.job is None and not self.closing:
                        self.cond.wait()
                    if self.closing and self.job is None:
                        break
                    job, self.job = self.job, None
                if job is not None:
                    job()
        finally:  # whatever ended the thread, aclose() must not wait for it forever
            worker.post(self._set_exited)

    def _set_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


class FrameWorker:
    """A dedicated thread that runs one job at a time for the event loop that owns it.

    Args:
        loop: The event loop results are delivered on.
        name: The thread's name.
        stall_s: A job in flight longer than this is abandoned at the next ``submit``: its
            thread is left to finish alone and a new one takes over.
        close_wait_s: How long ``aclose()`` waits for a job in flight before leaving it.
        clock: Monotonic clock in seconds.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        name: str,
        stall_s: float = 10.0,
        close_wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loop = loop
        self._close_wait_s = close_wait_s
        self._name = name
        self._stall_s = stall_s
        self._clock = clock
        self._closing = False
        self._busy_since: float | None = None  # read and written on the event loop only
        self._idle = asyncio.Event()
        self._idle.set()
        self._lane = _Lane(self, name)
        self._refused = 0
        self._restarts = 0
        self._logged: set[str] = set()

    @property
    def busy(self) -> bool:
        """Whether a job is in flight (its result not yet back on the event loop).

        A job stuck for longer than ``stall_s`` no longer counts: the next ``submit`` replaces
        its thread.
        """
        since = self._busy_since
        return since is not None and self._clock() - since < self._stall_s

    @property
    def refused(self) -> int:
        """How many ``submit`` calls were refused (a job in flight, or closing)."""
        return self._refused

    @property
    def restarts(self) -> int:
        """How many times a dead or stuck thread was replaced."""
        return self._restarts

    async def wait_idle(self) -> None:
        """Return once no job is in flight (at once when none is)."""
        await self._idle.wait()

    def submit(self, job: Callable[[], _R], done: Callable[[_R | Exception, float], None]) -> bool:
        """Run ``job`` in the thread, then ``done(result or exception, milliseconds)`` on the loop.

        Returns:
            ``False`` (and runs nothing, counted in ``refused``) when a job is already in flight
            or the worker is closing.
        """
        if self._closing:
            self._refused += 1
            return False
        if self.busy:
            self._refused += 1
            return False
        if self._busy_since is not None:
            self._restart("a job has been running for more than %.0f s", self._stall_s)
        elif not self._lane.thread.is_alive():
            self._restart("its thread had died")
        lane = self._lane
        self._busy_since = self._clock()
        self._idle.clear()

        def run() -> None:
            start = time.perf_counter()
            outcome: _R | Exception
            try:
                outcome = job()
            except Exception as error:  # reported to the caller, which counts and logs it
                outcome = error
            except BaseException as error:  # the thread must outlive any job
                outcome = JobAborted(type(error).__name__)
            self.post(self._finish, lane, done, outcome, (time.perf_counter() - start) * 1000.0)

        lane.give(run)
        return True

    async def aclose(self) -> None:
        """Stop the thread once its current job (if any) is done; idempotent.

        Only awaits: a job still running after a few seconds is left to its (daemon) thread.
        """
        self._closing = True
        lane = self._lane
        lane.close()
        try:
            await asyncio.wait_for(asyncio.shield(lane.exited), self._close_wait_s)
        except TimeoutError:
            self._log_once("close", "the vision worker thread is still busy; it is left behind")
            return
        for _ in range(100):  # it has posted its last callback: only returning is left
            if not lane.thread.is_alive():
                return
            await asyncio.sleep(0.001)

    def post(self, callback: Callable[..., None], *args: object) -> None:
        """Call ``callback(*args)`` on the event loop, from any thread; dropped once it closed."""
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody waits for this result any more
            pass

    def _restart(self, why: str, *args: object) -> None:
        self._restarts += 1
        self._log_once(f"restart:{why}", "vision worker restarted: " + why, *args)
        self._lane.close()  # a stuck thread exits after its job; its result is ignored
        self._lane = _Lane(self, self._name)
        self._busy_since = None
        self._idle.set()

    def _finish(
        self,
        lane: _Lane,
        done: Callable[[_R | Exception, float], None],
        outcome: _R | Exception,
        ms: float,
    ) -> None:
        if lane is not self._lane:  # an abandoned thread's late result
            return
        self._busy_since = None
        self._idle.set()
        done(outcome, ms)

    def _log_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            logger.warning(message, *args)
