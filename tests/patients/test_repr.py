"""Every value that holds patient data masks its repr (log lines, tracebacks, test failures)."""

import dataclasses
from datetime import UTC, date, datetime

import pytest

from livekit_plugins_medvision.patients import (
    Allergy,
    CareNote,
    Condition,
    Medication,
    PatientContext,
    PatientRef,
    VitalSigns,
)

SECRET = "Zebediah-Quux"
WHEN = datetime(1961, 7, 13, 9, 47, tzinfo=UTC)
VITALS = VitalSigns(WHEN, heart_rate_bpm=187, systolic_mmhg=219, temperature_c=41.7)
VALUES: list[object] = [
    Allergy(SECRET, reaction=SECRET, severity=SECRET),
    Medication(SECRET, dosage=SECRET),
    Condition(SECRET, since=date(1961, 7, 13)),
    CareNote(WHEN, SECRET),
    VITALS,
    PatientRef(SECRET, "job"),
    PatientContext(
        SECRET,
        preferred_name=SECRET,
        sex=SECRET,
        allergies=(Allergy(SECRET),),
        vitals=VITALS,
        care_notes=(CareNote(WHEN, SECRET),),
    ),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_repr_and_str_show_no_patient_data(value: object) -> None:
    for shown in (repr(value), str(value), repr([value]), f"{value}"):
        for leak in (SECRET, "1961", "187", "219", "41.7"):
            assert leak not in shown


def test_every_dataclass_of_the_records_is_covered() -> None:
    from livekit_plugins_medvision.patients import models, source

    holding = {
        obj
        for module in (models, source)
        for obj in vars(module).values()
        if dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
    } - {models.AvatarConfig}  # a clinic's configuration, not a patient's
    assert holding == {type(v) for v in VALUES}
