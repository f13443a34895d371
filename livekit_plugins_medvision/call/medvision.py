"""``MedVision.start``: one call's vision, patient context and cost, wired in order, closed as one.

A LiveKit job runs its shutdown callbacks concurrently (``asyncio.gather`` in livekit-agents
1.8.9), so parts that each registered their own would race: the pool could close under the
ledger write. ``MedVision`` registers one callback that closes the parts in order: the
streamer, the session, the ledger row, the tracker, then the pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Generic, Protocol, TypeVar

from livekit import rtc
from livekit.agents import Agent, AgentSession, room_io
from livekit.agents.utils import images
from livekit.plugins import google
from livekit.protocol import agent as agent_proto

from ..continuity import CallEndedEvent, SupervisedRealtimeModel
from ..costs import Budget, CostReport, CostTracker
from ..errors import CostLedgerError, PatientContextError
from ..log import logger
from ..patients import (
    Language,
    PatientContext,
    PatientContextProvider,
    render_patient_context,
    resolve_patient_id,
)
from ..privacy import hash_patient_id
from ..vision import VisionStreamer

__all__ = ["CallContext", "MedVision"]

_U = TypeVar("_U")  # the session's user data, which MedVision never reads

_ShutdownCallback = (
    Callable[[], Coroutine[None, None, None]] | Callable[[str], Coroutine[None, None, None]]
)


class CallContext(Protocol):
    """What ``MedVision.start`` reads of a LiveKit ``JobContext`` (which satisfies it)."""

    @property
    def room(self) -> rtc.Room:
        """The job's room."""
        ...

    @property
    def job(self) -> agent_proto.Job:
        """The job: its id and dispatch metadata."""
        ...

    def add_shutdown_callback(self, callback: _ShutdownCallback) -> None:
        """Run ``callback`` when the job shuts down."""
        ...

    def shutdown(self, reason: str = "") -> None:
        """End the job: its shutdown callbacks run."""
        ...


class MedVision(Generic[_U]):
    """One call's ``VisionStreamer``, ``CostTracker`` and patient context, closed as one.

    Make it with ``await MedVision.start(ctx, session, agent)`` in place of
    ``await session.start(agent, room=ctx.room)``. The parts stay usable on their own; this is
    the order that works, in one call.
    """

    def __init__(
        self,
        *,
        session: AgentSession[_U],
        streamer: VisionStreamer,
        tracker: CostTracker,
        provider: PatientContextProvider | None,
        owns_provider: bool,
        context: PatientContext | None,
        patient_hash: str | None,
        job_id: str,
        room_name: str | None,
    ) -> None:
        self.session = session
        """The ``AgentSession`` the parts are wired to."""
        self.streamer = streamer
        """The ``VisionStreamer`` sending the patient's camera."""
        self.tracker = tracker
        """The ``CostTracker`` pricing the session."""
        self.provider = provider
        """The ``PatientContextProvider``, or ``None`` without a patient database."""
        self.context = context
        """The patient's context, or ``None`` (no id, unknown patient, database unavailable)."""
        self.patient_hash = patient_hash
        """The keyed hash of the patient id, the only form of it that is logged or stored."""
        self.ledger_row: int | None = None
        """The id of the cost ledger row written at the end, once written."""
        self._owns_provider = owns_provider
        self._job_id = job_id
        self._room_name = room_name
        self._closed = False

    @staticmethod
    def image_encode_options(*, jpeg_quality: int = 75) -> images.EncodeOptions:
        """The ``RealtimeModel(image_encode_options=...)`` the streamer needs.

        Frames reach the model already at their final size, so the plugin must not resize them
        again on the event loop (it would, up to 1024 px, with its default options).
        """
        return VisionStreamer(jpeg_quality=jpeg_quality).image_encode_options()

    @classmethod
    async def start(
        cls,
        ctx: CallContext,
        session: AgentSession[_U],
        agent: Agent,
        *,
        database_url: str | None = None,
        provider: PatientContextProvider | None = None,
        patient_id: str | None = None,
        streamer: VisionStreamer | None = None,
        track: rtc.Track | None = None,
        budget: Budget | None = None,
        language: Language = "pt-BR",
        room_options: room_io.RoomOptions | None = None,
        record: bool = False,
    ) -> MedVision[_U]:
        """Start ``session`` with ``agent`` in the job's room, seeing, patient-aware, priced.

        In order: the patient database (one pool, and at once the single shutdown callback
        that closes everything in order), the patient's record fenced into ``agent``'s
        instructions, the ``CostTracker`` on the session and the streamer, the session
        (recording off, RoomIO video off: the streamer owns video), then the streamer on the
        patient's camera. A part that fails degrades the call (one warning, hashed ids at
        most); the agent still talks.

        Args:
            ctx: The job's context (``JobContext``).
            session: An ``AgentSession`` on a google ``RealtimeModel`` built with
                ``image_encode_options=MedVision.image_encode_options()``, or on
                ``CallSupervisor(model).model`` (then attached here, and its ``call_ended``
                ends the job: ``ctx.shutdown``); not started yet.
            agent: The agent to start; the patient's record is appended to its instructions.
            database_url: PostgreSQL DSN of the patient database; default ``DATABASE_URL``.
                Neither set: the agent talks without a record.
            provider: A provider you own instead (not closed here); wins over the URL.
            patient_id: The patient's id; default the ``"patient_id"`` of the job's dispatch
                metadata (set by the clinic's backend, which nobody in the room can change).
            streamer: A ``VisionStreamer`` of your own options; default ``VisionStreamer()``.
            track: Stream this one video track (a local camera) instead of following the
                patient's camera in the room.
            budget: Per-call spending limits that act on the video; ``None`` for none.
            language: Language of the record's section of the prompt (``"pt-BR"``, ``"en"``).
            room_options: RoomIO options; ``video_input`` is always turned off.
            record: Whether LiveKit records the session (health data: off by default).

        Raises:
            ValueError: ``session`` does not run on a google ``RealtimeModel``.
        """
        model = session.llm
        supervised = model if isinstance(model, SupervisedRealtimeModel) else None
        if supervised is not None:  # CallSupervisor(google model).model
            model = supervised.inner
        if not isinstance(model, google.realtime.RealtimeModel):
            raise ValueError(
                "MedVision.start needs an AgentSession on google.realtime.RealtimeModel "
                "(Gemini Live); build it with image_encode_options=MedVision.image_encode_options()"
            )
        owns_provider = provider is None
        if provider is None:
            provider = await _connect(database_url or os.environ.get("DATABASE_URL"))
        streamer = VisionStreamer() if streamer is None else streamer
        tracker = CostTracker(model.model, budget=budget)
        if patient_id is None:  # dispatch metadata only: nobody in the room can change it
            dispatched = resolve_patient_id(job_metadata=ctx.job.metadata)
            patient_id = None if dispatched is None else dispatched.patient_id
        patient_hash = None if patient_id is None else hash_patient_id(patient_id)
        call = cls(
            session=session,
            streamer=streamer,
            tracker=tracker,
            provider=provider,
            owns_provider=owns_provider,
            context=None,
            patient_hash=patient_hash,
            job_id=ctx.job.id,
            room_name=ctx.room.name or None,
        )
        ctx.add_shutdown_callback(call.aclose)  # the only one: it closes the parts in order
        call.context = await call._load_context(patient_id)
        record_section = render_patient_context(call.context, language=language)
        await agent.update_instructions(f"{agent.instructions}\n\n{record_section}")
        tracker.attach(session)
        tracker.attach_vision(streamer)
        if supervised is not None:
            supervised.supervisor.attach(session)  # before start: a close during it is seen

            def end_job(event: CallEndedEvent) -> None:
                if not call._closed:  # not the close the job's own shutdown makes
                    ctx.shutdown(reason=f"call ended: {event.reason}")

            supervised.supervisor.on("call_ended", end_job)
        # the streamer owns video: no frame is sent twice
        options = replace(room_options or room_io.RoomOptions(), video_input=False)
        await session.start(agent, room=ctx.room, room_options=options, record=record)
        if track is None:
            await streamer.start(session, room=ctx.room)
        else:
            await streamer.start(session, track=track)
        return call

    def report(self) -> CostReport:
        """The call's cost so far (or, after ``aclose``, in full)."""
        return self.tracker.report()

    async def aclose(self) -> None:
        """Close the parts in order: streamer, session, ledger row, tracker, then the pool.

        The one shutdown callback ``start`` registers. Each step runs even if one before it
        failed; a ledger row that cannot be written is logged, never raised. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await self.streamer.aclose()
            await self.session.aclose()  # also ends the tracker's session time
            self.tracker.log_summary(patient_hash=self.patient_hash)
            if self.provider is not None:
                try:
                    self.ledger_row = await self.tracker.write_ledger(
                        self.provider.pool,
                        job_id=self._job_id,
                        room_name=self._room_name,
                        patient_hash=self.patient_hash,
                    )
                except CostLedgerError as exc:
                    logger.warning("cost ledger row not written (%s)", type(exc).__name__)
            await self.tracker.aclose()
        finally:
            if self.provider is not None and self._owns_provider:
                await self.provider.aclose()

    async def _load_context(self, patient_id: str | None) -> PatientContext | None:
        extra = {"medvision_patient_hash": self.patient_hash}
        if patient_id is None:
            logger.warning("no patient id in the dispatch metadata: talking without a record")
            return None
        if self.provider is None:
            logger.warning("no patient database: talking without a record", extra=extra)
            return None
        try:
            context = await self.provider.get_patient_context(
                patient_id, job_id=self._job_id, room_name=self._room_name
            )
        except (ValueError, PatientContextError) as exc:
            logger.warning(
                "patient record unavailable (%s): talking without it",
                type(exc).__name__,
                extra=extra,
            )
            return None
        if context is None:
            logger.warning("no record for the patient: talking without one", extra=extra)
        return context


async def _connect(database_url: str | None) -> PatientContextProvider | None:
    if not database_url:
        logger.warning("no patient database (DATABASE_URL unset): talking without a record")
        return None
    try:
        return await PatientContextProvider.connect(database_url)
    except PatientContextError as exc:
        logger.warning("patient database unreachable (%s): no record", type(exc).__name__)
    except ValueError:  # a malformed URL; the message never quotes it (it may hold a password)
        logger.warning("DATABASE_URL is malformed: no record")
    return None
