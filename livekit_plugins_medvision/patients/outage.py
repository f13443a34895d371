"""OutageLog: a database outage logged as one warning, periodic summaries and one recovery line.

Under load every read fails while the database is down; a warning per failure buries the one
line an operator needs. Each provider keeps its own OutageLog, so a job logs its own outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..log import logger

__all__ = ["OutageLog"]


class OutageLog:
    """Logs the failed reads of one outage: the first as a warning, then a count every ``every`` s.

    The first failure logs "patient database read failed"; later failures of the same outage log
    at debug level, and at most one "patient database still failing" warning per ``every``
    seconds counts them. The first success after failures logs "patient database recovered".
    Lines carry the failed read's kind, the error's class and a hashed patient id at most.

    A read reports the ``epoch`` it started in. Only a read started after the last change of
    state may change it again: a read that was already running on a live connection when the
    server died does not end the outage it finishes in, and one that began before the recovery
    does not start a new outage (it is counted at debug level).
    """

    def __init__(self, *, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with no outage.

        Args:
            every: Least seconds between two "still failing" summaries.
            clock: Monotonic seconds (injectable for tests).
        """
        self._every = every
        self._clock = clock
        self._epoch = 0  # one more at each start and end of an outage
        self._since: float | None = None  # when the outage's first failure was seen
        self._failures = 0
        self._summarised_at = 0.0

    @property
    def epoch(self) -> int:
        """The state a read starts in: pass it to ``failed`` or ``succeeded`` when it ends."""
        return self._epoch

    def failed(self, epoch: int, what: str, error: str, patient_hash: str | None) -> None:
        """Count a failed read; ``error`` is the package error's message (no patient data)."""
        now = self._clock()
        extra = {"what": what, "error": error, "patient_hash": patient_hash}
        if self._since is None and epoch == self._epoch:
            self._epoch += 1
            self._since = self._summarised_at = now
            self._failures = 1
            logger.warning("patient database read failed", extra=extra)
            return
        if self._since is not None:
            self._failures += 1
        if self._since is not None and now - self._summarised_at >= self._every:
            self._summarised_at = now
            logger.warning(
                "patient database still failing: %d failed reads in %.0f s",
                self._failures,
                now - self._since,
                extra=extra,
            )
        else:
            logger.debug("patient database read failed again", extra=extra)

    def succeeded(self, epoch: int) -> None:
        """End the outage with a "recovered" line if the read started during it."""
        if self._since is None or epoch != self._epoch:
            return
        logger.info(
            "patient database recovered after %.1f s, %d failed reads",
            self._clock() - self._since,
            self._failures,
            extra={"failures": self._failures},
        )
        self._epoch += 1
        self._since = None
        self._failures = 0
