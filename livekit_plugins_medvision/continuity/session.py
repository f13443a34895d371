"""A RealtimeModel whose sessions outlive a lost connection: they reconnect with a new session.

livekit-plugins-google 1.8.9 retries a dropped Gemini Live connection once, 0.1 s later; if that
connect fails (the network is still down), it emits an unrecoverable ``error`` and stops, and
``AgentSession`` closes on the first unrecoverable realtime error: the call is over. The
``SupervisedRealtimeSession`` here sits between the two. It turns that error into a recoverable
one (so the AgentSession, its room I/O and every listener stay up), then opens new sessions of
the wrapped model with backoff, each primed with the instructions, tools and the conversation
so far, until one connects or the policy's bound passes. Past the bound it emits the
unrecoverable error itself (a ``RealtimeUnavailableError``), and the AgentSession closes as it
would have.

Built on public API only: ``llm.RealtimeModel`` and ``llm.RealtimeSession`` (the interface every
realtime plugin implements), their ``error`` and ``metrics_collected`` events, and
``update_instructions``/``update_chat_ctx``/``update_tools``/``update_options`` to prime a new
session. A new session counts as connected when it emits its first metrics: the plugins report
their connect time that way, once the service has acknowledged the setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Never

from livekit import rtc
from livekit.agents import llm
from livekit.agents.llm.realtime import EventTypes, RealtimeSessionReconnectedEvent
from livekit.agents.metrics import RealtimeModelMetrics
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given
from websockets.exceptions import InvalidStatus

from ..errors import RealtimeUnavailableError
from ..log import logger
from ..retry import TRANSIENT_STATUS_CODES, is_transient
from .policy import ReconnectPolicy

if TYPE_CHECKING:
    from .supervisor import CallSupervisor

__all__ = ["Outage", "SupervisedRealtimeModel", "SupervisedRealtimeSession"]

# every event of the interface but "error", which the supervised session decides on
_FORWARDED: tuple[EventTypes, ...] = (
    "input_speech_started",
    "input_speech_stopped",
    "input_audio_transcription_completed",
    "generation_created",
    "session_reconnected",
    "metrics_collected",
    "remote_item_added",
)

# A plugin's session: the interface is generic in its extra events, which a wrapper never reads.
_Child = llm.RealtimeSession[Any]


@dataclass
class Outage:
    """One period without a model session, as the supervised session saw it."""

    number: int
    """1 for the session's first outage, 2 for the second, ..."""
    error_type: str
    """The type of the error that started it."""
    started_at: float
    """``time.monotonic()`` at the loss."""
    ended_at: float | None = None
    """``time.monotonic()`` at the new session's setup, or when the call gave up."""
    attempts: int = 0
    """Connections tried so far."""
    restored: bool = False
    """Whether a new session connected."""
    audio_frames_dropped: int = 0
    """Microphone frames that arrived meanwhile (not sent anywhere)."""
    video_frames_dropped: int = 0
    """Video frames pushed meanwhile (not sent anywhere)."""

    @property
    def seconds(self) -> float | None:
        """How long it lasted, or ``None`` while it goes on."""
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class _Hooks:
    """What a supervised session reports to, and asks of, its supervisor."""

    policy: ReconnectPolicy
    history: Callable[[], llm.ChatContext | None]
    lost: Callable[[Outage], None]
    restored: Callable[[Outage], None]
    gave_up: Callable[[Outage], None]


class SupervisedRealtimeModel(llm.RealtimeModel):
    """Wraps a ``RealtimeModel`` so its sessions reconnect after a lost connection.

    Made by ``CallSupervisor``; give ``supervisor.model`` to the ``AgentSession``.
    """

    def __init__(self, model: llm.RealtimeModel, hooks: _Hooks, supervisor: CallSupervisor) -> None:
        super().__init__(capabilities=model.capabilities)
        self._inner = model
        self._hooks = hooks
        self._supervisor = supervisor

    @property
    def inner(self) -> llm.RealtimeModel:
        """The wrapped model."""
        return self._inner

    @property
    def supervisor(self) -> CallSupervisor:
        """The ``CallSupervisor`` that made this model (found from ``session.llm``)."""
        return self._supervisor

    @property
    def model(self) -> str:
        """The wrapped model's name (the VisionStreamer and CostTracker read it)."""
        return self._inner.model

    @property
    def provider(self) -> str:
        """The wrapped model's provider."""
        return self._inner.provider

    @property
    def metrics_metadata(self) -> llm.chat_context.MetricsMetadata:
        """The wrapped model's metrics labels."""
        return self._inner.metrics_metadata

    def session(self, *, turn_detection_disabled: bool = False) -> SupervisedRealtimeSession:
        """Open a supervised session of the wrapped model."""
        return SupervisedRealtimeSession(
            self, turn_detection_disabled=turn_detection_disabled, hooks=self._hooks
        )

    async def aclose(self) -> None:
        """Close the wrapped model."""
        await self._inner.aclose()


class SupervisedRealtimeSession(llm.RealtimeSession[Never]):
    """A realtime session that replaces its connection when the plugin gives up on it.

    Everything is delegated to the current session of the wrapped model. While there is none
    (an outage), audio and video are dropped and counted, ``generate_reply`` fails at once with
    ``llm.RealtimeError``, and ``accepting_video`` is ``False`` so a ``VisionStreamer`` holds
    its frames.
    """

    def __init__(
        self,
        model: SupervisedRealtimeModel,
        *,
        turn_detection_disabled: bool,
        hooks: _Hooks,
    ) -> None:
        super().__init__(model)
        self._supervised = model
        self._turn_detection_disabled = turn_detection_disabled
        self._hooks = hooks
        self._instructions: NotGivenOr[str] = NOT_GIVEN
        self._tools: NotGivenOr[list[llm.Tool]] = NOT_GIVEN
        self._tool_choice: NotGivenOr[llm.ToolChoice | None] = NOT_GIVEN
        self._chat_ctx: llm.ChatContext | None = None
        self._connected_once = False
        self._closed = False
        self._outage: Outage | None = None
        self._outages: list[Outage] = []
        self._recovery: asyncio.Task[None] | None = None
        self._forwarders = {event: self._forwarder(event) for event in _FORWARDED}
        self._child: _Child = self._open_child()
        self._child.on("error", self._on_child_error)

    # -- what the supervisor and the VisionStreamer read ---------------------------------------

    @property
    def accepting_video(self) -> bool:
        """Whether a frame pushed now can reach the model (``False`` during an outage)."""
        return self._outage is None and not self._closed

    @property
    def outages(self) -> tuple[Outage, ...]:
        """Every outage so far, the current one last."""
        return tuple(self._outages)

    # -- the RealtimeSession interface, delegated --------------------------------------------

    @property
    def chat_ctx(self) -> llm.ChatContext:
        """The current session's chat context."""
        return self._child.chat_ctx

    @property
    def tools(self) -> llm.ToolContext:
        """The current session's tools."""
        return self._child.tools

    @property
    def capabilities(self) -> llm.RealtimeCapabilities:
        """The current session's capabilities."""
        return self._child.capabilities

    async def update_instructions(self, instructions: str) -> None:
        """Set the instructions (kept for the sessions opened after an outage)."""
        self._instructions = instructions
        if self._outage is None:
            await self._child.update_instructions(instructions)

    async def update_chat_ctx(self, chat_ctx: llm.ChatContext) -> None:
        """Set the chat context (kept for the sessions opened after an outage)."""
        self._chat_ctx = chat_ctx.copy()
        if self._outage is None:
            await self._child.update_chat_ctx(chat_ctx)

    async def update_tools(self, tools: list[llm.Tool]) -> None:
        """Set the tools (kept for the sessions opened after an outage)."""
        self._tools = list(tools)
        if self._outage is None:
            await self._child.update_tools(tools)

    def update_options(self, *, tool_choice: NotGivenOr[llm.ToolChoice | None] = NOT_GIVEN) -> None:
        """Set the tool choice (kept for the sessions opened after an outage)."""
        if is_given(tool_choice):
            self._tool_choice = tool_choice
        if self._outage is None:
            self._child.update_options(tool_choice=tool_choice)

    def push_audio(self, frame: rtc.AudioFrame) -> None:
        """Send microphone audio, or drop it during an outage."""
        if self._outage is not None:
            self._outage.audio_frames_dropped += 1
            return
        self._child.push_audio(frame)

    def push_video(self, frame: rtc.VideoFrame) -> None:
        """Send a video frame, or drop it during an outage."""
        if self._outage is not None:
            self._outage.video_frames_dropped += 1
            return
        self._child.push_video(frame)

    def generate_reply(
        self,
        *,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        tools: NotGivenOr[list[llm.Tool]] = NOT_GIVEN,
    ) -> asyncio.Future[llm.GenerationCreatedEvent]:
        """Ask for a reply; during an outage the future fails at once with ``RealtimeError``."""
        if self._outage is None:
            return self._child.generate_reply(
                instructions=instructions, tool_choice=tool_choice, tools=tools
            )
        failed: asyncio.Future[llm.GenerationCreatedEvent] = (
            asyncio.get_running_loop().create_future()
        )
        failed.set_exception(llm.RealtimeError("the realtime model is reconnecting"))
        return failed

    def say(self, text: str | AsyncIterable[str]) -> asyncio.Future[llm.GenerationCreatedEvent]:
        """Delegated to the current session (plugins without ``say`` raise there)."""
        return self._child.say(text)

    def commit_audio(self) -> None:
        """Delegated to the current session; nothing during an outage."""
        if self._outage is None:
            self._child.commit_audio()

    def clear_audio(self) -> None:
        """Delegated to the current session; nothing during an outage."""
        if self._outage is None:
            self._child.clear_audio()

    def interrupt(self) -> None:
        """Delegated to the current session; nothing during an outage."""
        if self._outage is None:
            self._child.interrupt()

    def start_user_activity(self) -> None:
        """Delegated to the current session; nothing during an outage."""
        if self._outage is None:
            self._child.start_user_activity()

    def truncate(
        self,
        *,
        message_id: str,
        modalities: list[Literal["text", "audio"]],
        audio_end_ms: int,
        audio_transcript: NotGivenOr[str] = NOT_GIVEN,
    ) -> None:
        """Delegated to the current session; nothing during an outage."""
        if self._outage is None:
            self._child.truncate(
                message_id=message_id,
                modalities=modalities,
                audio_end_ms=audio_end_ms,
                audio_transcript=audio_transcript,
            )

    async def aclose(self) -> None:
        """Stop reconnecting and close the current session. Idempotent."""
        if self._closed:
            return
        self._closed = True
        recovery, self._recovery = self._recovery, None
        if recovery is not None:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
        self._unbind(self._child)
        self._child.off("error", self._on_child_error)
        await self._child.aclose()

    # -- the current session and its replacements -------------------------------------------

    def _forwarder(self, event: EventTypes) -> Callable[[object], None]:
        def forward(payload: object) -> None:
            if event == "metrics_collected" and isinstance(payload, RealtimeModelMetrics):
                self._connected_once = True
            self.emit(event, payload)

        return forward

    def _open_child(self) -> _Child:
        child: _Child = self._supervised.inner.session(
            turn_detection_disabled=self._turn_detection_disabled
        )
        for event, forward in self._forwarders.items():
            child.on(event, forward)
        return child

    def _unbind(self, child: _Child) -> None:
        for event, forward in self._forwarders.items():
            child.off(event, forward)

    def _on_child_error(self, error: llm.RealtimeModelError) -> None:
        if (
            error.recoverable
            or self._closed
            or not self._connected_once  # never connected: a setup problem, not a blink
            or not _worth_reconnecting(error.error)  # 1007 (context exhausted) fails again
        ):
            self.emit("error", error)
            return
        outage = Outage(
            number=len(self._outages) + 1,
            error_type=type(error.error).__name__,
            started_at=time.monotonic(),
        )
        self._outages.append(outage)
        self._outage = outage
        # The AgentSession would close on an unrecoverable error: it sees a recoverable one.
        self.emit("error", error.model_copy(update={"recoverable": True}))
        logger.warning(
            "realtime connection lost (%s); reconnecting for up to %.0f s",
            outage.error_type,
            self._hooks.policy.max_outage_s,
        )
        self._hooks.lost(outage)
        self._recovery = asyncio.create_task(self._recover(outage), name="medvision-reconnect")

    async def _recover(self, outage: Outage) -> None:
        policy = self._hooks.policy
        deadline = outage.started_at + policy.max_outage_s
        old = self._child
        old.off("error", self._on_child_error)
        self._unbind(old)
        await _close_quietly(old)
        while True:
            wait = min(policy.delay(outage.attempts), deadline - time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            if time.monotonic() >= deadline:
                break
            outage.attempts += 1
            child = self._open_child()
            try:
                connected = await self._connects(child, deadline)
            except asyncio.CancelledError:  # closed meanwhile: the attempt goes too
                self._unbind(child)
                await _close_quietly(child)
                raise
            if connected:
                self._child = child
                child.on("error", self._on_child_error)
                outage.ended_at = time.monotonic()
                outage.restored = True
                self._outage = None
                self._recovery = None
                logger.info(
                    "realtime connection restored after %.1f s (%d attempts)",
                    outage.seconds,
                    outage.attempts,
                )
                self.emit("session_reconnected", RealtimeSessionReconnectedEvent())
                self._hooks.restored(outage)
                return
            self._unbind(child)
            await _close_quietly(child)
            self._child = child  # closed; the interface still needs a session to read
        outage.ended_at = time.monotonic()
        self._recovery = None
        logger.error(
            "realtime model unreachable for %.0f s (%d attempts); the call ends",
            outage.seconds,
            outage.attempts,
        )
        self._hooks.gave_up(outage)
        self.emit(
            "error",
            llm.RealtimeModelError(
                timestamp=time.time(),
                label=self._supervised.label,
                error=RealtimeUnavailableError(
                    f"the realtime model was unreachable for {outage.seconds:.0f} s"
                ),
                recoverable=False,
            ),
        )

    async def _connects(self, child: _Child, deadline: float) -> bool:
        """Prime ``child`` with the call so far; return whether it connects before ``deadline``."""
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def on_metrics(_metrics: object) -> None:
            if not outcome.done():
                outcome.set_result(True)

        def on_error(error: llm.RealtimeModelError) -> None:
            if not error.recoverable and not outcome.done():
                outcome.set_result(False)

        child.on("metrics_collected", on_metrics)
        child.on("error", on_error)
        try:
            # Primed before its connect task first runs, as an AgentActivity primes a session.
            await self._prime(child)
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                    return await outcome
            except TimeoutError:
                return False
        finally:
            child.off("metrics_collected", on_metrics)
            child.off("error", on_error)

    async def _prime(self, child: _Child) -> None:
        history = self._hooks.history()
        if history is None:
            history = self._chat_ctx
        try:
            if is_given(self._instructions):
                await child.update_instructions(self._instructions)
            if history is not None:
                await child.update_chat_ctx(history)
            if is_given(self._tools):
                await child.update_tools(self._tools)
            if is_given(self._tool_choice):
                child.update_options(tool_choice=self._tool_choice)
        except llm.RealtimeError:
            logger.warning("a new realtime session could not be primed", exc_info=True)


def _worth_reconnecting(error: BaseException) -> bool:
    """Whether a new connection may succeed where this one failed.

    The package's transient errors (refused, reset, timed out, closes 1006/1011-1014), and a
    websocket upgrade refused with 429 or 5xx (the service overloaded or restarting).
    """
    if isinstance(error, InvalidStatus):
        return error.response.status_code in TRANSIENT_STATUS_CODES
    return is_transient(error)


async def _close_quietly(child: _Child) -> None:
    """Close a session the network already broke; its own errors are not the call's."""
    try:
        await child.aclose()
    except Exception:
        logger.debug("closing a lost realtime session failed", exc_info=True)
