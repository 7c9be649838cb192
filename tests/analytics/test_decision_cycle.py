"""Decision-cycle durations (every backend) and the KM fitter against lifelines.

The oracle is ``lifelines.KaplanMeierFitter`` on the individual durations::

    kmf = KaplanMeierFitter().fit(durations, event_observed)
    S = kmf.survival_function_.iloc[:, 0]            # S(t) on 0 and every duration
    F = 1 - S; F_max = F.iloc[-1]
    median_days = min t with F(t) >= 0.5 * F_max      # p80: 0.8
    km_median_days = kmf.median_survival_time_        # inf -> None

and the numbers must agree to 1e-9, with ties and censoring, on simulated durations and on
real ones (the Taobao UserBehavior histories in ../shared/data; the test fails without them).
"""

from __future__ import annotations

import datetime as dt
import gzip
import math

import ibis
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from outcomes_helpers import T0, D, ev, rows_of, write_events

from aips.analytics.decision_cycle import (
    CureCycleFitter,
    DecisionCycleFitter,
    decision_cycle,
    km_curve,
    km_tables,
)
from aips.config.model import default_model
from aips.engine.durations import (
    cycle_durations,
    cycle_durations_by_category,
    km_table,
    km_table_by_category,
)
from aips.exceptions import AipsError
from aips.view import View

TAOBAO = ("taobao-userbehavior", "UserBehavior_userhead_43users.csv.gz")  # in ../shared/data


def test_durations_by_hand(store):
    rows = [
        ev("u1", T0, "read"), ev("u1", T0 + 5 * D, "purchase"),            # 5, bought
        ev("u2", T0 + 2 * D, "impression"),                                 # censored at day 10: 8
        ev("u3", T0 + 3 * D, "purchase"),                                   # 0, bought
        ev("u4", T0 + D, "read"), ev("u4", T0 + 4 * D, "purchase", category="food"),  # other category: censored 9
        ev("u1", T0 + 6 * D, "read", brand="c"), ev("u1", T0 + 6 * D, "purchase", brand="c"),  # 0
        ev("u5", T0, "read", category="food"),                              # not in serum
        ev("u6", T0 + D, "read"), ev("u6", T0 + 4 * D, "purchase"), ev("u6", T0 + 8 * D, "purchase"),  # 3
        ev("u7", T0 + 10 * D, "like", category="food"),                     # sets the last day (day 10)
    ]
    events = write_events(store, rows)
    # one query on Spark: durations from the first event, and from given start days (the
    # first TI day), where the end is the first purchase on or after the start
    starts = ibis.memtable(
        {"user_id": ["u1", "u6", "u2", "u9"], "brand": ["b", "b", "b", "b"],
         "start_date": [(T0 + 2 * D).date(), (T0 + 5 * D).date(), (T0 + 9 * D).date(), T0.date()]},
        schema={"user_id": "string", "brand": "string", "start_date": "date"},
    )
    both = ibis.union(
        cycle_durations(events, "serum").mutate(kind=ibis.literal("first")),
        cycle_durations(events, "serum", starts=starts).mutate(kind=ibis.literal("ti")),
    )
    got = {}
    for r in rows_of(store, both):
        got.setdefault(r["kind"], {})[(r["user_id"], r["brand"])] = (r["duration"], r["purchased"])
    assert got["first"] == {
        ("u1", "b"): (5, True), ("u2", "b"): (8, False), ("u3", "b"): (0, True),
        ("u4", "b"): (9, False), ("u1", "c"): (0, True), ("u6", "b"): (3, True),
    }
    assert got["ti"] == {("u1", "b"): (3, True), ("u6", "b"): (3, True), ("u2", "b"): (1, False)}
    km = rows_of(store, km_table(cycle_durations(events, "serum")), "duration")
    assert km == [
        {"duration": 0, "purchases": 2, "censored": 0}, {"duration": 3, "purchases": 1, "censored": 0},
        {"duration": 5, "purchases": 1, "censored": 0}, {"duration": 8, "purchases": 0, "censored": 1},
        {"duration": 9, "purchases": 0, "censored": 1},
    ]
    # every category in one pass (the report's): serum's rows as above; food by hand:
    # u4 starts with its food purchase (0, bought), u5 is censored at day 10 (10), u7 starts on it (0)
    by_cat = rows_of(store, km_table_by_category(cycle_durations_by_category(events, ["serum", "food"])),
                     "category", "duration")
    assert [r for r in by_cat if r["category"] == "serum"] == [{"category": "serum", **r} for r in km]
    assert [r for r in by_cat if r["category"] == "food"] == [
        {"category": "food", "duration": 0, "purchases": 1, "censored": 1},
        {"category": "food", "duration": 10, "purchases": 0, "censored": 1}]
    view = View(store, default_model())
    tables = km_tables(view, ["serum", "food", "toys"])
    assert sorted(tables) == ["food", "serum"]  # no pair in toys: absent
    for category in ("serum", "food"):
        one = decision_cycle(view, category, n_bootstrap=0)
        batch = decision_cycle(view, category, n_bootstrap=0, km=tables[category])
        pd.testing.assert_frame_equal(one.curve_, batch.curve_)
        assert (one.median_days_, one.n_) == (batch.median_days_, batch.n_)


def _km_from(durations: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame({"duration": durations.astype(int), "e": events.astype(bool)})
    return df.groupby("duration").agg(purchases=("e", "sum"), censored=("e", lambda s: int((~s).sum()))).reset_index()


def _lifelines_reference(durations, events):
    kmf = KaplanMeierFitter().fit(durations, events)
    s = kmf.survival_function_.iloc[:, 0]
    f = 1 - s
    total = f.iloc[-1]

    def q(x):
        if total <= 0:
            return None
        return int(f.index[np.argmax(f.to_numpy() >= x * total - 1e-12)])

    med = kmf.median_survival_time_
    return kmf, {"median_days": q(0.5), "p80_days": q(0.8), "converted_share": 1 - s.iloc[-1],
                 "km_median_days": None if math.isinf(med) else int(med)}


def _assert_matches_lifelines(durations, events):
    fit = DecisionCycleFitter(n_bootstrap=200).fit(_km_from(durations, events))
    kmf, ref = _lifelines_reference(durations, events)
    curve = fit.curve_.set_index("t")
    np.testing.assert_allclose(curve.survival.to_numpy(), kmf.survival_function_.iloc[:, 0].to_numpy(), rtol=0, atol=1e-9)
    ci = kmf.confidence_interval_
    np.testing.assert_allclose(curve.lower.to_numpy(), ci.iloc[:, 0].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(curve.upper.to_numpy(), ci.iloc[:, 1].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(curve.index.to_numpy(), kmf.survival_function_.index.to_numpy())
    assert (fit.median_days_, fit.p80_days_, fit.km_median_days_) == (ref["median_days"], ref["p80_days"], ref["km_median_days"])
    assert fit.converted_share_ == pytest.approx(ref["converted_share"], abs=1e-9)
    lo, hi = fit.median_days_ci_
    assert lo <= fit.median_days_ <= hi
    return fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_km_and_cycle_equal_lifelines_on_simulated_durations(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    tau = np.round(np.exp(np.log(20) + 0.6 * rng.standard_normal(n)))  # ties: whole days
    buys = rng.random(n) < 0.35
    follow = rng.integers(0, 90, n)
    event = buys & (tau <= follow)
    durations = np.where(event, tau, follow)
    fit = _assert_matches_lifelines(durations, event)
    assert fit.km_median_days_ is None  # most never buy: the plain KM median is undefined


def test_km_equals_lifelines_with_median_defined_and_zero_durations():
    durations = np.array([0, 0, 1, 1, 1, 2, 3, 3, 5, 8, 8, 8, 13])
    event = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0], dtype=bool)
    fit = _assert_matches_lifelines(durations, event)
    assert fit.km_median_days_ is not None


def test_km_equals_lifelines_on_real_durations(duckdb_store, shared_data):
    """Real durations: 43 complete Taobao histories; pair = (user, item category)."""
    with gzip.open(shared_data.joinpath(*TAOBAO), "rt") as fh:
        raw = pd.read_csv(fh, header=None, names=["user_id", "item_id", "category_id", "behavior", "ts"])
    ts = pd.to_datetime(raw.ts, unit="s") + pd.Timedelta(hours=8)  # Beijing days
    rows = [
        ev(str(u), t.to_pydatetime(), "purchase" if b == "buy" else "read", brand=str(c), category="taobao")
        for u, c, b, t in zip(raw.user_id, raw.category_id, raw.behavior, ts, strict=True)
    ]
    events = write_events(duckdb_store, rows)
    km = rows_of(duckdb_store, km_table(cycle_durations(events, "taobao")))
    # the same durations computed independently in pandas
    df = pd.DataFrame({"u": raw.user_id, "c": raw.category_id, "buy": raw.behavior == "buy", "day": ts.dt.date})
    last = df.day.max()
    first = df.groupby(["u", "c"]).day.min()
    first_buy = df[df.buy].groupby(["u", "c"]).day.min()
    end = first_buy.reindex(first.index)
    event = end.notna().to_numpy()
    durations = np.array([((e if isinstance(e, dt.date) else last) - s).days for s, e in zip(first, end, strict=True)])
    assert len(durations) > 200 and event.sum() > 20
    fit = _assert_matches_lifelines(durations, event)
    assert fit.n_ == sum(r["purchases"] + r["censored"] for r in km)
    engine_fit = DecisionCycleFitter(n_bootstrap=0).fit(pd.DataFrame(km))
    np.testing.assert_allclose(engine_fit.curve_.survival, fit.curve_.survival, rtol=0, atol=1e-12)


def test_follow_up_flag_and_cure_fit():
    rng = np.random.default_rng(5)
    n = 6000
    tau = np.exp(np.log(70) + 0.5 * rng.standard_normal(n))
    buys = rng.random(n) < 0.4
    follow = rng.integers(0, 120, n)
    event = buys & (tau <= follow)
    durations = np.floor(np.where(event, tau, follow))
    km = _km_from(durations, event)
    fit = DecisionCycleFitter(n_bootstrap=0).fit(km)
    assert not fit.flattened_ and "cure" in fit.note_
    cure = CureCycleFitter(base="lognormal").fit(km)
    assert cure.median_days_ == pytest.approx(70, rel=0.15)
    assert cure.converted_share_ == pytest.approx(0.4, abs=0.08)
    lo, hi = cure.median_days_ci_
    assert lo < cure.median_days_ < hi


def test_curve_shape_and_errors():
    curve = km_curve(pd.DataFrame({"duration": [2, 4], "purchases": [1, 0], "censored": [0, 1]}))
    assert curve.t.tolist() == [0, 2, 4] and curve.at_risk.tolist() == [2, 2, 1]
    assert curve.survival.tolist() == [1.0, 0.5, 0.5]
    with pytest.raises(AipsError):
        DecisionCycleFitter().fit(pd.DataFrame({"duration": [], "purchases": [], "censored": []}))
    nobody = DecisionCycleFitter().fit(pd.DataFrame({"duration": [3], "purchases": [0], "censored": [4]}))
    assert nobody.median_days_ is None and nobody.converted_share_ == 0.0 and "nobody" in nobody.note_
