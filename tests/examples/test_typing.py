import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_mypy_strict_covers_the_example() -> None:
    mypy = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["strict"] is True
    assert "examples" in mypy["files"]
    assert (PYPROJECT.parent / "examples" / "clinic_agent.py").is_file()
