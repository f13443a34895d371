"""The cost-ledger row written at the end of a session, so a clinic can total spend in SQL.

The table (``medvision.cost_ledger``) is created by the PatientContextProvider's migrations::

    SELECT date_trunc('day', recorded_at) AS day, patient_hash, sum(total_usd)
    FROM medvision.cost_ledger GROUP BY 1, 2 ORDER BY 1, 2;
"""

from __future__ import annotations

import json
import re

import asyncpg

from ..errors import CostLedgerError
from .report import CostReport

__all__ = ["check_patient_hash", "insert_ledger_row"]

_INSERT = """
INSERT INTO medvision.cost_ledger
    (job_id, room_name, patient_hash, model, turns, session_seconds, total_usd, report)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
RETURNING id
"""

_HASH = re.compile(r"[0-9a-f]{8,128}")


def check_patient_hash(patient_hash: object) -> None:
    """Refuse anything but a hashed patient id (lowercase hex), so no raw id is logged or stored.

    Raises:
        ValueError: ``patient_hash`` is not ``None`` and not 8-128 lowercase hex characters.
    """
    if patient_hash is not None and (
        not isinstance(patient_hash, str) or not _HASH.fullmatch(patient_hash)
    ):
        raise ValueError(
            "patient_hash must be a hashed patient id (lowercase hex, e.g. from hash_patient_id)"
        )


async def insert_ledger_row(
    pool: asyncpg.Pool[asyncpg.Record],
    report: CostReport,
    *,
    job_id: str | None,
    room_name: str | None,
    patient_hash: str | None,
) -> int:
    """Insert one row for ``report`` and return its id.

    One attempt only: an insert whose commit was not acknowledged may have happened, and a
    retry could count the session twice.

    Raises:
        ValueError: ``patient_hash`` is not a hashed id.
        CostLedgerError: the database refused or could not be reached.
    """
    check_patient_hash(patient_hash)
    row_id: object = None
    failure: str | None = None
    try:
        row_id = await pool.fetchval(
            _INSERT,
            job_id,
            room_name,
            patient_hash,
            report.model,
            report.turns,
            report.session_seconds,
            report.total_usd,
            json.dumps(report.to_dict()),
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        failure = type(error).__name__
    if failure is not None:
        # Database errors can quote the arguments (a room name may name the patient): keep only
        # the error's type, and raise outside the handler so not even __context__ holds it.
        raise CostLedgerError(f"cost ledger insert failed: {failure}")
    if not isinstance(row_id, int):
        raise CostLedgerError("cost ledger insert returned no id")
    return row_id
