"""Every docstring example in the package runs (STYLE habit 9: examples are tests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import aips

NEEDS = {"aips.dashboard": "dash"}
"""Module prefix -> the optional dependency its examples need (skipped, with the reason,
only when it is not installed)."""


def _modules() -> list[str]:
    """Every module of the package, the package itself first."""
    return [aips.__name__, *sorted(i.name for i in pkgutil.walk_packages(aips.__path__, prefix="aips."))]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    for prefix, dependency in NEEDS.items():
        if name.startswith(prefix):
            pytest.importorskip(dependency, reason=f"{name} needs the optional {dependency!r}")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
