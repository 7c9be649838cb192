"""The simulator's planning truth (issue 17) is the simulator's own counterfactual: with the
world's campaigns it reproduces the simulated first purchases exactly, its expectation
agrees with the realised counts, a plan delivers what its spend buys on the simulator's
price curve, and more spend never removes reach."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aips.simulate import simulate
from aips.simulate.delivery import cost, impressions
from aips.simulate.params import SimulationParams
from aips.simulate.plan_truth import PAID, PlanTruth, _simplex
from aips.simulate.presets import default_channels

SATURATING = {c: dataclasses.replace(ch, saturation=15.0) if c != "organic" else ch
              for c, ch in default_channels().items()}
PARAMS = SimulationParams(users=800, days=60, seed=2, channels=SATURATING, arrival_days=120.0)
BUDGET = 1500.0
"""CNY over 20 days: 75 a day, about the five channels' saturation scales (12 a day each)."""


@pytest.fixture(scope="module")
def truth():
    return PlanTruth(PARAMS, "Lumiere", start=40, horizon=20, budget=BUDGET, replicates=2)


def test_delivery_by_hand():
    # S' = 200 CNY, cpm 400: ceiling 500 impressions a day; 200 CNY buys 500 (1 - 1/e).
    assert impressions(200.0, 400.0, 200.0) == pytest.approx(500 * (1 - math.exp(-1)))
    assert impressions(200.0, 400.0, 0.0) == pytest.approx(500.0)
    assert cost(500 * (1 - math.exp(-1)), 400.0, 200.0) == pytest.approx(200.0)
    # marginal impressions fall: the second 100 CNY buy fewer than the first
    first = impressions(100.0, 400.0, 200.0)
    assert impressions(200.0, 400.0, 200.0) - first < first


@given(st.floats(0, 1e5), st.floats(1, 5000), st.floats(1, 1e5))
def test_cost_inverts_delivery(x, cpm, scale):
    m = impressions(x, cpm, scale)
    if m * cpm / 1000 < 0.97 * scale:  # below the priced cap
        assert cost(m, cpm, scale) == pytest.approx(x, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("arrival", [0.0, 90.0])
def test_the_world_as_run_is_the_simulation(tmp_path, arrival):
    """With the world's own campaigns, the truth's run makes exactly the first purchases that
    the simulated events show in the window (same draws), and its expectation is close."""
    params = SimulationParams(users=1500, days=60, seed=3, arrival_days=arrival)
    simulate(tmp_path / "w", params)
    ev = pd.read_parquet(tmp_path / "w" / "events", columns=["ts", "user_id", "brand", "event_type"])
    buys = ev[(ev.brand == "Lumiere") & (ev.event_type == "purchase")]
    origin = pd.Timestamp(params.start_date, tz=params.timezone)
    day = (buys.groupby("user_id").ts.min().dt.tz_convert(params.timezone) - origin).dt.days
    for start in (20, 30):
        out = PlanTruth(params, "Lumiere", start=start, horizon=30).as_run()
        assert out["purchases_realised"] == ((day >= start) & (day < start + 30)).sum() > 0
        assert abs(out["purchases"] - out["purchases_realised"]) <= 3 * math.sqrt(out["purchases"]) + 1


def test_expectation_agrees_with_realised_over_seeds():
    expected = realised = 0.0
    for seed in range(10):
        out = PlanTruth(PARAMS.replace(seed=seed), "Lumiere", start=30, horizon=30).as_run()
        expected += out["purchases"]
        realised += out["purchases_realised"]
    # realised first purchases are a sum of independent Bernoullis with these means
    assert abs(realised - expected) <= 3 * math.sqrt(expected)
    assert expected > 40


def test_a_plan_delivers_what_its_spend_buys(truth):
    """Priced like the simulator prices a campaign (delivery spread by day activity, each
    day on the saturating curve), the plan's delivery costs its spend; the runs deliver it."""
    plan = {"feed_ad": 12.0, "search_ad": 6.0, "kol_note": 5.0}
    want = truth.delivery(plan)
    ch = PARAMS.channels["feed_ad"]
    share = truth._factor / truth._factor.sum()
    spent = cost(want["feed_ad"] * share, ch.cpm, ch.saturation * PARAMS.users / 1000).sum()
    assert spent == pytest.approx(12.0 * 20, rel=1e-6)
    got = truth.delivered(plan)
    for c in plan:
        assert got[c] == pytest.approx(want[c], rel=4 / math.sqrt(want[c] * truth.replicates) + 0.02), c
    assert got["koc_note"] == 0.0


@settings(max_examples=8, deadline=None)
@given(st.lists(st.floats(0, 12), min_size=len(PAID), max_size=len(PAID)),
       st.integers(0, len(PAID) - 1), st.floats(1, 12))
def test_more_spend_never_lowers_reach(truth, base, channel, extra):
    more = list(base)
    more[channel] += extra
    out = truth.outcomes(np.asarray([base, more]))
    assert out["reach"][1] >= out["reach"][0]


def test_spend_sells_and_zero_spend_is_the_no_campaign_baseline(truth):
    none = truth.outcome({})
    assert none["reach"] == 0.0
    assert truth.outcome({c: BUDGET / 20 / len(PAID) for c in PAID})["purchases"] > none["purchases"]
    # with no spend in the window, the paid channels' effects cannot matter (nothing ran before day 0)
    strong = {c: dataclasses.replace(ch, effect=(9.0, 9.0, 9.0, 0.0)) if c != "organic" else ch
              for c, ch in SATURATING.items()}
    t0 = PlanTruth(PARAMS, "Lumiere", start=0, horizon=20, budget=BUDGET, replicates=1).outcome({})
    t1 = PlanTruth(PARAMS.replace(channels=strong), "Lumiere", start=0, horizon=20, budget=BUDGET,
                   replicates=1).outcome({})
    assert t0 == pytest.approx(t1)


def test_deterministic_and_optimum_beats_the_corners(truth):
    again = PlanTruth(PARAMS, "Lumiere", start=40, horizon=20, budget=BUDGET, replicates=2)
    plan = {"feed_ad": 20.0, "kol_note": 10.0}
    assert again.outcome(plan) == truth.outcome(plan)
    split, best = truth.optimum(BUDGET, "purchases", steps=2, rounds=1)
    assert sum(split.values()) == pytest.approx(BUDGET)
    for c in PAID:
        assert best >= truth.outcome({c: BUDGET / 20})["purchases"]


def test_simplex_grid():
    g = _simplex(3, 2)
    assert len(g) == 6 and np.allclose(np.sum(g, axis=1), 1)


def test_clear_errors(truth):
    with pytest.raises(Exception, match="unknown channel"):
        truth.outcome({"tv": 1.0})
    with pytest.raises(Exception, match="more than the truth's budget"):
        truth.outcome({"feed_ad": BUDGET})
    with pytest.raises(Exception, match="ran 60 days"):
        PlanTruth(PARAMS, "Lumiere", start=50, horizon=20, budget=BUDGET, replicates=1).as_run()
    with pytest.raises(Exception, match="not in the world"):
        PlanTruth(PARAMS, "Nobody", start=50)
