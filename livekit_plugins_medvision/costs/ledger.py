"""The cost-ledger row written at the end of a session, so a clinic can total spend in SQL.

The table (``medvision.cost_ledger``) is created by the PatientContextProvider's migrations::

    SELECT date_trunc('day', recorded_at) AS day, patient_hash, sum(total_usd)
    FROM medvision.cost_ledger GROUP BY 1, 2 ORDER BY 1, 2;
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import asyncpg

from ..errors import CostLedgerError
from ..privacy import check_patient_hash, hash_room_name
from .report import CostReport

__all__ = ["insert_ledger_row"]

_INSERT = """
INSERT INTO medvision.cost_ledger
    (job_id, room_hash, patient_hash, model, turns, session_seconds, total_usd, report)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
RETURNING id
"""
# numeric(14, 6) holds less than 10**8 in absolute value; turns is an integer column
_MAX_USD = Decimal(10) ** 8
_MAX_TURNS = 2**31 - 1


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
        CostLedgerError: the database refused or could not be reached, or an amount does not
            fit its column (checked before anything is sent).
    """
    check_patient_hash(patient_hash)
    if report.total_usd is not None and not abs(report.total_usd) < _MAX_USD:
        raise CostLedgerError(
            "cost ledger: total_usd does not fit numeric(14, 6) (at most 99,999,999.999999 "
            "USD); the usage figures are implausible, see the session's cost report"
        )
    if not 0 <= report.turns <= _MAX_TURNS:
        raise CostLedgerError("cost ledger: turns does not fit its integer column")
    row_id: object = None
    failure: str | None = None
    try:
        row_id = await _insert(
            pool,
            job_id,
            None if room_name is None else hash_room_name(room_name),
            patient_hash,
            report.model,
            report.turns,
            report.session_seconds,
            report.total_usd,
            json.dumps(report.to_dict()),
        )
    except Exception as error:  # asyncpg's errors have no common base: every one is a failure
        failure = type(error).__name__
    if failure is not None:
        # Database errors can quote the arguments (a room name may name the patient): keep only
        # the error's type, and raise outside the handler so not even __context__ holds it.
        raise CostLedgerError(f"cost ledger insert failed: {failure}")
    if not isinstance(row_id, int):
        raise CostLedgerError("cost ledger insert returned no id")
    return row_id


async def _insert(pool: asyncpg.Pool[asyncpg.Record], *args: object) -> object:
    conn = await pool.acquire()
    try:
        return await conn.fetchval(_INSERT, *args)
    finally:
        # The insert is settled by now: a reset that fails because the server died meanwhile
        # makes asyncpg drop the connection, and must not report a committed row as lost.
        with contextlib.suppress(Exception):
            await pool.release(conn)
