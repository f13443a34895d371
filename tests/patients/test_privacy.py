import logging
import subprocess
import sys

import pytest

from livekit_plugins_medvision import hash_patient_id
from livekit_plugins_medvision.log import logger as package_logger
from livekit_plugins_medvision.privacy import (
    HASH_KEY_ENV,
    PatientHashFilter,
    check_patient_hash,
    hash_key_problem,
    hash_room_name,
    is_patient_hash,
)

KEY = "00112233445566778899aabbccddeeff"  # 128 bits


def test_hash_has_a_versioned_recognisable_form_and_hides_the_id() -> None:
    hashed = hash_patient_id("demo-0001")
    assert hashed == hash_patient_id("demo-0001")
    assert hashed.startswith("mvh1_") and len(hashed) == 5 + 24
    int(hashed[5:], 16)
    assert "0001" not in hashed
    assert hashed != hash_patient_id("demo-0002")
    assert is_patient_hash(hashed)


def test_room_hashes_are_not_patient_hashes() -> None:
    room = hash_room_name("demo-0001")
    assert room.startswith("mvr1_")
    assert room[5:] != hash_patient_id("demo-0001")[5:]  # domain-separated
    assert not is_patient_hash(room)


def test_hash_depends_on_the_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, KEY)
    keyed = hash_patient_id("demo-0001")
    monkeypatch.setenv(HASH_KEY_ENV, "ffeeddccbbaa99887766554433221100")
    assert hash_patient_id("demo-0001") != keyed
    # the same key in base64 gives the same hashes
    monkeypatch.setenv(HASH_KEY_ENV, "ABEiM0RVZneImaq7zN3u/w==")
    assert hash_patient_id("demo-0001") == keyed


def test_no_key_in_the_source_each_process_draws_its_own() -> None:
    # two processes without the variable: the same id hashes differently (no public default)
    code = (
        "import os; os.environ.pop('MEDVISION_ID_HASH_KEY', None);"
        "from livekit_plugins_medvision import hash_patient_id;"
        "print(hash_patient_id('demo-0001'), hash_patient_id('demo-0001'))"
    )
    env = {"PATH": "/usr/bin:/bin"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    first, second = (run.stdout.split() for run in runs)
    assert first[0] == first[1]  # stable within a process
    assert first[0] != second[0]  # never across processes
    # one warning per process, naming the variable and how to make a key
    for run in runs:
        assert run.stderr.count(f"{HASH_KEY_ENV} unset") == 1
        assert "openssl rand -hex 32" in run.stderr


@pytest.mark.parametrize(
    "key",
    ["short", "0011223344556677", "a" * 64, "not base64 at all, not hex either!!", "   "],
)
def test_weak_or_malformed_keys_are_refused_without_quoting_them(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv(HASH_KEY_ENV, key)
    problem = hash_key_problem()
    assert problem is not None and HASH_KEY_ENV in problem and "openssl rand" in problem
    if key.strip():
        assert key not in problem
        with pytest.raises(ValueError, match=HASH_KEY_ENV):
            hash_patient_id("demo-0001")


def test_a_good_key_has_no_problem() -> None:
    assert hash_key_problem({HASH_KEY_ENV: KEY}) is None
    assert hash_key_problem({}) is not None


@pytest.mark.parametrize(
    "raw",
    [
        "12345678909",  # a CPF: all digits used to pass as "hex"
        "0123456789abcdef",  # the old, unversioned form
        "Maria da Silva",
        "mvh1_0123",
        "MVH1_0123456789ABCDEF01234567",
        42,
    ],
)
def test_anything_but_the_hash_form_is_refused(raw: object) -> None:
    assert not is_patient_hash(raw)
    with pytest.raises(ValueError, match="mvh1_") as caught:
        check_patient_hash(raw)
    assert str(raw) not in str(caught.value)


def test_log_extra_accepts_only_the_hash_form(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="livekit.plugins.medvision"):
        package_logger.info("read", extra={"patient_hash": hash_patient_id("p-1")})
        package_logger.info("read", extra={"patient_hash": None})
        with pytest.raises(ValueError, match="patient_hash"):
            package_logger.info("read", extra={"patient_hash": "12345678909"})
        with pytest.raises(ValueError, match="patient_hash"):
            package_logger.info("cost", extra={"medvision_patient_hash": "Maria"})
    assert len(caplog.records) == 2
    assert "12345678909" not in caplog.text


def test_the_filter_guards_any_logger() -> None:
    own = logging.getLogger("tests.privacy.own")
    own.addFilter(PatientHashFilter())
    with pytest.raises(ValueError, match="patient_hash"):
        own.warning("x", extra={"patient_hash": "p-1"})


def test_non_string_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="patient_id"):
        hash_patient_id(42)  # type: ignore[arg-type]  # the runtime check is what is tested
