"""PatientContextProvider: patient context and avatar configuration from PostgreSQL.

One asyncpg pool per job, read-only timed lookups with an access audit, rows turned into frozen
dataclasses, and the record rendered into the clinic agent's prompt fenced as data.
"""

from .embedded import EmbeddedPostgres, start_embedded_postgres
from .migrations import DEMO_CLINIC_ID, DEMO_PATIENT_IDS
from .models import (
    Allergy,
    AvatarConfig,
    CareNote,
    Condition,
    JsonValue,
    Medication,
    PatientContext,
    VitalSigns,
)
from .prompt import Language, clinic_instructions, render_patient_context
from .provider import DEFAULT_PURPOSE, PatientContextProvider, PoolMode
from .queries import REFERENCE_QUERIES, PatientQueries
from .source import (
    DEFAULT_PATIENT_ID_SOURCES,
    PATIENT_ID_KEY,
    PATIENT_ID_SOURCES_ENV,
    PatientIdSource,
    PatientRef,
    parse_patient_id_sources,
    resolve_patient_id,
)

__all__ = [
    "DEFAULT_PATIENT_ID_SOURCES",
    "DEFAULT_PURPOSE",
    "DEMO_CLINIC_ID",
    "DEMO_PATIENT_IDS",
    "PATIENT_ID_KEY",
    "PATIENT_ID_SOURCES_ENV",
    "REFERENCE_QUERIES",
    "Allergy",
    "AvatarConfig",
    "CareNote",
    "Condition",
    "EmbeddedPostgres",
    "JsonValue",
    "Language",
    "Medication",
    "PatientContext",
    "PatientContextProvider",
    "PatientIdSource",
    "PatientQueries",
    "PatientRef",
    "PoolMode",
    "VitalSigns",
    "clinic_instructions",
    "parse_patient_id_sources",
    "render_patient_context",
    "resolve_patient_id",
    "start_embedded_postgres",
]
