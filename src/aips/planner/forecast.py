r"""Forecast of the TI crowd and purchases under a plan of daily spend per channel.

From the day D's stage counts and the curves (:mod:`aips.planner.curves`), each day d of
the horizon gets advances ``a_k(d) = base_k + r_k(x(d))`` per transition k (the curves'
incremental advances at the plan's spend, plus a baseline: the last 28 days' observed
advances less what the curves credit to the spend then). The TI crowd keeps a share ρ a
day (users whose window ends without a new TI behaviour leave it; ρ fitted on the last
28 days' series) and

.. math:: TI(d+1) = \rho\,TI(d) + a_{I\to TI}(d) - a_{TI\to P}(d), \qquad
          \text{purchases} = \sum_d a_{TI\to P}(d)

Intervals (``alpha``): the curves' bootstrap refits, plus Poisson noise of the counts.

>>> f = Forecast(ti0=100.0, base=[5.0, 2.0, 1.0], retention=0.98)
>>> out = f.run(lambda x: np.array([0.0, 1.0, 0.5]) * (x > 0), spend=1.0, horizon=10)
>>> round(float(out["purchases"]), 1), round(float(out["TI"]), 1)  # 0.98^10*100 + 1.5*(1-0.98^10)/0.02
(15.0, 95.4)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class Forecast:
    """Stock-and-flow projection of TI and purchases (module doc).

    Args:
        ti0: TI crowd on the start day.
        base: baseline advances a day (A->I, I->TI, TI->P).
        retention: daily share of the TI crowd that stays TI.
    """

    def __init__(self, ti0: float, base, retention: float):
        self.ti0, self.base, self.retention = float(ti0), np.asarray(base, float), float(retention)

    def run(self, response: Callable, spend, horizon: int) -> dict:
        """Project ``horizon`` days; ``response(spend)`` gives incremental advances a day."""
        adv = np.maximum(self.base + response(spend), 0.0)
        ti, purchases, series = self.ti0, 0.0, []
        for _ in range(horizon):
            ti = self.retention * ti + adv[1] - adv[2]
            purchases += adv[2]
            series.append(max(ti, 0.0))
        return {"TI": max(ti, 0.0), "purchases": purchases, "new_ti": adv[1] * horizon, "ti_series": series}


def fit_forecast(curves, advances, spend, series, start) -> Forecast:
    """A :class:`Forecast` for ``curves.brand_`` from day ``start`` (a date): the baseline from
    the 28 days before it (:func:`~aips.planner.history.daily_advances` rows of all users,
    ``daily_spend`` rows) and ρ from the TI ``series`` (``date, stage, users`` rows)."""
    import pandas as pd

    start = pd.Timestamp(start)
    lo = start - pd.Timedelta(days=28)
    adv = advances[advances.brand == curves.brand_].copy()
    adv["date"] = pd.to_datetime(adv["date"])
    adv = adv[(adv.date >= lo) & (adv.date < start)]
    seen = np.asarray([adv[adv.stage == s].users.sum() / 28 for s in ("I", "TI", "P")])
    sp = spend[spend.brand == curves.brand_].copy()
    sp["date"] = pd.to_datetime(sp["date"])
    sp = sp[(sp.date >= lo) & (sp.date < start)]
    past = (sp.groupby("channel").spend.sum() / 28).to_dict()
    base = seen - curves.advances(past)
    ti = series[series.stage == "TI"].copy()
    ti["date"] = pd.to_datetime(ti["date"])
    ti = ti.set_index("date").users.sort_index()
    ti = ti[(ti.index >= lo) & (ti.index <= start)]
    new_ti = adv[adv.stage == "TI"].groupby("date").users.sum().reindex(ti.index, fill_value=0)
    new_p = adv[adv.stage == "P"].groupby("date").users.sum().reindex(ti.index, fill_value=0)
    prev = ti.shift(1).dropna()
    gain = (ti - new_ti + new_p).loc[prev.index]
    rho = float(np.clip((prev * gain).sum() / max((prev * prev).sum(), 1e-9), 0.8, 1.0)) if len(prev) else 0.97
    return Forecast(ti0=float(ti.iloc[-1]) if len(ti) else 0.0, base=base, retention=rho)


def interval(curves, fc: Forecast, daily: dict, horizon: int, alpha: float = 0.1) -> dict:
    """Point forecast and ``1 - alpha`` intervals of TI and purchases for a plan of daily spend."""
    point = fc.run(curves.advances, daily, horizon)
    draws = [fc.run(lambda x, i=i: curves.advances(x, draw=i), daily, horizon) for i in range(len(curves.draws_))]
    z = 1.6448536 if abs(alpha - 0.1) < 1e-9 else float(__import__("scipy.stats").stats.norm.ppf(1 - alpha / 2))
    out = {"TI": point["TI"], "purchases": point["purchases"], "ti_series": point["ti_series"]}
    for key in ("TI", "purchases"):
        values = np.asarray([d[key] for d in draws]) if draws else np.asarray([point[key]])
        noise = z * np.sqrt(max(point[key], 0.0))
        out[f"{key}_low"] = float(max(0.0, np.quantile(values, alpha / 2) - noise))
        out[f"{key}_high"] = float(np.quantile(values, 1 - alpha / 2) + noise)
    return out
