"""The production start check: every unsafe setting in one message, none of the secrets."""

import pytest

from livekit_plugins_medvision import UnsafeSettingsError, check_production_settings
from livekit_plugins_medvision.production import settings_problems

SAFE = {
    "DATABASE_URL": "postgresql://agent:s3cret-pw@db.clinic.example:5432/ehr",
    "MEDVISION_ID_HASH_KEY": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "LIVEKIT_URL": "wss://clinic.livekit.cloud",
}


def test_safe_settings_pass() -> None:
    check_production_settings(SAFE)
    # explicit verify-full, a Unix socket, and weak modes to loopback are safe too
    for dsn in (
        SAFE["DATABASE_URL"] + "?sslmode=verify-full&sslrootcert=/etc/ssl/db.pem",
        "postgresql://agent@/ehr?host=/run/postgresql",
        "postgresql://agent:pw@127.0.0.1:5432/ehr?sslmode=disable",
    ):
        assert settings_problems({**SAFE, "DATABASE_URL": dsn}) == []


def test_an_empty_environment_lists_every_problem_with_its_fix_in_one_message() -> None:
    with pytest.raises(UnsafeSettingsError) as caught:
        check_production_settings({})
    message = str(caught.value)
    assert len(caught.value.problems) == 3
    assert "DATABASE_URL is unset" in message and "dev and demo only" in message
    assert "MEDVISION_ID_HASH_KEY is unset" in message and "openssl rand -hex 32" in message
    assert "LIVEKIT_URL is unset" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("DATABASE_URL", "not-a-dsn", "DATABASE_URL is not usable"),
        ("DATABASE_URL", "postgresql://agent:s3cret-pw@db:99999/ehr", "port"),
        ("DATABASE_URL", "postgresql://agent:s3cret-pw@db/ehr?sslmode=require", "sslmode=require"),
        ("DATABASE_URL", "postgresql://agent:s3cret-pw@db/ehr?sslmode=disable", "verify-full"),
        ("MEDVISION_ID_HASH_KEY", "s3cret-but-short", "128 bits"),
        ("LIVEKIT_URL", "http//bad", "ws:// or wss://"),
        ("LIVEKIT_URL", "https://clinic.livekit.cloud", "ws:// or wss://"),
        ("LIVEKIT_URL", "wss://", "ws:// or wss://"),
        ("MEDVISION_PATIENT_ID_SOURCES", "job,anyone", "MEDVISION_PATIENT_ID_SOURCES"),
    ],
)
def test_each_unsafe_value_is_named_and_never_echoed(name: str, value: str, expected: str) -> None:
    with pytest.raises(UnsafeSettingsError, match=expected) as caught:
        check_production_settings({**SAFE, name: value})
    assert len(caught.value.problems) == 1
    message = str(caught.value)
    assert name in message
    assert "s3cret" not in message


def test_pgsslmode_counts_like_the_dsn() -> None:
    problems = settings_problems({**SAFE, "PGSSLMODE": "prefer"})
    assert len(problems) == 1 and "sslmode=prefer" in problems[0]


def test_development_checks_only_the_form_of_what_is_set() -> None:
    assert settings_problems({}, production=False) == []
    dev = {"LIVEKIT_URL": "http//bad", "DATABASE_URL": "not-a-dsn", "MEDVISION_ID_HASH_KEY": "x"}
    problems = settings_problems(dev, production=False)
    assert [p.split()[0] for p in problems] == [
        "DATABASE_URL",
        "MEDVISION_ID_HASH_KEY",
        "LIVEKIT_URL",
    ]
    # a weak sslmode is warned at connect in development, refused only in production
    weak = {"DATABASE_URL": "postgresql://a@db/x?sslmode=require"}
    assert settings_problems(weak, production=False) == []
