"""Figures built from small hand-made section frames (no store needed)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from aips.reporting import charts

D = dt.date


@pytest.fixture
def flows():
    matrix = pd.DataFrame({
        "from_stage": ["A", "A", "I", "I", "none", "TI"],
        "to_stage": ["A", "I", "TI", "A", "A", "none"],
        "movement": ["stay", "up", "up", "down", "new", "churned"],
        "users": [50, 10, 4, 6, 20, 2],
    })
    rates = pd.DataFrame({"stage": ["A", "I", "TI"], "at_t0": [60, 10, 2], "moved_up": [10, 4, 0],
                          "flow_rate": [10 / 60, 0.4, 0.0]})
    compare = pd.DataFrame({"brand": ["b", "b", "c", "c"], "stage": ["A", "I", "A", "I"],
                            "at_t0": [60, 10, 80, 20], "moved_up": [10, 4, 8, 2], "flow_rate": [1 / 6, 0.4, 0.1, 0.1]})
    return {"matrix": matrix, "rates": rates, "compare": compare, "t0": D(2025, 1, 1), "t1": D(2025, 1, 31)}


def test_sankey_links_carry_their_cell(flows):
    fig = charts.sankey_chart(flows, "en")
    sk = fig.data[0]
    assert sk.type == "sankey"
    assert sum(sk.link.value) == flows["matrix"]["users"].sum()
    assert list(sk.link.label) == [f"flow:{a}:{b}" for a, b in zip(flows["matrix"].from_stage, flows["matrix"].to_stage, strict=True)]
    # the left node of I shows its flow rate
    assert any(lbl.startswith("I · Interest") and "↑40.0%" in lbl for lbl in sk.node.label)
    # t0 nodes on the left, t1 nodes on the right
    assert sk.node.customdata[0].startswith("t0:") and sk.node.customdata[-1].startswith("t1:")


def test_sankey_in_chinese(flows):
    fig = charts.sankey_chart(flows, "zh")
    assert any("兴趣" in lbl for lbl in fig.data[0].node.label)


def test_flow_compare_highlights_the_brand(flows):
    fig = charts.flow_compare_chart(flows, "b", "en")
    assert [t.name for t in fig.data] == ["b", "c"]
    assert fig.data[0].marker.color == charts.BRAND_COLOR


def test_stage_bars_at_spu_level_have_a_trace_per_spu():
    df = pd.DataFrame({"spu": ["x", "x", "y"], "stage": ["A", "TI", "A"], "exclusive": [5, 2, 7],
                       "cumulative": [7, 2, 7]})
    fig = charts.stage_bars({"level": "spu", "frame": df}, "en")
    assert sorted(t.name for t in fig.data) == ["x", "y"]


def test_trend_puts_awareness_apart_and_stacks_the_rest():
    days = pd.date_range("2025-01-01", periods=3).date
    df = pd.DataFrame([(d, s, n) for d in days for s, n in (("A", 100), ("I", 10), ("TI", 3))],
                      columns=["date", "stage", "users"])
    fig = charts.trend_chart({"frame": df, "start": days[0], "end": days[-1], "period_start": days[1]}, "en")
    stacked = [t.name for t in fig.data if t.stackgroup]
    assert stacked == ["I · Interest", "TI · True Interest"]


def test_cycle_chart_marks_median_and_configured_x():
    curve = pd.DataFrame({"t": [0, 5, 10, 20], "survival": [1, 0.98, 0.96, 0.95], "converted": [0, .02, .04, .05]})
    curve["not_bought"] = 1 - curve["converted"] / 0.05
    cyc = [{"category": "serum", "curve": curve, "median": 10, "p80": 20, "configured_x": 29,
            "converted_share": 0.05, "is_brand_category": True}]
    fig = charts.cycle_chart(cyc, "en")
    assert any(t.mode == "markers" and list(t.x) == [10] for t in fig.data)
    assert any(shape.x0 == 29 for shape in fig.layout.shapes)


def test_roi_chart_shows_incremental_with_its_interval():
    curve = pd.DataFrame({"x": range(31), "roi": [i / 10 for i in range(31)], "revenue": range(31)})
    roi = {"campaigns": [{"campaign": "c1", "x": 29, "curve": curve,
                          "incremental": {"roi": 1.5, "ci": [0.5, 2.5]}}]}
    fig = charts.roi_chart(roi, "en")
    inc = [t for t in fig.data if t.mode == "markers"][0]
    assert list(inc.y) == [1.5] and list(inc.error_y.array) == [1.0]


def test_attribution_chart_orders_channels_by_markov():
    long = pd.DataFrame({"channel": ["a", "b", "a", "b"], "model": ["markov", "markov", "last", "last"],
                         "conversions": [1, 3, 2, 2], "share": [0.25, 0.75, 0.5, 0.5]})
    fig = charts.attribution_chart(long, "en")
    assert list(fig.data[0].x) == ["b", "a"]
    assert {t.name for t in fig.data} == {"markov", "last"}


def test_portrait_chart_keeps_attributes_and_greys_weak_values():
    df = pd.DataFrame({"dimension": ["gender", "gender", "keyword"], "value": ["F", "M", "serum"],
                       "crowd_users": [40, 5, 30], "crowd_share": [.8, .1, .6], "baseline_share": [.6, .4, .01],
                       "tgi": [133.0, 25.0, 6000.0], "supported": [True, False, True],
                       "interest": [False, False, True]})
    fig = charts.portrait_chart({"frame": df}, "en")
    assert list(fig.data[0].y) == ["gender: M", "gender: F"]
    assert fig.data[0].marker.color[0] == "#C9C9C9"
