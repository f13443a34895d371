"""The offline demo: the worker's wiring with an embedded database, a fake camera and Gemini."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import replace
from decimal import Decimal
from typing import Final

from livekit.agents import ConversationItemAddedEvent, FunctionToolsExecutedEvent

from livekit_plugins_medvision import ConsentChangedEvent, PatientContextProvider
from livekit_plugins_medvision.costs import (
    BudgetHardExceededEvent,
    BudgetSoftExceededEvent,
    VideoDegradedEvent,
)
from livekit_plugins_medvision.costs.reporting.html import call_html
from livekit_plugins_medvision.patients import (
    DEMO_CLINIC_ID,
    DEMO_PATIENT_IDS,
    PATIENT_ID_KEY,
    Language,
    resolve_patient_id,
    start_embedded_postgres,
)
from livekit_plugins_medvision.testing import FakeGeminiLive, Reply, SyntheticCamera

from .call import ClinicCall, build_call, finish_call
from .console import Console
from .database import load_context, read_avatar_config
from .scripted_patient import CAMERA_OFF, GOODBYE, play_patient
from .settings import BUDGET_ENV, ClinicSettings

PROMPT_LINES: Final = 12
DEMO_BUDGET: Final = (Decimal("0.002"), Decimal("0.02"))  # soft, hard: the soft step acts in ~10 s


async def run_demo(settings: ClinicSettings, seconds: float) -> int:
    """Run the clinic agent offline for ``seconds``; print its report; return the exit code.

    Embedded PostgreSQL under ``settings.data_dir`` (migrated, seeded with fictional
    patients), a synthetic camera, and the local Gemini Live emulator in place of Google; the
    real ``RealtimeModel``, AgentSession, VisionStreamer and CostTracker. Unless the budget is
    set in the environment, a demo budget small enough to act within the run applies. Ctrl-C
    ends it early, with the report.
    """
    if not any(os.environ.get(name) for name in BUDGET_ENV):
        settings = replace(settings, budget_soft_usd=DEMO_BUDGET[0], budget_hard_usd=DEMO_BUDGET[1])
    console = Console(interactive=sys.stdout.isatty())
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
            # bills frames by the call's model and MEDIA_RESOLUTION_LOW (66 tokens on 2.x)
            async with FakeGeminiLive() as gemini:
                call = build_call(
                    settings, context, api_key="offline-demo", http_options=gemini.http_options()
                )
                console.line(f"  gemini: {settings.model} via the emulator at {gemini.base_url}")
                console.line(
                    f"  budget: soft {settings.budget_soft_usd} USD, hard "
                    f"{settings.budget_hard_usd} USD per call (set {' / '.join(BUDGET_ENV)})"
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
    for text in lines[:PROMPT_LINES]:
        console.line(f"  | {text if len(text) <= 96 else text[:95] + '…'}")
    console.line()
    console.line(report.render())
    console.line()
    page = settings.data_dir / f"cost-{job_id}.html"
    page.write_text(call_html(report, call.tracker.timeline, title=f"Call {job_id}"), "utf-8")
    console.line(f"Cost of this call, turn by turn: {page}")
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
    console: Console,
) -> None:
    """Start the call with the synthetic camera, and play the patient until the end."""

    def on_item(event: ConversationItemAddedEvent) -> None:
        if event.item.type == "message" and event.item.role == "assistant":
            console.event(f"agent (emulated): {event.item.text_content or ''}")

    def on_soft(event: BudgetSoftExceededEvent) -> None:
        console.event(f"budget: soft limit of {event.soft_usd} USD reached")

    def on_degraded(event: VideoDegradedEvent) -> None:
        console.event(
            f"budget: video turned down to {event.fps:g} fps speaking, {event.silent_fps:g} "
            f"silent, change threshold {event.change_threshold:g}"
        )

    def on_hard(event: BudgetHardExceededEvent) -> None:
        if event.ending_call:  # MEDVISION_BUDGET_ON_HARD=end_call
            console.event(f"budget: hard limit of {event.hard_usd} USD reached, the call ends")
            gemini.queue_reply(Reply(text=GOODBYE[language]))  # answers the closing instructions
            return
        console.event(f"budget: hard limit of {event.hard_usd} USD reached, video paused")
        gemini.queue_reply(Reply(text=CAMERA_OFF[language]))  # answers the agent's notice

    def on_close(_event: object) -> None:
        if not stop.is_set():  # the agent ended the call (MEDVISION_BUDGET_ON_HARD=end_call)
            console.event("the agent ended the call")
            stop.set()

    def on_tools(event: FunctionToolsExecutedEvent) -> None:
        for output in event.function_call_outputs:
            console.event(f"tool {output.name}: {output.output}")

    def on_consent(event: ConsentChangedEvent) -> None:
        console.event(f"vision: consent {event.state} ({event.reason})")

    call.session.on("conversation_item_added", on_item)
    call.session.on("close", on_close)
    call.session.on("function_tools_executed", on_tools)
    call.streamer.on("consent_changed", on_consent)
    call.tracker.on("budget_soft_exceeded", on_soft)
    call.tracker.on("video_degraded", on_degraded)
    call.tracker.on("budget_hard_exceeded", on_hard)
    await call.session.start(call.agent, record=False)
    async with SyntheticCamera(moving_seconds=3.0, still_seconds=4.0) as camera:
        await call.streamer.start(call.session, track=camera.track)  # no room: one local track
        status = asyncio.create_task(_show_status(call, console), name="demo-status")
        try:
            await play_patient(call, gemini, stop, seconds, language, console)
        finally:
            status.cancel()
            await asyncio.gather(status, return_exceptions=True)
    console.status(call, final=True)


async def _show_status(call: ClinicCall, console: Console) -> None:
    every = 0.5 if console.interactive else 5.0
    while True:
        await asyncio.sleep(every)
        console.status(call)
