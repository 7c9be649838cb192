"""Loyalty per brand: repurchase, P-crowd retention and TI -> P conversion.

All three are Ibis expressions over ``events`` (and the stage timelines for TI); the result
is one small row per brand.

* **P users at day a**: (user, brand) pairs with a purchase in the P window at a, i.e. on
  local dates a - x + 1 .. a, x the decision cycle of the purchase's category (the P
  stage's window in the default model).
* **Repurchase rate** at t1: P users at t1 with purchases on two or more distinct local
  days inside that window, over P users at t1.
* **P-crowd retention** from t0 to t1: P users at t0 who are P users at t1 again
  (``retained``; ``retention_rate`` = retained / P users at t0), and among them those who
  bought again in t0+1 .. t1 (``repurchased``; a pair can stay in P at t1 without buying
  again when t1 - t0 is shorter than the cycle).
* **TI -> P conversion within x days**: pairs whose exclusive stage first became TI on a
  day d with d + x <= t1 (so each had x full days to buy), and the share of them with a
  purchase of the brand on local dates d .. d + x. x is the cycle of the brand's main
  category (the category most of its events carry) unless given. The TI day comes from
  the stage engine's timelines (:func:`aips.engine.timelines.timelines`).

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> d = dt.date(2024, 1, 1)
>>> ev = ibis.memtable({"user_id": ["u", "u", "v"], "brand": ["b"] * 3, "category": ["c"] * 3,
...     "event_type": ["purchase"] * 3,
...     "local_date": [d, d + dt.timedelta(days=3), d + dt.timedelta(days=2)]})
>>> out = repurchase(ev, default_model(), d + dt.timedelta(days=5)).to_pyarrow().to_pylist()
>>> out == [{"brand": "b", "p_users": 2, "repurchasers": 1, "repurchase_rate": 0.5}]
True
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from aips.config.model import Model
from aips.dates import as_date
from aips.engine.cycles import with_cycle_days
from aips.exceptions import ConfigError
from aips.view import View


def _purchases(events: ibis.Table, model: Model, categories: ibis.Table | None) -> ibis.Table:
    buys = events.filter(events.event_type == model.purchase_event)
    buys = buys.select("user_id", "brand", "category", "local_date")
    return with_cycle_days(buys, model, categories)


def _in_p_window(buys: ibis.Table, at: dt.date) -> ibis.Table:
    day = ibis.literal(at)
    lo = day - buys.cycle_days.as_interval("D")
    return buys.filter((buys.local_date > lo) & (buys.local_date <= day))


def p_users(events: ibis.Table, model: Model, at: dt.date, categories: ibis.Table | None = None) -> ibis.Table:
    """P pairs at ``at``: ``user_id``, ``brand``, ``buy_days`` (distinct purchase days in window)."""
    w = _in_p_window(_purchases(events, model, categories), at)
    return w.group_by(["user_id", "brand"]).aggregate(buy_days=w.local_date.nunique())


def repurchase(events: ibis.Table, model: Model, at: dt.date, categories: ibis.Table | None = None) -> ibis.Table:
    """Per brand at ``at``: ``p_users``, ``repurchasers``, ``repurchase_rate``."""
    p = p_users(events, model, at, categories)
    agg = p.group_by("brand").aggregate(
        p_users=p.count().cast("int64"), repurchasers=p.count(where=p.buy_days >= 2).cast("int64")
    )
    return agg.mutate(repurchase_rate=agg.repurchasers.cast("float64") / agg.p_users)


def retention(
    events: ibis.Table, model: Model, t0: dt.date, t1: dt.date, categories: ibis.Table | None = None
) -> ibis.Table:
    """Per brand: ``p_users_t0``, ``retained``, ``retention_rate``, ``repurchased`` (t0 -> t1)."""
    buys = _purchases(events, model, categories)
    p0 = _in_p_window(buys, t0).select("user_id", "brand").distinct()
    p1 = _in_p_window(buys, t1).select(_u="user_id", _b="brand").distinct()
    again = buys.filter((buys.local_date > t0) & (buys.local_date <= t1))
    again = again.select(_u2="user_id", _b2="brand").distinct()
    j = p0.left_join(p1, [p0.user_id == p1._u, p0.brand == p1._b])
    j = j.left_join(again, [j.user_id == again._u2, j.brand == again._b2])
    agg = j.group_by("brand").aggregate(
        p_users_t0=j.count().cast("int64"),
        retained=j.count(where=j._u.notnull()).cast("int64"),
        repurchased=j.count(where=j._u2.notnull()).cast("int64"),
    )
    return agg.mutate(retention_rate=agg.retained.cast("float64") / agg.p_users_t0)


def brand_cycle_days(events: ibis.Table, model: Model, categories: ibis.Table | None = None) -> ibis.Table:
    """Each brand's main category (most events; ties alphabetical) and its cycle:
    ``brand``, ``category``, ``cycle_days``."""
    counts = events.group_by(["brand", "category"]).aggregate(n=events.count())
    order = [ibis.desc(counts.n), counts.category.isnull(), counts.category]
    ranked = counts.mutate(r=ibis.row_number().over(group_by=counts.brand, order_by=order))
    main = ranked.filter(ranked.r == 0).select("brand", "category")
    return with_cycle_days(main, model, categories)


def ti_to_p(
    events: ibis.Table,
    timeline: ibis.Table,
    model: Model,
    t1: dt.date,
    x: int | None = None,
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """Per brand: ``x``, ``ti_cohort``, ``ti_converted``, ``ti_to_p_rate``.

    ``timeline`` is the stage engine's timelines at brand level (``user_id``, ``brand``,
    ``start_date``, ``end_date``, ``stage``).
    """
    ti = timeline.filter(timeline.stage == "TI")
    first = ti.group_by(["user_id", "brand"]).aggregate(ti_date=ti.start_date.min())
    bc = brand_cycle_days(events, model, categories)
    cyc = bc.select(_b=bc.brand, x=ibis.literal(x, "int64") if x is not None else bc.cycle_days)
    first = first.join(cyc, first.brand == cyc._b).drop("_b")
    first = first.filter(first.ti_date + first.x.as_interval("D") <= ibis.literal(t1))
    buys = events.filter(events.event_type == model.purchase_event)
    buys = buys.select(_u="user_id", _b="brand", _d="local_date")
    j = first.left_join(
        buys,
        [first.user_id == buys._u, first.brand == buys._b, buys._d >= first.ti_date,
         buys._d <= first.ti_date + first.x.as_interval("D")],
    )
    per = j.group_by(["user_id", "brand", "x"]).aggregate(bought=j._d.count())
    agg = per.group_by("brand").aggregate(
        x=per.x.max(),
        ti_cohort=per.count().cast("int64"),
        ti_converted=per.count(where=per.bought > 0).cast("int64"),
    )
    return agg.mutate(ti_to_p_rate=agg.ti_converted.cast("float64") / agg.ti_cohort)


def loyalty_table(
    events: ibis.Table,
    model: Model,
    t0: dt.date,
    t1: dt.date,
    *,
    timeline: ibis.Table | None = None,
    x: int | None = None,
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """All loyalty measures per brand (outer-joined; TI columns only with ``timeline``)."""
    rep = repurchase(events, model, t1, categories)
    ret = retention(events, model, t0, t1, categories)
    brands = events.select("brand").distinct()
    out = brands.left_join(rep, brands.brand == rep.brand).drop("brand_right")
    out = out.left_join(ret, out.brand == ret.brand).drop("brand_right")
    if timeline is not None:
        conv = ti_to_p(events, timeline, model, t1, x, categories)
        out = out.left_join(conv, out.brand == conv.brand).drop("brand_right")
    fills = {c: out[c].fill_null(0) for c in ("p_users", "repurchasers", "p_users_t0", "retained", "repurchased")}
    if timeline is not None:
        fills.update({c: out[c].fill_null(0) for c in ("ti_cohort", "ti_converted")})
    return out.mutate(**fills)


def loyalty(
    view: View,
    t0: Any = None,
    t1: Any = None,
    x: int | None = None,
    brand: str | None = None,
    ti: bool = True,
) -> ibis.Table:
    """Repurchase, P-crowd retention and TI -> P conversion per brand (unexecuted).

    Args:
        view: the store as the model reads it.
        t0, t1: local dates (default: t1 the last day in the store, t0 = t1 - 30 days).
        x: days for TI -> P (default: the cycle of each brand's main category).
        brand: only this brand.
        ti: include TI -> P (needs the stage timelines).

    See the module docstring for the definitions.
    """
    t1 = view.last_day() if t1 is None else as_date(t1, "t1")
    t0 = t1 - dt.timedelta(days=30) if t0 is None else as_date(t0, "t0")
    if t0 >= t1:
        raise ConfigError(f"t0 ({t0}) must be before t1 ({t1})")
    ev = view.events if brand is None else view.events.filter(view.events.brand == brand)
    timeline = view.timelines_of(brand=brand) if ti else None
    return loyalty_table(ev, view.model, t0, t1, timeline=timeline, x=x, categories=view.categories)
