"""``aips plan --creators`` on the demo world: the JSON key ``creators`` in its exact shape,
each tier's bookings within the split's kol_note / koc_note share, at the creators table's
fee, in order of expected advances per CNY; the second table; and a clear non-zero exit
when the store has no creators table or the format cannot hold two tables."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
from typer.testing import CliRunner

import aips
from aips.cli.app import app

BRAND = "Serava"


def test_plan_creators_json_and_table(demo_store):
    runner = CliRunner()
    args = ["plan", "--brand", BRAND, "--budget", "500000", "--creators", "--store", demo_store]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    booked = res["creators"]
    assert booked and all(set(r) == {"creator", "tier", "cost", "expected_advances"} for r in booked)
    with aips.open(demo_store, read_only=True) as ws:
        fees = ws.store.table("creators").to_pyarrow().to_pandas().set_index("creator_id")
    for channel, tier in (("kol_note", "KOL"), ("koc_note", "KOC")):
        mine = [r for r in booked if r["tier"] == tier]
        assert sum(r["cost"] for r in mine) <= res["split"][channel] + 1e-6
        values = [r["expected_advances"] / r["cost"] for r in mine]
        assert values == sorted(values, reverse=True) and all(r["expected_advances"] > 0 for r in mine)
        for r in mine:
            assert fees.loc[r["creator"], "tier"] == tier and r["cost"] == fees.loc[r["creator"], "fee"]
    assert "ranked by incremental advances" in res["creator_notes"][0]

    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "Creators to book for Serava" in table.stdout and booked[0]["creator"] in table.stdout
    assert "expected advances" in table.stdout and "note: " in table.stdout

    csv = runner.invoke(app, [*args, "--format", "csv"])
    assert csv.exit_code == 1 and "--creators prints a second table" in str(csv.exception)  # main() prints it


def test_plan_creators_without_a_creators_table_fails_naming_it(tmp_path):
    from aips.store.tables import arrow_schema

    store = str(tmp_path / "s.duckdb")
    rows = [{"event_id": "e1", "user_id": "u1", "brand": "b", "event_type": "read",
             "ts": dt.datetime(2024, 3, 1, 2), "local_date": dt.date(2024, 3, 1)}]
    with aips.open(store) as ws:
        ws.store.write("events", pa.Table.from_pylist(rows, schema=arrow_schema("events")))
    result = CliRunner().invoke(app, ["plan", "--brand", "b", "--budget", "1000", "--creators", "--store", store])
    assert result.exit_code == 1
    assert "--creators needs a creators table (creator_id, tier, followers, fee" in str(result.exception)


def test_curves_plot_draws_each_channel_and_transition(demo_store, tmp_path):
    """``aips curves --plot``: a self-contained HTML with a panel per transition and, per
    channel, the curve a(1 - e^(-x/s)) of the printed table (its max_per_day and spend_scale)
    with its band; the table still goes to stdout."""
    import re

    import numpy as np

    from aips.planner.plan import fit_curves

    out = tmp_path / "curves.html"
    result = CliRunner().invoke(app, ["curves", "--brand", BRAND, "--store", demo_store, "--format", "json",
                                      "--plot", str(out)])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    html = out.read_text(encoding="utf-8")
    titles = ("A->I", "I->TI", "TI->P")  # in the page's JSON, ">" is written \u003e
    assert "plotly" in html and all(tr.replace(">", "\\u003e") in html for tr in titles)
    with aips.open(demo_store, read_only=True) as ws:
        cv = fit_curves(ws.view, BRAND)
    grid = cv.grid()
    channels = sorted({r["channel"] for r in table})
    assert sorted({r["channel"] for r in grid}) == channels and len(channels) >= 3
    for row in table:  # the drawn curve is the printed one
        pts = [g for g in grid if g["channel"] == row["channel"] and g["transition"] == row["transition"]]
        x = np.array([g["daily_spend"] for g in pts])
        want = row["max_per_day"] * -np.expm1(-x / row["spend_scale"])
        assert np.allclose([g["advances_per_day"] for g in pts], want, rtol=1e-9)
        assert pts[0]["daily_spend"] == 0.0 and pts[-1]["daily_spend"] >= 3 * row["spend_scale"] - 1e-9
        assert all(g["low"] <= g["high"] for g in pts)
    names = "|".join(channels)
    assert len(re.findall(rf'"name":"(?:{names})"', html)) == 3 * len(channels)
