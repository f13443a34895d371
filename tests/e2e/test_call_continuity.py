"""Network faults between the real clients and the emulator: the call goes on, or ends cleanly.

A ``TcpProxy`` sits between LiveKit's Google ``RealtimeModel`` (google-genai, TLS) and
``FakeGeminiLive``; a real ``AgentSession`` runs on ``CallSupervisor.model``, a VisionStreamer
sends a synthetic camera and a CostTracker prices the call. Each case cuts the path, then checks
what a clinic would: the call resumed (or ended once, cleanly), the patient was told once, the
conversation carried over, cost is exact for the turns that happened, one ledger row, nothing
left running. Each case prints its figures (time to resume, turns and frames lost).

The "30 s" and "past the bound" cases run on a policy scaled down (``ReconnectPolicy.scaled``)
with the cut scaled alike: a refused connect fails at once, so a scaled run ends as the
full-length one does, with fewer attempts (see ``tests/support/tcp_proxy.py``).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from google.genai import types
from livekit import rtc
from livekit.agents import NOT_GIVEN, Agent, AgentSession, CloseEvent, ErrorEvent
from livekit.plugins import google
from livekit.protocol import agent as agent_proto

from livekit_plugins_medvision import MedVision, PatientContextProvider, RealtimeUnavailableError
from livekit_plugins_medvision.continuity import (
    CallEndedEvent,
    CallSupervisor,
    ReconnectPolicy,
    SessionLostEvent,
    SessionRestoredEvent,
    keepalive_http_options,
)
from livekit_plugins_medvision.costs import CostTracker, UsageUpdatedEvent
from livekit_plugins_medvision.testing import FakeGeminiLive, SyntheticCamera
from livekit_plugins_medvision.vision import VisionStreamer

from ..support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.db]

T = TypeVar("T")
NOTICE = "Line back: tell the patient once."
CAMERA_FPS = 5.0


@dataclass
class Call:
    """One call through the proxy, and what happened in it."""

    server: FakeGeminiLive
    proxy: TcpProxy
    supervisor: CallSupervisor
    session: AgentSession[None]
    tracker: CostTracker
    streamer: VisionStreamer
    lost: list[SessionLostEvent] = field(default_factory=list)
    restored: list[SessionRestoredEvent] = field(default_factory=list)
    ended: list[CallEndedEvent] = field(default_factory=list)
    closed: list[CloseEvent] = field(default_factory=list)
    errors: list[ErrorEvent] = field(default_factory=list)
    vision: list[tuple[str, float]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    turns: asyncio.Queue[UsageUpdatedEvent] = field(default_factory=asyncio.Queue)

    async def until(self, box: str, count: int = 1, seconds: float = 10.0) -> None:
        """Wait until the list ``box`` holds ``count`` events, on the events that fill it."""
        async with asyncio.timeout(seconds):
            while len(getattr(self, box)) < count:
                self.changed.clear()
                await self.changed.wait()

    async def turn(self) -> None:
        """Ask for a reply; wait until its usage is counted and the emulator has recorded
        every turn counted so far (it records a turn after sending it, from its own thread)."""
        reply = await self.session.generate_reply()
        assert not reply.interrupted
        async with asyncio.timeout(10):
            await self.turns.get()
        await self.server.wait_for_turns(self.tracker.report().turns)

    def note(self, box: list[T], event: T) -> None:
        box.append(event)
        self.changed.set()


def model_via(
    proxy: TcpProxy,
    server: FakeGeminiLive,
    streamer: VisionStreamer | None = None,
    keepalive_s: float | None = None,
) -> google.realtime.RealtimeModel:
    """The google RealtimeModel reaching the emulator through the proxy (TLS end to end)."""
    options = types.HttpOptions(
        base_url=f"https://127.0.0.1:{proxy.port}",
        async_client_args={"ssl": server.ssl_context()},
    )
    if keepalive_s is not None:
        options = keepalive_http_options(options, interval_s=keepalive_s, timeout_s=keepalive_s)
    return google.realtime.RealtimeModel(
        api_key="fake",
        http_options=options,
        image_encode_options=NOT_GIVEN if streamer is None else streamer.image_encode_options(),
    )


@asynccontextmanager
async def open_call(
    policy: ReconnectPolicy, keepalive_s: float | None = None
) -> AsyncIterator[Call]:
    """Start a supervised call through a proxy; close everything, in the worker's order, after."""
    async with FakeGeminiLive() as server, TcpProxy(server.port) as proxy:
        streamer = VisionStreamer(fps=1.0, silent_fps=1.0, max_size=320, change_threshold=0.0)
        model = model_via(proxy, server, streamer, keepalive_s)
        supervisor = CallSupervisor(model, policy=policy, notice=NOTICE)
        session = AgentSession[None](llm=supervisor.model)
        tracker = CostTracker(model.model)
        call = Call(server, proxy, supervisor, session, tracker, streamer)
        supervisor.on("session_lost", lambda e: call.note(call.lost, e))
        supervisor.on("session_restored", lambda e: call.note(call.restored, e))
        supervisor.on("call_ended", lambda e: call.note(call.ended, e))
        session.on("close", lambda e: call.note(call.closed, e))
        session.on("error", lambda e: call.note(call.errors, e))
        for name in ("session_lost", "session_resumed"):
            streamer.on(name, lambda n=name: call.note(call.vision, (n, time.monotonic())))
        tracker.on("usage_updated", call.turns.put_nowait)
        tracker.attach(session)
        tracker.attach_vision(streamer)
        camera = SyntheticCamera(width=640, height=360, fps=CAMERA_FPS)
        try:
            supervisor.attach(session)  # before start: a close during start is seen too
            await session.start(Agent(instructions="You help a clinic."), record=False)
            camera.start()
            await streamer.start(session, track=camera.track)
            await server.wait_for_images(1)
            yield call
        finally:
            await camera.aclose()
            await streamer.aclose()
            await session.aclose()
            await tracker.aclose()
            await model.aclose()


async def write_one_ledger_row(call: Call, pg_dsn: str) -> int:
    """End the call as the worker does (one ledger row); return the rows in the ledger."""
    provider = await PatientContextProvider.connect(pg_dsn)
    try:
        await provider.migrate()
        await call.tracker.write_ledger(provider.pool, job_id="AJ_fault", room_name="fault")
        rows = await provider.pool.fetch("SELECT turns FROM medvision.cost_ledger")
    finally:
        await provider.aclose()
    assert [row["turns"] for row in rows] == [call.tracker.report().turns]
    return len(rows)


def check_cost_exact(call: Call) -> None:
    """The tracker priced exactly the turns the emulator answered, from their usage."""
    reference = CostTracker(call.tracker.model)
    for turn in call.server.received.turns:
        reference.track_usage(turn.usage)
    report, expected = call.tracker.report(), reference.report()
    assert report.turns == expected.turns == len(call.server.received.turns)
    assert report.total_usd == expected.total_usd
    assert report.total_usd is not None and report.total_usd > 0


def check_nothing_left() -> None:
    gc.collect()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("medvision")] == []


def figures(case: str, call: Call, lost_turns: int, resume_s: float | None) -> None:
    images = call.server.received.images
    by_connection = sorted({image.connection for image in images})
    gap = None
    if len(by_connection) > 1:
        before = [i.at for i in images if i.connection < by_connection[-1]]
        after = [i.at for i in images if i.connection == by_connection[-1]]
        gap = min(after) - max(before)
    frames_lost = None if gap is None else max(round(gap * call.streamer.options.fps) - 1, 0)
    outage = call.supervisor.outages[-1].seconds if call.supervisor.outages else None
    print(
        f"\nFAULT {case}: resume {resume_s if resume_s is None else round(resume_s, 2)} s after "
        f"the path came back; outage {outage if outage is None else round(outage, 2)} s; "
        f"attempts {[o.attempts for o in call.supervisor.outages]}; video gap "
        f"{gap if gap is None else round(gap, 2)} s = {frames_lost} frames lost at 1 fps; "
        f"turns lost {lost_turns}; turns {len(call.server.received.turns)}, "
        f"{call.tracker.report().total_usd} USD"
    )


@pytest.mark.parametrize(
    ("cut_s", "policy"),
    [
        pytest.param(1.0, ReconnectPolicy(), id="cut-1s"),
        pytest.param(5.0, ReconnectPolicy(), id="cut-5s"),
        # 30 s against the default 60 s bound, everything scaled by 1/10
        pytest.param(3.0, ReconnectPolicy().scaled(0.1), id="cut-30s-scaled"),
    ],
)
async def test_a_cut_within_the_bound_resumes_the_call_with_its_history(
    cut_s: float, policy: ReconnectPolicy, pg_dsn: str
) -> None:
    async with open_call(policy) as call:
        await call.turn()
        said = call.server.received.turns[0].reply_text

        await call.proxy.cut()
        await call.until("lost")
        # a turn asked for during the outage ends at once instead of hanging the agent
        lost_turn = await call.session.generate_reply()
        assert lost_turn.done()
        await asyncio.sleep(cut_s)  # the fault itself
        back = time.monotonic()
        await call.proxy.restore()
        await call.until("restored", seconds=policy.max_delay_s + 10)
        resume_s = time.monotonic() - back
        await call.server.wait_for_turns(2)  # the notice
        await call.turns.get()
        await call.turn()
        await call.server.wait_for(lambda r: len(r.images_on(2)) >= 1, what="frames resumed")

        assert len(call.lost) == len(call.restored) == 1
        assert call.lost[0].error_type == "ConnectionRefusedError"
        restored = call.restored[0]
        assert restored.attempts >= 1
        assert call.closed == [] and call.ended == []
        # the AgentSession saw the loss as recoverable, and never an unrecoverable error
        assert [e.error.recoverable for e in call.errors if not e.error.recoverable] == []
        # the streamer said it lost the session and resumed on the new one, once each
        assert [name for name, _ in call.vision] == ["session_lost", "session_resumed"]
        # the new connection was primed with the conversation, and the patient told once
        received = call.server.received
        new_texts = [t.text for t in received.texts if t.connection == 2]
        assert said in new_texts
        assert [t.text for t in received.texts].count(NOTICE) == 1
        assert [turn.connection for turn in received.turns] == [1, 2, 2]
        check_cost_exact(call)
        figures(f"cut {cut_s:g}s, policy x{policy.max_outage_s / 60:g}", call, 1, resume_s)

    assert call.ended[0].reason == "closed"
    assert await write_one_ledger_row(call, pg_dsn) == 1
    check_nothing_left()


async def test_a_cut_past_the_bound_ends_the_call_once_with_its_cost(pg_dsn: str) -> None:
    policy = ReconnectPolicy().scaled(0.05)  # a 3 s bound
    async with open_call(policy) as call:
        await call.turn()
        await call.proxy.cut()
        await call.until("lost")
        await call.until("ended", seconds=policy.max_outage_s + 10)
        await call.until("closed")
        figures("cut past the bound, policy x0.05", call, 0, None)

        assert call.restored == []
        assert call.ended[0].reason == "outage_too_long"
        outage = call.ended[0].outage_s
        assert outage is not None and outage >= policy.max_outage_s
        assert [type(e.error.error) for e in call.errors if not e.error.recoverable] == [
            RealtimeUnavailableError
        ]
        assert [name for name, _ in call.vision] == ["session_lost"]
        assert [turn.connection for turn in call.server.received.turns] == [1]
        check_cost_exact(call)

    assert len(call.ended) == 1
    assert await write_one_ledger_row(call, pg_dsn) == 1
    check_nothing_left()


async def test_a_reset_with_the_path_up_is_resumed_by_the_plugin_alone(pg_dsn: str) -> None:
    async with open_call(ReconnectPolicy()) as call:
        await call.turn()
        await call.proxy.reset()
        await call.server.wait_for_connections(2)
        await call.turn()
        await call.server.wait_for(lambda r: len(r.images_on(2)) >= 1, what="frames resumed")
        received = call.server.received
        resume_s = received.setups[1].at - (received.connections[0].closed_at or 0.0)
        figures("reset only", call, 0, resume_s)

        # google's own reconnect (with its resumption handle) was enough: no outage
        assert call.lost == [] and call.restored == [] and call.vision == []
        assert received.setups[1].resumption_handle is not None
        assert [turn.connection for turn in received.turns] == [1, 2]
        check_cost_exact(call)

    assert await write_one_ledger_row(call, pg_dsn) == 1
    check_nothing_left()


async def test_a_fault_a_new_connection_cannot_fix_ends_the_call_at_once() -> None:
    async with open_call(ReconnectPolicy()) as call:
        await call.turn()
        # 1007: the service's "invalid argument", sent when the context is exhausted; the same
        # context would fail again on a new connection
        await call.server.close_all(code=1007, reason="Request contains an invalid argument.")
        await call.until("ended")

        assert call.lost == [] and call.restored == []
        assert call.ended[0].reason == "model_error"
        assert call.server.open_connections == 0
        check_cost_exact(call)
    check_nothing_left()


async def test_a_model_never_reached_is_not_waited_for() -> None:
    # A wrong address or a refused key shows at the first connect: that is not a blink.
    async with FakeGeminiLive() as server, TcpProxy(server.port) as proxy:
        await proxy.cut()
        model = model_via(proxy, server)
        supervisor = CallSupervisor(model)
        session = AgentSession[None](llm=supervisor.model)
        ended: asyncio.Future[CallEndedEvent] = asyncio.get_running_loop().create_future()
        supervisor.on("call_ended", ended.set_result)
        lost: list[SessionLostEvent] = []
        supervisor.on("session_lost", lost.append)
        try:
            supervisor.attach(session)
            await session.start(Agent(instructions="You help a clinic."), record=False)
            async with asyncio.timeout(10):
                assert (await ended).reason == "model_error"
        finally:
            await session.aclose()
            await model.aclose()
        assert lost == [] and supervisor.outages == ()
        assert server.received.connections == []
    check_nothing_left()


async def test_two_outages_are_two_restores_and_the_call_ends_once(pg_dsn: str) -> None:
    policy = ReconnectPolicy().scaled(0.1)
    async with open_call(policy) as call:
        await call.turn()
        for outage in (1, 2):
            await call.proxy.cut()
            await call.until("lost", outage)
            await call.proxy.restore()
            await call.until("restored", outage)
            await call.turns.get()  # the notice
            await call.turn()

        assert [e.outage for e in call.lost] == [e.outage for e in call.restored] == [1, 2]
        received = call.server.received
        assert [turn.connection for turn in received.turns] == [1, 2, 2, 3, 3]
        assert [t.text for t in received.texts].count(NOTICE) == 2
        assert [o.restored for o in call.supervisor.outages] == [True, True]
        check_cost_exact(call)

    assert [e.reason for e in call.ended] == ["closed"]
    assert await write_one_ledger_row(call, pg_dsn) == 1
    check_nothing_left()


async def test_a_call_closed_during_an_outage_stops_reconnecting() -> None:
    async with open_call(ReconnectPolicy()) as call:
        await call.turn()
        await call.proxy.cut()
        await call.until("lost")
        await call.session.aclose()  # the patient hung up, or the job ended

        assert [e.reason for e in call.ended] == ["closed"]
        assert call.restored == []
        check_cost_exact(call)
    # the reconnect loop was cancelled with the session: nothing waits out the 60 s bound
    check_nothing_left()


async def test_without_a_supervisor_a_cut_ends_the_call_and_the_streamer_says_so() -> None:
    # What the supervisor is for: livekit-plugins-google 1.8.9 retries a lost connection once,
    # 0.1 s later; while the path is down that connect fails and the AgentSession closes.
    async with FakeGeminiLive() as server, TcpProxy(server.port) as proxy:
        streamer = VisionStreamer(fps=1.0, silent_fps=1.0, max_size=320, change_threshold=0.0)
        model = model_via(proxy, server, streamer)
        session = AgentSession[None](llm=model)
        closed: asyncio.Future[CloseEvent] = asyncio.get_running_loop().create_future()
        session.on("close", closed.set_result)
        gone = asyncio.Event()
        streamer.on("session_lost", gone.set)
        camera = SyntheticCamera(width=640, height=360, fps=CAMERA_FPS)
        try:
            await session.start(Agent(instructions="You help a clinic."), record=False)
            camera.start()
            await streamer.start(session, track=camera.track)
            await server.wait_for_images(1)
            await proxy.cut()
            async with asyncio.timeout(10):
                assert (await closed).error is not None
                await gone.wait()
        finally:
            await camera.aclose()
            await streamer.aclose()
            await session.aclose()
            await model.aclose()
    check_nothing_left()


async def test_a_stall_shorter_than_the_keepalive_is_held_by_tcp_and_loses_nothing() -> None:
    async with open_call(ReconnectPolicy()) as call:
        await call.turn()
        call.proxy.stall()  # packets dropped, nobody told: no reset, no error
        await asyncio.sleep(2.0)  # the fault itself
        await call.proxy.restore()
        await call.turn()
        await call.server.wait_for(lambda r: len(r.images_on(1)) >= 3, what="frames go on")
        figures("stall 2s", call, 0, None)

        assert call.lost == [] and call.errors == [] and call.vision == []
        assert [turn.connection for turn in call.server.received.turns] == [1, 1]
        check_cost_exact(call)
    check_nothing_left()


async def test_a_long_stall_is_noticed_by_the_keepalive_and_the_call_resumes() -> None:
    # keepalive_http_options at 1 s (5 s recommended): noticed within 3 s, not the ~50 s of
    # the websockets defaults; a connect into the stalled path hangs until its open timeout
    async with open_call(ReconnectPolicy(), keepalive_s=1.0) as call:
        await call.turn()
        call.proxy.stall()
        stalled = time.monotonic()
        await call.until("errors", seconds=10)  # the plugin's own reconnect starts
        noticed_s = time.monotonic() - stalled
        await call.until("lost", seconds=20)  # its connect timed out: the supervisor's turn
        taken_over_s = time.monotonic() - stalled
        back = time.monotonic()
        await call.proxy.restore()
        await call.until("restored", seconds=call.supervisor.policy.max_delay_s + 15)
        resume_s = time.monotonic() - back
        await call.turns.get()  # the notice
        await call.turn()
        case = f"stall, noticed after {noticed_s:.1f} s, supervised after {taken_over_s:.1f} s"
        figures(case, call, 0, resume_s)

        assert call.lost[0].error_type == "TimeoutError"
        assert call.ended == [] and call.closed == []
        received = call.server.received
        assert [t.text for t in received.texts].count(NOTICE) == 1
        assert received.turns[0].connection == 1 and received.turns[-1].connection > 1
        check_cost_exact(call)
    check_nothing_left()


ShutdownCallback = (
    Callable[[], Coroutine[None, None, None]] | Callable[[str], Coroutine[None, None, None]]
)


class JobView:
    """A job's context as ``MedVision.start`` reads it: room, job, shutdown callbacks, shutdown."""

    def __init__(self) -> None:
        self.room = rtc.Room()  # never connected: the call runs without a LiveKit server
        self.job = agent_proto.Job(id="job-continuity")
        self.callbacks: list[ShutdownCallback] = []
        self.shutdowns: list[str] = []
        self.shut_down = asyncio.Event()

    def add_shutdown_callback(self, callback: ShutdownCallback) -> None:
        self.callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        self.shutdowns.append(reason)
        self.shut_down.set()


async def test_medvision_start_takes_a_supervised_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    async with FakeGeminiLive() as server, TcpProxy(server.port) as proxy:
        streamer = VisionStreamer(fps=1.0, silent_fps=1.0, max_size=320, change_threshold=0.0)
        supervisor = CallSupervisor(
            model_via(proxy, server, streamer), policy=ReconnectPolicy().scaled(0.1)
        )
        lost, restored = asyncio.Event(), asyncio.Event()
        supervisor.on("session_lost", lambda _: lost.set())
        supervisor.on("session_restored", lambda _: restored.set())
        session = AgentSession[None](llm=supervisor.model)
        async with SyntheticCamera(width=640, height=360, fps=CAMERA_FPS) as camera:
            call = await MedVision.start(
                JobView(), session, Agent(instructions="Hi."), streamer=streamer, track=camera.track
            )
            try:
                assert call.tracker.model == supervisor.model.inner.model
                await server.wait_for_images(1)
                await proxy.cut()
                async with asyncio.timeout(10):
                    await lost.wait()
                await proxy.restore()
                async with asyncio.timeout(10):
                    await restored.wait()
                await server.wait_for(lambda r: len(r.images_on(2)) >= 1, what="frames resumed")
            finally:
                await call.aclose()
        assert supervisor.ended is not None and supervisor.ended.reason == "closed"
    check_nothing_left()


async def test_medvision_ends_the_job_once_when_the_supervisor_ends_the_call(pg_dsn: str) -> None:
    policy = ReconnectPolicy().scaled(0.05)  # a 3 s bound
    provider = await PatientContextProvider.connect(pg_dsn)
    try:
        await provider.migrate()
        job = JobView()
        async with FakeGeminiLive() as server, TcpProxy(server.port) as proxy:
            streamer = VisionStreamer(fps=1.0, silent_fps=1.0, max_size=320, change_threshold=0.0)
            supervisor = CallSupervisor(model_via(proxy, server, streamer), policy=policy)
            session = AgentSession[None](llm=supervisor.model)
            async with SyntheticCamera(width=640, height=360, fps=CAMERA_FPS) as camera:
                call = await MedVision.start(
                    job,
                    session,
                    Agent(instructions="Hi."),
                    provider=provider,
                    streamer=streamer,
                    track=camera.track,
                )
                try:
                    await server.wait_for_images(1)
                    await proxy.cut()  # and never restored: the outage outlasts the bound
                    async with asyncio.timeout(policy.max_outage_s + 10):
                        await job.shut_down.wait()
                finally:
                    assert job.callbacks == [call.aclose]
                    await call.aclose()  # what the job runs on shutdown
        assert job.shutdowns == ["call ended: outage_too_long"]
        rows = await provider.pool.fetch("SELECT id FROM medvision.cost_ledger")
        assert [row["id"] for row in rows] == [call.ledger_row]
    finally:
        await provider.aclose()
    check_nothing_left()


async def test_a_call_closed_while_a_reconnect_hangs_leaves_nothing_behind() -> None:
    # the path is silent: each attempt hangs in its connect until the open timeout
    async with open_call(ReconnectPolicy(), keepalive_s=1.0) as call:
        await call.turn()
        call.proxy.stall()
        await call.until("lost", seconds=20)
        await call.session.aclose()  # while an attempt is connecting

        assert [e.reason for e in call.ended] == ["closed"]
        assert call.restored == []
    check_nothing_left()
