"""ReconnectPolicy's delays, the keepalive options, what is worth reconnecting for and what the
supervisor refuses."""

from __future__ import annotations

import math

import pytest
from google.genai import types
from livekit.plugins import google
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from livekit_plugins_medvision.continuity import (
    CallSupervisor,
    ReconnectPolicy,
    keepalive_http_options,
)
from livekit_plugins_medvision.continuity.session import _worth_reconnecting


def test_delays_grow_to_the_cap_without_jitter() -> None:
    policy = ReconnectPolicy(first_delay_s=0.25, max_delay_s=2.0, multiplier=2.0, jitter=False)
    assert [policy.delay(n) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert policy.delay(10_000) == 2.0  # no overflow after a long outage


def test_jitter_takes_at_most_half_off() -> None:
    low = ReconnectPolicy(rand=lambda: 0.0)
    high = ReconnectPolicy(rand=lambda: 0.999999)
    assert low.delay(0) == pytest.approx(0.125)
    assert high.delay(0) == pytest.approx(0.25, rel=1e-5)
    assert low.delay(9) == pytest.approx(1.0)


def test_scaled_scales_every_duration_and_keeps_the_shape() -> None:
    policy = ReconnectPolicy(jitter=False).scaled(0.1)
    assert (policy.max_outage_s, policy.first_delay_s, policy.max_delay_s) == pytest.approx(
        (6.0, 0.025, 0.2)
    )
    assert policy.multiplier == 2.0
    full = ReconnectPolicy(jitter=False)
    assert [policy.delay(n) * 10 for n in range(5)] == pytest.approx(
        [full.delay(n) for n in range(5)]
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_outage_s": 0.0}, "max_outage_s"),
        ({"max_outage_s": math.inf}, "max_outage_s"),
        ({"first_delay_s": -1.0}, "first_delay_s"),
        ({"max_delay_s": math.nan}, "max_delay_s"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"first_delay_s": 3.0, "max_delay_s": 2.0}, "max_delay_s"),
        ({"max_outage_s": "60"}, "max_outage_s"),
        ({"max_outage_s": True}, "max_outage_s"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ReconnectPolicy(**options)  # type: ignore[arg-type]  # wrong on purpose


def test_the_supervisor_refuses_what_it_cannot_supervise() -> None:
    model = google.realtime.RealtimeModel(api_key="fake")
    supervisor = CallSupervisor(model)
    assert supervisor.model.inner is model
    assert supervisor.model.model == model.model
    with pytest.raises(ValueError, match="already supervised"):
        CallSupervisor(supervisor.model)
    with pytest.raises(ValueError, match="RealtimeModel"):
        CallSupervisor(object())  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ValueError, match="notice"):
        CallSupervisor(model, notice="  ")


def test_keepalive_options_extend_the_given_ones_and_keep_what_is_set() -> None:
    given = types.HttpOptions(base_url="https://127.0.0.1:1", async_client_args={"ssl": False})
    options = keepalive_http_options(given, interval_s=2.0, timeout_s=3.0)
    assert options.base_url == "https://127.0.0.1:1"
    assert options.async_client_args == {
        "ssl": False,
        "ping_interval": 2.0,
        "ping_timeout": 3.0,
        "close_timeout": 3.0,
        "open_timeout": 6.0,
    }
    assert given.async_client_args == {"ssl": False}  # not changed
    kept = keepalive_http_options(types.HttpOptions(async_client_args={"ping_interval": 30.0}))
    assert (kept.async_client_args or {})["ping_interval"] == 30.0
    assert keepalive_http_options().timeout == 10_000  # the plugin's own default
    with pytest.raises(ValueError, match="interval_s"):
        keepalive_http_options(interval_s=0.0)
    with pytest.raises(ValueError, match="timeout_s"):
        keepalive_http_options(timeout_s=math.inf)


@pytest.mark.parametrize(
    ("status", "worth"), [(503, True), (429, True), (401, False), (404, False)]
)
def test_a_refused_upgrade_is_retried_only_when_the_service_says_later(
    status: int, worth: bool
) -> None:
    refused = InvalidStatus(Response(status, "", Headers()))
    assert _worth_reconnecting(refused) is worth
    assert _worth_reconnecting(ConnectionRefusedError()) is True
    assert _worth_reconnecting(ValueError()) is False
