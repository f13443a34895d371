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

__all__ = [
    "DEFAULT_PURPOSE",
    "DEMO_CLINIC_ID",
    "DEMO_PATIENT_IDS",
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
    "PatientQueries",
    "PoolMode",
    "VitalSigns",
    "clinic_instructions",
    "render_patient_context",
    "start_embedded_postgres",
]
