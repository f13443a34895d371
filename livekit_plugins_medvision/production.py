"""The production start check: a worker that would handle patient data unsafely does not start.

``check_production_settings(os.environ)`` collects every problem before failing, so one message
lists them all, each with its fix; none quotes a password, a key or a patient value. It refuses
unless:

- ``DATABASE_URL`` is set and parses (production never falls back to a demo database);
- the database connection verifies the server: no ``sslmode`` (the provider then asks for
  verify-full) or ``sslmode=verify-full``, for every host that is not loopback;
- ``MEDVISION_ID_HASH_KEY`` holds at least 128 bits of key material;
- ``LIVEKIT_URL`` is a ``ws://`` or ``wss://`` URL;
- ``MEDVISION_PATIENT_ID_SOURCES``, if set, names known sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from .patients.source import PATIENT_ID_SOURCES_ENV, parse_patient_id_sources
from .patients.tls import parse_dsn
from .privacy import HASH_KEY_ENV, hash_key_problem

__all__ = ["UnsafeSettingsError", "check_production_settings", "settings_problems"]

_VERIFY_FIX: Final = (
    "remove sslmode from DATABASE_URL (verify-full is the default) or set verify-full"
)


class UnsafeSettingsError(ValueError):
    """Production settings that would put patient data at risk; the message lists every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "refusing to start in production: " + "; ".join(problems) + "."
            if problems
            else "refusing to start in production"
        )
        self.problems = tuple(problems)
        """Each problem with its fix, one sentence each."""


def settings_problems(
    env: Mapping[str, str] | None = None, *, production: bool = True
) -> list[str]:
    """Return every problem of the settings in ``env``, each with its fix.

    Args:
        env: The environment; ``os.environ`` by default.
        production: Require what production needs (the database, a verified connection, the
            hashing key, the LiveKit URL). ``False`` (development) checks only the form of
            what is set.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    dsn = env.get("DATABASE_URL", "").strip()
    if not dsn and production:
        problems.append(
            "DATABASE_URL is unset: set it to the clinic database's postgresql:// URI "
            "(the embedded demo database is for dev and demo only)"
        )
    elif dsn:
        try:
            address = parse_dsn(dsn, env)
        except ValueError as exc:  # never quotes the DSN
            problems.append(
                f"DATABASE_URL is not usable ({exc}): set it like "
                "postgresql://user:password@host:5432/dbname"
            )
        else:
            weak = address.sslmode not in (None, "verify-full")
            if weak and address.remote_hosts and production:
                problems.append(
                    f"DATABASE_URL (or PGSSLMODE) asks for sslmode={address.sslmode} to a host "
                    f"that is not loopback, which does not verify the server: {_VERIFY_FIX}"
                )
    key_problem = hash_key_problem(env)
    if key_problem is not None and (production or env.get(HASH_KEY_ENV, "").strip()):
        problems.append(key_problem)
    url = env.get("LIVEKIT_URL", "").strip()
    if not url and production:
        problems.append("LIVEKIT_URL is unset: set it to your LiveKit server, wss://...")
    elif url and not _is_websocket_url(url):
        problems.append(
            "LIVEKIT_URL is not a ws:// or wss:// URL with a host: set it like "
            "wss://your-project.livekit.cloud"
        )
    try:
        parse_patient_id_sources(env.get(PATIENT_ID_SOURCES_ENV))
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def check_production_settings(env: Mapping[str, str] | None = None) -> None:
    """Refuse production settings that would put patient data at risk.

    Raises:
        UnsafeSettingsError: one message listing every problem and its fix.
    """
    problems = settings_problems(env)
    if problems:
        raise UnsafeSettingsError(problems)


def _is_websocket_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme in ("ws", "wss") and bool(parts.hostname) and port_ok
