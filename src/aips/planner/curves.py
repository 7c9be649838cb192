r"""Response curves: the incremental stage advances a channel's daily spend causes.

For a brand, each paid channel c and transition k (A->I, I->TI, TI->P) get a saturating curve

.. math:: r_{kc}(x) = A_{kc} \left(1 - e^{-x / s_c}\right)

(x: daily spend in CNY; A: the most advances a day the channel can cause; s: the spend
at which it gives 63 % of that). They are fitted (``scipy.optimize.least_squares``, A >= 0,
s > 0) on weekly **incremental** advances, the holdout contrast: in week w, brand b's pairs
first reaching the stage among non-holdout users, minus the holdout's count scaled to the
non-holdout group (users who never see paid ads advance only through the baseline),

.. math:: y_{bkw} = E_{bkw} - H_{bkw} \, n_E / n_H \approx 7 \big(\gamma_k + \sum_c r_{kc}(\bar x_{bcw})\big)

where x̄ is the week's mean of the channel's daily spend over the 14 days up to each day (exposures
act on decisions within the simulator's and the platform's ~2-week window) and γ the paid
effect carried from earlier weeks (users made aware by past campaigns advance later). Campaigns are
scarce per brand, so the curves are fitted on **all brands of the category** and then
scaled per brand and transition by its own ratio of observed to fitted advances, shrunk
to 1 with weight ``campaigns / (campaigns + prior_campaigns)``. Uncertainty: refits on
bootstrap resamples of the (brand, week) rows; ``draws_`` holds them.

Creator tiers are the channels ``kol_note`` and ``koc_note``.

>>> import numpy as np, pandas as pd
>>> days = pd.date_range("2024-01-01", periods=84).date
>>> spend = pd.DataFrame({"brand": "b", "channel": "feed_ad", "date": days,
...                       "spend": np.where(np.arange(84) % 28 < 14, 200.0, 0.0)})
>>> rows = []
>>> for i, d in enumerate(days):
...     x = spend.spend.iloc[max(0, i - 13): i + 1].mean()
...     rows.append({"brand": "b", "date": d, "holdout": False, "stage": "I",
...                  "users": round(3 + 5 * (1 - np.exp(-x / 100)))})
>>> fit = ResponseCurves(bootstrap=5).fit(pd.DataFrame(rows), spend, (1000, 0), brand="b")
>>> round(fit.curve("feed_ad", "A->I", 200.0), 0)
4.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from aips.exceptions import AipsError
from aips.planner.history import ADVANCES, TRANSITIONS

WINDOW_DAYS = 14
"""Days of spend that act on a day's advances."""


class ResponseCurves:
    """Saturating response curves of daily spend per channel and transition (module doc).

    Args:
        bootstrap: resamples for the intervals (0: none).
        prior_campaigns: campaigns' worth of weight the category's curves keep for a brand.
        seed: of the bootstrap.
    """

    def __init__(self, bootstrap: int = 40, prior_campaigns: float = 6.0, seed: int = 0):
        self.bootstrap = bootstrap
        self.prior_campaigns = prior_campaigns
        self.seed = seed

    # --- fitting -----------------------------------------------------------------------

    def fit(self, advances: pd.DataFrame, spend: pd.DataFrame, groups: tuple[int, int],
            brand: str, campaigns: pd.DataFrame | None = None) -> ResponseCurves:
        """Fit on :func:`~aips.planner.history.daily_advances` and
        :func:`~aips.planner.history.daily_spend` rows of the category's brands; ``groups``
        is (non-holdout users, holdout users)."""
        channels = sorted(spend.loc[spend.spend > 0, "channel"].unique())
        if not channels:
            raise AipsError("no campaign with spend to learn response curves from")
        self.channels_ = channels
        y, x, keys = self._weeks(advances, spend, groups, channels)
        if len(y) < len(channels) + 2:
            raise AipsError(f"only {len(y)} weeks of data: too few to fit {len(channels)} channels' curves")
        self.weeks_ = len(y)
        self.spend_scale_ = np.asarray([np.median(x[:, j][x[:, j] > 0]) if (x[:, j] > 0).any() else 1.0
                                        for j in range(len(channels))])
        theta = self._solve(y, x)
        self.amplitude_, self.scale_ = self._unpack(theta)
        self.carry_ = theta[4 * len(channels):]
        self.brand_factor_ = self._brand_factor(y, x, keys, brand, campaigns)
        rng = np.random.default_rng(self.seed)
        draws = []
        for _ in range(self.bootstrap):
            pick = rng.integers(0, len(y), len(y))
            draws.append(self._unpack(self._solve(y[pick], x[pick], theta)))
        self.draws_ = draws
        self.last_spend_ = self._last_spend(spend, brand)
        self.brand_ = brand
        return self

    def _weeks(self, advances, spend, groups, channels):
        """Weekly incremental advances (rows: brand x week, cols: transitions) and the mean
        daily spend per channel over the 14 days ending each week."""
        n_e, n_h = groups
        adv = advances.copy()
        adv["date"] = pd.to_datetime(adv["date"])
        if n_h > 0:
            adv["users"] = np.where(adv["holdout"], -adv["users"] * n_e / n_h, adv["users"])
        else:
            adv["users"] = np.where(adv["holdout"], 0, adv["users"])
        first, last = adv.date.min(), adv.date.max()
        start = first + pd.Timedelta(days=WINDOW_DAYS)  # the first weeks start from nothing
        adv = adv[adv.date >= start]
        adv["week"] = (adv.date - start).dt.days // 7
        n_weeks = int((last - start).days // 7)  # whole weeks only
        adv = adv[adv.week < n_weeks]
        table = adv.pivot_table(index=["brand", "week"], columns="stage", values="users", aggfunc="sum",
                                fill_value=0.0)
        table = table.reindex(columns=list(ADVANCES), fill_value=0.0)
        brands = sorted(set(adv.brand))
        idx = pd.MultiIndex.from_product([brands, range(n_weeks)], names=["brand", "week"])
        table = table.reindex(idx, fill_value=0.0)
        sp = spend.copy()
        sp["date"] = pd.to_datetime(sp["date"])
        grid = pd.date_range(first - pd.Timedelta(days=WINDOW_DAYS), last)
        x = np.zeros((len(idx), len(channels)))
        for bi, b in enumerate(brands):
            daily = sp[sp.brand == b].pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
            daily = daily.reindex(index=grid, columns=channels, fill_value=0.0).fillna(0.0)
            acting = daily.rolling(WINDOW_DAYS, min_periods=1).mean()  # spend acting on each day
            acting = acting[acting.index >= start].iloc[: 7 * n_weeks]
            weekly = acting.to_numpy().reshape(n_weeks, 7, len(channels)).mean(1)
            x[bi * n_weeks: (bi + 1) * n_weeks] = weekly
        return table.to_numpy(float), x, list(idx)

    def _unpack(self, theta):
        nc = len(self.channels_)
        amp = np.asarray(theta[: 3 * nc]).reshape(3, nc)
        scale = np.exp(theta[3 * nc: 4 * nc]) * self.spend_scale_
        return amp, scale

    def _predict(self, theta, x):
        amp, scale = self._unpack(theta)
        g = -np.expm1(-x / scale[None, :])  # (rows, channels)
        carry = np.asarray(theta[4 * len(self.channels_):])  # paid effect carried from earlier weeks
        return 7.0 * (g @ amp.T + carry[None, :])  # (rows, transitions)

    def _solve(self, y, x, start=None):
        nc = len(self.channels_)
        if start is None:
            level = max(float(np.abs(y).mean()), 1.0) / 7.0 / nc
            start = np.r_[np.full(3 * nc, level), np.zeros(nc), np.zeros(3)]
        # each transition weighted by its noise level, so P counts as much as I
        sd = np.maximum(y.std(0), 1.0)

        def resid(theta):
            return ((self._predict(theta, x) - y) / sd).ravel()

        lo = np.r_[np.zeros(3 * nc), np.full(nc, np.log(0.1)), np.full(3, -np.inf)]
        hi = np.r_[np.full(3 * nc, np.inf), np.full(nc, np.log(20.0)), np.full(3, np.inf)]
        return least_squares(resid, np.clip(start, lo + 1e-9, hi - 1e-9), bounds=(lo, hi)).x

    def _brand_factor(self, y, x, keys, brand, campaigns) -> np.ndarray:
        rows = [i for i, (b, _) in enumerate(keys) if b == brand]
        if not rows:
            return np.ones(3)
        theta = np.r_[self.amplitude_.ravel(), np.log(self.scale_ / self.spend_scale_), self.carry_]
        fitted = self._predict(theta, x[rows]).sum(0)
        seen = y[rows].sum(0)
        ratio = np.where(fitted > 0, np.maximum(seen, 0) / np.maximum(fitted, 1e-9), 1.0)
        n = len(campaigns[campaigns.brand == brand]) if campaigns is not None else len(rows) / 4
        weight = n / (n + self.prior_campaigns)
        return weight * ratio + (1 - weight)

    @staticmethod
    def _last_spend(spend: pd.DataFrame, brand: str) -> dict[str, float]:
        sp = spend[spend.brand == brand].copy()
        if sp.empty:
            return {}
        sp["date"] = pd.to_datetime(sp["date"])
        recent = sp[sp.date > sp.date.max() - pd.Timedelta(days=30)]
        return (recent.groupby("channel").spend.sum() / 30).to_dict()

    # --- using the curves --------------------------------------------------------------

    def advances(self, daily: dict[str, float] | np.ndarray, draw: int | None = None) -> np.ndarray:
        """Incremental advances a day (A->I, I->TI, TI->P) for daily spend per channel
        (a dict, or an array in ``channels_`` order); ``draw``: a bootstrap refit."""
        x = np.asarray([daily.get(c, 0.0) for c in self.channels_] if isinstance(daily, dict) else daily, float)
        amp, scale = (self.amplitude_, self.scale_) if draw is None else self.draws_[draw]
        return (amp * self.brand_factor_[:, None]) @ -np.expm1(-x / scale)

    def curve(self, channel: str, transition: str, daily_spend: float) -> float:
        """One channel's incremental advances a day of one transition at ``daily_spend``."""
        j, k = self.channels_.index(channel), TRANSITIONS.index(transition)
        return float(self.amplitude_[k, j] * self.brand_factor_[k] * -np.expm1(-daily_spend / self.scale_[j]))

    def table(self, alpha: float = 0.1) -> list[dict]:
        """One row per channel x transition: A, s, advances a day at the last 30 days' spend,
        advances per 1,000 CNY there (the marginal return), with bootstrap intervals."""
        rows = []
        for j, c in enumerate(self.channels_):
            x = self.last_spend_.get(c, 0.0)
            for k, tr in enumerate(TRANSITIONS):
                amp = self.amplitude_[k, j] * self.brand_factor_[k]
                s = self.scale_[j]
                at = amp * -np.expm1(-x / s)
                marginal = amp / s * np.exp(-x / s) * 1000
                draws = [(a[k, j] * self.brand_factor_[k] * -np.expm1(-x / sc[j])) for a, sc in self.draws_]
                lo, hi = (np.quantile(draws, [alpha / 2, 1 - alpha / 2]) if draws else (np.nan, np.nan))
                rows.append({"channel": c, "transition": tr, "max_per_day": float(amp), "spend_scale": float(s),
                             "daily_spend": float(x), "advances_per_day": float(at),
                             "low": float(lo), "high": float(hi), "per_1k_cny": float(marginal)})
        return rows


def response_curves(view, brand: str, bootstrap: int = 40, seed: int = 0) -> ResponseCurves:
    """Fit ``brand``'s curves on the store behind ``view``, pooling the brands of its
    category (from the ``campaigns`` table). A clear error for a brand the data lacks."""
    from aips.planner.history import campaigns, daily_advances, daily_spend, group_sizes

    view.require_brands([brand])
    camps = campaigns(view)
    own = camps[camps.brand == brand]
    if own.empty:
        known = ", ".join(sorted(camps.brand.unique()))
        raise AipsError(f"brand {brand!r} has no campaigns in the campaigns table (brands with campaigns: {known})")
    cats = set(own.category.dropna())
    peers = sorted(camps[camps.category.isin(cats)].brand.unique()) if cats else [brand]
    camps = camps[camps.brand.isin(peers)]
    return ResponseCurves(bootstrap=bootstrap, seed=seed).fit(
        daily_advances(view, peers), daily_spend(camps), group_sizes(view), brand, camps)
