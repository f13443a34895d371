import json

import pytest
from clinic.patient_id import PatientRef, resolve_patient_id

from livekit_plugins_medvision.privacy import hash_patient_id


def _meta(patient_id: object) -> str:
    return json.dumps({"patient_id": patient_id})


def test_job_metadata_wins_over_room_and_participant() -> None:
    ref = resolve_patient_id(
        job_metadata=_meta("p-job"),
        room_metadata=_meta("p-room"),
        participant_attributes={"patient_id": "p-attr"},
    )
    assert ref == PatientRef("p-job", "job")


def test_room_metadata_wins_over_participant() -> None:
    ref = resolve_patient_id(
        job_metadata=json.dumps({"other": 1}),
        room_metadata=_meta("p-room"),
        participant_attributes={"patient_id": "p-attr"},
    )
    assert ref == PatientRef("p-room", "room")


def test_participant_attributes_are_the_last_resort() -> None:
    ref = resolve_patient_id(participant_attributes={"patient_id": " p-attr "})
    assert ref == PatientRef("p-attr", "participant")


def test_no_patient_id_anywhere() -> None:
    assert resolve_patient_id() is None
    assert resolve_patient_id(participant_attributes={"role": "patient"}) is None


def test_malformed_metadata_is_skipped_without_logging_its_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = resolve_patient_id(
        job_metadata='{"patient_id": "secret-123"',
        room_metadata='["secret-456"]',
        participant_attributes={"patient_id": "p-attr"},
    )
    assert ref == PatientRef("p-attr", "participant")
    assert "job metadata is not valid JSON" in caplog.text
    assert "room metadata is not a JSON object" in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.parametrize("bad", [42, "", "   ", "x" * 129, ["p-1"]])
def test_unusable_ids_fall_through_to_the_next_source(bad: object) -> None:
    ref = resolve_patient_id(job_metadata=_meta(bad), room_metadata=_meta("p-room"))
    assert ref == PatientRef("p-room", "room")


def test_only_the_hash_is_exposed_for_logging() -> None:
    ref = PatientRef("p-123", "job")
    assert ref.hashed == hash_patient_id("p-123")
    assert "p-123" not in ref.hashed
