"""Makes ``examples/`` importable (``clinic_agent``, ``clinic.*``), as mypy sees it."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
