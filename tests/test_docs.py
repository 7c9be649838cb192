"""Every docstring example in the package runs (STYLE habit 9: examples are tests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import aips

SKIP_PREFIXES = ("aips.dashboard",)  # needs the optional `app` extra; tested in tests/browser


def _modules() -> list[str]:
    names = [aips.__name__]
    for info in pkgutil.walk_packages(aips.__path__, prefix="aips."):
        if not info.name.startswith(SKIP_PREFIXES):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
