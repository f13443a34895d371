"""The clinic agent's settings, read once from the environment and checked all at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from livekit_plugins_medvision.costs import OnHard
from livekit_plugins_medvision.patients import (
    PATIENT_ID_SOURCES_ENV,
    Language,
    PatientIdSource,
    PoolMode,
    parse_patient_id_sources,
)
from livekit_plugins_medvision.production import settings_problems

REQUIRED_ENV: Final = ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "GOOGLE_API_KEY")
"""Variables a real worker cannot start without."""

BUDGET_ENV: Final = ("MEDVISION_BUDGET_SOFT_USD", "MEDVISION_BUDGET_HARD_USD")
"""The per-call budget, soft then hard, in USD."""

BUDGET_ON_HARD_ENV: Final = "MEDVISION_BUDGET_ON_HARD"
"""What the hard limit does: ``pause_video`` (the default) or ``end_call``."""

DEFAULT_DATA_DIR: Final = Path(".medvision") / "pgdata"
"""Where the embedded PostgreSQL keeps its data when DATABASE_URL is unset."""

_LANGUAGES: Final[tuple[Language, ...]] = ("pt-BR", "en")
_POOL_MODES: Final[tuple[PoolMode, ...]] = ("session", "transaction")
_ON_HARD: Final[tuple[OnHard, ...]] = ("pause_video", "end_call")
_LIVEKIT_OPTIONS: Final = {
    "--url": "LIVEKIT_URL",
    "--api-key": "LIVEKIT_API_KEY",
    "--api-secret": "LIVEKIT_API_SECRET",
}


class ConfigurationError(Exception):
    """The environment does not configure the agent; the message lists every problem."""


@dataclass(frozen=True)
class ClinicSettings:
    """The agent's settings, read once from the environment.

    Production (``start``) also passes the package's ``check_production_settings``: a database
    that verifies its server, the id-hashing key, a ``ws(s)://`` LiveKit URL.

    Attributes:
        database_url: PostgreSQL DSN; ``None`` runs an embedded server under ``data_dir``.
        database_pool_mode: ``"transaction"`` when ``database_url`` goes through PgBouncer in
            transaction mode (``MEDVISION_DATABASE_POOL_MODE``); ``"session"`` otherwise.
        data_dir: Data directory of the embedded PostgreSQL.
        clinic_id: The clinic whose avatar configuration is used; ``None`` for no avatar.
        model: Gemini Live model id.
        language: Language of the clinic's instructions.
        budget_soft_usd: Spend at which video is turned down.
        budget_hard_usd: Spend at which video stops and the patient is told.
        budget_on_hard: At the hard limit, ``"pause_video"`` (the call goes on by voice) or
            ``"end_call"`` (the agent says goodbye, then the call ends), from
            ``MEDVISION_BUDGET_ON_HARD``.
        patient_id_sources: Where the patient id may come from (``MEDVISION_PATIENT_ID_SOURCES``).
    """

    database_pool_mode: PoolMode = "session"
    data_dir: Path = DEFAULT_DATA_DIR
    clinic_id: str | None = None
    model: str = "gemini-2.5-flash-native-audio-preview-12-2025"
    language: Language = "pt-BR"
    budget_soft_usd: Decimal = Decimal("0.50")
    budget_hard_usd: Decimal = Decimal("1.00")
    budget_on_hard: OnHard = "pause_video"
    patient_id_sources: tuple[PatientIdSource, ...] = ("job",)
    # the DSN can carry a password: never in a repr
    database_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, require_livekit: bool, production: bool = False
    ) -> ClinicSettings:
        """Read the settings from ``env``, checking every variable before failing.

        Args:
            env: The environment (``os.environ`` or a test's mapping).
            require_livekit: Also require the LiveKit and Google variables (a real worker).
            production: Also refuse what would put patient data at risk (``start``).

        Raises:
            ConfigurationError: one message naming every missing or malformed variable.
        """
        problems: list[str] = []
        if require_livekit:
            missing = [name for name in REQUIRED_ENV if not env.get(name, "").strip()]
            if production:  # LIVEKIT_URL is checked in full below
                missing = [name for name in missing if name != "LIVEKIT_URL"]
            if missing:
                problems.append("missing " + ", ".join(missing))
            problems += settings_problems(env, production=production)
        defaults = cls()
        soft = _usd(env, BUDGET_ENV[0], defaults.budget_soft_usd, problems)
        hard = _usd(env, BUDGET_ENV[1], defaults.budget_hard_usd, problems)
        if soft is not None and hard is not None and soft >= hard:
            problems.append(f"{BUDGET_ENV[0]} must be below {BUDGET_ENV[1]}")
        on_hard = _on_hard(env.get(BUDGET_ON_HARD_ENV) or defaults.budget_on_hard)
        if on_hard is None:
            problems.append(f"{BUDGET_ON_HARD_ENV} must be one of {', '.join(_ON_HARD)}")
        language = _language(env.get("MEDVISION_LANGUAGE", defaults.language))
        if language is None:
            problems.append(f"MEDVISION_LANGUAGE must be one of {', '.join(_LANGUAGES)}")
        pool_mode = _pool_mode(env.get("MEDVISION_DATABASE_POOL_MODE") or "session")
        if pool_mode is None:
            problems.append(f"MEDVISION_DATABASE_POOL_MODE must be one of {', '.join(_POOL_MODES)}")
        sources: tuple[PatientIdSource, ...] = ()
        try:
            sources = parse_patient_id_sources(env.get(PATIENT_ID_SOURCES_ENV))
        except ValueError as exc:
            if not require_livekit:  # else settings_problems lists it
                problems.append(str(exc))
        if (
            problems
            or soft is None
            or hard is None
            or on_hard is None
            or language is None
            or pool_mode is None
            or not sources
        ):
            raise ConfigurationError(
                "clinic agent configuration: "
                + "; ".join(problems)
                + ". Set them in the environment (see docs/deployment.md), or try the offline "
                "demo: python examples/clinic_agent.py demo"
            )
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            database_pool_mode=pool_mode,
            data_dir=Path(env.get("MEDVISION_DATA_DIR") or defaults.data_dir),
            clinic_id=env.get("MEDVISION_CLINIC_ID") or None,
            model=env.get("MEDVISION_MODEL") or defaults.model,
            language=language,
            budget_soft_usd=soft,
            budget_hard_usd=hard,
            budget_on_hard=on_hard,
            patient_id_sources=sources,
        )


def livekit_options_given(args: Sequence[str]) -> dict[str, str]:
    """The LiveKit variables that LiveKit's own options in ``args`` provide instead, and values.

    ``--url``, ``--api-key`` and ``--api-secret`` after ``dev``/``start`` stand in for
    ``LIVEKIT_URL``, ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET``.
    """
    given: dict[str, str] = {}
    for index, arg in enumerate(args):
        option, equals, value = arg.partition("=")
        if option in _LIVEKIT_OPTIONS:
            if not equals:
                value = args[index + 1] if index + 1 < len(args) else ""
            given[_LIVEKIT_OPTIONS[option]] = value
    return given


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


def _pool_mode(value: str) -> PoolMode | None:
    return next((mode for mode in _POOL_MODES if mode == value), None)


def _on_hard(value: str) -> OnHard | None:
    return next((action for action in _ON_HARD if action == value), None)
