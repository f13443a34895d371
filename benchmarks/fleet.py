"""A fleet of calls: one PostgreSQL, direct against PgBouncer (transaction mode); calls per core.

Part 1 (database). N real OS processes (N = 8, 32, 64), each one simulated job as LiveKit runs
it (one process per job, imports done before the job arrives, as a prewarmed process has them):
jobs arrive spread over a few seconds; each opens its own provider pool
(``PatientContextProvider.connect`` with the default sizes), reads the patient with its audit row
at the start, reads again every few seconds, writes its cost-ledger row at the end and closes;
call lengths are random. Run (a) straight to PostgreSQL and (b) through PgBouncer 1.18
(``pool_mode = transaction``, ``default_pool_size`` below) with ``pool_mode="transaction"``.
Reported: peak server connections (sampled from ``pg_stat_activity`` every 50 ms), lookup
p50/p99, errors, and time from a job's arrival to its first lookup answered (pool connect
included).

Part 2 (video, calls per core): the CPU one call's video path costs a worker host. A 1080p30
H.264 stream (encoded here with PyAV from the synthetic camera, then decoded with PyAV in real
time, standing in for WebRTC's decoder) feeds a local ``VideoSource`` that a VisionStreamer at
1 fps reads; against the same with a 540p30 stream (the half-resolution simulcast layer). Process
CPU seconds per second of video (all threads, the rtc SDK's included), the parts (decode alone,
streamer alone), and the calls per core each implies.

Usage: ``python benchmarks/fleet.py [--quick] [--part db|video|all]``. Prints the tables and
writes ``benchmarks/results/fleet.json``. Needs Debian's ``pgbouncer`` for part 1 (``bash
scripts/system-packages.sh`` as root installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypeAlias

import asyncpg
import av
import numpy as np
from av.packet import Packet
from av.stream import Stream
from google.genai import types
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, run from anywhere

from benchmarks.vision_encode import EncodingSink, Producer
from livekit_plugins_medvision import CostTracker, PatientContextProvider
from livekit_plugins_medvision.patients import DEMO_PATIENT_IDS, PoolMode, start_embedded_postgres
from livekit_plugins_medvision.privacy import HASH_KEY_ENV, hash_patient_id
from livekit_plugins_medvision.testing.camera import SyntheticCamera
from livekit_plugins_medvision.vision import VisionStreamer
from tests.support.pgbouncer import PgBouncer

Packets: TypeAlias = "list[Packet[Stream]]"  # generic in the stubs only
RESULTS = Path(__file__).parent / "results" / "fleet.json"
DATABASE = "fleet"
BOUNCER_POOL_SIZE = 10
SAMPLE_EVERY_S = 0.05


@dataclass(frozen=True)
class Shape:
    """How the simulated calls behave."""

    arrival_s: float  # jobs arrive uniformly over this window
    call_s: tuple[float, float]  # call length, uniform
    lookup_every_s: tuple[float, float]  # pause between lookups, uniform


FULL = Shape(arrival_s=5.0, call_s=(10.0, 30.0), lookup_every_s=(2.0, 5.0))
QUICK = Shape(arrival_s=1.0, call_s=(2.0, 4.0), lookup_every_s=(0.5, 1.0))


@dataclass
class JobResult:
    """What one job process saw."""

    first_lookup_ms: float | None = None
    lookups_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    max_rss_mb: float = 0.0


@dataclass
class FleetRow:
    """One measured configuration."""

    route: str
    jobs: int
    peak_server_connections: int
    lookups: int
    lookup_p50_ms: float
    lookup_p99_ms: float
    later_p99_ms: float  # lookups after each job's first (its connection already set up)
    errors: int
    first_lookup_p50_ms: float
    first_lookup_max_ms: float
    wall_s: float
    job_max_rss_mb: float  # resident memory of the largest job process, shared pages included
    error_kinds: list[str]


# --- one job, in its own process -------------------------------------------------------------


def run_job(
    dsn: str, pool_mode: PoolMode, shape: Shape, seed: int, go: Event, out: Connection
) -> None:
    """A child process: wait for the fleet's start, then live one call."""
    go.wait()
    result = asyncio.run(_job(dsn, pool_mode, shape, random.Random(seed), seed))
    result.max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send(asdict(result))
    out.close()


async def _job(
    dsn: str, pool_mode: PoolMode, shape: Shape, rng: random.Random, n: int
) -> JobResult:
    result = JobResult()
    await asyncio.sleep(rng.uniform(0.0, shape.arrival_s))
    arrived = time.perf_counter()
    patient = DEMO_PATIENT_IDS[n % len(DEMO_PATIENT_IDS)]
    job_id, room = f"AJ_fleet_{n}", f"fleet-room-{n}"
    ends = arrived + rng.uniform(*shape.call_s)
    try:
        provider = await PatientContextProvider.connect(dsn, pool_mode=pool_mode)
    except Exception as exc:
        result.errors.append(f"connect: {exc}")
        return result
    tracker = CostTracker("gemini-2.5-flash-native-audio-preview-12-2025")
    async with provider:
        while True:
            started = time.perf_counter()
            try:
                await provider.get_patient_context(patient, job_id=job_id, room_name=room)
            except Exception as exc:
                result.errors.append(f"lookup: {exc}")
            else:
                now = time.perf_counter()
                result.lookups_ms.append((now - started) * 1000)
                if result.first_lookup_ms is None:
                    result.first_lookup_ms = (now - arrived) * 1000
            tracker.track_usage(
                types.UsageMetadata(prompt_token_count=1200, response_token_count=300)
            )
            pause = rng.uniform(*shape.lookup_every_s)
            if time.perf_counter() + pause > ends:
                break
            await asyncio.sleep(pause)
        try:
            await tracker.write_ledger(
                provider.pool, job_id=job_id, room_name=room, patient_hash=hash_patient_id(patient)
            )
        except Exception as exc:
            result.errors.append(f"ledger: {exc}")
    return result


# --- the video path of one call ---------------------------------------------------------------


@dataclass
class VideoRow:
    """CPU of one configuration, per second of video."""

    layer: str
    what: str
    cpu_core_share: float  # process CPU seconds per wall second (1.0 = one core)
    calls_per_core: float
    frames_sent: int


def encode_stream(width: int, height: int, seconds: float, bitrate: int) -> Packets:
    """An H.264 stream of the synthetic camera with sensor-like noise, as a camera would send."""
    camera = SyntheticCamera(width=width, height=height)
    encoder = av.CodecContext.create("libx264", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.bit_rate = bitrate
    encoder.gop_size = 60
    encoder.options = {"preset": "veryfast", "tune": "zerolatency", "profile": "baseline"}
    rng = np.random.default_rng(0)
    noise = rng.integers(-6, 7, size=(height * 2, width), dtype=np.int16)
    packets: Packets = []
    for index in range(int(seconds * 30)):
        planes = np.frombuffer(camera.render(index).data, dtype=np.uint8)
        planes = planes.reshape(height * 3 // 2, width).astype(np.int16)
        shift = index * 7 % height
        planes[:height] += noise[shift : shift + height]
        frame = av.VideoFrame.from_ndarray(
            np.clip(planes, 0, 255).astype(np.uint8), format="yuv420p"
        )
        frame.pts = index
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    return packets


class Decoder(Producer):
    """Decodes ``packets`` in a loop at 30 fps in its own thread, as WebRTC's decoder does.

    With ``deliver``, each frame is captured into ``source`` as an I420 ``rtc.VideoFrame``.
    """

    def __init__(self, source: rtc.VideoSource, packets: Packets, *, deliver: bool) -> None:
        super().__init__(source, [])
        self._packets, self._deliver = packets, deliver

    def _run(self) -> None:
        next_at = time.perf_counter()
        while not self._stop.is_set():
            decoder = av.CodecContext.create("h264", "r")
            for packet in self._packets:
                for frame in decoder.decode(packet):
                    assert isinstance(frame, av.VideoFrame)
                    if self._deliver:
                        planes = frame.to_ndarray(format="yuv420p").tobytes()
                        self._source.capture_frame(
                            rtc.VideoFrame(
                                frame.width, frame.height, rtc.VideoBufferType.I420, planes
                            )
                        )
                    next_at += 1 / 30
                    if self._stop.wait(max(0.0, next_at - time.perf_counter())):
                        return


async def measure_video(
    width: int, height: int, packets: Packets, what: str, seconds: float
) -> tuple[float, int]:
    """Process CPU share while ``what`` (decode, streamer, both) runs for ``seconds``."""
    source = rtc.VideoSource(width, height)
    track = rtc.LocalVideoTrack.create_video_track("bench", source)
    streamer: VisionStreamer | None = None
    if what != "decode":
        streamer = VisionStreamer(max_size=768, change_threshold=0.0)  # 1 fps out
        streamer.set_user_speaking(True)
        streamer.start_track(track, EncodingSink(streamer.image_encode_options()))
    if what == "streamer":
        camera = SyntheticCamera(width=width, height=height)
        feeder = Producer(source, [camera.render(i) for i in range(30)])
    else:
        feeder = Decoder(source, packets, deliver=what == "both")
    feeder.start()
    await asyncio.sleep(1.0)  # warm up: first frames, the streamer's first encode
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    feeder.stop()
    sent = 0
    if streamer is not None:
        await streamer.aclose()
        sent = streamer.stats.frames_sent
    await source.aclose()
    return (cpu1 - cpu0) / (wall1 - wall0), sent


def video_part(quick: bool) -> list[VideoRow]:
    """Decode + streamer at 1080p and at 540p, then the parts."""
    seconds = 3.0 if quick else 10.0
    rows: list[VideoRow] = []
    for layer, (w, h, bitrate) in (
        ("1080p30", (1920, 1080, 3_000_000)),
        ("540p30", (960, 540, 800_000)),
    ):
        packets = encode_stream(w, h, 2.0, bitrate)
        for what in ("both", "decode", "streamer"):
            share, sent = asyncio.run(measure_video(w, h, packets, what, seconds))
            label = {
                "both": "decode + streamer",
                "decode": "decode only",
                "streamer": "streamer only",
            }[what]
            row = VideoRow(layer, label, share, 1 / share if share > 0 else float("inf"), sent)
            print(
                f"| {row.layer:7} | {row.what:17} | {100 * row.cpu_core_share:5.1f} % "
                f"| {row.calls_per_core:5.1f} | {row.frames_sent:3} |",
                flush=True,
            )
            rows.append(row)
    return rows


# --- the fleet --------------------------------------------------------------------------------


async def _sample_connections(admin_dsn: str, stop: asyncio.Event) -> int:
    """Peak number of server backends on the benchmark's database until ``stop`` is set."""
    conn = await asyncpg.connect(admin_dsn)  # on database "postgres": not counted
    # a clean start: PgBouncer keeps idle server connections from the previous run
    await conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", DATABASE
    )
    peak = 0
    try:
        while not stop.is_set():
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", DATABASE
            )
            peak = max(peak, int(count))
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
            except TimeoutError:
                pass
    finally:
        await conn.close()
    return peak


def run_fleet(
    route: str, dsn: str, admin_dsn: str, pool_mode: PoolMode, jobs: int, shape: Shape
) -> FleetRow:
    """Fork ``jobs`` processes (before any event loop here), start them at once, collect."""
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    children = []
    for n in range(jobs):
        receive, send = ctx.Pipe(duplex=False)
        process = ctx.Process(target=run_job, args=(dsn, pool_mode, shape, n, go, send))
        process.start()
        send.close()
        children.append((process, receive))

    async def watch() -> tuple[int, list[JobResult], float]:
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_connections(admin_dsn, stop))
        await asyncio.sleep(0.2)  # the sampler is connected
        started = time.perf_counter()
        go.set()
        results = [JobResult(**await asyncio.to_thread(receive.recv)) for _, receive in children]
        wall = time.perf_counter() - started
        stop.set()
        return await sampler, results, wall

    peak, results, wall = asyncio.run(watch())
    for process, _ in children:
        process.join()
    lookups = sorted(ms for r in results for ms in r.lookups_ms)
    later = sorted(ms for r in results for ms in r.lookups_ms[1:])
    firsts = sorted(r.first_lookup_ms for r in results if r.first_lookup_ms is not None)
    errors = [e for r in results for e in r.errors]
    return FleetRow(
        route=route,
        jobs=jobs,
        peak_server_connections=peak,
        lookups=len(lookups),
        lookup_p50_ms=_percentile(lookups, 50),
        lookup_p99_ms=_percentile(lookups, 99),
        later_p99_ms=_percentile(later, 99),
        errors=len(errors),
        first_lookup_p50_ms=_percentile(firsts, 50),
        first_lookup_max_ms=firsts[-1] if firsts else float("nan"),
        wall_s=wall,
        job_max_rss_mb=max(r.max_rss_mb for r in results),
        error_kinds=sorted(set(errors))[:5],
    )


def database_part(quick: bool) -> list[FleetRow]:
    """Start PostgreSQL and PgBouncer, seed the demo data, and run every configuration."""
    shape = QUICK if quick else FULL
    sizes = (4, 8) if quick else (8, 32, 64)
    rows: list[FleetRow] = []
    with (
        tempfile.TemporaryDirectory(prefix="medvision-fleet-") as folder,
        start_embedded_postgres(Path(folder) / "pg", listen_tcp=True, durable=False) as server,
    ):

        async def prepare() -> int:
            admin = await asyncpg.connect(server.dsn)
            try:
                await admin.execute(f"CREATE DATABASE {DATABASE}")
                limit = int(await admin.fetchval("SHOW max_connections"))
            finally:
                await admin.close()
            async with await PatientContextProvider.connect(server.dsn_for(DATABASE)) as p:
                await p.seed_demo()
            return limit

        max_connections = asyncio.run(prepare())
        print(f"PostgreSQL max_connections = {max_connections}")
        with PgBouncer.start(
            str(server.socket_dir),
            server.port,
            owner_uid=server.data_dir.stat().st_uid,
            pool_size=BOUNCER_POOL_SIZE,
        ) as bouncer:
            # not measured: the fresh database's first connections and plans, the page cache
            run_fleet("warm-up", bouncer.dsn_for(DATABASE), server.dsn, "transaction", 4, QUICK)
            for jobs in sizes:
                for route, dsn, mode in (
                    ("direct", server.dsn_for(DATABASE, tcp=True), "session"),
                    ("pgbouncer", bouncer.dsn_for(DATABASE), "transaction"),
                ):
                    row = run_fleet(route, dsn, server.dsn, mode, jobs, shape)  # type: ignore[arg-type]  # literal from the tuple
                    print(_format_row(row), flush=True)
                    rows.append(row)
    return rows


def _format_row(row: FleetRow) -> str:
    return (
        f"| {row.route:9} | {row.jobs:3} | {row.peak_server_connections:4} | {row.lookups:6} "
        f"| {row.lookup_p50_ms:6.1f} | {row.lookup_p99_ms:6.1f} | {row.later_p99_ms:6.1f} "
        f"| {row.errors:3} "
        f"| {row.first_lookup_p50_ms:7.1f} | {row.first_lookup_max_ms:7.1f} "
        f"| {row.job_max_rss_mb:4.0f} |"
    )


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run, to check the script")
    parser.add_argument("--part", choices=("db", "video", "all"), default="all")
    args = parser.parse_args()
    # one key for every job process, as a fleet shares one (and no warning from each job)
    os.environ.setdefault(HASH_KEY_ENV, secrets.token_hex(32))
    report: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load_average_at_start": os.getloadavg(),
        "quick": args.quick,
    }
    if args.part in ("video", "all"):
        print(
            "| layer   | path              | CPU     | calls/core | sent |\n|---|---|---|---|---|"
        )
        report["video"] = [asdict(r) for r in video_part(args.quick)]
    if args.part in ("db", "all"):
        print(
            "| route | N | peak | reads | p50 ms | p99 ms | p99 later | err | 1st p50 | 1st max "
            "| RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|"
        )
        rows = database_part(args.quick)
        report["fleet"] = [asdict(r) for r in rows]
        report["pgbouncer_default_pool_size"] = BOUNCER_POOL_SIZE
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
