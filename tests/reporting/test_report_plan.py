"""The report's Plan section on the session's simulated store: the budget and the current
split against the campaigns table read independently, the recommended split and its
forecasts against ``ws.plan`` (the CLI's path), the fan's last day against its interval;
and the one line it shows when the planner cannot run."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pyarrow as pa
import pytest
from report_helpers import plain_workspace

import aips
from aips.reporting.data import collect
from aips.reporting.html import render_report


def _spend_to(world, last: dt.date, days: int = 30) -> dict[str, float]:
    """The brand's campaign spend per channel over the ``days`` days to ``last``, each
    campaign's spend spread evenly over its flight (from campaigns.csv, by hand)."""
    camps = pd.read_csv(world.store.parent / "world" / "campaigns.csv", parse_dates=["start_date", "end_date"])
    camps = camps[camps["brand"] == world.brand]
    lo, hi = pd.Timestamp(last - dt.timedelta(days=days - 1)), pd.Timestamp(last)
    out: dict[str, float] = {}
    for c in camps.itertuples():
        flight = (c.end_date - c.start_date).days + 1
        overlap = (min(c.end_date, hi) - max(c.start_date, lo)).days + 1
        if overlap > 0:
            out[c.channel] = out.get(c.channel, 0.0) + c.spend * overlap / flight
    return out


def test_plan_section_against_the_campaigns_and_the_planner(report_data, world):
    plan = report_data.sections["plan"]
    assert plan["error"] is None
    assert plan["horizon"] == 30 and plan["goal"] == "purchases"
    spent = _spend_to(world, plan["from"])
    assert plan["budget"] == pytest.approx(sum(spent.values()), rel=1e-9) and plan["budget"] > 0
    rows = {r["channel"]: r for r in plan["rows"]}
    for channel, row in rows.items():
        assert row["current"] == pytest.approx(spent.get(channel, 0.0), rel=1e-9, abs=1e-6), channel
        assert row["recommended"] >= -1e-6
    assert sum(r["recommended"] for r in rows.values()) == pytest.approx(plan["budget"], rel=1e-6)

    ws = plain_workspace(world.store)
    try:
        cli = ws.plan(world.brand, plan["budget"], 30, "purchases")
    finally:
        ws.close()
    assert cli["from"] == plan["from"]
    for channel, row in rows.items():
        assert row["recommended"] == pytest.approx(cli["split"][channel], rel=1e-6, abs=1e-3)
        assert row["current"] == pytest.approx(cli["last_split"][channel], rel=1e-9, abs=1e-6)
    rec, cur = plan["expected"]["recommended"], plan["expected"]["current"]
    for key in ("TI", "TI_low", "TI_high", "purchases", "purchases_low", "purchases_high"):
        assert rec[key] == pytest.approx(cli["expected"][key], rel=1e-6, abs=1e-6), key
        assert cur[key] == pytest.approx(cli["last_expected"][key], rel=1e-9, abs=1e-9), key
    assert rec["purchases"] >= cur["purchases"] - 1e-6  # the optimiser starts from the current split

    for name, expected in (("recommended", rec), ("current", cur)):
        fan = plan["fan"][name]
        assert len(fan["TI"]) == 30 and fan["dates"][0] == plan["from"] + dt.timedelta(days=1)
        assert all(lo <= p + 1e-9 and p <= hi + 1e-9 for lo, p, hi in zip(fan["TI_low"], fan["TI"], fan["TI_high"], strict=True))
        # the band's last day is the interval of TI on the last day
        assert (fan["TI"][-1], fan["TI_low"][-1], fan["TI_high"][-1]) == pytest.approx(
            (expected["TI"], expected["TI_low"], expected["TI_high"]), rel=1e-6, abs=1e-6)  # z to 8 digits there


def test_plan_section_renders_tables_and_charts_in_both_languages(report_data):
    plan = report_data.sections["plan"]
    en = render_report(report_data, "en")
    assert 'id="fig-plan_split"' in en and 'id="fig-plan_fan"' in en and 'id="plan-error"' not in en
    shown = dict(re.findall(r'<tr data-channel="([^"]+)" data-value="([^"]*)">', en))
    assert set(shown) == {r["channel"] for r in plan["rows"]}
    for r in plan["rows"]:
        assert float(shown[r["channel"]] or 0) == pytest.approx(r["recommended"], rel=1e-12, abs=1e-9)
    measures = dict(re.findall(r'<tr data-measure="([^"]+)" data-value="([^"]*)">', en))
    assert float(measures["purchases"]) == pytest.approx(plan["expected"]["recommended"]["purchases"], rel=1e-12)
    assert "what " + report_data.brand + " spent over the 30 days to" in en
    zh = render_report(report_data, "zh")
    assert "投放规划" in zh and "推荐分配" in zh and "上期分配" in zh and "每日深度兴趣人数" in zh


def test_plan_section_says_in_one_line_why_the_planner_cannot_run(tmp_path):
    from aips.store.tables import arrow_schema

    day = dt.datetime(2024, 3, 1, 2)
    rows = [{"event_id": str(i), "ts": day + dt.timedelta(days=i), "local_date": (day + dt.timedelta(days=i)).date(),
             "user_id": f"u{i}", "brand": "b", "event_type": "read"} for i in range(3)]
    with aips.open(str(tmp_path / "s.duckdb")) as ws:
        ws.store.write("events", pa.Table.from_pylist(rows, schema=arrow_schema("events")))
        data = collect(ws, "b", sections=("plan", "methods"), langs=("en", "zh"))
    assert data.sections["plan"]["error"].startswith("the planner needs a campaigns table")
    assert "plan" not in data.omitted
    en, zh = render_report(data, "en"), render_report(data, "zh")
    line = re.search(r'<p class="note" id="plan-error">([^<]*)</p>', en).group(1)
    assert line.startswith("The planner cannot run for b: the planner needs a campaigns table")
    assert '规划器无法为 b 运行：' in zh and 'id="fig-plan_fan"' not in en
