"""The planner's three questions on a store: curves, forecast (with its backtest), plan.

Each function takes a :class:`~aips.view.View` and returns plain data (dicts and lists, for
the CLI's table/JSON and ``ws.plan``). The backend computes the per-event aggregates
(:mod:`aips.planner.history`); everything here works on them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from aips.dates import as_date
from aips.exceptions import AipsError, ConfigError
from aips.planner.allocate import allocate
from aips.planner.curves import ResponseCurves
from aips.planner.forecast import fit_forecast, interval
from aips.planner.history import (
    campaigns,
    daily_advances,
    daily_impressions,
    daily_spend,
    group_sizes,
)

GOALS = ("TI", "purchases", "revenue")
"""What ``plan`` maximises: the TI crowd on the last day, first purchases or revenue."""


class _Data:
    """The aggregates of a brand and its category's peers, read once."""

    def __init__(self, view, brand: str):
        view.require_brands([brand])
        camps = campaigns(view)
        own = camps[camps.brand == brand]
        if own.empty:
            known = ", ".join(sorted(camps.brand.unique()))
            raise AipsError(f"brand {brand!r} has no campaigns in the campaigns table (brands with campaigns: {known})")
        cats = set(own.category.dropna())
        peers = sorted(camps[camps.category.isin(cats)].brand.unique()) if cats else [brand]
        self.view, self.brand = view, brand
        self.camps = camps[camps.brand.isin(peers)]
        self.advances = daily_advances(view, peers)
        self.spend = daily_spend(self.camps)
        self.impressions = daily_impressions(view, peers)
        self.groups = group_sizes(view)
        self.first, self.last = view.date_range()

    def curves(self, before: dt.date | None = None, bootstrap: int = 40) -> ResponseCurves:
        adv, sp, camps, imp = self.advances, self.spend, self.camps, self.impressions
        if before is not None:
            adv = adv[pd.to_datetime(adv.date) < pd.Timestamp(before)]
            sp = sp[pd.to_datetime(sp.date) < pd.Timestamp(before)]
            imp = imp[pd.to_datetime(imp.date) < pd.Timestamp(before)]
            # only campaigns over by then: a campaign's points are its whole flight
            camps = camps[pd.to_datetime(camps.end_date) < pd.Timestamp(before)]
        delivered = imp.groupby("campaign_id", as_index=False).impressions.sum()
        daily = imp.groupby(["brand", "channel", "date"], as_index=False).impressions.sum()
        return ResponseCurves(bootstrap=bootstrap).fit(adv, sp, self.groups, self.brand, camps, daily, delivered)

    def ti_series(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        s = self.view.asset_series(start, end, "day", level="brand")
        s = s.filter((s.brand == self.brand) & (s.stage == "TI"))
        return s.select("date", "stage", "users").to_pandas()

    def revenue_per_purchase(self) -> float:
        ev = self.view.events
        buys = ev.filter((ev.brand == self.brand) & (ev.event_type == "purchase"))
        row = buys.aggregate(revenue=buys.amount.sum(), buyers=buys.user_id.nunique()).to_pandas()
        buyers = int(row.buyers.iloc[0] or 0)
        return float(row.revenue.iloc[0] or 0.0) / buyers if buyers else 0.0

    def spend_between(self, start: dt.date, end: dt.date) -> dict[str, float]:
        sp = self.spend[self.spend.brand == self.brand]
        d = pd.to_datetime(sp.date)
        sel = sp[(d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end))]
        return sel.groupby("channel").spend.sum().to_dict()


def curves(view, brand: str, bootstrap: int = 40) -> list[dict]:
    """``aips curves``: one row per channel x transition (see :meth:`ResponseCurves.table`)."""
    return _Data(view, brand).curves(bootstrap=bootstrap).table()


def forecast(view, brand: str, start: Any = None, horizon: int = 30, daily: dict | None = None,
             backtest: bool = False, bootstrap: int = 40) -> dict:
    """``aips forecast``: TI on the last day and purchases over ``horizon`` days from ``start``
    (default: the last day of data) under ``daily`` spend per channel (default: the last 30
    days' mean). ``backtest``: ``start`` lies in the past, the spend is what really ran, the
    curves learn only from days before it, and the actual values are compared."""
    data = _Data(view, brand)
    start = as_date(start) if start is not None else data.last
    end = start + dt.timedelta(days=horizon)
    if backtest and end > data.last:
        raise ConfigError(f"a backtest from {start} over {horizon} days needs data to {end}; "
                          f"the data ends {data.last} (choose --from {data.last - dt.timedelta(days=horizon)} or earlier)")
    if not data.first + dt.timedelta(days=35) <= start <= data.last:
        raise ConfigError(f"--from {start} must lie between {data.first + dt.timedelta(days=35)} and {data.last} "
                          "(the planner learns from at least five weeks before it)")
    cv = data.curves(before=start if backtest else None, bootstrap=bootstrap)
    series = data.ti_series(data.first, end if backtest else start)
    fc = fit_forecast(cv, data.advances, data.spend, series, start, horizon=horizon)
    if backtest:
        daily = {c: v / horizon for c, v in data.spend_between(start, end - dt.timedelta(days=1)).items()}
    elif daily is None:
        daily = cv.last_spend_
    out = interval(cv, fc, daily, horizon)
    result = {"brand": brand, "from": start, "horizon": horizon, "daily_spend": daily,
              "TI": out["TI"], "TI_low": out["TI_low"], "TI_high": out["TI_high"],
              "purchases": out["purchases"], "purchases_low": out["purchases_low"],
              "purchases_high": out["purchases_high"],
              "series": [{"date": start + dt.timedelta(days=i + 1), "TI": v} for i, v in enumerate(out["ti_series"])]}
    if backtest:
        ti = series[pd.to_datetime(series.date) == pd.Timestamp(end)].users.sum()
        adv = data.advances[(data.advances.brand == brand) & (data.advances.stage == "P")]
        d = pd.to_datetime(adv.date)
        bought = int(adv[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end))].users.sum())
        result["actual"] = {"TI": int(ti), "purchases": bought}
        result["error"] = {"TI": out["TI"] - ti, "purchases": out["purchases"] - bought}
        result["inside"] = {"TI": bool(out["TI_low"] <= ti <= out["TI_high"]),
                            "purchases": bool(out["purchases_low"] <= bought <= out["purchases_high"])}
    return result


def plan(view, brand: str, budget: float, horizon: int = 30, goal: str = "purchases",
         low: dict | None = None, high: dict | None = None, bootstrap: int = 40) -> dict:
    """``aips plan``: the split of ``budget`` (CNY over ``horizon`` days) maximising ``goal``,
    its forecast with an interval, and the last period's split at the same total."""
    if goal not in GOALS:
        raise ConfigError(f"unknown --goal {goal!r} (one of {', '.join(GOALS)})")
    data = _Data(view, brand)
    cv = data.curves(bootstrap=bootstrap)
    start = data.last
    series = data.ti_series(data.first, start)
    fc = fit_forecast(cv, data.advances, data.spend, series, start, horizon=horizon)
    price = data.revenue_per_purchase() if goal == "revenue" else 1.0
    channels = list(cv.channels_)

    def value(x: np.ndarray) -> float:
        out = fc.run(cv.expected_advances, x / horizon, horizon)
        return out["TI"] if goal == "TI" else out["purchases"] * price

    last = data.spend_between(start - dt.timedelta(days=horizon - 1), start)
    if sum(last.values()) <= 0:
        last = {c: v * horizon for c, v in cv.last_spend_.items()}
    total = sum(last.get(c, 0.0) for c in channels)
    last_split = ({c: budget * last.get(c, 0.0) / total for c in channels} if total > 0
                  else {c: budget / len(channels) for c in channels})
    split = allocate(value, channels, budget, low, high, starts=[np.asarray([last_split[c] for c in channels])])

    def outcome(s: dict) -> dict:
        res = interval(cv, fc, {c: v / horizon for c, v in s.items()}, horizon)
        keys = ("TI", "TI_low", "TI_high", "purchases", "purchases_low", "purchases_high")
        out = {k: res[k] for k in keys}
        if goal == "revenue":
            out.update({"revenue": res["purchases"] * price, "revenue_low": res["purchases_low"] * price,
                        "revenue_high": res["purchases_high"] * price})
        return out

    rec, prev = outcome(split), outcome(last_split)
    return {"brand": brand, "budget": budget, "horizon": horizon, "goal": goal, "from": start,
            "split": split, "expected": rec, "last_split": last_split, "last_expected": prev,
            "gain": rec[goal] - prev[goal]}
