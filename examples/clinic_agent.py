"""A clinic's video agent on LiveKit and Gemini Live: the patient's camera, context and costs.

Run it three ways:

    python examples/clinic_agent.py demo [--seconds N]   # offline: nothing to configure
    python examples/clinic_agent.py dev                  # a worker in development mode
    python examples/clinic_agent.py start                # a production worker

The worker joins a room when dispatched, reads the patient id (dispatch metadata), loads
that patient's context from PostgreSQL through one pool (``clinic/database.py``), and talks
through Gemini Live while a VisionStreamer sends the patient's camera and a CostTracker prices
the call against a budget (``clinic/call.py``). The demo (``clinic/demo.py``) runs the same
wiring offline. Settings come from the environment (``clinic/settings.py``,
docs/deployment.md); ``dev``/``start`` hand over to LiveKit's own command line, so
``start --help`` lists LiveKit's options.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from clinic import database
from clinic.call import ClinicCall, build_call, finish_call
from clinic.log import logger
from clinic.settings import ClinicSettings, ConfigurationError, livekit_options_given
from livekit import rtc
from livekit.agents import AgentServer, AgentSession, JobContext, room_io

from livekit_plugins_medvision import PatientContextProvider
from livekit_plugins_medvision.avatars import start_avatar
from livekit_plugins_medvision.continuity import CallEndedEvent
from livekit_plugins_medvision.patients import PatientRef, resolve_patient_id

server = AgentServer()


# Explicit dispatch only (a named agent): each call is dispatched with its patient's id.
@server.rtc_session(agent_name=os.environ.get("MEDVISION_AGENT_NAME", "medvision-clinic"))
async def entrypoint(ctx: JobContext) -> None:
    """Run one clinic call: patient context, avatar, vision and cost, all closed at shutdown."""
    settings = ClinicSettings.from_env(os.environ, require_livekit=False)
    # prewarm has no event loop: the pool is made here, and closed by the shutdown callback
    provider = await database.connect(settings.database_url, settings.database_pool_mode)
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
        participant_can_update_own_attributes=participant.permissions.can_update_metadata,
        sources=settings.patient_id_sources,
    )
    if patient is not None:
        logger.info("patient id from %s", patient.source, extra={"patient_hash": patient.hashed})
    context = await database.load_context(
        provider, patient, job_id=ctx.job.id, room_name=ctx.room.name
    )
    call = build_call(settings, context)

    def on_call_ended(event: CallEndedEvent) -> None:
        # the model stayed unreachable, or the session closed: end the job, whose shutdown
        # callback writes the call's one ledger row
        ctx.shutdown(f"call ended: {event.reason}")

    call.supervisor.on("call_ended", on_call_ended)
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


async def _start_avatar(
    provider: PatientContextProvider | None,
    settings: ClinicSettings,
    session: AgentSession[None],
    room: rtc.Room,
) -> None:
    if provider is None or settings.clinic_id is None:
        return
    config = await database.read_avatar_config(provider, settings.clinic_id)
    if config is not None and config.enabled:
        await start_avatar(config.provider, config.settings, session, room)


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (``sys.argv[1:]`` by default); return the exit code."""
    args, rest = _parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "demo":
        if rest:
            print(f"clinic_agent.py demo: unknown arguments: {' '.join(rest)}", file=sys.stderr)
            return 2
        try:
            settings = ClinicSettings.from_env(os.environ, require_livekit=False)
            from clinic.demo import run_demo  # the demo's extras: embedded PostgreSQL, emulator

            return asyncio.run(run_demo(settings, args.seconds))
        except ConfigurationError as exc:
            print(exc, file=sys.stderr)
            return 2
        except ModuleNotFoundError as exc:
            print(f"clinic_agent.py demo: {exc}", file=sys.stderr)
            return 2
    command = ["start", str(Path(__file__).resolve())]
    if args.command == "dev":
        command += ["--dev", "--log-format", "colored"]
    if "-h" in rest or "--help" in rest:
        print(
            f"clinic_agent.py {args.command}: settings come from the environment (see "
            "docs/deployment.md); LiveKit's own options follow.\n"
        )
    else:
        # LiveKit's --url/--api-key/--api-secret stand in for the variables
        try:
            settings = ClinicSettings.from_env(
                {**os.environ, **livekit_options_given(rest)},
                require_livekit=True,
                production=args.command == "start",
            )
        except ConfigurationError as exc:
            print(exc, file=sys.stderr)
            return 2
        if settings.database_url is None:  # dev only: start refuses to run without one
            try:
                os.environ["DATABASE_URL"] = database.start_embedded_database(settings.data_dir)
            except ModuleNotFoundError as exc:  # the embedded extra
                print(f"clinic_agent.py dev: {exc}", file=sys.stderr)
                return 2
    # The entry point behind `python -m livekit.agents start <file>` (and `lk agent`), which
    # finds `server` in this file; `cli.run_app(server)` is deprecated in livekit-agents 1.8.9.
    from livekit.agents.__main__ import main as livekit_main

    return livekit_main([*command, *rest])


def _parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="clinic_agent.py",
        description="A clinic's video agent on LiveKit and Gemini Live.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run offline: embedded PostgreSQL, emulated Gemini")
    demo.add_argument("--seconds", type=_positive_seconds, default=20.0, help="length (20)")
    # no help of their own: `start --help` shows LiveKit's options, which follow
    commands.add_parser("dev", add_help=False, help="a worker in development mode")
    commands.add_parser("start", add_help=False, help="a production worker")
    return parser.parse_known_args(argv)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seconds must be a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"--seconds must be positive, got {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
