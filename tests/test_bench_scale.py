"""bench/scale.py (run by hand, never timed here): its command list is made of real ``aips``
commands whose flags parse, and its selection always keeps the snapshot it divides by."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click
import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scale():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


PARAMS = {"at": "2026-02-27", "t0": "2026-01-01", "start": "2025-09-01", "brand": "Auralis",
          "category": "facial_serum", "campaign": "c1", "store": "s.duckdb", "scratch": "/tmp/x"}


def test_every_command_line_parses(scale):
    from aips.cli.app import app

    group = typer.main.get_command(app)
    names = set()
    for name in scale.COMMANDS:
        args = scale.argv(name, PARAMS)
        command = group.get_command(click.Context(group), args[0])
        assert command is not None, name
        command.make_context(args[0], args[1:])  # raises on an unknown or malformed flag
        names.add(args[0])
    assert {"assets", "series", "attribute", "diagnose", "creators", "report"} <= names


def test_selection_keeps_the_snapshot_first(scale):
    assert scale.select("report,creators") == ["assets", "creators", "report"]
    assert scale.select(None) == list(scale.COMMANDS)
    with pytest.raises(SystemExit, match="unknown command"):
        scale.select("reprot")


def test_the_table_judges_ratios_and_the_rss_goal_of_the_store_size(scale):
    """The goals of issue 13: a ratio (wall or CPU) at most the command's goal, and peak RSS at
    most 2 GiB at 12M events, 4 GiB at 100M."""
    gib = 2**30
    results = {"assets": scale.Result("assets", 30.0, 60.0, gib, 0),
               "attribute": scale.Result("attribute", 140.0, 310.0, int(2.3 * gib), 0),
               "creators": scale.Result("creators", 95.0, 200.0, gib, 0)}
    at_100m = scale.table(results, 99_186_598).splitlines()
    assert at_100m[3].endswith("| 4.67 | 5.17 | 2.30 | <= 5x, ok |")  # wall 140 / 30 <= 5
    assert at_100m[4].endswith("| <= 3x, MISSED |")  # 95 / 30 and 200 / 60 both above 3
    assert scale.table(results, 11_950_000).splitlines()[3].endswith("| 2.30 | <= 5x, MISSED |")
