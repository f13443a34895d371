"""What the Gemini Live emulator costs the loop of the agent under test, measured in one run.

A 10 ms ticker on this event loop measures its lateness (p50/p99/max) in three modes, each
``--seconds`` long:
- idle: the emulator runs, nothing arrives;
- emulator: a client on another thread sends it a 1024×576 JPEG frame a second (what a
  VisionStreamer sends); the emulator decodes it on its own thread and loop;
- anchor: the same work done on this loop once a second (JSON, base64, a full Pillow decode),
  which is what an emulator serving on the agent's loop pays.

Then the part: how long one frame's work takes (the stall it adds wherever it runs).

Usage: ``python benchmarks/emulator_loop.py [--seconds 10]``. Prints a table (date, machine,
command) and the ratios to idle.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
from datetime import UTC, datetime

from PIL import Image
from websockets.asyncio.client import connect

from livekit_plugins_medvision.testing import FakeGeminiLive

MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def frame_message() -> str:
    """A realtime_input.video message with a 1024×576 JPEG of noise (a hard-to-decode frame)."""
    buffer = io.BytesIO()
    Image.effect_noise((1024, 576), 64).convert("RGB").save(buffer, "JPEG", quality=75)
    data = base64.b64encode(buffer.getvalue()).decode()
    return json.dumps({"realtime_input": {"video": {"data": data, "mimeType": "image/jpeg"}}})


class Sender:
    """A client on its own thread and loop, sending ``message`` once a second while ``on``."""

    def __init__(self, server: FakeGeminiLive, message: str) -> None:
        self.on = threading.Event()
        self._stop = threading.Event()
        self._server, self._message = server, message
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()

    async def _main(self) -> None:
        uri = f"wss://127.0.0.1:{self._server.port}{PATH}"
        async with connect(
            uri, ssl=self._server.ssl_context(), additional_headers={"x-goog-api-key": "bench"}
        ) as socket:
            await socket.send(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            await socket.recv()
            last = -math.inf
            while not self._stop.is_set():
                if self.on.is_set() and time.monotonic() - last >= 1.0:
                    last = time.monotonic()
                    await socket.send(self._message)
                await asyncio.sleep(0.02)

    def close(self) -> None:
        """Stop sending and end the client's thread."""
        self._stop.set()
        self._thread.join(timeout=5)


def decode_inline(message: str) -> None:
    """The emulator's per-frame work, on the caller's loop."""
    blob = json.loads(message)["realtime_input"]["video"]
    with Image.open(io.BytesIO(base64.b64decode(blob["data"]))) as image:
        image.load()


async def lateness(seconds: float, every_second: bool, message: str) -> list[float]:
    """Lateness of a 10 ms ticker, in ms; with ``every_second``, the inline work runs too."""

    async def work() -> None:
        while True:
            decode_inline(message)  # another task on this loop, as a served frame would be
            await asyncio.sleep(1.0)

    worker = asyncio.create_task(work()) if every_second else None
    late: list[float] = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            asked = time.monotonic()
            await asyncio.sleep(0.010)
            late.append((time.monotonic() - asked - 0.010) * 1000)
    finally:
        if worker is not None:
            worker.cancel()
    return late


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return (
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))],
        ordered[-1],
    )


async def main(seconds: float) -> None:
    message = frame_message()
    results: dict[str, tuple[float, float, float]] = {}
    async with FakeGeminiLive() as server:
        sender = Sender(server, message)
        try:
            await server.wait_for_connections(1)
            results["idle"] = summary(await lateness(seconds, False, message))
            sender.on.set()
            results["emulator (1 fps frames)"] = summary(await lateness(seconds, False, message))
            sender.on.clear()
            results["anchor: same work on this loop"] = summary(
                await lateness(seconds, True, message)
            )
        finally:
            sender.close()
        frames = len(server.received.images)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, `python {' '.join(sys.argv)}`; "
        f"{frames} frames reached the emulator"
    )
    print(f"| loop lateness, 10 ms ticker, {seconds:g} s each | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|")
    for name, (p50, p99, worst) in results.items():
        print(f"| {name} | {p50:.3f} | {p99:.3f} | {worst:.3f} |")
    per_frame = []
    for _ in range(20):
        started = time.perf_counter()
        decode_inline(message)
        per_frame.append((time.perf_counter() - started) * 1000)
    print(
        f"part: one frame's JSON + base64 + Pillow decode takes {statistics.median(per_frame):.2f}"
        " ms (median of 20): the stall an emulator on the agent's loop adds per frame"
    )
    idle = results["idle"]
    for name in list(results)[1:]:
        ratios = ", ".join(
            f"{label} ×{value / base:.2f}"
            for label, value, base in zip(("p50", "p99", "max"), results[name], idle, strict=True)
            if base > 0
        )
        print(f"{name} / idle: {ratios}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args().seconds))
