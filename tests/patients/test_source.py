"""Where the patient id may come from: dispatch metadata only, unless the clinic opts in."""

import json

import pytest

from livekit_plugins_medvision import hash_patient_id
from livekit_plugins_medvision.patients import (
    PatientRef,
    parse_patient_id_sources,
    resolve_patient_id,
)

ALL = parse_patient_id_sources("job,room,participant")


def _meta(patient_id: object) -> str:
    return json.dumps({"patient_id": patient_id})


def test_by_default_only_the_dispatch_metadata_is_a_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = resolve_patient_id(job_metadata=_meta("p-job"), room_metadata=_meta("p-room"))
    assert ref == PatientRef("p-job", "job")
    # a participant that sets its own attributes, or room metadata, cannot choose the patient
    caplog.set_level("INFO")
    assert (
        resolve_patient_id(
            room_metadata=_meta("p-room"),
            participant_attributes={"patient_id": "p-attr"},
            participant_can_update_own_attributes=False,
        )
        is None
    )
    assert "patient id in room, participant ignored" in caplog.text
    assert "MEDVISION_PATIENT_ID_SOURCES" in caplog.text
    assert "p-room" not in caplog.text and "p-attr" not in caplog.text


def test_opted_in_sources_in_their_order() -> None:
    def resolve(sources: str) -> PatientRef | None:
        return resolve_patient_id(
            room_metadata=_meta("p-room"),
            participant_attributes={"patient_id": "p-attr"},
            participant_can_update_own_attributes=False,
            sources=parse_patient_id_sources(sources),
        )

    assert resolve("job,room,participant") == PatientRef("p-room", "room")
    assert resolve("participant, room") == PatientRef("p-attr", "participant")


def test_a_participant_that_can_update_its_own_attributes_is_never_a_source(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = resolve_patient_id(
        participant_attributes={"patient_id": "someone-else"},
        participant_can_update_own_attributes=True,
        sources=ALL,
    )
    assert ref is None
    assert "canUpdateOwnMetadata" in caplog.text
    assert "someone-else" not in caplog.text
    # and by default the grant is assumed
    assert resolve_patient_id(participant_attributes={"patient_id": "x"}, sources=ALL) is None


def test_malformed_metadata_is_skipped_without_logging_its_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = resolve_patient_id(
        job_metadata='{"patient_id": "secret-123"',
        room_metadata='["secret-456"]',
        participant_attributes={"patient_id": " p-attr "},
        participant_can_update_own_attributes=False,
        sources=ALL,
    )
    assert ref == PatientRef("p-attr", "participant")
    assert "job metadata is not valid JSON" in caplog.text
    assert "room metadata is not a JSON object" in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.parametrize("bad", [42, "", "   ", "x" * 129, ["p-1"]])
def test_unusable_ids_fall_through_to_the_next_source(bad: object) -> None:
    ref = resolve_patient_id(job_metadata=_meta(bad), room_metadata=_meta("p-room"), sources=ALL)
    assert ref == PatientRef("p-room", "room")


def test_no_patient_id_anywhere() -> None:
    assert resolve_patient_id(sources=ALL) is None


@pytest.mark.parametrize("value", ["job,job", "job,patient", "room;job", ","])
def test_bad_source_lists_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="MEDVISION_PATIENT_ID_SOURCES"):
        parse_patient_id_sources(value)


def test_default_sources() -> None:
    assert parse_patient_id_sources(None) == parse_patient_id_sources(" ") == ("job",)


def test_the_ref_shows_and_logs_only_the_hash() -> None:
    ref = PatientRef("p-123", "job")
    assert ref.hashed == hash_patient_id("p-123")
    assert repr(ref) == f"PatientRef(patient_hash={ref.hashed!r}, source='job')"
    assert "p-123" not in repr(ref) and "p-123" not in str(ref)
