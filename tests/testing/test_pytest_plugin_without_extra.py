"""pytest keeps working where the package is installed without its testing extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# pytest-asyncio made unimportable; plugins loaded by hand, as an environment without it would
RUN = """
import sys
sys.modules["pytest_asyncio"] = None
import pytest
sys.exit(pytest.main(["-q", "-p", "livekit_plugins_medvision.testing.pytest_plugin", sys.argv[1]]))
"""

TESTS = """
def test_without_the_emulator():
    import sys
    assert sys.modules["pytest_asyncio"] is None  # really an environment without the extra

def test_with_the_emulator(fake_gemini_live):
    pass
"""


def test_the_fixture_names_the_extra_and_other_tests_run(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(TESTS)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout
    assert 'pip install "livekit-plugins-medvision[testing]"' in result.stdout
    assert "ModuleNotFoundError" not in result.stdout + result.stderr
