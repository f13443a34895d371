"""The time range of a ledger report: ``--since 7d``, ``--until 2026-12-01`` and the like."""

from __future__ import annotations

import datetime
import re

__all__ = ["parse_moment"]

_AGO = re.compile(r"(\d{1,5})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, *, now: datetime.datetime, option: str) -> datetime.datetime:
    """Read a moment: a span back from ``now`` or an ISO date or date-time.

    Spans are ``30m``, ``12h``, ``7d`` or ``2w``; a date or date-time is UTC unless it names its
    offset.

    Raises:
        ValueError: ``text`` is neither; the message names ``option`` and the forms it takes.
    """
    value = text.strip().lower()
    ago = _AGO.fullmatch(value)
    if ago is not None:
        count, unit = int(ago.group(1)), ago.group(2)
        return now - datetime.timedelta(**{_UNITS[unit]: count})
    try:
        moment = datetime.datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not a span such as 7d, 12h, 30m, 2w or a date such as "
            "2026-12-01 or 2026-12-01T08:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment
