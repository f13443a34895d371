"""One call's parts, shared by the worker and the demo: built, then finished at shutdown.

``build_call`` is where a call's model, session, streamer and tracker are made and tied
together; ``finish_call`` closes them in order (streamer, session, ledger row, tracker), before
the caller closes the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from google.genai import types
from livekit.agents import NOT_GIVEN, Agent, AgentSession, NotGivenOr
from livekit.agents.utils import is_given
from livekit.plugins import google

from livekit_plugins_medvision import (
    CallSupervisor,
    PatientContext,
    PatientContextProvider,
    VisionStreamer,
    clinic_instructions,
)
from livekit_plugins_medvision.continuity import keepalive_http_options
from livekit_plugins_medvision.costs import (
    DEFAULT_CLOSING_INSTRUCTIONS,
    Budget,
    BudgetHardExceededEvent,
    CostLedgerError,
    CostReport,
    CostTracker,
    VideoDegradedEvent,
)
from livekit_plugins_medvision.patients import Language, PatientRef

from .log import logger
from .settings import ClinicSettings
from .vision import VISION_GUIDE, vision_tools

_BUDGET_HARD_NOTICE: Final[dict[Language, str]] = {
    "pt-BR": (
        "Avise o paciente, com calma e em uma frase, que você não está mais vendo a câmera "
        "nesta consulta e que a conversa continua só por voz."
    ),
    "en": (
        "Calmly tell the patient, in one sentence, that you can no longer see their camera in "
        "this call and that the conversation continues by voice only."
    ),
}


_BUDGET_CLOSING: Final[dict[Language, str]] = {
    "pt-BR": (
        "Em uma ou duas frases curtas, diga ao paciente que esta consulta chegou ao limite de "
        "tempo e custo e termina agora, sugira que ligue de novo ou fale com a clínica se "
        "precisar de mais, e despeça-se."
    ),
    "en": DEFAULT_CLOSING_INSTRUCTIONS,
}


_LINE_BACK_NOTICE: Final[dict[Language, str]] = {
    "pt-BR": (
        "A ligação com o paciente caiu por um instante e já voltou. Avise-o com calma, em uma "
        "frase, peça que repita o que disse nesse meio tempo e continue a consulta."
    ),
    "en": (
        "The line to the patient dropped for a moment and is back now. Tell them so in one "
        "short, calm sentence, ask them to repeat anything they said meanwhile, then carry on."
    ),
}


@dataclass(frozen=True)
class ClinicCall:
    """One call's parts: the agent session, its vision streamer, cost tracker and supervisor."""

    session: AgentSession[None]
    agent: Agent
    streamer: VisionStreamer
    tracker: CostTracker
    supervisor: CallSupervisor
    instructions: str


def build_call(
    settings: ClinicSettings,
    context: PatientContext | None,
    *,
    api_key: NotGivenOr[str] = NOT_GIVEN,
    http_options: NotGivenOr[types.HttpOptions] = NOT_GIVEN,
) -> ClinicCall:
    """Build the model, session, streamer, tracker and supervisor of one call (nothing starts).

    Args:
        settings: The agent's settings.
        context: The patient's context, or ``None`` to talk without one.
        api_key: Gemini API key; by default ``GOOGLE_API_KEY``.
        http_options: Where to reach Gemini Live; by default Google's endpoint.
    """
    instructions = (
        clinic_instructions(context, language=settings.language)
        + "\n"
        + VISION_GUIDE[settings.language]
        + "\n"
    )
    low = types.MediaResolution.MEDIA_RESOLUTION_LOW
    # audio+video sessions end after about 2 minutes without compression; the tracker needs the
    # same settings to know which frames left the context
    compression = types.ContextWindowCompressionConfig(
        trigger_tokens=25_600, sliding_window=types.SlidingWindow(target_tokens=12_800)
    )
    streamer = VisionStreamer(
        fps=1.0,
        silent_fps=0.3,
        max_size=768,
        model=settings.model,
        media_resolution=low,
        require_consent=True,  # nothing of the patient's video is sent before they say yes
    )
    model = google.realtime.RealtimeModel(
        model=settings.model,
        api_key=api_key,
        # a silent network path shows within 15 s instead of about 50 s
        http_options=keepalive_http_options(http_options if is_given(http_options) else None),
        instructions=instructions,
        # frames arrive already shrunk: no second resize on the event loop
        image_encode_options=streamer.image_encode_options(),
        media_resolution=low,  # 66 tokens a frame on Gemini 2.x instead of 258
        context_window_compression=compression,
        session_resumption=types.SessionResumptionConfig(),
        # frames sent while the patient is silent (showing a wound, say) still join the turn;
        # the streamer's rate and change detection keep their number and cost down
        realtime_input_config=types.RealtimeInputConfig(
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO
        ),
    )
    # a lost Gemini Live connection is reconnected for up to 60 s instead of ending the call
    supervisor = CallSupervisor(model, notice=_LINE_BACK_NOTICE[settings.language])
    session: AgentSession[None] = AgentSession(llm=supervisor.model)
    supervisor.attach(session)
    tracker = CostTracker(
        settings.model,
        budget=Budget(
            soft_usd=settings.budget_soft_usd,
            hard_usd=settings.budget_hard_usd,
            on_hard=settings.budget_on_hard,  # end_call: the tracker says goodbye and ends it
            closing_instructions=_BUDGET_CLOSING[settings.language],
        ),
        context_window_compression=compression,
    )
    tracker.attach(session)
    tracker.attach_vision(streamer)

    def on_video_degraded(event: VideoDegradedEvent) -> None:
        logger.info(
            "budget: video turned down to %.1f fps speaking, %.1f silent, change threshold %.0f",
            event.fps,
            event.silent_fps,
            event.change_threshold,
        )

    def on_budget_hard(event: BudgetHardExceededEvent) -> None:
        if event.ending_call:
            logger.info("budget: hard limit of %s USD reached, the call ends", event.hard_usd)
            return
        logger.info("budget: hard limit of %s USD reached, video paused", event.hard_usd)
        # the session speaks it when it can; nothing here waits for the speech
        try:
            _ = session.generate_reply(instructions=_BUDGET_HARD_NOTICE[settings.language])
        except RuntimeError:  # the last turn's usage can arrive as the session closes
            logger.info("budget: session closing, the patient is not told")

    tracker.on("video_degraded", on_video_degraded)
    tracker.on("budget_hard_exceeded", on_budget_hard)
    agent = Agent(instructions=instructions, tools=vision_tools(streamer))
    return ClinicCall(session, agent, streamer, tracker, supervisor, instructions)


async def finish_call(
    call: ClinicCall,
    provider: PatientContextProvider | None,
    *,
    job_id: str,
    room_name: str,
    patient: PatientRef | None,
) -> tuple[CostReport, int | None]:
    """Stop the call's video and session, log its cost summary and write its ledger row.

    Returns:
        The final cost report and the ledger row's id (``None`` if it was not written).
    """
    await call.streamer.aclose()
    await call.session.aclose()  # also ends the tracker's session time
    patient_hash = None if patient is None else patient.hashed
    call.tracker.log_summary(patient_hash=patient_hash)
    row_id = None
    if provider is not None:
        try:
            row_id = await call.tracker.write_ledger(
                provider.pool, job_id=job_id, room_name=room_name, patient_hash=patient_hash
            )
        except CostLedgerError as exc:
            logger.warning("cost ledger row not written (%s)", type(exc).__name__)
    await call.tracker.aclose()  # keeps the streamer's final figures for the report
    report = call.tracker.report()
    return report, row_id
