"""A clinic's video agent on LiveKit and Gemini Live: the patient's camera, context and costs.

Run it three ways:

    python examples/clinic_agent.py demo [--seconds N]   # offline: nothing to configure
    python examples/clinic_agent.py dev                  # a worker in development mode
    python examples/clinic_agent.py start                # a production worker

The worker joins a room when dispatched, reads the patient id (dispatch metadata, else room
metadata, else the patient's participant attributes), loads that patient's context from
PostgreSQL through one pool, and talks with Gemini Live while a VisionStreamer sends the
patient's camera (screen share as fallback) and a CostTracker prices the session per modality
against a budget. The demo runs the same wiring offline: an embedded PostgreSQL, a synthetic
camera and a local Gemini Live emulator in place of Google.

Configuration (environment): LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET and
GOOGLE_API_KEY are required for ``dev``/``start``; DATABASE_URL (unset: an embedded PostgreSQL
under ./.medvision/pgdata), MEDVISION_BUDGET_SOFT_USD, MEDVISION_BUDGET_HARD_USD,
MEDVISION_MODEL, MEDVISION_LANGUAGE and MEDVISION_AGENT_NAME are optional. See
examples/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from livekit_plugins_medvision.privacy import hash_patient_id

logger = logging.getLogger("medvision.clinic_agent")

REQUIRED_ENV = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "GOOGLE_API_KEY")
"""Variables a real worker cannot start without."""

DEFAULT_DATA_DIR = Path(".medvision") / "pgdata"
"""Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset."""

PATIENT_ID_KEY = "patient_id"
"""The key holding the patient id in dispatch metadata, room metadata and attributes."""

_MAX_PATIENT_ID_CHARS = 128


class ConfigurationError(Exception):
    """The environment does not configure the agent; the message lists every problem."""


@dataclass(frozen=True)
class ClinicSettings:
    """The agent's settings, read once from the environment.

    Attributes:
        database_url: PostgreSQL DSN; ``None`` runs an embedded server under ``data_dir``.
        data_dir: Data directory of the embedded PostgreSQL.
        model: Gemini Live model id.
        language: Language of the clinic's instructions (``"pt-BR"`` or ``"en"``).
        budget_soft_usd: Spend at which video is degraded.
        budget_hard_usd: Spend at which video stops and the patient is told.
        agent_name: Name the worker registers under, for explicit dispatch.
    """

    database_url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    model: str = "gemini-2.5-flash-native-audio-preview-12-2025"
    language: str = "pt-BR"
    budget_soft_usd: Decimal = Decimal("0.50")
    budget_hard_usd: Decimal = Decimal("1.00")
    agent_name: str = "medvision-clinic"

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
        soft = _decimal(env, "MEDVISION_BUDGET_SOFT_USD", defaults.budget_soft_usd, problems)
        hard = _decimal(env, "MEDVISION_BUDGET_HARD_USD", defaults.budget_hard_usd, problems)
        if soft is not None and hard is not None and soft > hard:
            problems.append("MEDVISION_BUDGET_SOFT_USD must not exceed MEDVISION_BUDGET_HARD_USD")
        language = env.get("MEDVISION_LANGUAGE", defaults.language)
        if language not in ("pt-BR", "en"):
            problems.append(f"MEDVISION_LANGUAGE must be pt-BR or en, got {language!r}")
        if problems:
            raise ConfigurationError(
                "clinic agent configuration: "
                + "; ".join(problems)
                + ". Set them in the environment (see examples/README.md), or run the offline "
                "demo: python examples/clinic_agent.py demo"
            )
        assert soft is not None and hard is not None  # problems is empty
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("MEDVISION_DATA_DIR") or defaults.data_dir),
            model=env.get("MEDVISION_MODEL") or defaults.model,
            language=language,
            budget_soft_usd=soft,
            budget_hard_usd=hard,
            agent_name=env.get("MEDVISION_AGENT_NAME", defaults.agent_name),
        )


def _decimal(
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


# --- command line -----------------------------------------------------------------------------


def _parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="clinic_agent.py",
        description="A clinic's video agent on LiveKit and Gemini Live.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run offline: embedded PostgreSQL, emulated Gemini")
    demo.add_argument("--seconds", type=_positive_seconds, default=20.0, help="length (20)")
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"PostgreSQL data ({DEFAULT_DATA_DIR})",
    )
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
    if args.command == "demo":
        if rest:
            print(f"clinic_agent.py demo: unknown arguments {' '.join(rest)}", file=sys.stderr)
            return 2
        raise NotImplementedError
    try:
        ClinicSettings.from_env(os.environ, require_livekit=True)
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main())
