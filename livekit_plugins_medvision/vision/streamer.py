"""VisionStreamer: a participant's camera or screen share to Gemini Live, off the event loop.

The event loop reads frames (``rtc.VideoStream(capacity=1)``, the latest frame wins), checks
the clock and pushes small, ready frames. The worker thread does the rest of the pixel work:
change detection, scaling, conversion to RGBA and rotation. One pixel step stays on the loop:
the google plugin's ``push_video`` JPEG-encodes the (already small) frame there, and moving it
off would need the plugin's private API. docs/vision.md and docs/benchmarks.md have the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Literal, Self, TypeVar

from google.genai import types
from livekit import rtc
from livekit.agents import AgentSession, UserStateChangedEvent, llm, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import images
from livekit.rtc.room import EventTypes

from ..errors import StreamerClosedError, VisionUnavailableError
from ..log import logger
from ..tokens import estimate_image_tokens
from .capture import Capture, CaptureSource, CaptureWork, prepare_capture
from .consent import ConsentChangedEvent, ConsentLedger, ConsentReason, ConsentState
from .delivery import FixedTarget, GatedVideoSink, SessionTarget, Target, VideoSink
from .encoder import Prepared, Skipped, frame_problem, jpeg_size, prepare_frame, rotation_of
from .layers import LayerChooser, publication_of
from .options import (
    DEFAULT_MODEL,
    SCREEN_SHARE_PROFILE,
    ChangeDetector,
    SourceProfile,
    VideoSourcePreference,
    VisionOptions,
)
from .sampling import FrameSampler, Thumbnail
from .sources import RoomView, choose_followed
from .stats import StatsRecorder, VisionStats
from .worker import FrameWorker, JobAborted

__all__ = ["VisionEventTypes", "VisionStreamer"]

VisionEventTypes = Literal["stats_updated", "consent_changed", "session_lost", "session_resumed"]
"""``stats_updated`` (no arguments): a frame was read or handled; ``stats`` has changed.
``consent_changed`` (a ``ConsentChangedEvent``): the followed video's consent state changed.
``session_lost`` / ``session_resumed`` (no arguments): the realtime session frames went to is
gone (its connection lost, its AgentSession closed), and frames go to a session again."""

_U = TypeVar("_U")

_CALIBRATE_EVERY = 10  # measure the real JPEG size of one sent frame in this many
_GEMINI_FRAME_INTERVAL_S = 1.0  # Gemini Live takes at most one frame a second
_CAPTURE_TIMEOUT_S = 10.0  # a capture whose frame is not ready by then gives up
_LAYER_WAIT_S = 1.5  # how long a capture waits for a sharper simulcast layer to arrive
_ROOM_EVENTS: tuple[EventTypes, ...] = (
    "participant_connected",
    "participant_disconnected",
    "track_subscribed",
    "track_unsubscribed",
    "track_unpublished",
    "track_muted",
    "track_unmuted",
    "reconnected",
    "participant_attributes_changed",
)


@dataclass
class _Pump:
    """One followed track: its stream and the task reading it."""

    track: rtc.Track
    stream: rtc.VideoStream
    task: asyncio.Task[None]


@dataclass(frozen=True)
class _Work:
    """What the worker returns for one frame."""

    outcome: Prepared | Skipped
    jpeg_bytes: int | None
    rotation: rtc.VideoRotation.ValueType


class VisionStreamer(utils.EventEmitter[VisionEventTypes]):
    """Streams one participant's video to a realtime model, sampled, shrunk and off the loop.

    Use ``await start(session, room=room)`` inside an agent, or ``start_track(track, sink)``
    to stream one track into any ``VideoSink``. Give the ``RealtimeModel``
    ``image_encode_options=streamer.image_encode_options()`` so that it does not resize the
    frames a second time on the event loop (that option is not readable back through public
    API, so it cannot be checked here).

    It emits ``stats_updated`` (no arguments) each time a frame is read or handled, so tests and
    dashboards can wait on ``stats`` instead of polling it.

    Example:
        ```python
        streamer = VisionStreamer(fps=1.0, silent_fps=0.3, max_size=768)
        model = google.realtime.RealtimeModel(image_encode_options=streamer.image_encode_options())
        session = AgentSession[None](llm=model)
        await session.start(agent, room=ctx.room)  # RoomIO video input left off (the default)
        await streamer.start(session, room=ctx.room)
        ```
    """

    def __init__(
        self,
        *,
        fps: float = 1.0,
        silent_fps: float = 0.3,
        max_size: int = 768,
        jpeg_quality: int = 75,
        source: VideoSourcePreference = "camera_then_screen_share",
        change_threshold: float = 2.0,
        keepalive_s: float = 10.0,
        allow_above_1fps: bool = False,
        model: str | None = None,
        media_resolution: types.MediaResolution | None = None,
        screen_share: SourceProfile = SCREEN_SHARE_PROFILE,
        require_consent: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Validate the options; nothing runs until ``start`` or ``start_track``.

        Args:
            fps: Frames per second while the user speaks (at most 1 unless ``allow_above_1fps``).
            silent_fps: Frames per second while the user is silent; 0 sends nothing then.
            max_size: Longest side in pixels of a frame sent; smaller frames are not upscaled.
            jpeg_quality: JPEG quality (1-100) for ``image_encode_options()``.
            source: Which video track of the participant to follow.
            change_threshold: Mean luma difference (0-255) under which a frame is skipped as
                unchanged; 0 turns change detection off.
            keepalive_s: Seconds after which an unchanged scene is sent anyway.
            allow_above_1fps: Lift Gemini Live's 1 frame per second limit.
            model: Gemini model for the token estimate; by default the session's model.
            media_resolution: The model's ``media_resolution``, for the token estimate.
            screen_share: How a screen share is streamed (the rate, size, change threshold
                and keep-alive above are the camera's); see ``SCREEN_SHARE_PROFILE``.
            require_consent: Send nothing of a participant's video until they consent (their
                ``medvision.camera_consent`` attribute is ``granted``, or ``record_consent``).
            clock: Monotonic clock in seconds (injected by tests).

        Raises:
            ValueError: an option out of range or of the wrong type (named in the message).
        """
        super().__init__()
        self._options = VisionOptions(
            fps=fps,
            silent_fps=silent_fps,
            max_size=max_size,
            jpeg_quality=jpeg_quality,
            source=source,
            change_threshold=change_threshold,
            keepalive_s=keepalive_s,
            allow_above_1fps=allow_above_1fps,
            model=model,
            media_resolution=media_resolution,
            screen_share=screen_share,
        )
        self._sampler = FrameSampler(
            fps=fps, silent_fps=silent_fps, keepalive_s=keepalive_s, clock=clock
        )
        self._stats = StatsRecorder()
        if not isinstance(require_consent, bool):
            raise ValueError("require_consent must be a bool")
        self._consent = ConsentLedger(required=require_consent)
        self._stats.consent = self._consent.state
        self._paused = False
        self._closed = False
        self._target: Target | None = None
        self._pump: _Pump | None = None
        self._generation = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._worker: FrameWorker | None = None
        self._bytes_per_pixel: float | None = None
        self._session_model: str | None = None
        self._detach: list[Callable[[], None]] = []
        self._room: RoomView | None = None
        self._identity: str | None = None
        self._linked: Callable[[], str | None] | None = None
        self._logged: set[str] = set()
        self._clock = clock
        self._latest: tuple[rtc.VideoFrame, rtc.VideoRotation.ValueType] | None = None
        self._frame_arrived = asyncio.Event()
        self._source: CaptureSource = "camera"
        self._last_push: float | None = None  # clock time of the last frame handed over
        self._hold_until: float | None = None  # the stream waits for this after a capture
        self._captures_waiting = 0
        self._capture_lock = asyncio.Lock()
        self._layers = LayerChooser()
        self._sink_lost = False
        self._had_sink = False

    # -- public surface ------------------------------------------------------------------------

    @property
    def options(self) -> VisionOptions:
        """The current options (frozen; change them with ``update_options``)."""
        return self._options

    @property
    def stats(self) -> VisionStats:
        """A frozen snapshot of the counters and timings."""
        if self._worker is not None:
            self._stats.worker_refused = self._worker.refused
            self._stats.worker_restarts = self._worker.restarts
        return self._stats.snapshot()

    @property
    def paused(self) -> bool:
        """Whether sending is paused."""
        return self._paused

    @property
    def current_track(self) -> rtc.Track | None:
        """The track being streamed, or ``None``."""
        return self._pump.track if self._pump is not None else None

    @property
    def current_kind(self) -> CaptureSource | None:
        """Whether the track streamed is a camera or a screen share (its profile), or ``None``."""
        return self._source if self._pump is not None else None

    @property
    def user_speaking(self) -> bool:
        """Whether the speaking rate (``fps``) applies rather than ``silent_fps``."""
        return self._sampler.user_speaking

    def image_encode_options(self) -> images.EncodeOptions:
        """Return the ``EncodeOptions`` the ``RealtimeModel`` needs: no second resize, our quality.

        Pass it as ``RealtimeModel(image_encode_options=...)``; with the plugin's default
        options every frame would be resized again (up to 1024 px) on the event loop.
        """
        return images.EncodeOptions(
            format="JPEG", quality=self._options.jpeg_quality, resize_options=None
        )

    def update_options(
        self,
        *,
        fps: NotGivenOr[float] = NOT_GIVEN,
        silent_fps: NotGivenOr[float] = NOT_GIVEN,
        max_size: NotGivenOr[int] = NOT_GIVEN,
        jpeg_quality: NotGivenOr[int] = NOT_GIVEN,
        source: NotGivenOr[VideoSourcePreference] = NOT_GIVEN,
        change_threshold: NotGivenOr[float] = NOT_GIVEN,
        keepalive_s: NotGivenOr[float] = NOT_GIVEN,
        allow_above_1fps: NotGivenOr[bool] = NOT_GIVEN,
        model: NotGivenOr[str | None] = NOT_GIVEN,
        media_resolution: NotGivenOr[types.MediaResolution | None] = NOT_GIVEN,
        screen_share: NotGivenOr[SourceProfile] = NOT_GIVEN,
    ) -> None:
        """Change options while streaming; the next frame uses them.

        ``jpeg_quality`` changes ``image_encode_options()`` and the bytes estimate only: the
        google ``RealtimeModel`` keeps the encode options it was built with.

        Raises:
            ValueError: an option out of range or of the wrong type; nothing is changed then.
        """
        new = self._options.replace(
            fps=fps,
            silent_fps=silent_fps,
            max_size=max_size,
            jpeg_quality=jpeg_quality,
            source=source,
            change_threshold=change_threshold,
            keepalive_s=keepalive_s,
            allow_above_1fps=allow_above_1fps,
            model=model,
            media_resolution=media_resolution,
            screen_share=screen_share,
        )
        old, self._options = self._options, new
        self._apply_profile()
        if (new.profile(self._source), new.jpeg_quality) != (
            old.profile(self._source),
            old.jpeg_quality,
        ):
            self._bytes_per_pixel = None
        self._layers.resize(new.profile(self._source).max_size)
        if new.source != old.source and self._room is not None:
            self._reselect()

    @property
    def consent(self) -> ConsentState:
        """The consent state of the followed video (``not_required`` unless required)."""
        return self._consent.state

    def record_consent(self, granted: bool) -> None:
        """Record the followed participant's answer: ``True`` consents, ``False`` withdraws.

        Call it once the agent has asked (``consent_tool`` does). Withdrawal takes effect at
        the next frame: nothing more is prepared, and a frame in the worker is discarded.
        """
        if not isinstance(granted, bool):
            raise ValueError("granted must be a bool")
        self._consent.record(granted)
        self._consent_changed("agent")

    def pause(self) -> None:
        """Stop sending frames; streams stay open so ``resume()`` is immediate."""
        self._paused = True

    def resume(self) -> None:
        """Send again, starting with the next frame received."""
        if self._paused:
            self._paused = False
            self._sampler.restart()

    def set_user_speaking(self, speaking: bool) -> None:
        """Tell the streamer whether the user speaks (``start(session)`` follows it by itself)."""
        self._sampler.user_speaking = speaking

    async def capture(self, *, max_size: int = 1536, jpeg_quality: int = 90) -> Capture:
        """Send the latest frame of the followed track now, sharper than the stream.

        The frame is shrunk to ``max_size`` on its longest side (never upscaled) and turned
        upright in the worker thread, then handed to the realtime session once the model's
        frame interval (1 s) has passed since the previous frame: a capture waits for its slot,
        it never bursts, and the stream holds back while one waits. It is counted in ``stats``
        (``frames_sent``, ``captures_sent``, ``capture_tokens``, ``estimated_image_tokens``)
        with the image token rule, see ``Capture.tokens``.

        The realtime session sends what it is handed in order, so anything sent after this
        returns (a tool's response, say) reaches the model after the frame. The google
        ``RealtimeModel`` encodes the frame with its own ``image_encode_options``:
        ``jpeg_quality`` is what ``Capture.jpeg_bytes`` is measured at, and the wire quality
        only where the model's encode options use the same (public API has no per-frame
        quality).

        Raises:
            ValueError: ``max_size`` or ``jpeg_quality`` out of range.
            StreamerClosedError: after ``aclose()``.
            VisionUnavailableError: no frame may be sent now (no video, paused, no realtime
                session, or the frame could not be prepared); the message says which.
        """
        _check_int("max_size", max_size, 16, 4096)
        _check_int("jpeg_quality", jpeg_quality, 1, 100)
        self._check_open()
        called = time.perf_counter()
        self._captures_waiting += 1  # the stream takes no new slot meanwhile
        try:
            async with self._capture_lock:
                await self._sharper_layer(max_size)
                work = await self._prepare_capture(max_size, jpeg_quality)
                waited = self._slot_delay()
                if waited > 0:
                    await asyncio.sleep(waited)
                sink = self._capture_sink()
                start = time.perf_counter()
                sink.push_video(work.prepared.frame)
                handed = time.perf_counter()
                return self._count_capture(
                    work,
                    jpeg_quality,
                    latency_ms=(handed - called) * 1000.0,
                    waited_ms=waited * 1000.0,
                    on_loop_ms=(handed - start) * 1000.0,
                )
        finally:
            self._captures_waiting -= 1
            self._layers.resize(self._options.profile(self._source).max_size)

    def start_track(
        self, track: rtc.Track, sink: VideoSink, *, kind: CaptureSource = "camera"
    ) -> None:
        """Stream one video track into ``sink``, replacing any track streamed so far.

        Must be called from the event loop. The first frame is sent at once. ``kind`` says
        which profile applies (a screen share's, or the camera's).

        Raises:
            StreamerClosedError: after ``aclose()``.
            RuntimeError: the streamer was started on an ``AgentSession``.
        """
        self._check_open()
        if isinstance(self._target, SessionTarget):
            raise RuntimeError("VisionStreamer is already started on an AgentSession")
        self._target = FixedTarget(sink)
        self._consent.follow_track()
        self._consent_changed("participant")
        self._follow(track, kind)

    async def start(
        self,
        session: AgentSession[_U],
        *,
        room: RoomView | None = None,
        participant_identity: str | None = None,
        track: rtc.Track | None = None,
        kind: CaptureSource = "camera",
    ) -> None:
        """Send video to the realtime model of a running ``AgentSession``.

        With ``room`` (an ``rtc.Room``), follows a participant's camera or screen share: the
        participant named by ``participant_identity``, else the one the session's RoomIO is
        linked to, else the first non-agent participant; agent participants (avatars included)
        are never followed. With ``track``, streams that one track (a local camera, say) with
        the profile of ``kind``; a followed track's kind is its publication's source.
        Frames go to ``session.current_agent.realtime_llm_session``, looked up at every frame,
        so a handoff is followed; nothing is prepared while no agent runs. The speaking rate
        follows the session's ``user_state``. Call it after ``session.start()``.

        Raises:
            StreamerClosedError: after ``aclose()``.
            ValueError: neither or both of ``room`` and ``track``.
            RuntimeError: already started, or the session has its own video input (RoomIO
                ``video_input=True``), which would send every frame twice.
        """
        self._check_open()
        if (room is None) == (track is None):
            raise ValueError("start() needs exactly one of room or track")
        if self._target is not None:
            raise RuntimeError("VisionStreamer is already started")
        if session.input.video is not None:
            raise RuntimeError(
                "the AgentSession already has a video input (RoomIO video_input=True?); "
                "leave it off so VisionStreamer is the only one sending frames"
            )
        model = session.llm
        if isinstance(model, llm.RealtimeModel) and model.model != "unknown":
            self._session_model = model.model
        self._target = SessionTarget(session)
        self._sampler.user_speaking = session.user_state == "speaking"
        session.on("user_state_changed", self._on_user_state)
        self._detach.append(partial(session.off, "user_state_changed", self._on_user_state))
        if track is not None:
            self._consent.follow_track()
            self._consent_changed("participant")
            self._follow(track, kind)
        if room is not None:
            self._room = room
            self._identity = participant_identity
            self._linked = partial(_linked_identity, session)
            for event in _ROOM_EVENTS:
                room.on(event, self._on_room_change)
                self._detach.append(partial(room.off, event, self._on_room_change))
            self._reselect()

    async def aclose(self) -> None:
        """Stop everything: listeners, the track reader, the stream and the worker thread.

        Idempotent; a frame in flight is finished by the worker and discarded.
        """
        if self._closed:
            return
        self._closed = True
        for detach in self._detach:
            detach()
        self._detach.clear()
        pump, self._pump = self._pump, None
        try:
            if pump is not None:
                await self._close_pump(pump)
            if self._closing:
                await asyncio.gather(*self._closing)
        finally:  # a second aclose() returns at once: the thread must stop on this one
            if self._worker is not None:
                await self._worker.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- following tracks --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StreamerClosedError("VisionStreamer is closed")

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        self._sampler.user_speaking = event.new_state == "speaking"

    def _on_room_change(self, *_args: object) -> None:
        self._reselect()

    def _reselect(self) -> None:
        """Follow the preferred live video track of the followed participant, or none."""
        if self._closed or self._room is None:
            return
        identity = self._identity
        if identity is None and self._linked is not None:
            identity = self._linked()
        participants = self._room.remote_participants.values()
        followed = choose_followed(participants, identity=identity, preference=self._options.source)
        participant = followed.participant if followed is not None else None
        other = self._consent.follow(
            participant.identity if participant is not None else None,
            participant.attributes if participant is not None else None,
        )
        self._consent_changed("participant" if other else "attribute")
        track = followed.track if followed is not None else None
        if track is not self.current_track:  # a re-subscribed track is a new object: follow it
            self._follow(track, followed.kind if followed is not None else "camera")
        # a simulcast publication sends the smallest layer that covers the frames sent
        self._layers.follow(
            publication_of(participants, track), self._options.profile(self._source).max_size
        )

    def _follow(self, track: rtc.Track | None, kind: CaptureSource) -> None:
        """Switch to ``track`` (or to nothing): close the old reader, start a new one.

        The profile of the track's ``kind`` applies from its first frame.
        """
        if kind != self._source:
            self._source = kind
            self._bytes_per_pixel = None
            self._apply_profile()
        old, self._pump = self._pump, None
        self._generation += 1
        self._latest = None
        if old is not None:
            closing = asyncio.create_task(self._close_pump(old), name="medvision-vision-close")
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if track is None:
            return
        if self._worker is None:
            self._worker = FrameWorker(asyncio.get_running_loop(), name="medvision-vision")
        self._sampler.restart()
        # I420 whatever the decoder produced (NV12, native buffers): what the worker reads
        stream = rtc.VideoStream(track, capacity=1, format=rtc.VideoBufferType.I420)
        task = asyncio.create_task(
            self._read(stream, self._generation), name="medvision-vision-read"
        )
        self._pump = _Pump(track=track, stream=stream, task=task)

    async def _close_pump(self, pump: _Pump) -> None:
        """Stop one track's reader, then close its stream; a failure to close is logged only.

        The reader goes first: a reader blocked in ``async for`` is never woken by the stream's
        end. A stream that fails to close must neither keep ``aclose()`` from stopping the
        worker thread nor leave a failed background task that nobody awaits.
        """
        await utils.aio.cancel_and_wait(pump.task)
        if not pump.task.cancelled():
            pump.task.exception()  # already logged by the reader; retrieved so asyncio is quiet
        try:
            await pump.stream.aclose()
        except Exception:
            logger.warning(
                "closing a video stream failed; it is left to the rtc SDK", exc_info=True
            )

    @utils.log_exceptions(logger=logger)
    async def _read(self, stream: rtc.VideoStream, generation: int) -> None:
        async for event in stream:
            self._on_frame(event, generation)
            self._notify()

    # -- one frame ---------------------------------------------------------------------------

    def _on_frame(self, event: rtc.VideoFrameEvent, generation: int) -> None:
        """On the loop, for every frame received: cheap checks, then maybe hand it over."""
        stats = self._stats
        stats.frames_received += 1
        if self._paused:
            return
        if not self._consent.allows:
            stats.frames_withheld_consent += 1
            return
        frame = event.frame
        problem = frame_problem(frame)
        if problem is not None:
            stats.frames_rejected_invalid += 1
            self._log_once(problem, "video frame rejected: %s", problem)
            return
        rotation = rotation_of(event.rotation)
        self._latest = (frame, rotation)
        self._frame_arrived.set()
        if self._captures_waiting or (
            self._hold_until is not None and self._clock() < self._hold_until
        ):
            return  # a capture has, or just had, the slot
        if not self._sampler.due() or self._sink() is None:
            return
        stats.frames_sampled += 1
        worker = self._worker
        if worker is None or worker.busy:
            stats.frames_dropped_busy += 1
            return
        force = self._sampler.take(rotation)
        profile = self._options.profile(self._source)
        measure = self._options.jpeg_quality if self._needs_calibration() else None
        job = partial(
            _work,
            frame,
            rotation,
            max_size=profile.max_size,
            reference=self._sampler.reference,
            change_threshold=profile.change_threshold,
            detector=profile.detector,
            force=force,
            measure_quality=measure,
        )
        if not worker.submit(job, partial(self._on_worked, generation)):
            stats.frames_dropped_busy += 1  # refused (closing): counted, never lost silently

    def _on_worked(self, generation: int, result: _Work | Exception, worker_ms: float) -> None:
        """On the loop, when the worker is done with a frame: push it or count why not."""
        self._deliver(generation, result, worker_ms)
        self._notify()

    def _deliver(self, generation: int, result: _Work | Exception, worker_ms: float) -> None:
        stats = self._stats
        stats.add_worker_time(worker_ms)
        if self._closed or generation != self._generation:
            stats.frames_discarded += 1  # the track it came from is gone
            return
        if isinstance(result, Exception):
            stats.worker_errors += 1
            kind = str(result) if isinstance(result, JobAborted) else type(result).__name__
            self._log_once(
                f"worker:{kind}", "video frame preparation failed (%s); streaming goes on", kind
            )
            return
        outcome = result.outcome
        if isinstance(outcome, Skipped):
            stats.frames_skipped_unchanged += 1
            return
        sink = self._sink()
        if self._paused or sink is None or not self._consent.allows:
            stats.frames_discarded += 1
            return
        start = time.perf_counter()
        try:
            sink.push_video(outcome.frame)
        except Exception as error:
            stats.sink_errors += 1
            self._log_once(
                f"sink:{type(error).__name__}",
                "video sink refused a frame (%s)",
                type(error).__name__,
            )
            return
        stats.add_on_loop_time((time.perf_counter() - start) * 1000.0)
        self._last_push = self._clock()
        self._count_sent(outcome.frame, outcome.thumbnail, result.jpeg_bytes, result.rotation)

    def _count_sent(
        self,
        frame: rtc.VideoFrame,
        thumbnail: Thumbnail,
        jpeg: int | None,
        rotation: rtc.VideoRotation.ValueType,
    ) -> None:
        stats, opts = self._stats, self._options
        self._sampler.record_sent(thumbnail, rotation)
        pixels = frame.width * frame.height
        if jpeg is not None:
            self._bytes_per_pixel = jpeg / pixels
        stats.frames_sent += 1
        stats.bytes_sent += pixels * (self._bytes_per_pixel or 0.0)
        stats.last_sent_size = (frame.width, frame.height)
        stats.estimated_image_tokens += estimate_image_tokens(
            frame.width,
            frame.height,
            model=self._token_model(),
            media_resolution=opts.media_resolution,
            kind="video_frame",
        )

    def _consent_changed(self, reason: ConsentReason) -> None:
        """Emit ``consent_changed`` if the state moved; forget frames seen before a withdrawal."""
        state = self._consent.state
        if state == self._stats.consent:
            return
        was_allowed = self._stats.consent in ("not_required", "granted")
        self._stats.consent = state
        if self._consent.allows:
            self._sampler.restart()  # the first frame after consent goes at once
        elif was_allowed:
            self._latest = None
        logger.info("video consent: %s (%s)", state, reason)
        try:
            self.emit("consent_changed", ConsentChangedEvent(state, reason))
        except Exception as error:
            self._log_once(
                f"listener:{type(error).__name__}",
                "a consent_changed listener failed (%s); streaming goes on",
                type(error).__name__,
            )
        self._notify()

    def _apply_profile(self) -> None:
        """Rate and keep-alive of the followed kind of track, for the next frame."""
        profile = self._options.profile(self._source)
        self._sampler.configure(
            fps=profile.fps, silent_fps=profile.silent_fps, keepalive_s=profile.keepalive_s
        )

    # -- captures -------------------------------------------------------------------------------

    def _capture_sink(self) -> VideoSink:
        """The sink a capture may be pushed into now, or ``VisionUnavailableError`` saying why."""
        self._check_open()
        if not self._consent.allows:
            raise VisionUnavailableError("the patient has not consented to video analysis")
        if self._paused:
            raise VisionUnavailableError("video is paused")
        sink = self._sink()
        if sink is None:
            raise VisionUnavailableError("no realtime session is running")
        return sink

    async def _sharper_layer(self, max_size: int) -> None:
        """On a simulcast track, ask for the layer a capture needs and wait for its first frame.

        The stream's layer covers the stream's ``max_size`` only (half the camera's size, say);
        a capture asks for a larger one, waits up to ``_LAYER_WAIT_S`` for a frame that big,
        and goes with what it has if none comes. The stream's layer is asked for again after.
        """
        full = self._layers.full_long_side()
        if not full:
            return
        self._layers.resize(max_size)
        needed = min(full, max_size)
        try:
            async with asyncio.timeout(_LAYER_WAIT_S):
                while (latest := self._latest_frame()) is None or max(
                    latest[0].width, latest[0].height
                ) < needed:
                    self._frame_arrived.clear()
                    await self._frame_arrived.wait()
        except TimeoutError:
            self._log_once("layer", "no sharper simulcast layer arrived in time; capturing as is")

    async def _prepare_capture(self, max_size: int, jpeg_quality: int) -> CaptureWork:
        """Wait for the worker, then have it prepare the latest frame at the capture's size."""
        self._capture_sink()
        worker = self._worker
        if worker is None or self._pump is None or self._latest is None:
            raise VisionUnavailableError("no video track is being received")
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[CaptureWork | Exception] = loop.create_future()

        def done(result: CaptureWork | Exception, worker_ms: float) -> None:
            self._stats.add_worker_time(worker_ms)
            if not outcome.done():
                outcome.set_result(result)

        try:
            async with asyncio.timeout(_CAPTURE_TIMEOUT_S):
                await worker.wait_idle()
                latest = self._latest_frame()  # the freshest, read once the worker is free
                if latest is None or not worker.submit(
                    partial(
                        prepare_capture,
                        *latest,
                        max_size=max_size,
                        jpeg_quality=jpeg_quality,
                    ),
                    done,
                ):
                    raise VisionUnavailableError("the video worker is not available")
                result = await outcome
        except TimeoutError:
            raise VisionUnavailableError("the frame took too long to prepare") from None
        if isinstance(result, Exception):
            self._stats.frames_sampled += 1
            self._stats.worker_errors += 1
            raise VisionUnavailableError("the frame could not be prepared") from result
        return result

    def _latest_frame(self) -> tuple[rtc.VideoFrame, rtc.VideoRotation.ValueType] | None:
        """The last well-formed frame received from the followed track (none after a switch)."""
        return self._latest

    def _slot_delay(self) -> float:
        """Seconds until the model's frame interval has passed since the last frame sent."""
        if self._last_push is None:
            return 0.0
        return max(0.0, self._last_push + self._frame_interval() - self._clock())

    def _frame_interval(self) -> float:
        """The shortest time between two frames: Gemini's 1 s unless the options lift it."""
        opts = self._options
        if not opts.allow_above_1fps:
            return _GEMINI_FRAME_INTERVAL_S
        return 1.0 / max(opts.fps, opts.silent_fps, 1.0)

    def _count_capture(
        self,
        work: CaptureWork,
        jpeg_quality: int,
        *,
        latency_ms: float,
        waited_ms: float,
        on_loop_ms: float,
    ) -> Capture:
        frame = work.prepared.frame
        now = self._clock()
        self._last_push = now
        self._hold_until = now + self._frame_interval()
        self._sampler.record_sent(work.prepared.thumbnail, work.rotation)
        tokens = estimate_image_tokens(
            frame.width,
            frame.height,
            model=self._token_model(),
            media_resolution=self._options.media_resolution,
            kind="image",
        )
        stats = self._stats
        stats.frames_sampled += 1  # a capture is a sample outside the schedule, and sent
        stats.frames_sent += 1
        stats.captures_sent += 1
        stats.capture_tokens += tokens
        stats.estimated_image_tokens += tokens
        stats.bytes_sent += work.jpeg_bytes
        stats.last_sent_size = (frame.width, frame.height)
        stats.add_on_loop_time(on_loop_ms)
        self._notify()
        return Capture(
            width=frame.width,
            height=frame.height,
            jpeg_bytes=work.jpeg_bytes,
            jpeg_quality=jpeg_quality,
            tokens=tokens,
            source=self._source,
            sent_at=time.time(),
            latency_ms=latency_ms,
            waited_ms=waited_ms,
            on_loop_ms=on_loop_ms,
        )

    def _token_model(self) -> str:
        return self._options.model or self._session_model or DEFAULT_MODEL

    def _sink(self) -> VideoSink | None:
        """The sink to push into now; says so (log and event) when it goes away and comes back.

        Nothing is prepared while there is none, so frames are held, not queued: the next
        session gets a fresh frame at once.
        """
        sink = self._target.resolve() if self._target is not None else None
        if isinstance(sink, GatedVideoSink) and not sink.accepting_video:
            sink = None
        if sink is None and self._had_sink and not self._sink_lost:
            self._sink_lost = True
            logger.warning("the realtime session went away; video waits for the next one")
            self._emit_safely("session_lost")
        elif sink is not None and self._sink_lost:
            self._sink_lost = False
            self._sampler.restart()
            logger.info("video resumes on a new realtime session")
            self._emit_safely("session_resumed")
        self._had_sink = self._had_sink or sink is not None
        return sink

    def _needs_calibration(self) -> bool:
        return self._bytes_per_pixel is None or self._stats.frames_sent % _CALIBRATE_EVERY == 0

    def _notify(self) -> None:
        """Emit ``stats_updated``, so that a failing listener cannot stop the video."""
        self._emit_safely("stats_updated")

    def _emit_safely(self, event: VisionEventTypes) -> None:
        """Emit ``event`` so that a failing listener cannot stop the video.

        The emitter logs a listener's exceptions except ``TypeError``, which it re-raises: out
        of the reader, that would end the stream of the track.
        """
        try:
            self.emit(event)
        except Exception as error:
            self._log_once(
                f"listener:{type(error).__name__}",
                "a %s listener failed (%s); streaming goes on",
                event,
                type(error).__name__,
            )

    def _log_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            logger.warning(message, *args)


def _work(
    frame: rtc.VideoFrame,
    rotation: rtc.VideoRotation.ValueType,
    *,
    max_size: int,
    reference: Thumbnail | None,
    change_threshold: float,
    detector: ChangeDetector,
    force: bool,
    measure_quality: int | None,
) -> _Work:
    """In the worker thread: prepare one frame, and measure its JPEG size when asked."""
    outcome = prepare_frame(
        frame,
        rotation,
        max_size=max_size,
        reference=reference,
        change_threshold=change_threshold,
        force=force,
        detector=detector,
    )
    jpeg = None
    if measure_quality is not None and isinstance(outcome, Prepared):
        jpeg = jpeg_size(outcome.frame, measure_quality)
    return _Work(outcome, jpeg, rotation)


def _linked_identity(session: AgentSession[_U]) -> str | None:
    """The identity of the participant the session's RoomIO is linked to, if any."""
    with contextlib.suppress(RuntimeError):  # the session was started without a room
        linked = session.room_io.linked_participant
        return linked.identity if linked is not None else None
    return None


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an int within [{low}, {high}], got {value!r}")
