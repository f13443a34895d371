"""Every Python block in README.md and docs/*.md is a whole file that passes mypy --strict.

A block marked ``<!-- fragment -->`` (the line right before it) only has to parse, top-level
``await`` allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from mypy import api as mypy_api

from .conftest import ROOT, documents, python_blocks


def test_every_document_is_read() -> None:
    names = {path.name for path in documents()}
    assert {"README.md", "design.md", "vision.md", "costs.md"} <= names
    assert python_blocks(ROOT / "README.md"), "the README has its agent block"


def test_fragments_parse() -> None:
    for path in documents():
        for block in python_blocks(path):
            if block.fragment:
                ast.parse(block.code, block.name, feature_version=(3, 11))
                compile(block.code, block.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_whole_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for path in documents():
        for index, block in enumerate(python_blocks(path)):
            if not block.fragment:
                file = tmp_path / f"{path.stem.replace('-', '_')}_block_{index}.py"
                file.write_text(block.code, encoding="utf-8")
                files.append((file, block))
    assert files, "no whole Python block in the docs"
    config = str(ROOT / "pyproject.toml")
    paths = [str(file) for file, _ in files]
    out, err, status = mypy_api.run(["--strict", "--config-file", config, *paths])
    names = {str(file): f"{block.name} (block line)" for file, block in files}
    report = "\n".join(_rename(line, names) for line in (out + err).splitlines())
    assert status == 0, report


def _rename(line: str, names: dict[str, str]) -> str:
    for file, name in names.items():
        line = line.replace(file, name)
    return line


def test_the_readme_is_read_in_minutes() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_docs_page_opens_with_what_a_user_does() -> None:
    for path in documents()[1:]:
        title, blank, opening = path.read_text(encoding="utf-8").splitlines()[:3]
        assert title.startswith("# ") and not blank, path.name
        assert opening.startswith("You "), f"{path.name} opens with: {opening[:60]}"
