"""Loyalty by hand: repurchase, P-crowd retention (every backend), TI -> P (DuckDB).

Category ``toys`` has the default 30-day cycle: P at day a = a purchase on days a-29 .. a.
t0 = day 30, t1 = day 60 (day 0 = 2024-01-01).

pair    purchases (days)      P at t0   P at t1   repurchaser at t1   bought in 31..60
u1/b    40, 50                no        yes       yes (2 days)        yes
u2/b    10, 10, 45            yes       yes       no (1 day)          yes
u3/b    25                    yes       no        -                   no
u4/b    5, 20                 yes       no        -                   no
u5/c    59                    no        yes       no                  yes

b: P users at t1 2, repurchasers 1 (0.5); P at t0 3, retained 1 (1/3), repurchased 1.
c: P users 1, repurchasers 0; nobody at t0.
TI -> P within 30 days (cohort: first TI day d with d + 30 <= 60): u6/b collect day 5, buys
day 20 (converted); u7/b collect day 10, buys day 45 (> 40: not converted); u8/b collect day
40 (too late for the cohort). b: cohort 2, converted 1.
"""

from __future__ import annotations

import datetime as dt

from outcomes_helpers import rows_of, write_events

import aips
from aips.analytics.loyalty import repurchase, retention
from aips.config.model import default_model
from aips.workspace import Workspace

DAY0 = dt.datetime(2024, 1, 1, 4)


def _e(user, day, type_, brand="b"):
    ts = DAY0 + dt.timedelta(days=day)
    return {"user": user, "ts": ts, "type": type_, "brand": brand, "category": "toys", "amount": 10.0}


ROWS = [
    _e("u1", 40, "purchase"), _e("u1", 50, "purchase"),
    _e("u2", 10, "purchase"), _e("u2", 10, "purchase"), _e("u2", 45, "purchase"),
    _e("u3", 25, "purchase"), _e("u4", 5, "purchase"), _e("u4", 20, "purchase"),
    _e("u5", 59, "purchase", brand="c"),
    _e("u6", 5, "collect"), _e("u6", 20, "purchase"),
    _e("u7", 10, "collect"), _e("u7", 45, "purchase"),
    _e("u8", 40, "collect"), _e("u8", 60, "like"),
]
T0, T1 = (DAY0 + dt.timedelta(days=30)).date(), (DAY0 + dt.timedelta(days=60)).date()


def test_repurchase_and_retention(store):
    rows = [r for r in ROWS if r["user"] in ("u1", "u2", "u3", "u4", "u5")]
    events = write_events(store, rows)
    rep = {r["brand"]: r for r in rows_of(store, repurchase(events, default_model(), T1), "brand")}
    assert (rep["b"]["p_users"], rep["b"]["repurchasers"], rep["b"]["repurchase_rate"]) == (2, 1, 0.5)
    assert (rep["c"]["p_users"], rep["c"]["repurchasers"]) == (1, 0)
    ret = {r["brand"]: r for r in rows_of(store, retention(events, default_model(), T0, T1), "brand")}
    assert (ret["b"]["p_users_t0"], ret["b"]["retained"], ret["b"]["repurchased"]) == (3, 1, 1)
    assert abs(ret["b"]["retention_rate"] - 1 / 3) < 1e-12 and "c" not in ret


def test_loyalty_api_with_ti_to_p(duckdb_store):
    write_events(duckdb_store, ROWS)
    ws = Workspace(duckdb_store, aips.default_model())
    got = {r["brand"]: r for r in rows_of(duckdb_store, ws.loyalty(t0=T0, t1=T1), "brand")}
    b = got["b"]
    # u6 and u7 buy too: P users at t1 are u1, u2, u7 (day 45); u6 (day 20) is P at t0
    assert (b["p_users"], b["repurchasers"]) == (3, 1)
    assert (b["p_users_t0"], b["retained"]) == (4, 1)
    assert (b["x"], b["ti_cohort"], b["ti_converted"], b["ti_to_p_rate"]) == (30, 2, 1, 0.5)
    assert got["c"]["ti_cohort"] == 0
    # default t1 is the last day in the store (day 60 here)
    same = {r["brand"]: r for r in rows_of(duckdb_store, ws.loyalty(t0=T0), "brand")}
    assert same["b"]["ti_cohort"] == 2
