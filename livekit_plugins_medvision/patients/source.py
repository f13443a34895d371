"""Where a call's patient id may come from: the job's dispatch metadata, unless the clinic opts in.

Dispatch metadata is set by the clinic's backend with the server's API key when it dispatches the
agent (``api.CreateAgentDispatchRequest(metadata='{"patient_id": ...}')``): nobody in the room
can change it, so it is the only source by default. Two more are opt-in, with
``MEDVISION_PATIENT_ID_SOURCES=job,room,participant`` (order is priority):

- ``room``: the room's metadata, which only a holder of a ``roomAdmin`` grant or the server API
  can set. Safe when no participant token carries ``roomAdmin``.
- ``participant``: the patient participant's own attributes, set in its token. A participant
  allowed to update its own metadata and attributes (``canUpdateOwnMetadata``) could load another
  patient's record, so this source is skipped, with a warning, for such a participant.

Ids are checked for shape here and by the provider's pattern before any query; only their keyed
hash is ever logged, and ``PatientRef``'s ``repr`` shows that hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeGuard, get_args

from ..log import logger
from ..privacy import hash_patient_id

__all__ = [
    "DEFAULT_PATIENT_ID_SOURCES",
    "PATIENT_ID_KEY",
    "PATIENT_ID_SOURCES_ENV",
    "PatientIdSource",
    "PatientRef",
    "parse_patient_id_sources",
    "resolve_patient_id",
]

PatientIdSource = Literal["job", "room", "participant"]
"""A place a patient id may be read from."""

PATIENT_ID_SOURCES_ENV: Final = "MEDVISION_PATIENT_ID_SOURCES"
"""Environment variable listing the allowed sources, comma-separated, in priority order."""

DEFAULT_PATIENT_ID_SOURCES: Final[tuple[PatientIdSource, ...]] = ("job",)
"""Dispatch metadata only."""

PATIENT_ID_KEY: Final = "patient_id"
"""The key of the patient id in metadata (JSON objects) and participant attributes."""

_MAX_PATIENT_ID_CHARS: Final = 128
_SOURCES: Final = get_args(PatientIdSource)


@dataclass(frozen=True, repr=False)
class PatientRef:
    """A patient id and the source it was read from; its ``repr`` shows the keyed hash only."""

    patient_id: str
    source: PatientIdSource

    @property
    def hashed(self) -> str:
        """The id's keyed hash: the only form of it that may be logged."""
        return hash_patient_id(self.patient_id)

    def __repr__(self) -> str:
        return f"PatientRef(patient_hash={self.hashed!r}, source={self.source!r})"


def parse_patient_id_sources(value: str | None) -> tuple[PatientIdSource, ...]:
    """Read ``MEDVISION_PATIENT_ID_SOURCES``: ``None`` or blank gives the default (``job``).

    Raises:
        ValueError: an unknown or repeated source (the message lists the valid ones).
    """
    if value is None or not value.strip():
        return DEFAULT_PATIENT_ID_SOURCES
    names = [name.strip() for name in value.split(",")]
    sources = tuple(name for name in names if _is_source(name))
    if len(sources) != len(names) or len(set(sources)) != len(sources):
        raise ValueError(
            f"{PATIENT_ID_SOURCES_ENV} must list distinct sources among {', '.join(_SOURCES)}, "
            "comma-separated in priority order (default: job)"
        )
    return sources


def resolve_patient_id(
    *,
    job_metadata: str = "",
    room_metadata: str = "",
    participant_attributes: Mapping[str, str] | None = None,
    participant_can_update_own_attributes: bool = True,
    sources: Sequence[PatientIdSource] = DEFAULT_PATIENT_ID_SOURCES,
) -> PatientRef | None:
    """Find the patient id in the allowed ``sources``, in their order; ``None`` if none has one.

    Metadata is JSON with a ``"patient_id"`` string. Malformed JSON or an unusable id is logged
    (without its content) and the next source is tried. An id found in a source that is not
    allowed is ignored, and the log says so.

    Args:
        job_metadata: The job's dispatch metadata (``ctx.job.metadata``).
        room_metadata: The room's metadata (``ctx.room.metadata``).
        participant_attributes: The patient participant's attributes.
        participant_can_update_own_attributes: Whether that participant may change its own
            attributes (``participant.permissions.can_update_metadata``); if so, they are never
            a source. Assumed when not said.
        sources: The allowed sources in priority order (``parse_patient_id_sources``).
    """
    found: dict[PatientIdSource, str | None] = {
        "job": _from_metadata("job", job_metadata),
        "room": _from_metadata("room", room_metadata),
        "participant": None
        if participant_attributes is None
        else _valid_id("participant", participant_attributes.get(PATIENT_ID_KEY)),
    }
    for source in sources:
        candidate = found[source]
        if candidate is None:
            continue
        if source == "participant" and participant_can_update_own_attributes:
            logger.warning(
                "patient id in participant attributes ignored: the participant can update its "
                "own attributes (token grant canUpdateOwnMetadata), so they cannot be trusted"
            )
            continue
        return PatientRef(candidate, source)
    ignored = [source for source in _SOURCES if found[source] and source not in sources]
    if ignored:
        logger.info(
            "patient id in %s ignored: not an allowed source (%s)",
            ", ".join(ignored),
            PATIENT_ID_SOURCES_ENV,
        )
    return None


def _is_source(name: str) -> TypeGuard[PatientIdSource]:
    return name in _SOURCES


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
