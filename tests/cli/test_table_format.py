"""Terminal tables (``--format table``) are for people: whole headers within the terminal's
width, formatted numbers, yes/no flags, stages in stage order (issue 16, item 16)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from aips.cli.app import app
from aips.cli.format import column_kind, duration, format_cell, stage_sorted


def _table(demo_store, *args, width=80):
    result = CliRunner().invoke(app, [*args, "--store", demo_store], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _headers(text):
    return {h.strip() for line in text.splitlines() if line.startswith("┃") for h in line.strip("┃").split("┃")}


def test_wide_table_fits_the_terminal_without_cutting_headers(demo_store):
    out = _table(demo_store, "competitors", "--at", "2025-12-29")
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert {"category", "brand", "aips_users", "category_ti_users", "ti_share", "ti_reach"} <= _headers(out)


def test_funnel_times_are_durations_and_rates_percentages(demo_store):
    out = _table(demo_store, "funnel", "--steps", "read,collect,purchase", "--window", "14d")
    assert "30.6%" in out and "100.0%" in out
    assert re.search(r"\b3d 5h\b", out)
    assert "278,330" not in out and "0.3062" not in out


def test_diagnose_leaks_are_yes_no(demo_store):
    out = _table(demo_store, "diagnose", "--brand", "Serava", "--at", "2025-12-29", width=200)
    rows = [line for line in out.splitlines() if "TI->P advance rate" in line and "│" in line]
    assert rows and rows[0].rstrip("│ ").endswith("yes")
    assert "12.7%" in rows[0]
    zh = _table(demo_store, "diagnose", "--brand", "Serava", "--at", "2025-12-29", "--lang", "zh", width=200)
    assert re.search(r"│\s+是\s+│", zh) and re.search(r"│\s+否\s+│", zh)


def test_flows_in_stage_order(demo_store):
    out = _table(demo_store, "flows", "--from", "2025-11-29", "--to", "2025-12-29", "--brand", "Auralis", width=120)
    to_stages = [
        cells[2].strip()
        for line in out.splitlines()
        if line.startswith("│") and (cells := line.strip("│").split("│"))[1].strip() == "A"
    ]
    assert to_stages == [s for s in ("A", "I", "TI", "P", "S", "none") if s in to_stages]
    assert to_stages.index("TI") < to_stages.index("P")


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("conversion_rate", 0.0002785, "0.03%"),
        ("median_conversion_s", 90061.0, "1d 1h"),
        ("dwell_s", 45.0, "45s"),
        ("value", 0.0002786, "0.000279"),
        ("users", 1234567, "1,234,567"),
        ("user_id", 1234567, "1234567"),
        ("leaking", 0, "no"),
        ("p_value", 1.7e-07, "< 0.001"),
        ("note", None, ""),
    ],
)
def test_cells_formatted_by_column_name(column, value, shown):
    assert format_cell(column, value) == shown


def test_kinds_and_durations():
    assert column_kind("new_ti_rate") == "percent"
    assert duration(7800) == "2h 10m"


def test_stage_sort_keeps_other_keys_first():
    rows = [{"brand": b, "stage": s} for b in ("B", "A") for s in ("S", "A", "TI", "I")]
    assert [(r["brand"], r["stage"]) for r in stage_sorted(rows, ["brand", "stage"])] == [
        (b, s) for b in ("A", "B") for s in ("A", "I", "TI", "S")
    ]


def test_key_value_tables_format_each_row_by_its_name(demo_store):
    out = _table(demo_store, "cycle", "--category", "facial_serum")
    assert re.search(r"converted_share\s+│ \d+\.\d%", out)
    assert re.search(r"converted_share_ci\s+│ \[\d+\.\d%, \d+\.\d%\]", out)
    assert re.search(r"flattened\s+│ (yes|no)", out)
    assert "0.0366" not in out


def test_cells_are_data_not_rich_markup():
    from io import StringIO

    from rich.console import Console

    from aips.cli.format import render_table

    buf = StringIO()
    render_table([{"name": "[bold]x[/bold]", "n": 1}], ["name", "n"], console=Console(file=buf, width=80))
    assert "[bold]x[/bold]" in buf.getvalue()
