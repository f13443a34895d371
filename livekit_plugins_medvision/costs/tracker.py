"""CostTracker: per-modality Gemini Live cost of one session, while it runs, with budgets that act.

Usage comes in two ways:

- ``track_usage(usage)``: Gemini's own ``UsageMetadata``, one message per turn. Exact for every
  bucket, VIDEO, thinking and tool-use tokens included.
- ``track_metrics(metrics)`` and ``attach(session)``: LiveKit's ``RealtimeModelMetrics``, what a
  running ``AgentSession`` exposes through public API. LiveKit 1.8 gives no public access to the
  raw ``UsageMetadata``, and its metrics drop VIDEO tokens (they land in the unattributed bucket,
  or in the image bucket when a streamer's estimate can explain them), thinking and tool-use
  tokens (recovered from ``total_tokens`` when the server counts them there). The report marks
  such lines as not exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypeVar, get_args

import asyncpg
from google.genai import types
from livekit.agents import (
    AgentSession,
    CloseEvent,
    SessionUsageUpdatedEvent,
    llm,
    utils,
)
from livekit.agents.metrics import RealtimeModelMetrics

from ..log import logger
from ..privacy import check_patient_hash
from .budget import Budget, BudgetStep
from .context import ContextFrames, SlidingWindowLimits
from .events import (
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    CostEventTypes,
    UsageUpdatedEvent,
    VideoDegradedEvent,
)
from .intake import UsageIntake
from .ledger import insert_ledger_row
from .modality import MODALITIES, MODALITY_OF
from .pricing import ModelPricing, pricing_for
from .report import BucketCost, BudgetStatus, CostReport
from .streamer import StreamerStats, VideoStreamer
from .timeline import TurnCost
from .usage import (
    Bucket,
    TurnTokens,
    UnattributedPolicy,
    bucket_rates,
    price_tokens,
    tokens_from_metrics,
    tokens_from_usage,
)

__all__ = ["CostTracker"]

_U = TypeVar("_U")
_RATE_WINDOW_S = 120.0  # the current rate: the cost of the last two minutes' turns

# Lines no usage source reports as such.
_NEVER_EXACT = {Bucket.INPUT_UNATTRIBUTED, Bucket.OUTPUT_UNATTRIBUTED, Bucket.THINKING_OR_TOOL_USE}
# Lines LiveKit's metrics cannot carry.
_NOT_IN_METRICS = {Bucket.OUTPUT_THINKING, Bucket.TOOL_USE_PROMPT}


class CostTracker(utils.EventEmitter[CostEventTypes]):
    """Prices one Gemini Live session per modality from its usage, and enforces a ``Budget``.

    Events (each with a frozen dataclass): ``"usage_updated"`` (``UsageUpdatedEvent``),
    ``"budget_soft_exceeded"`` (``BudgetSoftExceededEvent``), ``"video_degraded"``
    (``VideoDegradedEvent``) and ``"budget_hard_exceeded"`` (``BudgetHardExceededEvent``).

    Session time runs from construction (or from ``attach`` when no usage came before) to the
    session's close, ``aclose()``, or now.
    """

    def __init__(
        self,
        model: str,
        *,
        pricing: ModelPricing | None = None,
        budget: Budget | None = None,
        unattributed_policy: UnattributedPolicy = "highest_input",
        context_window_compression: types.ContextWindowCompressionConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a tracker for a session on ``model``.

        Args:
            model: The Gemini model id (with or without ``models/``).
            pricing: Prices to apply; ``None`` looks ``model`` up in the shipped table. An
                unknown model is warned about once and its costs are ``None``, never $0.
            budget: Spending limits that act on an attached streamer; ``None`` for none.
            unattributed_policy: How prompt tokens of unknown modality are priced; the default
                (the highest input rate) never under-counts.
            context_window_compression: The ``context_window_compression`` the model was given
                (LiveKit's ``RealtimeModel`` does not expose its options publicly, so pass the
                same object). Frames the sliding window drops stop counting in the image
                estimate; drops in the prompt are watched for either way.
            clock: Monotonic seconds, for session time (injectable for tests).

        Raises:
            ValueError: an empty model name, or an option of the wrong kind (named).
        """
        super().__init__()
        _check_options(model, pricing, budget)
        self._context = ContextFrames(SlidingWindowLimits.from_config(context_window_compression))
        if unattributed_policy not in get_args(UnattributedPolicy):
            raise ValueError(f"unattributed_policy must be one of {get_args(UnattributedPolicy)}")
        self._model = model.strip().removeprefix("models/")
        self._pricing = pricing if pricing is not None else pricing_for(self._model)
        self._budget = budget
        self._policy: UnattributedPolicy = unattributed_policy
        self._clock = clock
        if self._pricing is None:
            logger.warning(
                "no prices known for Gemini model %s: its cost is reported as unknown, not $0%s",
                self._model,
                "; the budget cannot act" if budget is not None else "",
            )
        self._rates = None if self._pricing is None else bucket_rates(self._pricing, self._policy)

        self._intake = UsageIntake()
        self._tokens = dict.fromkeys(Bucket, 0)
        self._total_usd: Decimal | None = None if self._pricing is None else Decimal(0)
        self._turns = 0
        self._metrics_turns = 0
        self._image_reported = 0
        self._image_estimated = 0
        self._started = clock()
        self._ended: float | None = None
        self._step = BudgetStep.NONE
        self._crossed_at: dict[BudgetStep, float] = {}
        self._timeline: list[TurnCost] = []
        self._streamer: VideoStreamer | None = None
        self._final_stats: StreamerStats | None = None  # the streamer's, kept at aclose()
        # AgentSession's type parameter is its user data, which the tracker never reads.
        self._session: AgentSession[Any] | None = None
        self._realtime_session: llm.RealtimeSession[object] | None = None
        self._model_mismatch_warned = False
        self._summary_logged = False

    @property
    def model(self) -> str:
        """The model priced, without the ``models/`` prefix."""
        return self._model

    @property
    def pricing(self) -> ModelPricing | None:
        """The prices applied, or ``None`` for an unknown model."""
        return self._pricing

    @property
    def budget(self) -> Budget | None:
        """The spending limits, if any."""
        return self._budget

    @property
    def timeline(self) -> tuple[TurnCost, ...]:
        """Every turn counted so far: when, what it cost by modality, and the video by then."""
        return tuple(self._timeline)

    @property
    def messages_refused(self) -> int:
        """Usage messages refused as malformed (negative, non-integer or absurd counts)."""
        return self._intake.refused

    @property
    def messages_repeated(self) -> int:
        """Usage messages not counted because they had been counted already."""
        return self._intake.repeated

    # -- usage in ---------------------------------------------------------------------------

    def track_usage(self, usage: types.UsageMetadata) -> None:
        """Count one Gemini Live usage message: one turn, priced exactly per modality.

        A message with no token at all is ignored, one seen before is not counted again, and
        one with a negative, non-integer or absurd count is refused (see ``costs.intake``).

        Raises:
            ValueError: ``usage`` is not a ``UsageMetadata`` (nothing is counted).
        """
        _check_kind("usage", usage, types.UsageMetadata)
        if not self._intake.admit_usage(usage):
            return
        self._count(tokens_from_usage(usage, split_cached=self._split_cached), via_metrics=False)

    def track_metrics(self, metrics: RealtimeModelMetrics) -> None:
        """Count one LiveKit ``RealtimeModelMetrics``: one turn (see the module notes on gaps).

        The zero-usage metric LiveKit emits on every (re)connect is ignored, as is any metric
        with no token at all; one seen before is not counted again, and one with a negative,
        non-integer or absurd count is refused (see ``costs.intake``).

        Raises:
            ValueError: ``metrics`` is not a ``RealtimeModelMetrics`` (nothing is counted).
        """
        _check_kind("metrics", metrics, RealtimeModelMetrics)
        if not self._intake.admit_metrics(metrics):
            return
        reported = metrics.metadata.model_name if metrics.metadata else None
        if (
            reported
            and reported.removeprefix("models/") != self._model
            and not self._model_mismatch_warned
        ):
            self._model_mismatch_warned = True
            logger.warning(
                "usage reported for Gemini model %s is priced as %s", reported, self._model
            )
        self._count(tokens_from_metrics(metrics, split_cached=self._split_cached), via_metrics=True)

    def attach(self, session: AgentSession[_U]) -> None:
        """Count the realtime usage of a running (or about to start) ``AgentSession``.

        Subscribes to ``metrics_collected`` of the current agent's realtime session and follows
        it across agent handoffs and reconnects. A handoff that hands the realtime session over
        keeps the one subscription, so nothing is counted twice. A new realtime session (a
        handoff to another model, or a resumed agent) announces itself by its zero-usage
        connect metric, which the AgentSession relays as ``session_usage_updated`` before any
        real usage can arrive: the tracker then moves its subscription to it. The session's
        ``close`` detaches and ends session time.

        Raises:
            RuntimeError: already attached to a session (``detach()`` first).
        """
        if self._session is not None:
            raise RuntimeError("CostTracker is already attached to a session; detach() first")
        self._session = session
        if self._turns == 0:
            self._started = self._clock()
        session.on("session_usage_updated", self._on_session_usage_updated)
        session.on("close", self._on_session_close)
        self._follow_realtime_session()

    def detach(self) -> None:
        """Stop listening to the attached session (counted usage is kept)."""
        if self._session is not None:
            self._session.off("session_usage_updated", self._on_session_usage_updated)
            self._session.off("close", self._on_session_close)
            self._session = None
        if self._realtime_session is not None:
            self._realtime_session.off("metrics_collected", self._on_realtime_metrics)
            self._realtime_session = None

    def attach_vision(self, streamer: VideoStreamer) -> None:
        """Read ``streamer``'s frames and image-token estimate, and let the budget turn it down.

        Budget steps already taken apply to the streamer at once (no budget event repeats).
        """
        self._streamer = streamer
        for step in range(BudgetStep.SOFT, self._step + 1):
            self._act_on_video(BudgetStep(step))

    async def aclose(self) -> None:
        """Detach from the session and the streamer, and end session time."""
        if self._streamer is not None:
            self._final_stats = self._streamer.stats
        self.detach()
        self._streamer = None
        self._end()

    # -- report out ---------------------------------------------------------------------------

    def report(self) -> CostReport:
        """Return what the session has cost so far."""
        rates = self._rates
        lines = tuple(
            BucketCost(
                bucket=bucket,
                tokens=self._tokens[bucket],
                usd_per_million=None if rates is None else rates[bucket],
                usd=None if rates is None else price_tokens(self._tokens[bucket], rates[bucket]),
                exact=self._is_exact(bucket),
            )
            for bucket in Bucket
        )
        stats = self._streamer.stats if self._streamer is not None else self._final_stats
        end = self._ended if self._ended is not None else self._clock()
        elapsed = max(end - self._started, 0.0)
        rate = self._rate_now(elapsed)
        return CostReport(
            model=self._model,
            pricing=self._pricing,
            unattributed_policy=self._policy,
            buckets=lines,
            total_usd=self._total_usd,
            turns=self._turns,
            session_seconds=elapsed,
            image_tokens_reported=self._image_reported,
            image_tokens_estimated=self._image_estimated,
            frames_sent=None if stats is None else stats.frames_sent,
            estimated_image_tokens_sent=None if stats is None else stats.estimated_image_tokens,
            image_tokens_in_context=None if stats is None else self._context.image_tokens,
            context_drops=self._context.drops,
            usd_per_minute_now=rate,
            budget=self._budget_status(rate),
        )

    def log_summary(self, *, patient_hash: str | None = None) -> None:
        """Log the report once, as a structured INFO record; later calls do nothing.

        The record's ``extra`` holds ``medvision_cost`` (``report.to_dict()``) and
        ``medvision_patient_hash``.

        Args:
            patient_hash: The patient's hashed id (``hash_patient_id``), never the id itself.

        Raises:
            ValueError: ``patient_hash`` is not a hashed id.
        """
        check_patient_hash(patient_hash)
        if self._summary_logged:
            return
        self._summary_logged = True
        report = self.report()
        logger.info(
            "Gemini Live session cost: %s USD, %d turns, %.0f s, model %s",
            "unknown" if report.total_usd is None else f"{report.total_usd:.6f}",
            report.turns,
            report.session_seconds,
            report.model,
            extra={"medvision_cost": report.to_dict(), "medvision_patient_hash": patient_hash},
        )

    async def write_ledger(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        job_id: str | None = None,
        room_name: str | None = None,
        patient_hash: str | None = None,
    ) -> int:
        """Insert the report as one row of ``medvision.cost_ledger``; return the row's id.

        Args:
            pool: The PatientContextProvider's pool (the table comes with its migrations).
            job_id: The LiveKit job id.
            room_name: The LiveKit room name.
            patient_hash: The patient's hashed id (``hash_patient_id``), never the id itself.

        Raises:
            ValueError: ``patient_hash`` is not a hashed id.
            CostLedgerError: the database refused or could not be reached.
        """
        return await insert_ledger_row(
            pool, self.report(), job_id=job_id, room_name=room_name, patient_hash=patient_hash
        )

    # -- internals ----------------------------------------------------------------------------

    @property
    def _split_cached(self) -> bool:
        return self._pricing is not None and self._pricing.input_cached is not None

    def _count(self, tokens: TurnTokens, *, via_metrics: bool) -> None:
        if tokens.is_empty:
            return
        if self._streamer is not None:
            # Frames still in context are billed again this turn; those the sliding window
            # dropped are not. The unattributed bucket caps the estimate.
            sent = self._streamer.stats.estimated_image_tokens
            tokens = tokens.with_image_estimate(self._context.on_turn(tokens.prompt, sent))
        for bucket, count in tokens.counts.items():
            self._tokens[bucket] += count
        self._turns += 1
        if via_metrics:
            self._metrics_turns += 1
        self._image_reported += tokens.reported_image
        self._image_estimated += tokens.estimated_image
        turn_usd = None
        by_modality = dict.fromkeys(MODALITIES, Decimal(0))
        if self._rates is not None and self._total_usd is not None:
            rates = self._rates
            for bucket, count in tokens.counts.items():
                by_modality[MODALITY_OF[bucket]] += price_tokens(count, rates[bucket])
            turn_usd = sum(by_modality.values(), Decimal(0))
            self._total_usd += turn_usd
        stats = self._streamer.stats if self._streamer is not None else None
        self._timeline.append(
            TurnCost(
                turn=self._turns,
                at_seconds=max(self._clock() - self._started, 0.0),
                usd_by_modality=by_modality,
                total_usd=self._total_usd,
                frames_sent=None if stats is None else stats.frames_sent,
                frames_skipped=None if stats is None else stats.frames_skipped_unchanged,
            )
        )
        self._notify("usage_updated", UsageUpdatedEvent(turn_usd=turn_usd, report=self.report()))
        self._check_budget()

    def _is_exact(self, bucket: Bucket) -> bool:
        if bucket in _NEVER_EXACT:
            return False
        if bucket in _NOT_IN_METRICS:
            return self._metrics_turns == 0
        if bucket is Bucket.INPUT_IMAGE:
            return self._image_estimated == 0
        return True

    def _check_budget(self) -> None:
        budget, total = self._budget, self._total_usd
        if budget is None or total is None:
            return
        reached = budget.step_for(total)
        while self._step < reached:
            self._step = BudgetStep(self._step + 1)
            self._crossed_at[self._step] = max(self._clock() - self._started, 0.0)
            if self._step is BudgetStep.SOFT and budget.soft_usd is not None:
                self._notify(
                    "budget_soft_exceeded",
                    BudgetSoftExceededEvent(total_usd=total, soft_usd=budget.soft_usd),
                )
            acted = self._act_on_video(self._step)
            if self._step is BudgetStep.HARD and budget.hard_usd is not None:
                ending = budget.on_hard == "end_call" and self._end_call(budget)
                self._notify(
                    "budget_hard_exceeded",
                    BudgetHardExceededEvent(
                        total_usd=total,
                        hard_usd=budget.hard_usd,
                        video_paused=acted,
                        ending_call=ending,
                    ),
                )

    def _act_on_video(self, step: BudgetStep) -> bool:
        """Apply one budget step to the attached streamer; return whether it took effect.

        Every step sends fewer frames, the only video lever that lowers cost (a frame costs the
        same tokens at any size); a soft step that would change nothing sends no event.
        """
        streamer, budget = self._streamer, self._budget
        if streamer is None or budget is None:
            return False
        if step is BudgetStep.SOFT and budget.soft_usd is None:
            return False  # without a soft limit, video is only ever paused
        try:
            if step is BudgetStep.HARD:
                streamer.pause()
                return True
            old = streamer.options
            # each source has its own profile: the one streamed now and the other, for later
            camera, screen = budget.degrade(old.camera), budget.degrade(old.screen_share)
            if (camera, screen) == (old.camera, old.screen_share):
                return False
            streamer.update_options(
                fps=camera.fps,
                silent_fps=camera.silent_fps,
                change_threshold=camera.change_threshold,
                screen_share=screen,
            )
            new = streamer.options
        except Exception:
            # A streamer that fails to slow down must not break usage accounting.
            logger.warning("budget step %s could not be applied to video", step.name, exc_info=True)
            return False
        self._notify(
            "video_degraded",
            VideoDegradedEvent(
                total_usd=self._total_usd or Decimal(0),
                fps=new.fps,
                silent_fps=new.silent_fps,
                change_threshold=new.change_threshold,
                max_size=new.max_size,
                screen_share=new.screen_share,
            ),
        )
        return True

    def _end_call(self, budget: Budget) -> bool:
        """Have the agent say the closing sentence, then end the session once it is spoken.

        ``shutdown(drain=True)`` lets the scheduled reply play out before the session closes.
        Returns whether the call is ending.
        """
        session = self._session
        if session is None:
            logger.warning("budget: on_hard='end_call' needs CostTracker.attach(session)")
            return False
        try:
            _ = session.generate_reply(instructions=budget.closing_instructions)
        except RuntimeError:  # the session is already closing or not running
            logger.info("budget: the closing sentence could not be scheduled")
        session.shutdown(drain=True)
        return True

    def _rate_now(self, elapsed: float) -> Decimal | None:
        """USD per minute over the last two minutes (the whole session while shorter)."""
        if self._total_usd is None or elapsed <= 0:
            return None
        window = min(_RATE_WINDOW_S, elapsed)
        since = elapsed - window
        recent = sum(
            (
                sum(turn.usd_by_modality.values(), Decimal(0))
                for turn in self._timeline
                if turn.at_seconds > since
            ),
            Decimal(0),
        )
        return recent * 60 / Decimal(repr(window))

    def _budget_status(self, rate: Decimal | None) -> BudgetStatus:
        budget, total = self._budget, self._total_usd
        if budget is None:
            return BudgetStatus()

        def minutes_to(limit: Decimal | None) -> float | None:
            if limit is None or total is None:
                return None
            if total >= limit:
                return 0.0
            if not rate:
                return None
            return float((limit - total) / rate)

        steps: dict[BudgetStep, Literal["none", "soft", "hard"]] = {
            BudgetStep.NONE: "none",
            BudgetStep.SOFT: "soft",
            BudgetStep.HARD: "hard",
        }
        return BudgetStatus(
            soft_usd=budget.soft_usd,
            hard_usd=budget.hard_usd,
            step=steps[self._step],
            soft_at_seconds=self._crossed_at.get(BudgetStep.SOFT),
            hard_at_seconds=self._crossed_at.get(BudgetStep.HARD),
            minutes_to_soft=minutes_to(budget.soft_usd),
            minutes_to_hard=minutes_to(budget.hard_usd),
        )

    def _notify(self, event: CostEventTypes, payload: object) -> None:
        """Emit ``event``; a failing handler is logged and never reaches the caller.

        LiveKit's EventEmitter logs a handler's exception but re-raises ``TypeError``: raised
        here, it would leave a budget step half taken or, through ``attach``, break the
        realtime session's usage handling.
        """
        try:
            self.emit(event, payload)
        except Exception:
            logger.exception("a CostTracker %s handler failed", event)

    def _follow_realtime_session(self) -> None:
        """Subscribe to the current agent's realtime session if it changed.

        With no realtime session right now (mid-handoff, not started), the old subscription is
        kept: the session may be handed over unchanged to the next agent.
        """
        if self._session is None:
            return
        try:
            current = self._session.current_agent.realtime_llm_session
        except RuntimeError:
            return
        if current is self._realtime_session:
            return
        if self._realtime_session is not None:
            self._realtime_session.off("metrics_collected", self._on_realtime_metrics)
        self._realtime_session = current
        current.on("metrics_collected", self._on_realtime_metrics)

    def _on_realtime_metrics(self, metrics: object) -> None:
        if not isinstance(metrics, RealtimeModelMetrics):
            return
        try:
            self.track_metrics(metrics)
        except Exception:
            # Called from the realtime session's usage handling: a failure here must cost the
            # call one turn of accounting, not the call.
            logger.exception("realtime usage could not be counted")

    def _on_session_usage_updated(self, _event: SessionUsageUpdatedEvent) -> None:
        self._follow_realtime_session()

    def _on_session_close(self, _event: CloseEvent) -> None:
        self.detach()
        self._end()

    def _end(self) -> None:
        if self._ended is None:
            self._ended = self._clock()


def _check_kind(name: str, value: object, kind: type) -> None:
    # Names the type only: a wrong object may carry anything.
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__}, not a {type(value).__name__}")


def _check_options(model: object, pricing: object, budget: object) -> None:
    if not isinstance(model, str) or not model.strip():
        raise ValueError("model must name a Gemini model")
    if pricing is not None and not isinstance(pricing, ModelPricing):
        raise ValueError("pricing must be a ModelPricing or None")
    if budget is not None and not isinstance(budget, Budget):
        raise ValueError("budget must be a Budget or None")
