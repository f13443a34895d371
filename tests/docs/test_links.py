"""Every relative link in README.md and docs/*.md points at a file that exists."""

from __future__ import annotations

import re

from .conftest import documents

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_relative_links_resolve() -> None:
    broken = []
    for path in documents():
        prose = _FENCE.sub("", path.read_text(encoding="utf-8"))
        for target in _LINK.findall(prose):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{path.name}: {target}")
    assert broken == []
