"""The example is type-checked as strictly as the package: mypy --strict really runs on it."""

from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict_passes_on_the_example() -> None:
    out, err, status = mypy_api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "examples")]
    )
    assert status == 0, out + err
    assert "Success" in out
