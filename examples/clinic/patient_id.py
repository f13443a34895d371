"""Where a call's patient id comes from: dispatch metadata, room metadata, the patient's attributes.

Ids are checked for shape here and by the provider's pattern before any query; only their keyed
hash is ever logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from livekit_plugins_medvision import hash_patient_id

from .log import logger

PATIENT_ID_KEY: Final = "patient_id"
"""The key of the patient id in dispatch metadata, room metadata and participant attributes."""

_MAX_PATIENT_ID_CHARS = 128


@dataclass(frozen=True)
class PatientRef:
    """A patient id and where it was found (``"job"``, ``"room"`` or ``"participant"``)."""

    patient_id: str
    source: str

    @property
    def hashed(self) -> str:
        """The id's keyed hash: the only form of it that may be logged."""
        return hash_patient_id(self.patient_id)


def resolve_patient_id(
    *,
    job_metadata: str = "",
    room_metadata: str = "",
    participant_attributes: Mapping[str, str] | None = None,
) -> PatientRef | None:
    """Find the patient id: dispatch metadata, else room metadata, else participant attributes.

    Metadata is JSON with a ``"patient_id"`` string. Malformed JSON or an unusable id is logged
    (without its content) and the next source is tried.

    Args:
        job_metadata: The job's dispatch metadata (``ctx.job.metadata``).
        room_metadata: The room's metadata (``ctx.room.metadata``).
        participant_attributes: The patient participant's attributes.
    """
    for source, metadata in (("job", job_metadata), ("room", room_metadata)):
        candidate = _from_metadata(source, metadata)
        if candidate is not None:
            return PatientRef(candidate, source)
    if participant_attributes is not None:
        candidate = _valid_id("participant", participant_attributes.get(PATIENT_ID_KEY))
        if candidate is not None:
            return PatientRef(candidate, "participant")
    return None


def _from_metadata(source: str, metadata: str) -> str | None:
    if not metadata.strip():
        return None
    try:
        parsed: object = json.loads(metadata)
    except json.JSONDecodeError:
        logger.warning("%s metadata is not valid JSON; ignoring it", source)
        return None
    if not isinstance(parsed, dict):
        logger.warning("%s metadata is not a JSON object; ignoring it", source)
        return None
    return _valid_id(source, parsed.get(PATIENT_ID_KEY))


def _valid_id(source: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_PATIENT_ID_CHARS:
        logger.warning("%s patient_id is not a usable id; ignoring it", source)
        return None
    return value.strip()
