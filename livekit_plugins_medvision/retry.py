"""Retry an async call on transient failures, with exponential backoff and full jitter.

Only failures worth another try are retried: Gemini's 429 and 5xx gateway errors, a Gemini Live
connection closed by a network fault or a server restart, LiveKit ``APIError`` marked
``retryable``, connection errors and timeouts (the builtin ones and aiohttp's, which google-genai
sends its async requests with). Anything else, including other 4xx answers, is raised at once;
cancellation always propagates untouched.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from google.genai import errors as genai_errors
from livekit.agents import APIError as LiveKitAPIError

from .log import logger

__all__ = ["TRANSIENT_CLOSE_CODES", "TRANSIENT_STATUS_CODES", "call_with_retry", "is_transient"]

T = TypeVar("T")

TRANSIENT_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
"""HTTP status codes of google-genai ``APIError`` that are retried."""

TRANSIENT_CLOSE_CODES = frozenset({1006, 1011, 1012, 1013, 1014})
"""WebSocket close codes that are retried: google-genai's Live client raises a closed connection
as an ``APIError`` carrying its close code. 1006 is a connection lost without a close frame, 1011
a server error, 1012 a restart, 1013 "try again later", 1014 a bad gateway; policy (1008) and
payload (1007) closes are not retried."""

# google-genai sends async requests with aiohttp whenever it is installed (livekit-agents requires
# it) and no custom transport is given. aiohttp's timeouts are TimeoutErrors, but its connection
# failures are not ConnectionErrors: these two are the ones google-genai's own retry retries
# (ClientOSError covers ClientConnectorError).
_TRANSPORT_ERRORS = (
    ConnectionError,
    TimeoutError,
    aiohttp.ClientOSError,
    aiohttp.ServerDisconnectedError,
)


def is_transient(error: BaseException) -> bool:
    """Return whether ``error`` is a failure another attempt may not meet.

    Transient: google-genai ``APIError`` with a code in ``TRANSIENT_STATUS_CODES`` or
    ``TRANSIENT_CLOSE_CODES``, LiveKit ``APIError`` with ``retryable=True``, ``ConnectionError``,
    ``TimeoutError``, and aiohttp's connection failures (google-genai's async HTTP client).
    """
    if isinstance(error, genai_errors.APIError):
        return error.code in TRANSIENT_STATUS_CODES or error.code in TRANSIENT_CLOSE_CODES
    if isinstance(error, LiveKitAPIError):
        return error.retryable
    return isinstance(error, _TRANSPORT_ERRORS)


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    deadline: float | None = None,
    retry_if: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Await ``fn()`` until it succeeds, retrying transient failures; return its result.

    Before retry ``n`` (1-based) it waits a random time in ``[0, min(max_delay,
    base_delay * 2 ** (n - 1)))`` ("full jitter"), so many clients failing together do not
    retry together.

    Args:
        fn: Makes one attempt; called anew for every attempt.
        attempts: Attempts in all, the first included.
        base_delay: Backoff cap before the first retry, in seconds; doubles each retry.
        max_delay: Largest backoff cap, in seconds.
        deadline: Seconds from the call within which to finish, or ``None``. No backoff runs
            past it, and each attempt is cancelled (raising ``TimeoutError``) when it is reached.
        retry_if: Which failures are retried (``is_transient`` by default).
        sleep: Waits a number of seconds (injectable for tests).
        rand: Returns a float in ``[0, 1)`` (injectable for tests).
        clock: Monotonic seconds, measuring the deadline (injectable for tests).

    Raises:
        ValueError: an option out of range (the message names it).
        Exception: the last failure, when it is not retried or no attempt or time is left.
    """
    _check_options(attempts, base_delay, max_delay, deadline)
    end = None if deadline is None else clock() + deadline
    attempt = 0
    while True:
        attempt += 1
        try:
            if end is None:
                return await fn()
            async with asyncio.timeout(max(end - clock(), 0)):
                return await fn()
        except Exception as error:
            if attempt >= attempts or not retry_if(error):
                raise
            # The exponent is capped so that many attempts cannot overflow a float.
            delay = rand() * min(max_delay, base_delay * 2 ** min(attempt - 1, 64))
            if end is not None and clock() + delay >= end:
                raise
            # The error's text may carry request data: log its type only.
            logger.warning(
                "transient failure, retrying in %.2f s (attempt %d of %d)",
                delay,
                attempt + 1,
                attempts,
                extra={"error_type": type(error).__name__},
            )
            await sleep(delay)


def _check_options(
    attempts: object, base_delay: float, max_delay: float, deadline: float | None
) -> None:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError("attempts must be an integer >= 1")
    for name, value in (("base_delay", base_delay), ("max_delay", max_delay)):
        if not _is_number(value) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0")
    if max_delay < base_delay:
        raise ValueError("max_delay must not be below base_delay")
    if deadline is not None and (
        not _is_number(deadline) or not math.isfinite(deadline) or deadline <= 0
    ):
        raise ValueError("deadline must be a finite number > 0, or None")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
