"""call_with_retry: which errors retry, jitter bounds, the deadline, cancellation, typing."""

from __future__ import annotations

import asyncio
from typing import assert_type

import aiohttp
import pytest
from google.genai import errors as genai_errors
from livekit.agents import APIConnectionError, APIStatusError

from livekit_plugins_medvision.retry import call_with_retry, is_transient
from tests.support.clock import ManualClock


class Flaky:
    """Fails with the given errors in turn, then returns ``value``."""

    def __init__(self, *errors: BaseException, value: int = 42) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.value = value

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.value


def genai_error(code: int) -> genai_errors.APIError:
    return genai_errors.APIError(code, {"error": {"message": "x", "status": "S"}})


@pytest.mark.parametrize(
    "error",
    [
        genai_error(429),
        genai_error(500),
        genai_error(502),
        genai_error(503),
        genai_error(504),
        genai_errors.ServerError(503, {}),
        APIConnectionError(),
        APIStatusError("busy", status_code=503),
        genai_error(1006),  # a Live connection lost without a close frame
        genai_error(1011),  # a Live connection closed by a server error
        ConnectionResetError(),
        TimeoutError(),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "connection reset"),
    ],
)
async def test_transient_failures_are_retried(error: Exception) -> None:
    clock = ManualClock(0.0)
    fn = Flaky(error)
    assert await call_with_retry(fn, sleep=clock.sleep, clock=clock) == 42
    assert fn.calls == 2
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        genai_error(400),
        genai_error(401),
        genai_error(403),
        genai_error(404),
        genai_errors.ClientError(409, {}),
        genai_error(1007),  # a Live connection closed for an invalid payload
        genai_error(1008),  # a Live connection closed by policy (e.g. a bad key)
        APIStatusError("bad request", status_code=400),
        APIConnectionError(retryable=False),
        ValueError("bad input"),
    ],
)
async def test_other_failures_are_raised_at_once(error: Exception) -> None:
    clock = ManualClock(0.0)
    fn = Flaky(error)
    with pytest.raises(type(error)) as raised:
        await call_with_retry(fn, sleep=clock.sleep, clock=clock)
    assert raised.value is error
    assert fn.calls == 1
    assert clock.sleeps == []


async def test_the_last_error_is_raised_after_the_last_attempt() -> None:
    clock = ManualClock(0.0)
    last = TimeoutError("third")
    fn = Flaky(TimeoutError("first"), ConnectionError("second"), last)
    with pytest.raises(TimeoutError) as raised:
        await call_with_retry(fn, attempts=3, sleep=clock.sleep, clock=clock)
    assert raised.value is last
    assert fn.calls == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
async def test_full_jitter_stays_within_the_exponential_cap(draw: float) -> None:
    clock = ManualClock(0.0)
    fn = Flaky(*[TimeoutError() for _ in range(6)])
    await call_with_retry(
        fn,
        attempts=7,
        base_delay=1.0,
        max_delay=10.0,
        sleep=clock.sleep,
        rand=lambda: draw,
        clock=clock,
    )
    caps = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert clock.sleeps == pytest.approx([draw * cap for cap in caps])
    assert all(0 <= slept < cap for slept, cap in zip(clock.sleeps, caps, strict=True))


async def test_many_attempts_keep_to_max_delay() -> None:
    clock = ManualClock(0.0)
    fn = Flaky(*[TimeoutError() for _ in range(1_199)])
    assert await call_with_retry(fn, attempts=1_200, sleep=clock.sleep, clock=clock) == 42
    assert fn.calls == 1_200
    assert max(clock.sleeps) < 8.0  # the default max_delay, even after 2 ** 1_000


async def test_no_backoff_runs_past_the_deadline() -> None:
    clock = ManualClock(0.0)
    fn = Flaky(*[TimeoutError() for _ in range(10)])
    with pytest.raises(TimeoutError):
        await call_with_retry(
            fn,
            attempts=10,
            base_delay=1.0,
            max_delay=1.0,
            deadline=2.5,
            sleep=clock.sleep,
            rand=lambda: 0.9,
            clock=clock,
        )
    # sleeps of 0.9 s: after two, a third would end at 2.7 > 2.5
    assert clock.sleeps == pytest.approx([0.9, 0.9])
    assert fn.calls == 3
    assert clock.now <= 2.5


async def test_an_attempt_that_hangs_is_cut_at_the_deadline() -> None:
    started = asyncio.Event()

    async def hang() -> int:
        started.set()
        await asyncio.Event().wait()
        return 0

    with pytest.raises(TimeoutError):
        await call_with_retry(hang, attempts=1, deadline=0.05)
    assert started.is_set()


async def test_cancellation_propagates_during_an_attempt() -> None:
    started = asyncio.Event()
    calls = 0

    async def hang() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.Event().wait()
        return 0

    task = asyncio.create_task(call_with_retry(hang, attempts=5))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == 1


async def test_cancellation_propagates_during_the_backoff() -> None:
    sleeping = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    fn = Flaky(TimeoutError(), TimeoutError())
    task = asyncio.create_task(call_with_retry(fn, attempts=3, sleep=sleep))
    await sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fn.calls == 1


async def test_a_custom_predicate_decides_what_is_transient() -> None:
    clock = ManualClock(0.0)
    fn = Flaky(KeyError("busy"))
    result = await call_with_retry(
        fn, retry_if=lambda e: isinstance(e, KeyError), sleep=clock.sleep, clock=clock
    )
    assert result == 42


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": 1.5}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"base_delay": -1.0}, "base_delay"),
        ({"max_delay": float("inf")}, "max_delay"),
        ({"base_delay": 2.0, "max_delay": 1.0}, "max_delay"),
        ({"deadline": 0.0}, "deadline"),
        ({"deadline": float("nan")}, "deadline"),
    ],
)
async def test_bad_options_name_the_option(kwargs: dict[str, float], option: str) -> None:
    fn = Flaky()
    with pytest.raises(ValueError, match=option):
        await call_with_retry(fn, **kwargs)  # type: ignore[arg-type]  # bad values on purpose
    assert fn.calls == 0


async def test_the_result_type_is_inferred_at_the_call_site() -> None:
    async def name() -> str:
        return "medvision"

    async def maybe_count() -> int | None:
        return None

    # mypy --strict checks these; at run time they return their argument.
    assert assert_type(await call_with_retry(name), str) == "medvision"
    assert assert_type(await call_with_retry(maybe_count), int | None) is None
    assert assert_type(await call_with_retry(Flaky()), int) == 42
