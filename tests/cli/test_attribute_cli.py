"""``ws.attribute`` and ``aips attribute`` on a small store, and on a path file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from attribution_helpers import JOURNEY_LOG, events_table
from typer.testing import CliRunner

from aips.cli.app import app
from aips.store.connect import connect
from aips.workspace import Workspace, open_workspace

CAMPAIGNS = pa.table({
    "campaign_id": ["c-feed", "c-kol", "c-search"], "brand": ["b"] * 3, "category": pa.array([None] * 3, pa.string()),
    "channel": ["feed_ad", "kol_note", "search_ad"],
    "start_date": pa.array([None] * 3, pa.date32()), "end_date": pa.array([None] * 3, pa.date32()),
    "spend": [40.0, 60.0, 10.0],
})
CREATORS = pa.table({"creator_id": ["K1"], "tier": ["KOL"], "followers": [1000], "fee": [25.0]})


def _ws(path) -> Workspace:
    return open_workspace(str(path))


@pytest.fixture
def store_file(tmp_path) -> Path:
    path = tmp_path / "aips.duckdb"
    s = connect(str(path))
    extra = [("u9", "b", "2024-01-02 08:00", "impression", "kol_note", {"creator_id": c, "campaign_id": "c-kol"})
             for c in ("K1", "K2", "K2")]
    s.write("events", events_table(JOURNEY_LOG + extra))
    s.write("campaigns", CAMPAIGNS)
    s.write("creators", CREATORS)
    s.close()
    return path


def test_attribute_with_spend(store_file):
    ws = _ws(store_file)
    out = ws.attribute("last", lookback=7).set_index("channel")
    assert out.loc["kol_note", "conversions"] == 1 and out.loc["organic", "conversions"] == 1
    assert out.loc["(none)", "conversions"] == 2
    assert out.loc["kol_note", "spend"] == 60.0
    assert out.loc["kol_note", "cost_per_conversion"] == 60.0
    assert out.loc["kol_note", "roas"] == pytest.approx(100 / 60)
    assert out["share"].sum() == pytest.approx(1.0)
    assert out.attrs["incremental"] is False and "NOT incremental" in out.attrs["note"]
    camp = ws.attribute("linear", by="campaign", lookback=7).set_index("campaign")
    assert camp.loc["c-kol", "conversions"] == pytest.approx(2 / 3)
    assert camp.loc["c-kol", "spend"] == 60.0
    creators = ws.attribute("first", by="creator", lookback=7).set_index("creator")
    assert creators.loc["K1", "spend"] == 20.0  # a third of c-kol's impressions
    wide = ws.attribute(compare=["first", "last", "markov"], lookback=7)
    assert list(wide.columns[:4]) == ["channel", "first", "last", "markov"]
    ws.close()


def test_cli_paths_file_and_store(store_file, tmp_path):
    f = tmp_path / "paths.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\n"
                 "google;2;20;0\nmailing;1;10;0\ngoogle > mailing;1;10;0\ngoogle;0;0;1\n")
    runner = CliRunner()
    res = runner.invoke(app, ["attribute", "--paths", str(f), "--model", "markov", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["channel"], round(r["conversions"], 6)) for r in rows] == [("google", 2.4), ("mailing", 1.6)]
    assert {"channel", "conversions", "value", "share"} <= set(rows[0])
    res = runner.invoke(app, ["attribute", "--paths", str(f), "--compare", "--format", "csv"])
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("channel,first,last")
    res = runner.invoke(app, ["attribute", "--store", str(store_file), "--model", "first",
                              "--by", "creator", "--lookback", "7", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert {r["creator"] for r in json.loads(res.stdout)} >= {"feed_ad", "organic", "(none)"}
