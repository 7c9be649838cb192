"""The import rules of docs/architecture.md, checked on the source with ``ast``.

Every module under src/aips belongs to one layer (:data:`LAYER_OF`); it may import only from
the layers :data:`MAY_IMPORT` lists for its own (its own layer is always allowed). Besides:
pyspark and dash are imported only in ``aips._compat`` (the single import site of each
optional heavy dependency), and modules do not make ``hasattr`` contracts with each other
(``hasattr(ws, ...)``, ``hasattr(self, "...")``). A failure lists every offending edge as
``module -> imported module``, so the fix can start from the list.

The rules are data: change them here and in docs/architecture.md together.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYER_OF: dict[str, str] = {
    "aips.exceptions": "base",
    "aips.dates": "base",
    "aips.io": "base",
    "aips.polling": "base",
    "aips.buckets": "base",
    "aips._compat": "base",
    "aips.config": "config",
    "aips.store": "store",
    "aips.ingest": "ingest",
    "aips.engine": "engine",
    "aips.maintain": "maintain",
    "aips.view": "view",
    "aips.crowd": "view",
    "aips.analytics": "analytics",
    "aips.insight": "insight",
    "aips.activation": "activation",
    "aips.planner": "activation",  # forward-looking decisions, beside audiences and diagnosis
    "aips.reporting": "reporting",
    "aips.dashboard": "dashboard",
    "aips.workspace": "front",
    "aips.attribution": "front",  # the public re-export of aips.analytics.attribution
    "aips": "front",  # the package's __init__ only: longer prefixes win
    "aips.__main__": "cli",
    "aips.cli": "cli",
    "aips.simulate": "simulate",
    "aips.datasets": "datasets",
}
"""Package (or module) -> layer; a module belongs to the longest matching prefix."""

_ORDER = ["base", "config", "store", "ingest", "engine", "maintain", "view", "analytics", "insight",
          "activation", "front", "reporting", "dashboard", "cli"]


def _below(layer: str) -> set[str]:
    return set(_ORDER[: _ORDER.index(layer)])


MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "config": {"base"},
    "store": {"base", "config"},
    "ingest": {"base", "config", "store"},
    "engine": {"base", "config"},
    "maintain": {"base", "config", "store", "engine"},
    "view": {"base", "config", "store", "engine", "maintain"},
    "analytics": _below("analytics"),
    "insight": _below("analytics") | {"analytics"},
    "activation": _below("analytics") | {"analytics", "insight"},
    "front": _below("front") | {"simulate", "datasets"},
    "reporting": _below("reporting"),
    "dashboard": _below("dashboard"),
    "cli": _below("cli") | {"simulate", "datasets"},
    "simulate": {"base"},
    "datasets": {"base", "simulate"},
}
"""Layer -> the other layers its modules may import (docs/architecture.md, "Layers"). The
faces that make worlds (the front door's demo, the CLI's ``simulate`` and ``demo``) may
import the side packages."""

HEAVY = {"pyspark": "aips._compat.spark", "dash": "aips._compat.dash"}
"""Optional heavy dependencies -> their single import site (anything under aips._compat)."""


@dataclass(frozen=True)
class Edge:
    module: str
    imported: str
    line: int
    type_only: bool

    def __str__(self) -> str:
        note = "  (under TYPE_CHECKING)" if self.type_only else ""
        return f"{self.module} -> {self.imported}  [line {self.line}]{note}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / "aips").rglob("*.py"))}


MODULES = _modules()


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name (longest prefix of :data:`LAYER_OF`), or None."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:i]))
        if layer is not None and (i == len(parts) or ".".join(parts[:i]) != "aips"):
            return layer
    return None


@functools.cache
def _tree(module: str) -> ast.Module:
    path = MODULES[module]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(module: str) -> list[Edge]:
    """Every module ``module`` imports (``from pkg import name`` counts ``pkg.name`` when that is
    a module of aips, else ``pkg``)."""
    path = MODULES[module]
    tree = _tree(module)
    typing_lines = _type_checking_lines(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            pkg = _resolve(module, path.name == "__init__.py", node)
            targets = [f"{pkg}.{a.name}" if f"{pkg}.{a.name}" in MODULES else pkg for a in node.names]
        else:
            continue
        for target in dict.fromkeys(targets):
            out.append(Edge(module, target, node.lineno, node.lineno in typing_lines))
    return out


@functools.cache
def _all_edges() -> list[Edge]:
    return [e for m in MODULES for e in imports(m)]


def layer_violations() -> list[str]:
    """``module -> imported`` edges that break :data:`MAY_IMPORT`, and modules in no layer."""
    bad = [f"{m}: in no layer of LAYER_OF (docs/architecture.md)" for m in MODULES if layer_of(m) is None]
    for e in _all_edges():
        if not (e.imported == "aips" or e.imported.startswith("aips.")):
            continue
        src, dst = layer_of(e.module), layer_of(e.imported)
        if src is None or dst is None or dst == src or dst in MAY_IMPORT[src]:
            continue
        bad.append(f"{e}   ({src} may not import {dst})")
    return bad


def heavy_violations() -> list[str]:
    """Imports of pyspark or dash outside aips._compat."""
    bad = []
    for e in _all_edges():
        top = e.imported.split(".")[0]
        if top in HEAVY and not e.module.startswith("aips._compat"):
            bad.append(f"{e}   (import it through {HEAVY[top]})")
    return bad


def hasattr_contracts() -> list[str]:
    """``hasattr(ws, ...)`` and ``hasattr(self, "name")``: duck-typed contracts between modules."""
    bad = []
    for module in MODULES:
        for node in ast.walk(_tree(module)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Name)):
                continue
            obj, attr = node.args[0].id, node.args[1]
            if obj == "ws" or (obj == "self" and isinstance(attr, ast.Constant)):
                bad.append((module, node.lineno, ast.unparse(node)))
    return [f"{m}:{line}: {call}" for m, line, call in sorted(bad)]


def _fail_listing(title: str, lines: list[str]) -> None:
    if lines:
        pytest.fail(f"{len(lines)} {title}:\n  " + "\n  ".join(lines), pytrace=False)


def test_the_rules_cover_every_layer_and_resolve_imports():
    assert set(MAY_IMPORT) == set(LAYER_OF.values())
    assert all(allowed <= set(MAY_IMPORT) for allowed in MAY_IMPORT.values())
    assert layer_of("aips") == "front" and layer_of("aips.engine.series") == "engine"
    assert layer_of("aips._compat.spark") == "base" and layer_of("aips.crowd") == "view"
    assert layer_of("aips.engine_api") is None  # a sibling of a package is not inside it
    edges = {e.imported for e in imports("aips.workspace")}
    assert "aips.view" in edges and "aips.store.connect" in edges


def test_layers_import_only_from_below():
    _fail_listing("import(s) against the layer table of docs/architecture.md", layer_violations())


def test_heavy_dependencies_only_in_compat():
    _fail_listing("import(s) of pyspark/dash outside aips._compat", heavy_violations())


def test_no_hasattr_contracts():
    _fail_listing("hasattr contract(s) between modules (call a function of the owning layer)",
                  hasattr_contracts())
