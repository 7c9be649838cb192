"""The simulator's planning truth (issue 17): delivery curves by hand, monotone in spend,
zero spend is the no-campaign baseline, deterministic."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aips.simulate.delivery import cost, impressions
from aips.simulate.params import SimulationParams
from aips.simulate.plan_truth import PAID, PlanTruth, _simplex

PARAMS = SimulationParams(users=500, days=60, seed=2)


@pytest.fixture(scope="module")
def truth():
    return PlanTruth(PARAMS, "Lumiere", start=40, horizon=20)


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


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0, 400), min_size=len(PAID), max_size=len(PAID)),
       st.integers(0, len(PAID) - 1), st.floats(1, 300))
def test_more_spend_never_lowers_reach_or_advances(truth, base, channel, extra):
    more = list(base)
    more[channel] += extra
    out = truth.outcomes(np.asarray([base, more]))
    for key in ("reach", "new_ti", "purchases", "revenue"):
        assert out[key][1] >= out[key][0] - 1e-9, key


def test_zero_spend_is_the_no_campaign_baseline(truth):
    base = truth.outcome({})
    assert base["reach"] == 0.0
    # with no spend the paid channels' effects cannot matter
    channels = {c: dataclasses.replace(ch, effect=(9.0, 9.0, 9.0, 0.0)) if c != "organic" else ch
                for c, ch in PARAMS.channels.items()}
    other = PlanTruth(PARAMS.replace(channels=channels), "Lumiere", start=40, horizon=20)
    # history before the start differs (real campaigns had effect), so compare from day 0
    t0 = PlanTruth(PARAMS, "Lumiere", start=0, horizon=20).outcome({})
    t1 = PlanTruth(PARAMS.replace(channels=channels), "Lumiere", start=0, horizon=20).outcome({})
    assert t0 == pytest.approx(t1)
    assert other.outcome({})["purchases"] > 0


def test_deterministic_and_optimum_beats_every_single_channel(truth):
    again = PlanTruth(PARAMS, "Lumiere", start=40, horizon=20)
    plan = {"feed_ad": 50.0, "kol_note": 20.0}
    assert again.outcome(plan) == truth.outcome(plan)
    split, best = truth.optimum(4000.0, "purchases")
    assert sum(split.values()) == pytest.approx(4000.0)
    for c in PAID:
        assert best >= truth.outcome({c: 4000.0 / 20})["purchases"] - 1e-9


def test_simplex_grid():
    g = _simplex(3, 2)
    assert len(g) == 6 and np.allclose(g.sum(1), 1)


def test_unknown_channel_is_named(truth):
    with pytest.raises(Exception, match="unknown channel"):
        truth.outcome({"tv": 1.0})
