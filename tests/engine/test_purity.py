"""The engine only turns tables into tables; only Store methods speak a backend's SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import aips

SRC = Path(aips.__file__).parent
# (not "drop": ibis tables drop columns)
WRITES = {"raw_sql", "create_table", "drop_table", "rename_table", "insert", "write",
          "swap", "delete_where", "transaction"}


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).glob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _calls(tree: ast.AST) -> set[str]:
    return {n.func.attr for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}


@pytest.mark.parametrize("path", _modules("engine"), ids=lambda p: p.name)
def test_engine_module_neither_opens_nor_writes_a_store(path):
    tree = ast.parse(path.read_text())
    above = {m for m in _imports(tree)
             if m.startswith(("aips.store", "aips.maintain", "aips.view", "aips.workspace", "aips.ingest"))}
    assert not above, f"{path.name} imports {sorted(above)}"
    assert not _calls(tree) & WRITES, f"{path.name} calls {sorted(_calls(tree) & WRITES)}"


@pytest.mark.parametrize("path", _modules("maintain"), ids=lambda p: p.name)
def test_maintain_module_has_no_backend_sql(path):
    tree = ast.parse(path.read_text())
    assert "raw_sql" not in _calls(tree)
    assert not {m for m in _imports(tree) if m.startswith("sqlglot")}
    assert ".kind" not in path.read_text()  # backend differences go through capabilities
