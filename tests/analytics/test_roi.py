"""ROI(T+x) on a hand-built campaign: the backend sums (every backend) and the API (DuckDB).

Campaign c1: brand b, facial_serum (x = 29 in the default model), T = 2024-03-10, spend 100.

user  touch (c1)        purchases of b (amount)                          attributed at x=29
u1    T 10:00           T+2 (50), T+40 (50)                               50 (+50 at T+40)
u2    T+1 12:00         T-1 (5), T+1 11:00 (10: before the touch), T+5 (30)   30
u3    T+3               other brand T+4 (70)                              0
u4    -                 T+2 (25)                                          0 (not touched)
u5    T+29 09:00        T+29 10:00 (20)                                   20 (x edge)
u6    -                 -
h1..h4 holdout; h1 buys b at T+3 (40)

Attributed: revenue 100, ROI 1.0, purchasers 3 (u1, u2, u5), touched 4. Curve: 50 at 2,
80 at 5, 100 at 29, 150 at 40. New P (first purchase in T..T+29, on or after the touch):
u1, u5 = 2; new TI (first day at TI or above): u1 (collect T+1), u3 (collect T+4), u5 (P at
T+29) = 3 (u2 was at P since T-1).

Incremental, no covariate: y over T..T+29, whoever touched: exposed [50, 40, 0, 25, 20, 0]
(mean 22.5, sample variance 417.5), holdout [40, 0, 0, 0] (mean 10, variance 400):
lift 12.5 per user, x 6 exposed users = 75, iROI 0.75, se = sqrt(417.5/6 + 400/4).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest
from outcomes_helpers import D, H, ev, rows_of, write_events

import aips
from aips.analytics.roi import CampaignROI, incremental_from_groups
from aips.engine import durations as du
from aips.workspace import Workspace

T = dt.date(2024, 3, 10)
T0 = dt.datetime(2024, 3, 10, 2)  # 10:00 in Asia/Shanghai is 02:00 UTC
CAT = "facial_serum"


def _rows():
    c = {"campaign_id": "c1", "category": CAT}
    p = {"category": CAT}

    def at(days, hours=0):
        return T0 + days * D + hours * H

    def lday(days):
        return {"local_date": T + dt.timedelta(days=days)}

    return [
        ev("u1", at(0), "impression", **c, **lday(0)), ev("u1", at(1), "collect", **p, **lday(1)),
        ev("u1", at(2), "purchase", amount=50.0, **p, **lday(2)), ev("u1", at(40), "purchase", amount=50.0, **p, **lday(40)),
        ev("u2", at(-1), "purchase", amount=5.0, **p, **lday(-1)), ev("u2", at(1, 2), "impression", **c, **lday(1)),
        ev("u2", at(1, 1), "purchase", amount=10.0, **p, **lday(1)), ev("u2", at(5), "purchase", amount=30.0, **p, **lday(5)),
        ev("u3", at(3), "impression", **c, **lday(3)), ev("u3", at(4), "collect", **p, **lday(4)),
        ev("u3", at(4), "purchase", brand="other", amount=70.0, **p, **lday(4)),
        ev("u4", at(2), "purchase", amount=25.0, **p, **lday(2)),
        ev("u5", at(29, -1), "impression", **c, **lday(29)), ev("u5", at(29), "purchase", amount=20.0, **p, **lday(29)),
        ev("h1", at(3), "purchase", amount=40.0, **p, **lday(3)),
    ]


def _users(store):
    ids = ["u1", "u2", "u3", "u4", "u5", "u6", "h1", "h2", "h3", "h4"]
    return store.write("users", pa.table({"user_id": ids, "holdout": [u.startswith("h") for u in ids]}), overwrite=True)


def _campaigns(store):
    return store.write(
        "campaigns",
        pa.table({
            "campaign_id": ["c1", "c2", "c3"], "brand": ["b", "b", "other"], "category": [CAT] * 3,
            "channel": ["feed_ad"] * 3,
            "start_date": pa.array([T, T + dt.timedelta(days=20), T], pa.date32()),
            "end_date": pa.array([T + dt.timedelta(days=10), T + dt.timedelta(days=40), T], pa.date32()),
            "spend": [100.0, 50.0, 10.0],
        }),
        overwrite=True,
    )


def test_campaign_sums(store):
    events = write_events(store, _rows())
    touches = du.campaign_touches(events, "c1")
    purchases = du.attributed_purchases(events, touches, "b", T, T + dt.timedelta(days=58))
    daily = {r["offset"]: r for r in rows_of(store, du.campaign_revenue_by_day(purchases), "offset")}
    assert {k: (v["revenue"], v["new_purchasers"]) for k, v in daily.items()} == {
        2: (50.0, 1), 5: (30.0, 1), 29: (20.0, 1), 40: (50.0, 0),
    }
    users = _users(store)
    pop = du.holdout_population(events, users, CAT, T, None)
    groups = {r["holdout"]: r for r in rows_of(store, du.holdout_groups(events, pop, "b", T, T + dt.timedelta(days=29)))}
    assert (groups[False]["n"], groups[False]["sum_y"], groups[False]["sum_y2"]) == (6, 135.0, 50**2 + 40**2 + 25**2 + 20**2)
    assert (groups[True]["n"], groups[True]["sum_y"]) == (4, 40.0)


def test_roi_fitter_by_hand():
    import pandas as pd

    daily = pd.DataFrame({"offset": [2, 5, 29, 40], "revenue": [50.0, 30.0, 20.0, 50.0],
                          "orders": [1, 1, 1, 1], "new_purchasers": [1, 1, 1, 0]})
    r = CampaignROI(29, curve_days=58).fit(daily, spend=100.0, touched_users=4, new_p=2, new_ti=3)
    assert (r.revenue_, r.roi_, r.purchasers_, r.orders_) == (100.0, 1.0, 3, 3)
    curve = r.curve_.set_index("x")
    assert len(curve) == 59 and curve.revenue[1] == 0 and curve.revenue[40] == 150.0 and curve.roi[58] == 1.5
    assert r.cost_per_new_ti_ == pytest.approx(100 / 3)
    groups = pd.DataFrame({"holdout": [False, True], "n": [6, 4], "sum_y": [135.0, 40.0],
                           "sum_y2": [50**2 + 40**2 + 25**2 + 20**2, 1600.0]})
    inc = incremental_from_groups(groups, 100.0)
    se = math.sqrt(417.5 / 6 + 400 / 4)
    assert inc["lift_per_user"] == pytest.approx(12.5) and inc["incremental_revenue"] == pytest.approx(75.0)
    assert inc["roi"] == pytest.approx(0.75) and inc["lift_per_user_se"] == pytest.approx(se)
    assert inc["roi_ci"] == pytest.approx([(12.5 - 1.959964 * se) * 6 / 100, (12.5 + 1.959964 * se) * 6 / 100], rel=1e-6)


def test_covariate_adjustment_equals_regression():
    """CUPED lift = the coefficient of the group dummy in y ~ 1 + exposed + x (pooled slope)."""
    rng = np.random.default_rng(3)
    n1, n0 = 400, 120
    x = rng.poisson(3, n1 + n0).astype(float)
    g = np.r_[np.ones(n1), np.zeros(n0)]
    y = 5 * x + 4 * g + rng.normal(0, 3, n1 + n0)
    rows = []
    for flag, sel in ((False, g == 1), (True, g == 0)):
        rows.append({"holdout": flag, "n": int(sel.sum()), "sum_y": y[sel].sum(), "sum_y2": (y[sel] ** 2).sum(),
                     "sum_x": x[sel].sum(), "sum_x2": (x[sel] ** 2).sum(), "sum_xy": (x[sel] * y[sel]).sum()})
    inc = incremental_from_groups(rows, 1.0)
    design = np.c_[np.ones_like(x), g, x]
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    assert inc["lift_per_user"] == pytest.approx(beta[1], rel=1e-9)
    assert inc["lift_per_user_se"] < inc["unadjusted_se"] / 2


def test_roi_api(duckdb_store):
    store = duckdb_store
    write_events(store, _rows())
    _users(store)
    _campaigns(store)
    ws = Workspace(store, aips.default_model())
    r = ws.roi("c1", lookback_days=None)
    d = r.asdict()
    assert (d["T"], d["x"], d["x_source"], d["spend"]) == ("2024-03-10", 29, "configured", 100.0)
    assert (d["touched_users"], d["purchasers"], d["revenue"], d["roi"]) == (4, 3, 100.0, 1.0)
    assert (d["new_p"], d["new_ti"]) == (2, 3) and d["cost_per_new_ti"] == pytest.approx(100 / 3)
    assert d["roi_kind"] == "attributed" and "not causal" in d["roi_note"]
    assert len(d["curve"]) == 59 and d["curve"][40]["revenue"] == 150.0
    inc = d["incremental"]
    assert inc["kind"] == "incremental" and inc["roi"] == pytest.approx(0.75)
    assert inc["overlapping_campaigns"] == ["c2"]
    assert d["complete"] and d["data_end"] == "2024-04-19"  # the data run to T+40
    short = ws.roi("c1", x=3).asdict()
    assert (short["x"], short["x_source"], short["revenue"]) == (3, "argument", 50.0)
    # the report's way: the touches of several campaigns from one pass, then each one's
    every = du.campaigns_touches(ws.events, ["c1", "c2"])
    given = ws.roi("c1", lookback_days=None, touches=every.filter(every.campaign_id == "c1").drop("campaign_id"))
    assert given.asdict() == d


def test_roi_x_from_estimated_cycle(duckdb_store):
    """``cycle: estimate``: x is the KM decision cycle of the category (here 0 days: five of
    the six pairs that buy do so on the day of their first facial_serum event)."""
    store = duckdb_store
    write_events(store, _rows())
    _campaigns(store)
    ws = Workspace(store, aips.default_model().with_overrides(cycle="estimate"))
    d = ws.roi("c1").asdict()
    assert (d["x"], d["x_source"], d["cycle_days"], d["revenue"]) == (0, "estimated", 0, 0.0)
    assert "incremental" not in d  # no users table: no holdout
