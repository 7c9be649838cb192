"""How to get the dashboard (issue 16, item 17): the hint names the command for an installed
package and for a clone, and ``make demo`` installs the dashboard's extra."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from aips._compat.dash import load_dash
from aips.exceptions import MissingDependencyError

ROOT = Path(__file__).resolve().parents[2]


def test_serve_without_dash_names_both_install_commands(monkeypatch):
    monkeypatch.setitem(sys.modules, "dash", None)  # import dash -> ImportError
    with pytest.raises(MissingDependencyError) as info:
        load_dash()
    message = str(info.value)
    assert "pip install 'aips[app]'" in message
    assert "pip install -e '.[app]'" in message


def test_make_demo_installs_the_dashboard_extra():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = re.search(r"^demo:(.*)$", makefile, re.M)
    assert demo, "the Makefile has no demo target"
    prerequisites = demo.group(1).split()
    rules = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+):[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)}
    recipes = "".join(rules.get(p.replace("$(VENV)", ".venv"), "") + rules.get(p, "") for p in prerequisites)
    assert "[app]" in recipes, f"make demo does not install the dashboard's extra: {prerequisites}"
