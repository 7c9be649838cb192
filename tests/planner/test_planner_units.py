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


def _points(cap, scale, spends, days=14):
    return pd.DataFrame({"channel": "feed_ad", "x": spends, "m": cap * -np.expm1(-np.asarray(spends) / scale),
                         "days": days})


def test_delivery_discounts_a_campaign_past_the_ceiling():
    """Campaigns on the curve m = 180 (1 - exp(-x / 90)) and one that delivered 685 a day for
    352 (past the ceiling of 180: the world's capped price): the fit keeps the curve. A plain
    least-squares fit with C bounded below by the largest point, as before, made it linear."""
    pts = _points(180.0, 90.0, [5.8, 14.5, 17.8, 24.3, 32.9, 44.1, 48.5, 82.0, 168.0])
    pts = pd.concat([pts, pd.DataFrame({"channel": ["feed_ad"], "x": [352.1], "m": [685.6], "days": [14]})])
    fit = ResponseCurves(bootstrap=0)
    fit.channels_ = ["feed_ad"]
    (cap,), (scale,) = fit._delivery(pts)
    assert cap == pytest.approx(180.0, rel=0.02) and scale == pytest.approx(90.0, rel=0.02)


def test_rates_pool_noise_and_shrink_weight_zero_is_the_pooled_fit():
    """Three brands, three channels with the same advances per CNY at the first yuan (0.02)
    and noisy weekly contrasts: cross-validation over brands keeps the channels close to
    the pooled rate; with weight 0 the rate is the pooled least squares by hand."""
    rng = np.random.default_rng(1)
    cap, scale = np.array([100.0, 50.0, 20.0]), np.array([50.0, 100.0, 40.0])
    m = rng.uniform(0, 1, (36, 3)) * cap                  # weekly mean daily impressions
    u = 7.0 * m * scale / cap                              # spend-equivalents
    y = np.c_[u @ np.full(3, 0.02) + 7 * 1.0 + rng.normal(0, 6.0, 36), np.zeros((36, 2))]
    brands = np.repeat(["a", "b", "c"], 12)
    cv = ResponseCurves(bootstrap=0)
    rate, _ = cv._rates(y, m, (cap, scale), groups=brands)
    own, _ = cv._rates(y, m, (cap, scale), shrink=np.ones(3))
    assert cv.shrink_[0] <= 0.5
    assert np.ptp(rate[0]) < np.ptp(own[0])                # pooled closer together than own fits
    pooled, _ = cv._rates(y, m, (cap, scale), shrink=np.zeros(3))
    by_hand = np.linalg.lstsq(np.c_[u.sum(1), np.full(36, 7.0)], y[:, 0], rcond=None)[0][0]
    assert pooled[0] == pytest.approx(np.full(3, by_hand), rel=1e-6) and by_hand == pytest.approx(0.02, rel=0.3)


def test_forecast_hazard_and_ramp_by_hand():
    # past effect [0, 1, .5], the plan's [0, 3, 1.5]: change [0, 2, 1], half of it on day 1
    f = Forecast(ti0=100.0, base=[0.0, 2.0, 0.0], retention=0.9, hazard=0.01, past=[0.0, 1.0, 0.5], ramp=2)
    out = f.run(lambda x: np.array([0.0, 3.0, 1.5]), None, 2)
    # day 1: buy 0.01*100 + 0.5*1 = 1.5, TI 0.9*100 + (3 + 0.5*2) - 1.5 = 92.5
    # day 2: buy 0.925 + 1 = 1.925, TI 0.9*92.5 + 5 - 1.925 = 86.325
    assert out["ti_series"] == pytest.approx([92.5, 86.325]) and out["purchases"] == pytest.approx(3.425)
