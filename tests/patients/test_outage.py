"""OutageLog: reads that straddle a change of state do not make the outage flap."""

import logging

import pytest

from livekit_plugins_medvision.patients.outage import OutageLog
from tests.support.clock import ManualClock


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]


def test_reads_started_before_a_change_of_state_do_not_change_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="livekit.plugins.medvision")
    clock = ManualClock()
    log = OutageLog(every=60.0, clock=clock)

    # the server dies under three reads: one fails first, one still answers from its connection
    before = log.epoch
    log.failed(before, "patient context", "database unavailable (OSError)", None)
    log.succeeded(before)
    log.failed(before, "patient context", "database unavailable (OSError)", None)
    clock.advance(4.0)
    during = log.epoch
    log.succeeded(during)  # a read started in the outage answers: the server is back
    log.failed(during, "patient context", "database unavailable (OSError)", None)  # a laggard

    assert _lines(caplog) == [
        "patient database read failed",
        "patient database recovered after 4.0 s, 2 failed reads",
    ]
    caplog.clear()
    log.failed(log.epoch, "avatar configuration", "no answer within 5 s", None)
    assert _lines(caplog) == ["patient database read failed"]  # a fresh read: a new outage
