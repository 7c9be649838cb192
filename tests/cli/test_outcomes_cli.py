"""``aips funnel | cycle | roi | loyalty`` on a small DuckDB store, in every format."""

from __future__ import annotations

import json

import pytest
from outcomes_helpers import write_events
from test_roi import _campaigns, _rows, _users
from typer.testing import CliRunner

from aips.cli.app import app
from aips.store.connect import connect


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "s.duckdb"
    s = connect(str(path))
    write_events(s, _rows())
    _users(s)
    _campaigns(s)
    s.close()
    return str(path)


def _run(*args):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_funnel_cli(store_file):
    out = json.loads(_run("funnel", "--steps", "impression,purchase", "--window", "3d", "--store", store_file, "--format", "json"))
    assert [s["count"] for s in out["steps"]] == [4, 3]
    assert set(out["steps"][1]) == {"step", "count", "avg_conversion_s", "median_conversion_s"}
    assert out["breakdown"] is None
    out = json.loads(_run("funnel", "--steps", "impression,purchase", "--breakdown", "campaign_id", "--exclude", "collect",
                          "--store", store_file, "--format", "json"))
    # u1 collects between its impression and purchase: dropped; u3 buys (another brand) at
    # the instant of its collect, and steps come first among simultaneous events: kept
    assert out["breakdown"] == [{"value": "c1", "steps": [3, 3]}]
    table = _run("funnel", "--steps", "impression,collect", "--order", "strict", "--store", store_file)
    assert "impression" in table and "collect" in table
    csv = _run("funnel", "--steps", "impression,purchase", "--store", store_file, "--format", "csv")
    assert csv.splitlines()[0].startswith("index,step,count")
    users = _run("funnel", "--steps", "impression,purchase", "--window", "3d", "--users", "1:dropped",
                 "--store", store_file, "--format", "csv")
    assert users.split() == ["user_id", "u2"]  # u2 buys 3.9 days after its impression


def test_cycle_cli(store_file):
    out = json.loads(_run("cycle", "--category", "facial_serum", "--store", store_file, "--format", "json"))
    for key in ("median_days", "p80_days", "converted_share", "km_median_days", "n", "purchases", "censored", "curve"):
        assert key in out
    assert out["n"] == out["purchases"] + out["censored"]
    assert "median_days" in _run("cycle", "--category", "facial_serum", "--store", store_file)


def test_roi_cli(store_file):
    out = json.loads(_run("roi", "--campaign", "c1", "--store", store_file, "--format", "json"))
    for key in ("T", "x", "spend", "touched_users", "purchasers", "revenue", "roi", "curve", "incremental"):
        assert key in out
    assert out["roi_kind"] == "attributed" and out["incremental"]["kind"] == "incremental"
    table = _run("roi", "--campaign", "c1", "--x", "5", "--store", store_file)
    assert "ATTRIBUTED" in table and "INCREMENTAL" in table
    assert _run("roi", "--campaign", "c1", "--store", store_file, "--format", "csv").startswith("x,revenue")


def test_loyalty_cli(store_file):
    rows = json.loads(_run("loyalty", "--store", store_file, "--format", "json"))
    assert {r["brand"] for r in rows} == {"b", "other"}
    assert {"repurchase_rate", "retention_rate", "ti_to_p_rate"} <= set(rows[0])


def test_cli_errors(store_file):
    from aips.exceptions import AipsError

    with pytest.raises(AipsError, match="no campaign"):
        CliRunner().invoke(app, ["roi", "--campaign", "nope", "--store", store_file], catch_exceptions=False)
    with pytest.raises(AipsError, match="unknown event type"):
        CliRunner().invoke(app, ["funnel", "--steps", "read,colect", "--store", store_file], catch_exceptions=False)
