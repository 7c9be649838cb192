"""Contracts of every engine function: lazy (no execution), empty input, the CLI and the API.

Building on an *unbound* table proves a function never executes: there is no backend to run
on. Compiled DuckDB SQL of each function is compared with tests/snapshots/engine/*.sql; a
missing one fails. After an intended plan change (or for a new builder) record them with
``AIPS_RECORD_GOLDEN=1 pytest tests/engine/test_contracts.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from engine_helpers import D, events_table

import aips
from aips.config.model import default_model
from aips.engine import (
    asset_series,
    assets,
    cumulative_assets,
    daily_counters,
    first_reached,
    seeded_assets,
    snapshot,
    snapshots,
    stage_at,
    timelines,
)
from aips.engine.cycles import cycle_days_table
from aips.engine.packing import Bounds
from aips.store.tables import CATEGORIES, EVENTS

MODEL = default_model()
AT = dt.date(2024, 3, 1)
SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "engine"
RECORD = os.environ.get("AIPS_RECORD_GOLDEN") == "1"
RECORD_HOW = "AIPS_RECORD_GOLDEN=1 pytest tests/engine/test_contracts.py"

UNBOUND = ibis.table(EVENTS, name="events")
BUILDERS = {
    "daily_counters": lambda ev: daily_counters(ev, MODEL),
    "snapshot": lambda ev: snapshot(ev, MODEL, AT),
    "snapshot_spu": lambda ev: snapshot(ev, MODEL, AT, level="spu"),
    "snapshot_rollup": lambda ev: snapshot(daily_counters(ev, MODEL), MODEL, AT),
    "snapshot_categories": lambda ev: snapshot(
        ev, MODEL, AT, categories=ibis.table(CATEGORIES, name="categories")),
    "snapshots": lambda ev: snapshots(ev, MODEL, [AT, AT + dt.timedelta(days=7)]),
    "assets_cumulative": lambda ev: assets(snapshot(ev, MODEL, AT), "brand", cumulative=True),
    "seeded": lambda ev: seeded_assets(assets(snapshot(ev, MODEL, AT)), ("brand",)),
    "timelines": lambda ev: timelines(ev, MODEL),
    "timelines_packed": lambda ev: timelines(ev, MODEL, bounds=Bounds(day_rows=4, span_days=180, max_cycle=70)),
    "first_ti": lambda ev: first_reached(timelines(ev, MODEL), "TI"),
    "stage_at": lambda ev: stage_at(timelines(ev, MODEL), AT),
    "asset_series": lambda ev: asset_series(ev, MODEL, AT, AT + dt.timedelta(days=27)),
    "asset_series_week": lambda ev: asset_series(ev, MODEL, AT, AT + dt.timedelta(days=27), "week"),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_lazy_on_unbound_table_and_sql_snapshot(name):
    expr = BUILDERS[name](UNBOUND)
    assert isinstance(expr, ibis.Table)
    sql = re.sub(r"memtable_[a-z0-9]+", "memtable", ibis.to_sql(expr, dialect="duckdb"))
    path = SNAPSHOTS / f"{name}.sql"
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql + "\n")
    assert path.is_file(), f"missing SQL golden {path}: record it with {RECORD_HOW}"
    assert sql + "\n" == path.read_text(), f"plan of {name} changed: {RECORD_HOW} to accept"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_empty_input(name, store):
    store.ensure("categories")
    empty = store.ensure("events")
    assert store.backend.to_pyarrow(BUILDERS[name](empty)).num_rows == 0


def test_cycle_table_yaml_wins_and_columns():
    cats = ibis.memtable({"category": ["infant_food", "toys", None],
                          "decision_cycle_days": [5, 10, 99]})
    rows = cycle_days_table(MODEL, cats).to_pyarrow().to_pylist()
    assert {r["category"]: r["cycle_days"] for r in rows} == {
        "facial_serum": 29, "infant_food": 70, "toys": 10}


def test_cumulative_and_seeded():
    counts = ibis.memtable({"brand": ["b"] * 5, "stage": ["A", "I", "TI", "P", "S"],
                            "users": [5, 4, 3, 2, 1]})
    cum = cumulative_assets(counts, ("brand",)).to_pyarrow().to_pylist()
    assert {r["stage"]: r["users"] for r in cum} == {"A": 15, "I": 10, "TI": 6, "P": 3, "S": 1}
    seeded = seeded_assets(counts, ("brand",)).to_pyarrow().to_pylist()
    assert seeded == [{"brand": "b", "stage": "I+TI", "users": 7}]


LOG = [
    ("u1", "B", "2024-01-01 10:00", "impression"),
    ("u2", "B", "2024-01-02 23:30", "collect"),
    ("u3", "B", "2024-01-03 10:00", "purchase", {"category": "infant_food", "spu": "s1"}),
    ("u4", "C", "2024-01-03 10:00", "read"),
]


@pytest.fixture
def ws(store):
    """A workspace over each backend's store (the API half of the contracts)."""
    store.write("events", events_table(LOG))
    return aips.open(store, config=default_model())


@pytest.fixture
def ws_file(tmp_path):
    """A workspace over a DuckDB file: what the CLI opens with ``--store PATH``."""
    path = tmp_path / "aips.duckdb"
    w = aips.open(str(path), config=default_model())
    w.store.write("events", events_table(LOG))
    yield w
    w.close()


@pytest.mark.slow  # about a minute on Spark: a dozen queries plus the stored rollup and history
def test_workspace_api(ws):
    snap = ws.snapshot("2024-01-03").to_pyarrow().to_pylist()
    assert {(r["user_id"], r["stage"]) for r in snap} == {("u1", "A"), ("u2", "TI"), ("u3", "P"), ("u4", "I")}
    got = {(r["brand"], r["stage"]): r["users"] for r in ws.assets(D("2024-01-03")).to_pyarrow().to_pylist()}
    assert got == {("B", "A"): 1, ("B", "TI"): 1, ("B", "P"): 1, ("C", "I"): 1}
    cum = {(r["brand"], r["stage"]): r["users"]
           for r in ws.assets("2024-01-03", cumulative=True).to_pyarrow().to_pylist()}
    assert cum[("B", "A")] == 3 and cum[("B", "TI")] == 2 and cum[("C", "A")] == 1
    spu = ws.assets("2024-01-03", by="spu").to_pyarrow().to_pylist()
    assert spu == [{"spu": "s1", "brand": "B", "stage": "P", "users": 1}]
    seeded = ws.seeded_crowd("2024-01-03").to_pyarrow().to_pylist()
    assert {r["brand"]: r["users"] for r in seeded} == {"B": 1, "C": 1}
    tl = ws.timelines().to_pyarrow().to_pylist()
    assert {"user_id", "brand", "start_date", "end_date", "stage"} == set(tl[0])
    series = ws.asset_series("2024-01-01", "2024-01-07", freq="week").to_pyarrow()
    assert set(series["date"].to_pylist()) == {D("2024-01-07")}
    # once the rollup and the history are stored, the same answers come from them
    ws.update_series()
    again = ws.asset_series("2024-01-01", "2024-01-07", freq="week").to_pyarrow()
    assert sorted(map(str, again.to_pylist())) == sorted(map(str, series.to_pylist()))
    assert {(r["user_id"], r["stage"]) for r in ws.snapshot("2024-01-03").to_pyarrow().to_pylist()} == {
        (r["user_id"], r["stage"]) for r in snap}


def _cli(args, store_path):
    from typer.testing import CliRunner

    from aips.cli.app import app

    result = CliRunner().invoke(app, [*args, "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_assets_and_series(ws_file, tmp_path):
    path = ws_file.store.location
    ws_file.close()
    out = json.loads(_cli(["assets", "--at", "2024-01-03", "--format", "json"], path))
    assert out == [
        {"brand": "B", "stage": "A", "users": 1}, {"brand": "B", "stage": "TI", "users": 1},
        {"brand": "B", "stage": "P", "users": 1}, {"brand": "C", "stage": "I", "users": 1}]
    cum = json.loads(_cli(["assets", "--at", "2024-01-03", "--brand", "B", "--cumulative",
                           "--format", "json"], path))
    assert [r["stage"] for r in cum] == ["A", "I", "TI", "P"]
    spu = json.loads(_cli(["assets", "--at", "2024-01-03", "--level", "spu", "--format", "json"], path))
    assert spu == [{"brand": "B", "spu": "s1", "stage": "P", "users": 1}]
    series = json.loads(_cli(["series", "--from", "2024-01-01", "--to", "2024-01-03",
                              "--format", "json"], path))
    assert len(series) == 3 * 2 * 5 and {r["stage"] for r in series} == {"A", "I", "TI", "P", "S"}
    assert {"date": "2024-01-03", "brand": "B", "stage": "P", "users": 1} in series
    csv = _cli(["series", "--from", "2024-01-01", "--to", "2024-01-03", "--freq", "week",
                "--format", "csv", "--update"], path)
    assert csv.splitlines()[0] == "date,brand,stage,users" and len(csv.splitlines()) == 1 + 2 * 5
    _cli(["series", "--update"], path)  # idempotent, prints only the summary (stderr)
    table = _cli(["series", "--from", "2024-01-02", "--to", "2024-01-03", "--backfill"], path)
    assert "asset series" in table


def test_cli_rejects_bad_dates(ws_file):
    from typer.testing import CliRunner

    from aips.cli.app import app

    path = ws_file.store.location
    ws_file.close()
    result = CliRunner().invoke(app, ["assets", "--at", "March", "--store", path])
    assert result.exit_code != 0


def test_store_table_categories_reaches_workspace(ws):
    ws.store.write("categories", pa.table({"category": ["infant_food"], "decision_cycle_days": [5]}))
    # YAML (70) wins over the table for infant_food: still P after 5 days
    snap = ws.snapshot("2024-01-20").to_pyarrow().to_pylist()
    assert ("u3", "P") in {(r["user_id"], r["stage"]) for r in snap}
