"""What the agent may know about a patient and a clinic's avatar, as frozen, fully typed values.

Rows become these dataclasses in one place (``*_from_row``), each column checked for its type, so
no ``asyncpg.Record`` and no ``Any`` leaves the package. A column of the wrong type raises
``PatientContextError`` naming the column and the types, never the value. A value of the right
type that cannot be true (an infinite date, which asyncpg reads as ``date.max`` or
``datetime.min``; a condition starting in the future; an age outside 0-130) is read as unknown
(``None``): an odd record still renders, it never fails the read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias, TypeVar

from ..errors import PatientContextError
from ..privacy import hash_patient_id

__all__ = [
    "Allergy",
    "AvatarConfig",
    "CareNote",
    "Condition",
    "JsonValue",
    "Medication",
    "PatientContext",
    "Row",
    "VitalSigns",
]

JsonValue: TypeAlias = (
    "str | int | float | bool | None | tuple[JsonValue, ...] | Mapping[str, JsonValue]"
)
"""A JSON value, read-only: objects are mappings, arrays are tuples."""

Row: TypeAlias = Mapping[str, object]
"""One database row by column name, as the queries module hands it over."""

_T = TypeVar("_T")


class _PatientData:
    """Base of the dataclasses that hold patient data: a ``repr`` that shows none of it.

    A value that ends up in a log line, a traceback or an assertion message leaks nothing.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<patient data>)"


@dataclass(frozen=True, repr=False)
class Allergy(_PatientData):
    """A recorded allergy."""

    substance: str
    reaction: str | None = None
    severity: str | None = None


@dataclass(frozen=True, repr=False)
class Medication(_PatientData):
    """An active medication."""

    name: str
    dosage: str | None = None


@dataclass(frozen=True, repr=False)
class Condition(_PatientData):
    """An active condition (problem-list entry)."""

    name: str
    since: date | None = None


@dataclass(frozen=True, repr=False)
class VitalSigns(_PatientData):
    """The most recent set of vital signs and when they were measured."""

    measured_at: datetime | None
    """When they were measured; ``None`` when the record's timestamp is infinite."""
    heart_rate_bpm: int | None = None
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    temperature_c: float | None = None
    spo2_pct: int | None = None
    respiratory_rate: int | None = None


@dataclass(frozen=True, repr=False)
class CareNote(_PatientData):
    """A recent free-text care note."""

    written_at: datetime | None
    """When it was written; ``None`` when the record's timestamp is infinite."""
    text: str


@dataclass(frozen=True, repr=False)
class PatientContext:
    """Enough about one patient for a triage or follow-up conversation, and no more.

    The age is kept, never the birth date. Every field is optional: a patient with nothing
    recorded still renders sensibly. ``repr()`` shows only the hashed id, so a context that ends
    up in a log line does not leak its contents.
    """

    patient_id: str
    preferred_name: str | None = None
    age_years: int | None = None
    sex: str | None = None
    preferred_language: str | None = None
    allergies: tuple[Allergy, ...] = ()
    medications: tuple[Medication, ...] = ()
    conditions: tuple[Condition, ...] = ()
    vitals: VitalSigns | None = None
    care_notes: tuple[CareNote, ...] = ()
    unavailable_sections: frozenset[str] = frozenset()
    """Sections the clinic's database does not provide (no query configured for them, e.g.
    ``"conditions"``): left out of the prompt, so the model never reads "none recorded" where
    nobody asked the record."""

    @property
    def patient_hash(self) -> str:
        """The patient id as ``hash_patient_id`` gives it: the form allowed in logs."""
        return hash_patient_id(self.patient_id)

    def __repr__(self) -> str:
        return f"PatientContext(patient_hash={self.patient_hash!r})"


@dataclass(frozen=True)
class AvatarConfig:
    """A clinic's avatar: which provider, its constructor options, and whether it is on.

    ``settings`` holds the provider's options as stored (JSON, read-only); API keys are not
    expected there, each avatar plugin reads its own from the environment.
    """

    clinic_id: str
    provider: str
    settings: Mapping[str, JsonValue]
    enabled: bool


def patient_from_rows(
    patient_id: str,
    patient: Row,
    *,
    allergies: list[Row],
    medications: list[Row],
    conditions: list[Row],
    vitals: Row | None,
    care_notes: list[Row],
    unavailable_sections: frozenset[str] = frozenset(),
) -> PatientContext:
    """Build a ``PatientContext`` from the rows of each query, checking every column's type.

    Raises:
        PatientContextError: a column is missing or has the wrong type.
    """
    return PatientContext(
        patient_id=patient_id,
        preferred_name=_opt(patient, "preferred_name", str),
        age_years=_age(patient),
        sex=_opt(patient, "sex", str),
        preferred_language=_opt(patient, "preferred_language", str),
        allergies=tuple(
            Allergy(
                substance=_req(row, "substance", str),
                reaction=_opt(row, "reaction", str),
                severity=_opt(row, "severity", str),
            )
            for row in allergies
        ),
        medications=tuple(
            Medication(name=_req(row, "name", str), dosage=_opt(row, "dosage", str))
            for row in medications
        ),
        conditions=tuple(
            Condition(name=_req(row, "name", str), since=_opt_date(row, "since"))
            for row in conditions
        ),
        vitals=None if vitals is None else _vitals(vitals),
        care_notes=tuple(
            CareNote(written_at=_timestamp(row, "written_at"), text=_req(row, "text", str))
            for row in care_notes
        ),
        unavailable_sections=unavailable_sections,
    )


def avatar_from_row(clinic_id: str, row: Row) -> AvatarConfig:
    """Build an ``AvatarConfig`` from the avatar query's row.

    ``settings`` may come as JSON text (asyncpg's default for ``jsonb``) or as a mapping.

    Raises:
        PatientContextError: a column is missing, has the wrong type, or ``settings`` is not a
            JSON object.
    """
    provider = _req(row, "provider", str).strip().lower()
    if not provider:
        raise PatientContextError("column 'provider' of the avatar query is empty")
    raw = _req(row, "settings", object)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise PatientContextError("column 'settings' of the avatar query is not JSON") from None
    settings = _json(raw)
    if not isinstance(settings, Mapping):
        raise PatientContextError("column 'settings' of the avatar query is not a JSON object")
    return AvatarConfig(
        clinic_id=clinic_id,
        provider=provider,
        settings=settings,
        enabled=_req(row, "enabled", bool),
    )


def _vitals(row: Row) -> VitalSigns:
    return VitalSigns(
        measured_at=_timestamp(row, "measured_at"),
        heart_rate_bpm=_opt_int(row, "heart_rate_bpm"),
        systolic_mmhg=_opt_int(row, "systolic_mmhg"),
        diastolic_mmhg=_opt_int(row, "diastolic_mmhg"),
        temperature_c=_opt_float(row, "temperature_c"),
        spo2_pct=_opt_int(row, "spo2_pct"),
        respiratory_rate=_opt_int(row, "respiratory_rate"),
    )


def _column(row: Row, name: str) -> object:
    if name not in row:
        raise PatientContextError(f"a query returned no column {name!r}")
    return row[name]


def _opt(row: Row, name: str, kind: type[_T]) -> _T | None:
    value = _column(row, name)
    if value is None:
        return None
    # bool is an int subclass: a boolean where a number is expected is a schema mistake
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise PatientContextError(
            f"column {name!r} must be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _req(row: Row, name: str, kind: type[_T]) -> _T:
    value = _opt(row, name, kind)
    if value is None:
        raise PatientContextError(f"column {name!r} must not be NULL")
    return value


def _opt_int(row: Row, name: str) -> int | None:
    return _opt(row, name, int)


def _opt_float(row: Row, name: str) -> float | None:
    value = _column(row, name)
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    return _opt(row, name, float)


def _opt_date(row: Row, name: str) -> date | None:
    """A calendar date, or ``None`` when it is missing, infinite or after today."""
    # a timestamp is a date subclass: keep only its calendar date
    value = _opt(row, name, date)
    day = value.date() if isinstance(value, datetime) else value
    if day is None or day in _INFINITE_DATES or day > date.today():
        return None
    return day


def _timestamp(row: Row, name: str) -> datetime | None:
    """A required timestamp, or ``None`` when the database holds an infinite one."""
    value = _req(row, name, datetime)
    return None if value.replace(tzinfo=None) in _INFINITE_TIMESTAMPS else value


def _age(row: Row) -> int | None:
    """An age in years, or ``None`` outside what a living person can be (0 to 130)."""
    age = _opt(row, "age_years", int)
    return age if age is not None and 0 <= age <= _MAX_AGE else None


# asyncpg reads PostgreSQL's infinity and -infinity as the largest and smallest Python values.
_INFINITE_DATES = frozenset({date.max, date.min})
_INFINITE_TIMESTAMPS = frozenset({datetime.max, datetime.min})
_MAX_AGE = 130


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return tuple(_json(item) for item in value)
    if isinstance(value, Mapping):
        items: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise PatientContextError("column 'settings' has a non-text key")
            items[key] = _json(item)
        return MappingProxyType(items)
    raise PatientContextError(f"column 'settings' holds a {type(value).__name__}, not JSON")
