import pytest

from livekit_plugins_medvision import hash_patient_id
from livekit_plugins_medvision.privacy import HASH_KEY_ENV


def test_hash_is_short_stable_hex_and_hides_the_id() -> None:
    hashed = hash_patient_id("demo-0001")
    assert hashed == hash_patient_id("demo-0001")
    assert len(hashed) == 16
    int(hashed, 16)
    assert "0001" not in hashed
    assert hashed != hash_patient_id("demo-0002")


def test_hash_depends_on_the_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HASH_KEY_ENV, raising=False)
    default = hash_patient_id("demo-0001")
    monkeypatch.setenv(HASH_KEY_ENV, "a-production-secret")
    keyed = hash_patient_id("demo-0001")
    assert keyed != default
    monkeypatch.setenv(HASH_KEY_ENV, "another-secret")
    assert hash_patient_id("demo-0001") not in {keyed, default}


def test_non_string_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="patient_id"):
        hash_patient_id(42)  # type: ignore[arg-type]  # the runtime check is what is tested
