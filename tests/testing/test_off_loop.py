"""The emulator does its work on its own thread: the agent's loop under test pays nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import statistics
import threading
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect

from livekit_plugins_medvision.testing import FakeGeminiLive

from .conftest import MODEL, encode_image
from .test_wire import PATH


async def open_session(server: FakeGeminiLive) -> ClientConnection:
    uri = f"wss://127.0.0.1:{server.port}{PATH}"
    headers = {"x-goog-api-key": "fake"}
    socket = await connect(uri, ssl=server.ssl_context(), additional_headers=headers)
    await socket.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
    assert json.loads(await socket.recv()) == {"setupComplete": {}}
    return socket


class FrameSender:
    """A raw client on a thread and loop of its own, sending a frame a second while ``on``."""

    def __init__(self, server: FakeGeminiLive, frame: str) -> None:
        self.on = threading.Event()
        self.ready = threading.Event()
        self._server, self._frame = server, frame
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()

    async def _main(self) -> None:
        socket = await open_session(self._server)
        self.ready.set()
        last = -math.inf
        try:
            while not self._stop.is_set():
                if self.on.is_set() and time.monotonic() - last >= 1.0:
                    last = time.monotonic()
                    await socket.send(self._frame)
                await asyncio.sleep(0.02)
        finally:
            await socket.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def test_the_emulator_answers_while_the_callers_loop_is_blocked(
    server: FakeGeminiLive,
) -> None:
    answered = threading.Event()

    async def set_up() -> None:
        socket = await open_session(server)
        answered.set()
        await socket.close()

    client = threading.Thread(target=lambda: asyncio.run(set_up()), daemon=True)
    client.start()
    # Block this loop (the agent's, in a real test) while the client connects and sets up.
    client.join(timeout=10)
    assert answered.is_set()  # served with this loop never running


@pytest.mark.e2e
async def test_agent_loop_lag_with_frames_at_1_fps_matches_the_lag_without() -> None:
    """Loop lag of this loop, in alternating windows with and without 1 fps frames.

    Medians over the same run, so a busy machine weighs on both sides alike. The frames come
    from another thread: only the emulator's work could reach this loop.
    """
    jpeg = base64.b64encode(encode_image(1024, 576)).decode()
    frame = json.dumps({"realtime_input": {"video": {"data": jpeg, "mimeType": "image/jpeg"}}})
    lags: dict[bool, list[float]] = {False: [], True: []}
    async with FakeGeminiLive() as server:
        sender = FrameSender(server, frame)
        try:
            await server.wait_for_connections(1)
            for _ in range(2):
                for with_frames in (False, True):
                    if with_frames:
                        sender.on.set()
                    else:
                        sender.on.clear()
                    deadline = time.monotonic() + 2.0
                    while time.monotonic() < deadline:
                        asked = time.monotonic()
                        await asyncio.sleep(0.005)
                        lags[with_frames].append(time.monotonic() - asked - 0.005)
        finally:
            sender.close()
        frames = len(server.received.images)

    without, with_frames_ms = (statistics.median(lags[key]) * 1000 for key in (False, True))
    print(f"loop lag median {without:.3f} ms without frames, {with_frames_ms:.3f} ms with {frames}")
    assert frames >= 3  # two 2-second windows at 1 fps
    assert with_frames_ms - without <= 1.0
