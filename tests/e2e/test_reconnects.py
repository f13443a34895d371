"""goAway and an abrupt close while frames flow: the model resumes, the streamer goes on."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from livekit_plugins_medvision.testing import FakeGeminiLive
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.video import Camera, feed

from .conftest import realtime_model

pytestmark = pytest.mark.e2e


async def test_go_away_and_abrupt_close_mid_stream_then_nothing_left_behind(
    camera: Camera,
) -> None:
    async with FakeGeminiLive() as server:
        streamer = VisionStreamer(
            fps=1.0, silent_fps=1.0, max_size=640, change_threshold=0.0, clock=camera.clock
        )
        model = realtime_model(server, streamer)
        rt_session = model.session()
        stop = asyncio.Event()

        async def stream_until_stopped() -> None:
            while not stop.is_set():
                await feed(streamer, camera)

        feeder = asyncio.create_task(stream_until_stopped(), name="test-camera")
        try:
            streamer.start_track(camera.track, rt_session)
            await server.wait_for(lambda r: len(r.images_on(1)) >= 2, what="frames")
            await server.send_go_away(time_left="1s")
            await server.wait_for(lambda r: len(r.images_on(2)) >= 2, what="frames after goAway")
            await server.close_all(code=1011, reason="Internal error encountered.")
            await server.wait_for(lambda r: len(r.images_on(3)) >= 2, what="frames after 1011")
        finally:
            stop.set()
            await feeder
            await streamer.aclose()
            await rt_session.aclose()
            await model.aclose()
        await server.wait_for(
            lambda r: all(c.closed_at is not None for c in r.connections), what="all closed"
        )

        received = server.received
        first, second, third = received.setups
        assert first.resumption_handle is None
        # Each reconnect resumes with the last handle the emulator granted.
        assert second.resumption_handle is not None
        assert second.resumption_handle.startswith("emulator-1-")
        assert third.resumption_handle is not None
        assert third.resumption_handle.startswith("emulator-2-")
        assert received.connections[1].close_code == 1011
        assert [c.index for c in received.connections] == [1, 2, 3]
        assert server.open_connections == 0
        assert streamer.stats.frames_sent >= len(received.images) >= 6
        assert streamer.stats.sink_errors == 0

    # Everything closed: no task, no worker thread, no open connection left; anything left
    # unclosed would warn (an error here) when collected now.
    gc.collect()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("medvision")] == []
