"""The SQL the provider runs, configurable so an existing EHR schema fits without a fork.

Each query takes the patient id (or the clinic id) as ``$1``, passed as text, and returns
columns with the names listed below; ``columns`` renames them for queries whose column names
cannot be aliased. A section whose query is ``None`` is not read: it is named in
``PatientContext.unavailable_sections`` and left out of the prompt. The patient query and the
list queries are combined into one statement (``lookup_statement()``), so the whole record
costs a single round trip to the database. ``REFERENCE_QUERIES`` reads the reference schema that
``PatientContextProvider.migrate()`` creates.

=================  ==========================================================================
query              columns
=================  ==========================================================================
``patient``        preferred_name, age_years, sex, preferred_language (no row: unknown id)
``allergies``      substance, reaction, severity
``medications``    name, dosage (active ones only)
``conditions``     name, since (active ones only)
``vitals``         measured_at, heart_rate_bpm, systolic_mmhg, diastolic_mmhg, temperature_c,
                   spo2_pct, respiratory_rate (the most recent row only)
``care_notes``     written_at, text (most recent first)
``avatar_config``  provider, settings, enabled (``$1`` is the clinic id)
``audit``          writes one row from ``$1`` patient id, ``$2`` found, ``$3`` job id,
                   ``$4`` room name, ``$5`` purpose
=================  ==========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

__all__ = ["PATIENT_COLUMNS", "REFERENCE_QUERIES", "SECTION_COLUMNS", "PatientQueries"]

PATIENT_COLUMNS = ("preferred_name", "age_years", "sex", "preferred_language")
"""The columns of the ``patient`` query, in the order the lookup statement reads them."""

SECTION_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "allergies": ("substance", "reaction", "severity"),
        "medications": ("name", "dosage"),
        "conditions": ("name", "since"),
        "vitals": (
            "measured_at",
            "heart_rate_bpm",
            "systolic_mmhg",
            "diastolic_mmhg",
            "temperature_c",
            "spo2_pct",
            "respiratory_rate",
        ),
        "care_notes": ("written_at", "text"),
    }
)
"""The columns of each list query, in the order the lookup statement reads them."""

_COLUMNS = frozenset(
    {*PATIENT_COLUMNS, *(c for cs in SECTION_COLUMNS.values() for c in cs)}
    | {"provider", "settings", "enabled"}
)


@dataclass(frozen=True)
class PatientQueries:
    """The statements the provider runs, and how their columns map to context fields.

    Reads run in a read-only transaction, so a query that tries to write fails. Replace single
    statements with ``dataclasses.replace(REFERENCE_QUERIES, care_notes=...)``.

    Attributes:
        patient: The patient's demographics; no row means an unknown patient.
        allergies: The patient's allergies.
        medications: The patient's active medications.
        conditions: The patient's active conditions.
        vitals: The patient's most recent vital signs (one row at most is used).
        care_notes: The patient's recent care notes.
        avatar_config: A clinic's avatar configuration (one row at most is used).
        audit: Writes the access-audit row; required when the provider audits.
        columns: Renames columns: context field name -> column name returned by the query.
        patient_id_pattern: Regular expression a patient id must match in full before any query
            runs.
        clinic_id_pattern: The same for clinic ids (``get_avatar_config``); an EHR with
            MRN-style patient ids keeps its own clinic ids.
    """

    patient: str
    allergies: str | None = None
    medications: str | None = None
    conditions: str | None = None
    vitals: str | None = None
    care_notes: str | None = None
    avatar_config: str | None = None
    audit: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    patient_id_pattern: str = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
    clinic_id_pattern: str = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"columns", "patient_id_pattern", "clinic_id_pattern"} or (
                value is None and f.name != "patient"
            ):
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{f.name} must be a non-empty SQL statement")
        if not isinstance(self.columns, Mapping):
            raise ValueError("columns must be a mapping of context field name to column name")
        unknown = set(self.columns) - _COLUMNS
        if unknown:
            raise ValueError(f"columns: unknown context fields {sorted(unknown)}")
        if not all(_is_name(v) for v in self.columns.values()):
            raise ValueError("columns: every column name must be a non-empty string")
        for name in ("patient_id_pattern", "clinic_id_pattern"):
            try:
                re.compile(getattr(self, name))
            except (re.error, TypeError):
                raise ValueError(f"{name} is not a valid regular expression") from None
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    def column(self, name: str) -> str:
        """Return the column name the queries use for the context field ``name``."""
        return self.columns.get(name, name)

    def lookup_statement(self) -> str:
        """Return one statement that runs the patient query and every list query.

        A lookup then costs one round trip instead of one per query. Each query becomes a
        subquery whose columns are read by name into a row of known order: the patient as a
        row led by ``true`` (NULL when unknown), each list as an array of rows.
        """
        parts = [
            f"(SELECT ROW(true, {self._picked(PATIENT_COLUMNS)})"
            f" FROM ({_subquery(self.patient)}) s LIMIT 1) AS patient"
        ]
        for section, columns in SECTION_COLUMNS.items():
            query: str | None = getattr(self, section)
            if query is not None:
                limit = " LIMIT 1" if section == "vitals" else ""
                parts.append(
                    f"ARRAY(SELECT ROW({self._picked(columns)})"
                    f" FROM ({_subquery(query)}) s{limit}) AS {section}"
                )
        return "SELECT " + ",\n       ".join(parts)

    def _picked(self, fields: tuple[str, ...]) -> str:
        return ", ".join(f"s.{_identifier(self.column(f))}" for f in fields)


_LIST_LIMIT = 50
_NOTES_LIMIT = 5


def _in_range(column: str) -> str:
    """``column``, a timestamp, as +/-infinity when Python's ``datetime`` cannot hold it.

    asyncpg fails the whole read on a year outside 1-9999; an infinite one reads as unknown.
    """
    return (
        f"CASE WHEN {column} < '0001-01-02' THEN '-infinity'"
        f" WHEN {column} > '9999-12-30' THEN 'infinity' ELSE {column} END AS {column}"
    )


REFERENCE_QUERIES = PatientQueries(
    patient="""
        SELECT preferred_name,
               CASE WHEN isfinite(birth_date) AND birth_date <= current_date
                    THEN extract(year FROM age(current_date, birth_date))::int END AS age_years,
               sex, preferred_language
        FROM medvision.patients WHERE id = $1""",
    allergies=f"""
        SELECT substance, reaction, severity FROM medvision.allergies
        WHERE patient_id = $1 ORDER BY recorded_at, substance LIMIT {_LIST_LIMIT}""",
    medications=f"""
        SELECT name, dosage FROM medvision.medications
        WHERE patient_id = $1 AND active ORDER BY name LIMIT {_LIST_LIMIT}""",
    conditions=f"""
        SELECT name, CASE WHEN since BETWEEN date '0001-01-01' AND current_date
                          THEN since END AS since
        FROM medvision.conditions
        WHERE patient_id = $1 AND active ORDER BY since NULLS LAST, name LIMIT {_LIST_LIMIT}""",
    vitals=f"""
        SELECT {_in_range("measured_at")}, heart_rate_bpm, systolic_mmhg, diastolic_mmhg,
               temperature_c, spo2_pct, respiratory_rate
        FROM medvision.vital_signs WHERE patient_id = $1 ORDER BY measured_at DESC LIMIT 1""",
    care_notes=f"""
        SELECT {_in_range("written_at")}, body AS text FROM medvision.care_notes
        WHERE patient_id = $1 ORDER BY written_at DESC LIMIT {_NOTES_LIMIT}""",
    avatar_config="""
        SELECT provider, settings, enabled FROM medvision.avatar_configs
        WHERE clinic_id = $1 ORDER BY enabled DESC, updated_at DESC, provider LIMIT 1""",
    audit="""
        INSERT INTO medvision.access_audit (patient_id, found, job_id, room_name, purpose)
        VALUES ($1, $2, $3, $4, $5)""",
)
"""The queries of the reference schema (``medvision.*``, created by ``migrate()``)."""


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _subquery(sql: str) -> str:
    # on lines of its own, so a trailing comment cannot swallow the closing parenthesis
    return f"\n{sql.strip().rstrip(';')}\n"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
