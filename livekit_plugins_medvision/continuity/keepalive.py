"""A websocket keepalive for Gemini Live, so that a silent network path is noticed in seconds.

A path that drops packets without a reset (a dead radio link, a NAT that forgot the
connection) sends no error: the client only learns of it from its keepalive. google-genai
opens the Live websocket with the ``websockets`` defaults, a ping every 20 s answered within
20 s, then up to 10 s for the closing handshake: about 50 s of silence before anything reacts
(measured: 49.5 s), while a stall shorter than that is simply held by TCP and resumes on the
same connection. google-genai passes the ``async_client_args`` of its ``HttpOptions`` that are
parameters of ``websockets``' ``connect`` on to it (``_ensure_websocket_ssl_ctx`` in
google-genai 3.x; not a documented promise, which the fault suite checks), so the keepalive is
set there.
"""

from __future__ import annotations

import math

from google.genai import types

__all__ = ["keepalive_http_options"]

_DEFAULT_TIMEOUT_MS = 10_000  # what livekit-plugins-google uses when no HttpOptions are given


def keepalive_http_options(
    http_options: types.HttpOptions | None = None,
    *,
    interval_s: float = 5.0,
    timeout_s: float = 5.0,
) -> types.HttpOptions:
    """Return ``http_options`` with a keepalive that notices a silent path within seconds.

    A ping goes every ``interval_s``; one unanswered for ``timeout_s`` closes the connection,
    waiting at most ``timeout_s`` more for the closing handshake: a silent path is noticed
    within ``interval_s + 2 * timeout_s`` (15 s by default) instead of about 50 s. The plugin
    then reconnects; a connect into a path still silent gives up after ``2 * timeout_s`` (the
    ``websockets`` default of 10 s), and a ``CallSupervisor`` takes over. Keys already set in
    ``async_client_args`` are kept.

    Args:
        http_options: The options to extend (not changed); ``None`` for Google's endpoint with
            the plugin's default 10 s request timeout.
        interval_s: Seconds between pings.
        timeout_s: Seconds a ping may go unanswered, and the closing handshake may take.

    Raises:
        ValueError: a duration that is not positive and finite.
    """
    for name, value in (("interval_s", interval_s), ("timeout_s", timeout_s)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number of seconds, got {type(value).__name__}")
        if not 0 < value < math.inf:
            raise ValueError(f"{name} must be positive and finite, got {value!r}")
    base = (
        http_options if http_options is not None else types.HttpOptions(timeout=_DEFAULT_TIMEOUT_MS)
    )
    keepalive: dict[str, object] = {
        "ping_interval": float(interval_s),
        "ping_timeout": float(timeout_s),
        "close_timeout": float(timeout_s),
        # a connect into a path that is still silent gives up after this
        "open_timeout": 2.0 * timeout_s,
    }
    args = {**keepalive, **(base.async_client_args or {})}
    return base.model_copy(update={"async_client_args": args})
