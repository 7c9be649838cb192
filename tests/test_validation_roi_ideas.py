"""validation/_roi_ideas.py: the per-(campaign, group, stage) sums, worked by hand, and the
estimators computed from them against per-user numpy (least squares, means) as the oracle.

The hand-worked world is tests/analytics/test_roi_campaign_holdout.py's (campaign c1 of
brand b, T = 2024-03-10, x = 29). Per targeted user first targeted by T+29 (h2 is not):
``since`` = max(T, first), y = revenue on since..T+29, yT = revenue on T..T+29, r = revenue
before since, d = T+29 - since + 1, stage of brand b on since - 1:

user  group    since  y   yT  r   d   stage (why)
u1    exposed  T      50  50  0   30  none (first event: the impression on T)
u2    exposed  T+1    40  40  5   29  P    (bought on T-1; P lasts the 29-day cycle)
u3    exposed  T+3    0   0   0   27  none (bought another brand)
u5    exposed  T+29   20  20  0   1   none
h1    held     T+2    40  40  0   28  none
u4    held     T+5    0   25  25  25  P    (bought on T+2)
u6    held     T      0   0   0   30  none (no first date: from T; no events)
"""

from __future__ import annotations

import datetime as dt
import doctest
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from outcomes_helpers import write_events
from test_roi import _campaigns, _rows, _users
from test_roi_campaign_holdout import _holdouts

import aips
from aips.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))
import _roi_ideas as ri  # noqa: E402

COLS = ["n", *ri.SUMS]
EXPECTED = {  # (holdout, stage) -> n, sy, syy, syT, syTT, sr, srr, sry, sd, sdd, sdy, srd
    (False, "none"): [3, 70, 2900, 70, 2900, 0, 0, 0, 58, 1630, 1520, 0],  # u1, u3, u5
    (False, "P"): [1, 40, 1600, 40, 1600, 5, 25, 200, 29, 841, 1160, 145],  # u2
    (True, "none"): [2, 40, 1600, 40, 1600, 0, 0, 0, 58, 1684, 1120, 0],  # h1, u6
    (True, "P"): [1, 0, 0, 25, 625, 25, 625, 0, 25, 625, 0, 625],  # u4
}


def test_module_examples():
    assert doctest.testmod(ri).failed == 0


def test_campaign_cells_by_hand(store):
    write_events(store, _rows())
    _users(store)
    _campaigns(store)
    _holdouts(store)
    view = Workspace(store, aips.default_model()).view
    windows = ri.campaign_windows(view, ["c1"])
    assert windows.to_pyarrow().to_pylist()[0]["win_end"] == dt.date(2024, 4, 8)  # T + 29
    cells = ri.campaign_cells(view, windows).to_pyarrow().to_pylist()
    got = {(r["holdout"], r["stage"]): [r[c] for c in COLS] for r in cells}
    assert got == EXPECTED


def _users_table(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = pd.DataFrame({"holdout": rng.random(n) < 0.5, "stage": rng.choice(["none", "A", "TI", "P"], n),
                      "r": rng.exponential(20, n) * (rng.random(n) < 0.3), "d": rng.integers(1, 31, n) * 1.0})
    u["y"] = (2 * u.r + 3 * u.d + 40 * (u.stage == "TI") + rng.normal(0, 15, n) + 8 * ~u.holdout).clip(0)
    u["yT"] = u.y + 5 * (rng.random(n) < 0.2)
    return u


def _cells(u: pd.DataFrame) -> pd.DataFrame:
    v = u.assign(yy=u.y**2, yTT=u.yT**2, rr=u.r**2, ry=u.r * u.y, dd=u.d**2, dy=u.d * u.y, rd=u.r * u.d)
    g = v.groupby(["holdout", "stage"]).agg(
        n=("y", "size"), sy=("y", "sum"), syy=("yy", "sum"), syT=("yT", "sum"), syTT=("yTT", "sum"),
        sr=("r", "sum"), srr=("rr", "sum"), sry=("ry", "sum"), sd=("d", "sum"), sdd=("dd", "sum"),
        sdy=("dy", "sum"), srd=("rd", "sum"))
    return g.reset_index()


def _oracle(u: pd.DataFrame, cols: list[str]) -> tuple[float, float]:
    """Per-user pooled within-group least squares; the residuals' Welch variance, inflated
    by the slopes' degrees of freedom."""
    h = u.holdout.to_numpy()
    X = u[cols].to_numpy(float) if cols else np.zeros((len(u), 0))
    y = u.y.to_numpy(float)
    Xc, yc = X.copy(), y.copy()
    for m in (h, ~h):
        Xc[m] -= X[m].mean(0)
        yc[m] -= y[m].mean()
    theta, *_ = np.linalg.lstsq(Xc, yc, rcond=None)
    k = np.linalg.matrix_rank(Xc) if cols else 0
    res = y - X @ theta
    lift = res[~h].mean() - res[h].mean()
    n1, n0 = (~h).sum(), h.sum()
    var = (res[~h].var(ddof=1) / n1 + res[h].var(ddof=1) / n0) * (n1 + n0 - 2) / (n1 + n0 - 2 - k)
    return lift, np.sqrt(var)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimators_from_sums_equal_per_user_numpy(seed):
    u = _users_table(seed)
    cells = _cells(u)
    dummies = pd.get_dummies(u.stage, dtype=float)
    uu = pd.concat([u, dummies], axis=1)
    stages = list(dummies.columns)
    for use_stage, cont in [(False, ()), (False, ("r",)), (True, ()), (True, ("r", "d"))]:
        cols = (stages if use_stage else []) + list(cont)
        lift, se, _k = ri.adjusted(cells, use_stage, cont)
        want = _oracle(uu, cols)
        assert (lift, se) == pytest.approx(want, rel=1e-9), (use_stage, cont)
    # one covariate: the package's single-covariate CUPED (incremental_from_groups) agrees
    # up to the degrees-of-freedom inflation (n - 2) / (n - 3) of the variance
    n = len(u)
    plain_r = ri.IDEAS["a. CUPED: prior brand revenue"](cells)
    lift, se, _ = ri.adjusted(cells, False, ("r",))
    assert plain_r[0] == pytest.approx(lift, rel=1e-9)
    assert plain_r[1] == pytest.approx(se * np.sqrt((n - 3) / (n - 2)), rel=1e-9)
    # the default and the T..T+x window are Welch differences in means
    h = u.holdout
    for name, col in [("first..T+x (the default)", "y"), ("b. window T..T+x (before the cut)", "yT")]:
        got = ri.IDEAS[name](cells)
        want = (u[col][~h].mean() - u[col][h].mean(),
                np.sqrt(u[col][~h].var() / (~h).sum() + u[col][h].var() / h.sum()))
        assert got == pytest.approx(want, rel=1e-9)
    # post-stratification: per-stage differences weighted by exposed users (all strata >= 2 here)
    total = var = 0.0
    for _s, g in u.groupby("stage"):
        e, c = g.y[~g.holdout], g.y[g.holdout]
        total += len(e) * (e.mean() - c.mean())
        var += len(e) ** 2 * (e.var() / len(e) + c.var() / len(c))
    n1 = (~h).sum()
    assert ri.poststratified(cells) == pytest.approx((total / n1, np.sqrt(var) / n1), rel=1e-9)


def test_adjustment_falls_back_to_the_plain_difference_without_degrees_of_freedom():
    u = _users_table(3, n=14)  # 14 users: 12 degrees of freedom, 5 slopes leave 7 < 10
    cells = _cells(u)
    lift, se, k = ri.adjusted(cells, True, ("r", "d"))
    assert k == 0 and (lift, se) == pytest.approx(ri.IDEAS["first..T+x (the default)"](cells), rel=1e-9)
