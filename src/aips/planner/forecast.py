r"""Forecast of the TI crowd and purchases under a plan of daily spend per channel.

From day D, each day i of the horizon gets advances per transition k

.. math:: a_k(i) = s_k + w(i) \big(r_k(x) - r_k(x_{past})\big), \qquad w(i) = \min(i / 28, 1)

where s_k are the brand's advances a day over the 28 days before D (all users), r the
curves' incremental advances (:mod:`aips.planner.curves`) at the plan's daily spend x and at
the spend of those 28 days (their daily mean of ``r``), and the ramp w is the curves' own
timing: a day's advances answer the mean delivery of the 28 days up to it, so a change of
spend reaches its full effect after 28 days. Purchases come from the TI crowd at the
hazard h it showed over those 28 days (first purchases a day over the crowd of the day
before), plus the plan's change of the TI->P curve; the crowd keeps a share ρ a day:

.. math:: P(i) = h\,TI(i-1) + w(i)\,\Delta r_{P}, \qquad
          TI(i) = \rho\,TI(i-1) + a_{I\to TI}(i) + \kappa - P(i)

with ρ = 1 - 1/W (W: the TI window, 30 days: a user leaves the crowd when a window passes
without a TI behaviour) and κ (re-entries and the rest of the crowd's inflow that first
advances do not count) set so that the crowd holds its level under the flows it has: a
plan moves it towards a new balance at the speed the window lets users leave. (Fitting ρ
on the last 28 days' series was tried first: on growing crowds it came out near 1 and the
forecast ran away, 3x the truth in a backtest.)

Intervals (``alpha``): the curves' bootstrap refits (the plan's change of flows), plus
Poisson noise of the outcome and of the 28 days' rates the baseline rests on.

>>> f = Forecast(ti0=100.0, base=[5.0, 2.0, 1.0], retention=0.98)
>>> out = f.run(lambda x: np.array([0.0, 1.0, 0.5]) * (x > 0), spend=1.0, horizon=10)
>>> round(float(out["purchases"]), 1), round(float(out["TI"]), 1)  # 0.98^10*100 + 1.5*(1-0.98^10)/0.02
(15.0, 95.4)
>>> g = Forecast(ti0=100.0, base=[0.0, 3.0, 1.0], retention=0.97, hazard=0.01, balance=1.0)
>>> out = g.run(lambda x: np.zeros(3), None, 30)   # in balance: 0.97*100 + 3 + 1 - 0.01*100
>>> round(out["TI"], 6), round(out["purchases"], 6)
(100.0, 30.0)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RAMP_DAYS = 28
"""Days a change of spend takes to reach its full effect (the curves' window)."""


class Forecast:
    """Stock-and-flow projection of TI and purchases (module doc).

    Args:
        ti0: TI crowd on the start day.
        base: advances a day (A->I, I->TI, TI->P) with no paid effect, or, with ``past``,
            the observed advances less the curves' effect of the past spend.
        retention: daily share of the TI crowd that stays TI.
        hazard: daily share of the crowd that buys (0: purchases are ``base[2]`` plus the
            curve, as a flow of their own).
        past: the curves' advances a day at the past spend (with ``ramp``: what the plan's
            effect replaces gradually).
        ramp: days until a change of spend has its full effect (0: at once).
        balance: extra inflow a day (κ) holding the crowd at ``ti0`` under the past flows.
        calibration: factor per transition on the curves' advances (see :func:`fit_forecast`).
    """

    def __init__(self, ti0: float, base, retention: float, hazard: float = 0.0, past=None,
                 ramp: int = 0, balance: float = 0.0, calibration=None):
        self.calibration = np.ones(3) if calibration is None else np.asarray(calibration, float)
        self.ti0, self.base, self.retention = float(ti0), np.asarray(base, float), float(retention)
        self.hazard, self.ramp, self.balance = float(hazard), int(ramp), float(balance)
        self.past = np.zeros(3) if past is None else np.asarray(past, float)

    def run(self, response: Callable, spend, horizon: int) -> dict:
        """Project ``horizon`` days; ``response(spend)`` gives incremental advances a day."""
        change = self.calibration * response(spend) - self.past
        ti, purchases, new_ti, series = self.ti0, 0.0, 0.0, []
        for i in range(1, horizon + 1):
            w = min(i / self.ramp, 1.0) if self.ramp else 1.0
            adv = np.maximum(self.base + self.past + w * change, 0.0)
            if self.hazard > 0:
                buy = max(self.hazard * ti + w * change[2], 0.0)
            else:
                buy = adv[2]
            ti = max(self.retention * ti + adv[1] + self.balance - buy, 0.0)
            purchases += buy
            new_ti += adv[1]
            series.append(ti)
        return {"TI": float(ti), "purchases": float(purchases), "new_ti": float(new_ti), "ti_series": series}


def fit_forecast(curves, advances, spend, series, start, window: int = 30, horizon: int = 30) -> Forecast:
    """A :class:`Forecast` for ``curves.brand_`` from day ``start`` (a date): flows and the
    purchase hazard from the 28 days before it (:func:`~aips.planner.history.daily_advances`
    rows of all users, ``daily_spend`` rows, the TI ``series``: ``date, stage, users``
    rows), ρ from the TI ``window`` (days). ``drift_`` holds the baseline's own errors on
    the brand's history (:func:`baseline_errors`) for the intervals."""
    import pandas as pd

    start = pd.Timestamp(start)
    lo = start - pd.Timedelta(days=RAMP_DAYS)
    adv = advances[advances.brand == curves.brand_].copy()
    adv["date"] = pd.to_datetime(adv["date"])
    ti = series[series.stage == "TI"].copy()
    ti["date"] = pd.to_datetime(ti["date"])
    ti = ti.set_index("date").users.sort_index().astype(float)
    buys = adv[adv.stage == "P"].groupby("date").users.sum().astype(float)
    drift = baseline_errors(ti[ti.index <= start], buys[buys.index < start], horizon, burn_in=window)
    adv = adv[(adv.date >= lo) & (adv.date < start)]
    seen = np.asarray([adv[adv.stage == s].users.sum() / RAMP_DAYS for s in ("I", "TI", "P")])
    sp = spend[spend.brand == curves.brand_].copy()
    sp["date"] = pd.to_datetime(sp["date"])
    sp = sp[(sp.date >= lo) & (sp.date < start)]
    by_day = sp.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    by_day = by_day.reindex(pd.date_range(lo, start - pd.Timedelta(days=1)), fill_value=0.0).fillna(0.0)
    # the mean effect of the days' spend (the curves answer mean delivery, not mean spend)
    past = (np.mean([curves.advances(row.to_dict()) for _, row in by_day.iterrows()], axis=0)
            if len(by_day.columns) else np.zeros(3))
    # paid media cannot have caused more advances than the brand had: where the curves credit
    # the past spend with more, they are scaled down to it (their shape across channels kept)
    calibration = np.where(past > seen, seen / np.maximum(past, 1e-12), 1.0)
    past = past * calibration
    ti = ti[(ti.index >= lo - pd.Timedelta(days=1)) & (ti.index <= start)]
    ti0 = float(ti.iloc[-1]) if len(ti) else 0.0
    crowd = float(ti[ti.index < start].sum())
    hazard = float(seen[2] * RAMP_DAYS / crowd) if crowd > 0 else 0.0
    rho = 1.0 - 1.0 / window
    balance = (1.0 - rho) * ti0 + hazard * ti0 - seen[1] if hazard > 0 else 0.0
    fc = Forecast(ti0=ti0, base=seen - past, retention=rho, hazard=hazard, past=past, ramp=RAMP_DAYS,
                  balance=balance, calibration=calibration)
    fc.seen, fc.drift_ = seen, drift
    return fc


def baseline_errors(ti, buys, horizon: int, burn_in: int = 30, step: int = 7) -> dict[str, float]:
    """Root mean square log error of the baseline forecast (no change of spend: the crowd
    holds its level, purchases at the crowd's hazard of the days before) on the brand's own
    history, scaled to ``horizon`` days as a random walk's.

    ``ti`` is the TI crowd by day and ``buys`` first purchases by day. The first ``burn_in``
    days (the TI window) are left out: the data's first window has no events before it, so
    its crowd is undercounted and grows from nothing. From origins every ``step`` days, the
    baseline forecasts the lag L = the horizon, or as much as the remaining history allows
    (at least 7 days), with up to 28 days before each origin for the hazard; the error at
    lag L is scaled by sqrt(horizon / L). 0 where no origin fits.

    >>> import pandas as pd
    >>> days = pd.date_range("2024-01-01", periods=110)
    >>> ti = pd.Series(100.0, index=days)
    >>> buys = pd.Series(2.0, index=days)                 # steady: the baseline is exact
    >>> baseline_errors(ti, buys, 30)
    {'TI': 0.0, 'purchases': 0.0, 'lag': 30, 'origins': 7}
    >>> grow = pd.Series(100.0 * 1.01 ** np.arange(110), index=days)
    >>> round(baseline_errors(grow, buys * 0, 10)["TI"], 4)  # log(1.01^10) = 0.0995
    0.0995
    """
    import pandas as pd

    none = {"TI": 0.0, "purchases": 0.0, "lag": 0, "origins": 0}
    if not len(ti):
        return none
    days = pd.date_range(ti.index.min(), ti.index.max())
    ti = ti.reindex(days).ffill().fillna(0.0).iloc[burn_in:]
    buys = buys.reindex(days, fill_value=0.0).fillna(0.0).iloc[burn_in:]
    lead = 7  # days of history an origin needs at least (for the hazard)
    lag = int(min(horizon, (len(ti) - lead - 1) // 2))
    if lag < 7:
        return none
    e_ti, e_p = [], []
    for i in range(lead, len(ti) - lag, step):
        back = min(i, RAMP_DAYS)
        crowd = ti.iloc[i - back - 1: i - 1].sum() if i > back else ti.iloc[i - back: i].sum()
        rate = buys.iloc[i - back: i].sum() / crowd if crowd > 0 else 0.0
        want_p, got_p = rate * ti.iloc[i] * lag, buys.iloc[i: i + lag].sum()
        if ti.iloc[i] > 0 and ti.iloc[i + lag] > 0:
            e_ti.append(np.log(ti.iloc[i + lag] / ti.iloc[i]))
        if want_p > 0 and got_p > 0:
            e_p.append(np.log(got_p / want_p))
    scale = np.sqrt(horizon / lag)

    def rms(e: list) -> float:
        return float(scale * np.sqrt(np.mean(np.square(e)))) if e else 0.0

    return {"TI": rms(e_ti), "purchases": rms(e_p), "lag": lag, "origins": len(e_ti)}


def interval(curves, fc: Forecast, daily: dict, horizon: int, alpha: float = 0.1) -> dict:
    """Point forecast and ``1 - alpha`` intervals of TI and purchases for a plan of daily spend:
    the curves' refits, the baseline's own errors on the brand's history (``fc.drift_``, on
    the log scale), and Poisson noise of the outcome and of the baseline's 28-day rates."""

    point = fc.run(curves.advances, daily, horizon)
    draws = [fc.run(lambda x, i=i: curves.advances(x, draw=i), daily, horizon) for i in range(len(curves.draws_))]
    out = {"TI": point["TI"], "purchases": point["purchases"], "ti_series": point["ti_series"]}
    # the baseline's rates are counts over RAMP_DAYS: a projected count over the horizon has
    # the outcome's own Poisson variance plus (horizon / RAMP_DAYS) times it again
    inflate = 1.0 + horizon / RAMP_DAYS
    drift = getattr(fc, "drift_", {})
    for key in ("TI", "purchases"):
        values = np.asarray([d[key] for d in draws]) if draws else np.asarray([point[key]])
        low, high = band(np.asarray([point[key]]), values[:, None], alpha, inflate, float(drift.get(key, 0.0)))
        out[f"{key}_low"], out[f"{key}_high"] = float(low[0]), float(high[0])
    return out


def band(point: np.ndarray, draws: np.ndarray, alpha: float, inflate, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``1 - alpha`` band around ``point`` (one value per day) from three independent
    parts whose widths add in quadrature: the spread of the curves' refits ``draws`` (refits
    x days) about their median, Poisson noise ``z sqrt(point * inflate)`` and the baseline's
    drift (``sd`` on the log scale).

    >>> low, high = band(np.array([100.0]), np.array([[90.0], [100.0], [110.0]]), 0.5, 1.0, 0.0)
    >>> [round(float(v), 2) for v in (*low, *high)]   # refits: quartiles -5, 5; noise 0.674 * 10
    [91.6, 108.4]
    """
    from scipy.stats import norm

    z = float(norm.ppf(1 - alpha / 2))
    lo, hi = np.quantile(draws - np.median(draws, axis=0), [alpha / 2, 1 - alpha / 2], axis=0)
    noise = z * np.sqrt(np.maximum(point, 0.0) * inflate)
    down, up = point * np.expm1(-z * sd), point * np.expm1(z * sd)
    return (np.maximum(0.0, point - np.sqrt(lo ** 2 + noise ** 2 + down ** 2)),
            point + np.sqrt(hi ** 2 + noise ** 2 + up ** 2))
