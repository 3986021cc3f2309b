"""docs/oem-guide.md stays true to the code: its snippets compile, name only exported SDK names, and the
example it points to exists (tests/sdk/test_quickstart.py runs that example)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import roadlink.sdk

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "oem-guide.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_guide_snippets_compile() -> None:
    blocks = python_blocks()

    assert len(blocks) >= 8
    for block in blocks:
        compile(block, str(GUIDE), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def test_guide_imports_only_exported_sdk_names() -> None:
    imported = {
        alias.name
        for block in python_blocks()
        for node in ast.walk(ast.parse(block))
        if isinstance(node, ast.ImportFrom) and node.module == "roadlink.sdk"
        for alias in node.names
    }

    assert imported
    assert imported <= set(roadlink.sdk.__all__)


def test_guide_points_to_the_example_that_exists() -> None:
    links = re.findall(r"\]\((\.\./examples/[^)]+)\)", GUIDE.read_text(encoding="utf-8"))

    assert links == ["../examples/oem_quickstart.py"]
    assert (GUIDE.parent / links[0]).resolve().is_file()
