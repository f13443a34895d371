"""Faults on demand: what the network or the service does to a client, and what it sees."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from google import genai
from google.genai import errors
from livekit.plugins import google
from websockets.exceptions import ConnectionClosedError

from livekit_plugins_medvision.testing import FakeGeminiLive

from .conftest import MODEL
from .test_genai_client import TEXT_ONLY, has_usage, read_until
from .test_wire import expect_close, raw_session

pytestmark = pytest.mark.e2e


async def test_a_dropped_connection_ends_without_a_close_frame(server: FakeGeminiLive) -> None:
    async with raw_session(server) as socket:
        await server.drop_connections()
        with pytest.raises(ConnectionClosedError) as dropped:
            async with asyncio.timeout(5):
                await socket.recv()
    assert dropped.value.rcvd is None  # no close frame: the TCP connection was cut
    await server.wait_for(lambda r: r.connections[0].close_code == 1006)


async def test_livekit_resumes_after_a_dropped_connection(server: FakeGeminiLive) -> None:
    model = google.realtime.RealtimeModel(api_key="fake", http_options=server.http_options())
    session = model.session()
    try:
        await server.wait_for_connections(1)
        await server.wait_for(lambda r: r.connections[0].closed_at is None)
        await server.drop_connections()
        await server.wait_for_connections(2)
    finally:
        await session.aclose()
        await model.aclose()
    first, second = server.received.setups
    assert first.resumption_handle is None
    assert second.resumption_handle is not None  # it came back with the handle it was given
    assert server.received.connections[0].close_code == 1006


async def test_a_stalled_service_neither_reads_nor_answers_until_it_resumes(
    server: FakeGeminiLive,
) -> None:
    async with raw_session(server) as socket:
        await server.stall()
        await socket.send(json.dumps({"realtime_input": {"text": "anyone?"}}))
        pong = await socket.ping()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await asyncio.shield(pong)
        assert server.received.texts == []  # nothing was read
        await server.resume()
        async with asyncio.timeout(5):
            await pong
        await server.wait_for_turns(1)
    assert [t.text for t in server.received.texts] == ["anyone?"]


async def test_slow_responses_wait_before_answering(
    server: FakeGeminiLive, client: genai.Client
) -> None:
    server.slow_responses(0.3)
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:
        await server.wait_for_connections(1)
        asked = time.monotonic()
        await session.send_realtime_input(text="hello?")
        await read_until(session, lambda m: m.server_content is not None)
        waited = time.monotonic() - asked
    assert waited >= 0.3


@pytest.mark.parametrize("code", [1007, 1008, 1011])
async def test_a_close_code_on_the_nth_message(
    server: FakeGeminiLive, client: genai.Client, code: int
) -> None:
    server.close_on_message(3, code, "Closed on purpose.")
    async with client.aio.live.connect(model=MODEL, config=TEXT_ONLY) as session:  # message 1
        await session.send_realtime_input(text="one")  # message 2: answered
        await read_until(session, has_usage)
        await session.send_realtime_input(text="two")  # message 3: closes
        with pytest.raises(errors.APIError) as closed:
            await read_until(session, lambda m: False)
    assert closed.value.code == code
    assert [t.text for t in server.received.texts] == ["one"]
    await server.wait_for(lambda r: r.connections[0].close_code == code)


async def test_go_away_then_close_at_the_set_time(server: FakeGeminiLive) -> None:
    async with raw_session(server) as socket:
        started = time.monotonic()
        await server.go_away_and_close(0.3)
        notice = json.loads(await socket.recv())
        closed = await expect_close(socket)
        lasted = time.monotonic() - started
    assert notice == {"goAway": {"timeLeft": "0.3s"}}
    assert closed.code == 1011
    assert lasted >= 0.3


def test_bad_fault_arguments_are_refused() -> None:
    server = FakeGeminiLive()
    with pytest.raises(ValueError, match="n must be"):
        server.close_on_message(0)
    with pytest.raises(ValueError, match="code"):
        server.close_on_message(1, code=1006)
    with pytest.raises(ValueError, match="delay"):
        server.slow_responses(-1)
    with pytest.raises(ValueError, match="time_scale"):
        FakeGeminiLive(time_scale=0)
