"""Where the money went across calls: ``medvision.cost_ledger`` rows read and totalled.

One query reads the calls of a period (each row's bill lines summed per modality inside
PostgreSQL, so only a few numbers per call cross the wire); the totals are computed here, in
``Decimal``, so every figure adds up to the cent the rows hold.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

import asyncpg

from ..modality import MODALITIES, MODALITY_OF, Modality
from ..report import JSONValue

__all__ = [
    "DayTotal",
    "LedgerCall",
    "LedgerRowError",
    "LedgerSummary",
    "ModelTotal",
    "fetch_calls",
    "percentile",
    "summarize",
]

_ZERO = Decimal(0)

# Bucket names are bound as parameters ($4...): each modality's sum reads its lines by path,
# cheaper than expanding every report's buckets into rows.
_BUCKETS = [
    bucket.value for name in MODALITIES for bucket, group in MODALITY_OF.items() if group == name
]


def _modality_sum(name: Modality, first: int) -> tuple[str, int]:
    count = sum(1 for group in MODALITY_OF.values() if group == name)
    terms = [
        f"coalesce((l.report -> 'buckets' -> ${n}::text ->> 'usd')::numeric, 0)"
        for n in range(first, first + count)
    ]
    return " + ".join(terms), first + count


def _query() -> str:
    sums, first = [], 4
    for name in MODALITIES:
        expression, first = _modality_sum(name, first)
        sums.append(expression)
    return f"""
SELECT l.recorded_at, l.model, l.session_seconds, l.total_usd, l.report #>> '{{budget,step}}',
       {", ".join(sums)}
FROM medvision.cost_ledger AS l
WHERE l.recorded_at >= $1 AND l.recorded_at < $2 AND ($3::text IS NULL OR l.model = $3)
ORDER BY l.recorded_at, l.id
"""


_QUERY = _query()


class LedgerRowError(Exception):
    """A ledger row whose columns are not what the reference schema writes."""


@dataclasses.dataclass(frozen=True)
class LedgerCall:
    """One call of the ledger, as the report needs it."""

    recorded_at: datetime.datetime
    model: str
    seconds: float
    usd: Decimal | None
    """``None`` when the model had no known prices."""
    by_modality: Mapping[Modality, Decimal]
    budget_step: str | None
    """``"soft"`` or ``"hard"`` when the call crossed that limit; ``None`` otherwise (or when
    the row predates budget steps in the ledger)."""


@dataclasses.dataclass(frozen=True)
class DayTotal:
    """The calls of one UTC day."""

    day: datetime.date
    calls: int
    usd: Decimal
    by_modality: Mapping[Modality, Decimal]


@dataclasses.dataclass(frozen=True)
class ModelTotal:
    """The calls on one model."""

    model: str
    calls: int
    usd: Decimal
    minutes: float


@dataclasses.dataclass(frozen=True)
class LedgerSummary:
    """The totals of a period of the ledger. Calls without prices count as calls, not as $0."""

    since: datetime.datetime
    until: datetime.datetime
    model: str | None
    """The model the report was limited to, if any."""
    calls: int
    unpriced_calls: int
    total_usd: Decimal
    minutes: float
    by_modality: Mapping[Modality, Decimal]
    days: tuple[DayTotal, ...]
    models: tuple[ModelTotal, ...]
    call_usd: tuple[Decimal, ...]
    """Each priced call's cost, in ascending order (the histogram's data)."""
    crossed_soft: int
    """Calls that reached their soft limit (those that went on to the hard one included)."""
    crossed_hard: int

    @property
    def usd_per_minute(self) -> Decimal | None:
        """Total cost over total call time; ``None`` without time."""
        if self.minutes <= 0:
            return None
        return self.total_usd / Decimal(repr(self.minutes))

    @property
    def image_share(self) -> float | None:
        """Image and video's share of the total cost; ``None`` when nothing was spent."""
        if not self.total_usd:
            return None
        return float(self.by_modality["image"] / self.total_usd)

    def per_call(self, fraction: float) -> Decimal | None:
        """The nearest-rank percentile of the cost per priced call (``1.0``: the maximum)."""
        return percentile(self.call_usd, fraction)

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the summary as plain values ``json.dumps`` accepts (money as strings)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "model": self.model,
            "calls": self.calls,
            "unpriced_calls": self.unpriced_calls,
            "total_usd": _money(self.total_usd),
            "minutes": round(self.minutes, 3),
            "usd_per_minute": _money(self.usd_per_minute),
            "per_call_usd": {
                "p50": _money(self.per_call(0.50)),
                "p95": _money(self.per_call(0.95)),
                "max": _money(self.per_call(1.0)),
            },
            "by_modality": {name: _money(self.by_modality[name]) for name in MODALITIES},
            "image_share": None if self.image_share is None else round(self.image_share, 4),
            "crossed_soft": self.crossed_soft,
            "crossed_hard": self.crossed_hard,
            "days": [
                {
                    "day": day.day.isoformat(),
                    "calls": day.calls,
                    "usd": _money(day.usd),
                    "by_modality": {name: _money(day.by_modality[name]) for name in MODALITIES},
                }
                for day in self.days
            ],
            "models": [
                {
                    "model": model.model,
                    "calls": model.calls,
                    "usd": _money(model.usd),
                    "minutes": round(model.minutes, 3),
                }
                for model in self.models
            ],
        }


async def fetch_calls(
    connection: asyncpg.Connection[asyncpg.Record],
    *,
    since: datetime.datetime,
    until: datetime.datetime,
    model: str | None,
) -> list[LedgerCall]:
    """Read the calls recorded in ``[since, until)``, on ``model`` if given, oldest first."""
    rows = await connection.fetch(_QUERY, since, until, model, *_BUCKETS)
    return [_call(row) for row in rows]


def summarize(
    calls: Sequence[LedgerCall],
    *,
    since: datetime.datetime,
    until: datetime.datetime,
    model: str | None = None,
) -> LedgerSummary:
    """Total ``calls`` per day, per model and per modality."""
    by_modality = dict.fromkeys(MODALITIES, _ZERO)
    days: dict[datetime.date, tuple[int, Decimal, dict[Modality, Decimal]]] = {}
    models: dict[str, tuple[int, Decimal, float]] = {}
    call_usd: list[Decimal] = []
    total = _ZERO
    minutes = 0.0
    unpriced = soft = hard = 0
    for call in calls:
        minutes += call.seconds / 60
        day = call.recorded_at.astimezone(datetime.UTC).date()
        day_calls, day_usd, day_modality = days.get(
            day, (0, _ZERO, dict.fromkeys(MODALITIES, _ZERO))
        )
        model_calls, model_usd, model_minutes = models.get(call.model, (0, _ZERO, 0.0))
        usd = call.usd if call.usd is not None else _ZERO
        if call.usd is None:
            unpriced += 1
        else:
            call_usd.append(call.usd)
            for name in MODALITIES:
                by_modality[name] += call.by_modality[name]
                day_modality[name] += call.by_modality[name]
        total += usd
        days[day] = (day_calls + 1, day_usd + usd, day_modality)
        models[call.model] = (model_calls + 1, model_usd + usd, model_minutes + call.seconds / 60)
        soft += call.budget_step in ("soft", "hard")
        hard += call.budget_step == "hard"
    return LedgerSummary(
        since=since,
        until=until,
        model=model,
        calls=len(calls),
        unpriced_calls=unpriced,
        total_usd=total,
        minutes=minutes,
        by_modality=by_modality,
        days=tuple(
            DayTotal(day=day, calls=n, usd=usd, by_modality=split)
            for day, (n, usd, split) in sorted(days.items())
        ),
        models=tuple(
            ModelTotal(model=name, calls=n, usd=usd, minutes=m)
            for name, (n, usd, m) in sorted(models.items(), key=lambda item: -item[1][1])
        ),
        call_usd=tuple(sorted(call_usd)),
        crossed_soft=soft,
        crossed_hard=hard,
    )


def percentile(ordered: Sequence[Decimal], fraction: float) -> Decimal | None:
    """Nearest-rank percentile of an ascending sequence; ``None`` when it is empty."""
    if not ordered:
        return None
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


def _call(row: asyncpg.Record) -> LedgerCall:
    """Check one row's values at the boundary (no ``Record`` or ``Any`` goes further)."""
    recorded_at, model, seconds, usd, step, *split = tuple(row)
    if not isinstance(recorded_at, datetime.datetime) or not isinstance(model, str):
        raise LedgerRowError("recorded_at or model")
    if not isinstance(seconds, float | int) or not math.isfinite(seconds):
        raise LedgerRowError("session_seconds")
    if usd is not None and not isinstance(usd, Decimal):
        raise LedgerRowError("total_usd")
    by_modality: dict[Modality, Decimal] = {}
    for name, value in zip(MODALITIES, split, strict=True):
        if value is not None and not isinstance(value, Decimal):
            raise LedgerRowError("report buckets")
        by_modality[name] = _ZERO if value is None else value
    return LedgerCall(
        recorded_at=recorded_at,
        model=model,
        seconds=float(seconds),
        usd=usd,
        by_modality=by_modality,
        budget_step=step if step in ("soft", "hard") else None,
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"
