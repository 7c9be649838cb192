"""Per-campaign incremental ROI from a ``campaign_holdouts`` table, worked by hand.

The events are those of test_roi.py (campaign c1 of brand b, T = 2024-03-10, x = 29, spend
100). c1's per-campaign holdout (first = first_date, the first exposure got or withheld):

user  holdout  first   brand-b purchases on first .. T+29                      y
u1    no       T       T+2 (50)  [T+40 is past the window]                     50
u2    no       T+1     T+1 (10), T+5 (30)  [T-1 (5) is before first]          40
u3    no       T+3     - (bought another brand)                                 0
u5    no       T+29    T+29 (20)                                               20
h1    yes      T+2     T+3 (40)                                                40
u4    yes      T+5     - [T+2 (25) is before first]                             0
u6    yes      (none)  -  (a missing first date counts from T)                  0
h2    yes      T+30    left out: first targeted after T+29

Exposed [50, 40, 0, 20]: n 4, sum 110, sum of squares 4,500, variance (4500 - 110²/4)/3;
held out [40, 0, 0]: n 3, sum 40, sum of squares 1,600, variance (1600 - 40²/3)/2.
Lift 27.5 - 40/3 = 14.1667 per user, x 4 exposed = 56.667, iROI 0.56667;
se = sqrt(491.667/4 + 533.333/3).
"""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest
from outcomes_helpers import rows_of, write_events
from test_roi import T, _campaigns, _rows, _users

import aips
from aips.analytics.roi import CAMPAIGN_HOLDOUT_NOTE, INCREMENTAL_NOTE, incremental_roi
from aips.engine import durations as du
from aips.workspace import Workspace

Z = 1.959963984540054
LIFT = 27.5 - 40 / 3
SE = math.sqrt(((4500 - 110**2 / 4) / 3) / 4 + ((1600 - 40**2 / 3) / 2) / 3)


def _holdouts(store):
    def day(k):
        return None if k is None else T + dt.timedelta(days=k)

    rows = [("u1", False, 0), ("u2", False, 1), ("u3", False, 3), ("u5", False, 29),
            ("h1", True, 2), ("u4", True, 5), ("u6", True, None), ("h2", True, 30)]
    table = pa.table({
        "campaign_id": ["c1"] * len(rows), "user_id": [r[0] for r in rows],
        "holdout": [r[1] for r in rows], "first_date": pa.array([day(r[2]) for r in rows], pa.date32()),
    })
    return store.write("campaign_holdouts", table, overwrite=True)


def test_campaign_holdout_groups(store):
    events = write_events(store, _rows())
    holdouts = _holdouts(store)
    expr = du.campaign_holdout_groups(events, holdouts, "c1", "b", T, T + dt.timedelta(days=29))
    g = {r["holdout"]: r for r in rows_of(store, expr)}
    assert (g[False]["n"], g[False]["sum_y"], g[False]["sum_y2"]) == (4, 110.0, 4500.0)
    assert (g[True]["n"], g[True]["sum_y"], g[True]["sum_y2"]) == (3, 40.0, 1600.0)
    assert g[False]["sum_x"] == g[True]["sum_xy"] == 0.0
    # x = 3: only users first targeted by T+3; u2's T+5 purchase falls out of the window
    short = {r["holdout"]: r for r in rows_of(store, du.campaign_holdout_groups(
        events, holdouts, "c1", "b", T, T + dt.timedelta(days=3)))}
    assert (short[False]["n"], short[False]["sum_y"]) == (3, 60.0)  # u1 50, u2 10, u3 0
    assert (short[True]["n"], short[True]["sum_y"]) == (2, 40.0)  # h1 40, u6 0
    none = du.campaign_holdout_groups(events, holdouts, "c2", "b", T, T + dt.timedelta(days=29))
    assert rows_of(store, none) == []


def test_roi_uses_the_campaign_holdout(duckdb_store):
    store = duckdb_store
    write_events(store, _rows())
    _users(store)
    _campaigns(store)
    _holdouts(store)
    ws = Workspace(store, aips.default_model())
    inc = ws.roi("c1").incremental_
    assert inc["contrast"] == "campaign_holdout" and inc["note"] == CAMPAIGN_HOLDOUT_NOTE
    assert (inc["exposed_users"], inc["holdout_users"]) == (4, 3)
    assert inc["lift_per_user"] == pytest.approx(LIFT) and inc["lift_per_user_se"] == pytest.approx(SE)
    assert inc["incremental_revenue"] == pytest.approx(LIFT * 4) and inc["roi"] == pytest.approx(0.566667, rel=1e-5)
    assert inc["roi_ci"] == pytest.approx([(LIFT - Z * SE) * 4 / 100, (LIFT + Z * SE) * 4 / 100])
    assert inc["overlapping_campaigns"] == [] and inc["covariate"] is None
    # c2 has no rows in campaign_holdouts: the brand-wide users.holdout contrast, as before
    other = ws.roi("c2").incremental_
    assert other["contrast"] == "brand_holdout" and other["note"] == INCREMENTAL_NOTE
    # the incremental part alone (what the validation runs per campaign) is the same dict
    assert incremental_roi(ws.view, "c1") == inc and incremental_roi(ws.view, "c2") == other
    forced = incremental_roi(ws.view, "c1", contrast="brand_holdout")  # test_roi.py's hand-worked 0.75
    assert forced["contrast"] == "brand_holdout" and forced["roi"] == pytest.approx(0.75)
    assert incremental_roi(ws.view, "c2", contrast="campaign_holdout") is None  # no rows for c2


def test_roi_cli_names_the_contrast_in_chinese(duckdb_store):
    from aips.cli.outcomes_cmd import _key_values
    from aips.config.labels import t

    store = duckdb_store
    write_events(store, _rows())
    _users(store)
    _campaigns(store)
    _holdouts(store)
    inc = Workspace(store, aips.default_model()).roi("c1").incremental_
    rows = {r["measure"]: r["value"] for r in _key_values(inc, "zh")}
    assert rows["note"] == t("cli.roi.note_campaign_holdout", "zh") != t("cli.roi.note_incremental", "zh")
