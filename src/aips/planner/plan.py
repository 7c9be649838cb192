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


def fit_curves(view, brand: str, bootstrap: int = 40) -> ResponseCurves:
    """A brand's fitted :class:`ResponseCurves` (its category's campaigns and holdout)."""
    return _Data(view, brand).curves(bootstrap=bootstrap)


def curves(view, brand: str, bootstrap: int = 40) -> list[dict]:
    """``aips curves``: one row per channel x transition (see :meth:`ResponseCurves.table`)."""
    return fit_curves(view, brand, bootstrap).table()


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


class Planner:
    """A brand's planner, fitted once: the curves and the forecast from one read of the
    aggregates; the forecast of any split is then cheap (no backend query), which is what
    the dashboard's sliders and the report's Plan section need.

    Args:
        view: a :class:`~aips.view.View` of the store.
        brand: the brand to plan for (it needs campaigns; see :class:`_Data`).
        bootstrap: resamples of the curves (their intervals).

    Attributes:
        start: the day the forecasts start from (the last day of data).
        channels: the channels the curves cover (those with spend).
    """

    def __init__(self, view, brand: str, bootstrap: int = 40):
        self.brand = brand
        self.data = _Data(view, brand)
        self.curves = self.data.curves(bootstrap=bootstrap)
        self.start = self.data.last
        self._series = self.data.ti_series(self.data.first, self.start)  # the baseline's errors need the history
        self._forecasts: dict[int, Any] = {}
        self.forecast = self.forecast_for(30)
        self.channels = list(self.curves.channels_)
        self._price: float | None = None  # revenue per purchaser, read when a goal needs it

    def forecast_for(self, horizon: int):
        """The :class:`~aips.planner.forecast.Forecast` of a horizon (its intervals use the
        baseline's errors over that many days), fitted once per horizon."""
        if horizon not in self._forecasts:
            self._forecasts[horizon] = fit_forecast(self.curves, self.data.advances, self.data.spend,
                                                    self._series, self.start, horizon=horizon)
        return self._forecasts[horizon]

    def last_spend(self, days: int = 30) -> dict[str, float]:
        """The brand's spend per channel over the last ``days`` days of data (CNY, every
        channel of :attr:`channels`; the curves' last 30 days' rate when nothing ran)."""
        last = self.data.spend_between(self.start - dt.timedelta(days=days - 1), self.start)
        if sum(last.values()) <= 0:
            last = {c: v * days for c, v in self.curves.last_spend_.items()}
        return {c: float(last.get(c, 0.0)) for c in self.channels}

    def last_split(self, budget: float, horizon: int = 30) -> dict[str, float]:
        """The last ``horizon`` days' split of spend across channels, scaled to ``budget``."""
        last = self.last_spend(horizon)
        total = sum(last.values())
        if total <= 0:
            return {c: budget / len(self.channels) for c in self.channels}
        return {c: budget * last[c] / total for c in self.channels}

    def price(self, goal: str) -> float:
        """Revenue per purchaser for the ``revenue`` goal (1 otherwise)."""
        if goal != "revenue":
            return 1.0
        if self._price is None:
            self._price = self.data.revenue_per_purchase()
        return self._price

    def outcome(self, split: dict[str, float], horizon: int = 30, goal: str = "purchases") -> dict:
        """Forecast of a split (total CNY per channel over ``horizon`` days): TI on the last
        day and purchases (revenue for that goal), each with its 90 % interval."""
        res = interval(self.curves, self.forecast_for(horizon), {c: v / horizon for c, v in split.items()}, horizon)
        out = {k: float(res[k]) for k in ("TI", "TI_low", "TI_high", "purchases", "purchases_low", "purchases_high")}
        if goal == "revenue":
            price = self.price(goal)
            out.update({"revenue": res["purchases"] * price, "revenue_low": res["purchases_low"] * price,
                        "revenue_high": res["purchases_high"] * price})
        return out

    def fan(self, split: dict[str, float], horizon: int = 30, alpha: float = 0.1) -> dict:
        """TI per day of the horizon under a split, with its ``1 - alpha`` band
        (:func:`aips.planner.fan.fan`) and the dates."""
        from aips.planner.fan import fan

        band = fan(self.curves, self.forecast_for(horizon), {c: v / horizon for c, v in split.items()}, horizon, alpha)
        return {"dates": [self.start + dt.timedelta(days=i + 1) for i in range(horizon)], **band}

    def recommend(self, budget: float, horizon: int = 30, goal: str = "purchases", low: dict | None = None,
                  high: dict | None = None) -> dict[str, float]:
        """The split of ``budget`` maximising ``goal`` (:func:`aips.planner.allocate.allocate`)."""
        if goal not in GOALS:
            raise ConfigError(f"unknown --goal {goal!r} (one of {', '.join(GOALS)})")
        price = self.price(goal)

        fc = self.forecast_for(horizon)

        def value(x: np.ndarray) -> float:  # the mean over the curves' refits: no bet on noise
            out = fc.run(self.curves.expected_advances, x / horizon, horizon)
            return out["TI"] if goal == "TI" else out["purchases"] * price

        last = self.last_split(budget, horizon)
        return allocate(value, self.channels, budget, low, high,
                        starts=[np.asarray([last[c] for c in self.channels])])

    def plan(self, budget: float, horizon: int = 30, goal: str = "purchases", low: dict | None = None,
             high: dict | None = None) -> dict:
        """What :func:`plan` returns, for this brand."""
        split = self.recommend(budget, horizon, goal, low, high)
        last_split = self.last_split(budget, horizon)
        rec, prev = self.outcome(split, horizon, goal), self.outcome(last_split, horizon, goal)
        return {"brand": self.brand, "budget": budget, "horizon": horizon, "goal": goal, "from": self.start,
                "split": split, "expected": rec, "last_split": last_split, "last_expected": prev,
                "gain": rec[goal] - prev[goal]}


def plan(view, brand: str, budget: float, horizon: int = 30, goal: str = "purchases",
         low: dict | None = None, high: dict | None = None, bootstrap: int = 40, creators: bool = False) -> dict:
    """``aips plan``: the split of ``budget`` (CNY over ``horizon`` days) maximising ``goal``,
    its forecast with an interval, and the last period's split at the same total
    (:meth:`Planner.plan`). ``creators``: also which KOL/KOC to book within the split's
    ``kol_note``/``koc_note`` budgets (keys ``creators`` and ``creator_notes``:
    :func:`aips.planner.creators.book_creators`)."""
    if goal not in GOALS:
        raise ConfigError(f"unknown --goal {goal!r} (one of {', '.join(GOALS)})")
    if creators:
        from aips.planner.creators import book_creators, require_creators

        require_creators(view)  # before the fit: say what is missing at once
    out = Planner(view, brand, bootstrap).plan(budget, horizon, goal, low, high)
    if creators:
        booked = book_creators(view, brand, out["split"])
        out.update(creators=booked["creators"], creator_notes=booked["notes"])
    return out
