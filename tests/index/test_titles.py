"""Where title maintenance and SQL live: `index.titles` drives clusters and authority links (they
never call back), and only the store (and the engines' own index databases) speak SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

INDEX = Path(__file__).resolve().parents[2] / "index"
_SQL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SELECT|INSERT|UPDATE|DELETE|PRAGMA)\b")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@pytest.mark.parametrize("module", ["consolidation/clusters.py", "consolidation/merge.py", "authority/link.py",
                                    "authority/headings.py", "store/catalog.py"])
def test_title_maintenance_is_called_never_calls_back(module):
    imported = set()
    for node in ast.walk(_tree(INDEX / module)):
        if isinstance(node, ast.ImportFrom):
            imported |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert "index.titles" not in imported


def test_no_sql_outside_the_store():
    speaking = []
    for path in INDEX.rglob("*.py"):
        if path.parent.name == "store" or "engines" in path.parts:
            continue
        for node in ast.walk(_tree(path)):
            if ((isinstance(node, ast.Attribute) and node.attr == "db")
                    or (isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value))):
                speaking.append(f"{path.relative_to(INDEX)}:{node.lineno}")
    assert speaking == []
