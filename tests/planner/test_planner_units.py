"""The planner's pieces against hand-worked values and a known curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aips.exceptions import ConfigError
from aips.planner.allocate import allocate
from aips.planner.curves import ResponseCurves
from aips.planner.forecast import Forecast


def test_allocate_matches_the_closed_form():
    # max a*sqrt(x1) + b*sqrt(x2), x1 + x2 = B  ->  x1 = B a^2 / (a^2 + b^2)
    a, b, budget = 2.0, 1.0, 500.0
    split = allocate(lambda x: a * np.sqrt(x[0]) + b * np.sqrt(x[1]), ["a", "b"], budget)
    assert split["a"] == pytest.approx(budget * 4 / 5, rel=1e-3)
    bounded = allocate(lambda x: a * np.sqrt(x[0]) + b * np.sqrt(x[1]), ["a", "b"], budget, high={"a": 100.0})
    assert bounded["a"] == pytest.approx(100.0, abs=1e-4) and bounded["b"] == pytest.approx(400.0, abs=1e-4)
    with pytest.raises(ConfigError, match="no split"):
        allocate(lambda x: 0.0, ["a", "b"], 100.0, low={"a": 80.0, "b": 80.0})
    with pytest.raises(ConfigError, match="not one of"):
        allocate(lambda x: 0.0, ["a", "b"], 100.0, low={"tv": 1.0})


def test_forecast_by_hand():
    f = Forecast(ti0=10.0, base=[0.0, 2.0, 1.0], retention=0.5)
    out = f.run(lambda x: np.zeros(3), None, 2)
    # day 1: 0.5*10 + 2 - 1 = 6; day 2: 0.5*6 + 1 = 4; purchases 2
    assert out["ti_series"] == pytest.approx([6.0, 4.0]) and out["purchases"] == pytest.approx(2.0)


def test_curves_recover_two_known_channels():
    """Delivery from the campaigns' spend and impressions, effects per impression from the
    advances: the fitted curve is beta * C * (1 - exp(-x / s)) of the generating one."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=280).date
    true = {"a": (60.0, 100.0, 0.05), "b": (20.0, 300.0, 0.3)}  # C, s, beta
    spend, imp, camps, points = [], [], [], []
    for ch, (cap, scale, _) in true.items():
        level = rng.choice([0.0, 50.0, 100.0, 200.0, 400.0], size=28).repeat(10)
        m = cap * (1 - np.exp(-level / scale))
        spend.append(pd.DataFrame({"brand": "x", "channel": ch, "date": days, "spend": level}))
        imp.append(pd.DataFrame({"brand": "x", "channel": ch, "date": days, "impressions": m}))
        for k in np.flatnonzero(level[::10] > 0):
            cid = f"{ch}{k}"
            camps.append({"campaign_id": cid, "brand": "x", "channel": ch, "start_date": days[10 * k],
                          "end_date": days[10 * k + 9], "spend": level[10 * k] * 10})
            points.append({"campaign_id": cid, "impressions": m[10 * k: 10 * k + 10].sum()})
    spend, imp = pd.concat(spend), pd.concat(imp)
    acting = imp.pivot(index="date", columns="channel", values="impressions").rolling(28, min_periods=1).mean()
    rows = []
    for d, r in acting.iterrows():
        lam = 2.0 + sum(beta * r[c] for c, (_, _, beta) in true.items())
        rows.append({"brand": "x", "date": d, "holdout": False, "stage": "I", "users": rng.poisson(lam * 20) / 20})
    fit = ResponseCurves(bootstrap=0).fit(pd.DataFrame(rows), spend, (1, 0), "x", pd.DataFrame(camps), imp,
                                          pd.DataFrame(points))
    for j, (ch, (cap, scale, beta)) in enumerate(true.items()):
        assert fit.delivery_[0][j] == pytest.approx(cap, rel=1e-3) and fit.delivery_[1][j] == pytest.approx(scale, rel=1e-3)
        for x in (50.0, 200.0):
            assert fit.curve(ch, "A->I", x) == pytest.approx(beta * cap * (1 - np.exp(-x / scale)), rel=0.15)
