"""CallSupervisor: a call that goes on when its Gemini Live connection dies."""

from __future__ import annotations

from typing import Any, TypeVar

from livekit.agents import AgentSession, CloseEvent, CloseReason, llm, utils

from ..log import logger
from .events import (
    CallEndedEvent,
    CallEndReason,
    SessionLostEvent,
    SessionRestoredEvent,
    SupervisorEventTypes,
)
from .policy import ReconnectPolicy
from .session import Outage, SupervisedRealtimeModel, _Hooks

__all__ = ["DEFAULT_NOTICE", "CallSupervisor"]

_U = TypeVar("_U")

DEFAULT_NOTICE = (
    "The line to the patient dropped for a moment and is back now. Tell them so in one short, "
    "calm sentence, ask them to repeat anything they said meanwhile, then carry on."
)
"""The instructions of the reply that tells the patient the line is back."""


class CallSupervisor(utils.EventEmitter[SupervisorEventTypes]):
    """Keeps a call going through a lost Gemini Live connection, for a bounded time.

    Give the ``AgentSession`` ``supervisor.model`` (the realtime model, wrapped) and call
    ``attach(session)`` before starting it. When the plugin gives up on a connection, the
    session is kept open, new connections are tried with the policy's backoff, and the first
    one that connects carries on with the conversation so far; the patient is told once that the
    line dropped and is back. If none connects within ``policy.max_outage_s`` the AgentSession
    closes as it would have without a supervisor, and ``call_ended`` says why, so the application
    can end the job (and write its one ledger row).

    Events (each with a frozen dataclass): ``"session_lost"`` (``SessionLostEvent``),
    ``"session_restored"`` (``SessionRestoredEvent``), ``"call_ended"`` (``CallEndedEvent``).

    Example:
        ```python
        supervisor = CallSupervisor(google.realtime.RealtimeModel(...))
        session = AgentSession[None](llm=supervisor.model)
        supervisor.attach(session)
        supervisor.on("call_ended", lambda _: ctx.shutdown("call ended"))
        await session.start(agent, room=ctx.room)
        ```
    """

    def __init__(
        self,
        model: llm.RealtimeModel,
        *,
        policy: ReconnectPolicy | None = None,
        notice: str | None = DEFAULT_NOTICE,
    ) -> None:
        """Wrap ``model``; nothing runs until the AgentSession opens a session of it.

        Args:
            model: The realtime model (LiveKit's Google ``RealtimeModel``, say).
            policy: Backoff and bound; by default 60 s, with delays from 0.25 s to 2 s.
            notice: Instructions for the reply that tells the patient the line is back (say,
                in the agent's language); ``None`` to say nothing.

        Raises:
            ValueError: ``model`` is not a ``RealtimeModel``, or is already supervised.
        """
        super().__init__()
        if not isinstance(model, llm.RealtimeModel):
            raise ValueError(f"model must be a RealtimeModel, not a {type(model).__name__}")
        if isinstance(model, SupervisedRealtimeModel):
            raise ValueError("model is already supervised")
        if policy is not None and not isinstance(policy, ReconnectPolicy):
            raise ValueError("policy must be a ReconnectPolicy")
        if notice is not None and not str(notice).strip():
            raise ValueError("notice must be a non-empty string or None")
        self._policy = policy if policy is not None else ReconnectPolicy()
        self._notice = notice
        self._model = SupervisedRealtimeModel(
            model,
            _Hooks(
                policy=self._policy,
                history=self._history,
                lost=self._on_lost,
                restored=self._on_restored,
                gave_up=self._on_gave_up,
            ),
            self,
        )
        # AgentSession's type parameter is its user data, which the supervisor never reads.
        self._session: AgentSession[Any] | None = None
        self._outages: list[Outage] = []
        self._gave_up: Outage | None = None
        self._ended: CallEndedEvent | None = None

    @property
    def model(self) -> SupervisedRealtimeModel:
        """The wrapped model: give it to the ``AgentSession`` as its ``llm``."""
        return self._model

    @property
    def policy(self) -> ReconnectPolicy:
        """The backoff and bound."""
        return self._policy

    @property
    def outages(self) -> tuple[Outage, ...]:
        """Every outage of the call so far, the current one last."""
        return tuple(self._outages)

    @property
    def ended(self) -> CallEndedEvent | None:
        """How the call ended, or ``None`` while it goes on."""
        return self._ended

    def attach(self, session: AgentSession[_U]) -> None:
        """Follow ``session``: its history seeds new connections, its close ends the call.

        Raises:
            RuntimeError: already attached.
        """
        if self._session is not None:
            raise RuntimeError("CallSupervisor is already attached to a session")
        self._session = session
        session.on("close", self._on_close)

    def detach(self) -> None:
        """Stop following the session (reconnecting goes on; nobody is told)."""
        if self._session is not None:
            self._session.off("close", self._on_close)
            self._session = None

    # -- from the supervised sessions -------------------------------------------------------

    def _history(self) -> llm.ChatContext | None:
        """The conversation as the agent knows it: what the patient said and heard."""
        if self._session is None:
            return None
        try:
            return self._session.current_agent.chat_ctx
        except RuntimeError:  # no agent running
            return None

    def _on_lost(self, outage: Outage) -> None:
        self._outages.append(outage)
        event = SessionLostEvent(error_type=outage.error_type, outage=len(self._outages))
        self.emit("session_lost", event)

    def _on_restored(self, outage: Outage) -> None:
        assert outage.seconds is not None
        self.emit(
            "session_restored",
            SessionRestoredEvent(
                outage=self._outages.index(outage) + 1,
                outage_s=outage.seconds,
                attempts=outage.attempts,
                audio_frames_dropped=outage.audio_frames_dropped,
                video_frames_dropped=outage.video_frames_dropped,
            ),
        )
        if self._notice is None or self._session is None:
            return
        try:
            _ = self._session.generate_reply(instructions=self._notice)
        except RuntimeError:  # the session closed meanwhile
            logger.info("the patient was not told the line is back: the session is closing")

    def _on_gave_up(self, outage: Outage) -> None:
        self._gave_up = outage
        if self._session is None:
            self._end("outage_too_long")
        # attached: the AgentSession closes on the error that follows, and _on_close ends it

    def _on_close(self, event: CloseEvent) -> None:
        self.detach()
        reason: CallEndReason = "closed"
        if self._gave_up is not None:
            reason = "outage_too_long"
        elif event.reason == CloseReason.ERROR:
            reason = "model_error"
        self._end(reason)

    def _end(self, reason: CallEndReason) -> None:
        if self._ended is not None:
            return
        outage = self._gave_up.seconds if self._gave_up is not None else None
        self._ended = CallEndedEvent(reason=reason, outages=len(self._outages), outage_s=outage)
        self.emit("call_ended", self._ended)
