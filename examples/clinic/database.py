"""The patient database: one provider per call, context and avatar lookups, the demo server.

Every failure here is one warning line (a hashed patient id at most) and the call goes on
without what failed: the agent still talks.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Final

from livekit_plugins_medvision import (
    AvatarConfig,
    PatientContext,
    PatientContextError,
    PatientContextProvider,
)
from livekit_plugins_medvision.patients import REFERENCE_QUERIES, PatientRef, PoolMode

from .log import logger

PATIENT_QUERIES: Final = REFERENCE_QUERIES
"""The SQL the worker reads patients with. To read an existing EHR schema instead of the
reference one, replace it with your own ``PatientQueries`` (see docs/patients.md)."""


async def connect(
    database_url: str | None, pool_mode: PoolMode = "session"
) -> PatientContextProvider | None:
    """Open the call's provider (one pool), or return ``None`` (logged) when there is none.

    ``pool_mode="transaction"`` when ``database_url`` goes through PgBouncer in transaction mode.
    """
    if database_url is None:
        logger.warning("DATABASE_URL unset: no patient context")
        return None
    try:
        return await PatientContextProvider.connect(
            database_url, queries=PATIENT_QUERIES, pool_mode=pool_mode
        )
    except PatientContextError as exc:
        logger.warning("patient database unreachable (%s): no patient context", type(exc).__name__)
    except ValueError:  # a malformed DATABASE_URL; the message never quotes it (a password)
        logger.warning("DATABASE_URL is malformed: no patient context")
    return None


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


async def read_avatar_config(
    provider: PatientContextProvider, clinic_id: str
) -> AvatarConfig | None:
    """Return the clinic's avatar configuration, or ``None`` (one warning) if unreadable."""
    try:
        return await provider.get_avatar_config(clinic_id)
    except (ValueError, PatientContextError) as exc:
        logger.warning("avatar configuration unreadable (%s): no avatar", type(exc).__name__)
        return None


def start_embedded_database(data_dir: Path) -> str:
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
