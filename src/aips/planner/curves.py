r"""Response curves: the incremental stage advances a channel's daily spend causes.

For a brand, each paid channel c and transition k (A->I, I->TI, TI->P) get a saturating curve

.. math:: r_{kc}(x) = \beta_{kc} \, M_c(x) = \rho_{kc}\, s_c \left(1 - e^{-x / s_c}\right),
          \qquad M_c(x) = C_c \left(1 - e^{-x / s_c}\right), \quad \rho_{kc} = \beta_{kc} C_c / s_c

in two parts, each fitted where the data say most about it:

* **Delivery** ``M_c``: impressions a day that a daily spend x buys (C: the most a day,
  s: the spend giving 63 % of it; s / C is the price of an impression at the first yuan).
  Every campaign is a point (its spend and its delivered impressions, per flight day); the
  platform's price curve is the channel's, so all brands of the category share it
  (``scipy.optimize.least_squares`` on the square-root scale of each flight's count, where
  Poisson noise has sd 1/2, with a bounded ``arctan`` loss from several starts: a campaign
  that delivered past the curve's ceiling, as the simulator's capped price lets it, is an
  outlier and must not turn a saturating channel linear).
* **Effect** ``rho``: incremental advances per CNY at the first yuan, on weekly holdout
  contrasts: in week w, brand b's pairs first reaching the stage among non-holdout users
  minus the holdout's count scaled to the non-holdout group (holdout users see no paid ads),

  .. math:: y_{bkw} = E_{bkw} - H_{bkw} \, n_E / n_H \approx 7 \big(\gamma_k + \sum_c \rho_{kc} u_{bcw}\big),
            \qquad u_{bcw} = \bar m_{bcw}\, s_c / C_c

  where m̄ is the week's mean of the channel's daily impressions over the 28 days up to each
  day (exposures act on decisions within ~2 weeks, and users they move advance further over
  the next weeks: a month's purchases answer a month's delivery), u its spend-equivalent
  and γ >= 0 the paid effect carried from earlier weeks.

  **Partial pooling.** Per transition, a pooled rate (one ρ for all channels: every channel
  returns the same per yuan at its first yuan, saturation then decides) and each channel's
  own least-squares rate; the channel's rate is ``pooled + w (own - pooled)``, clipped at 0,
  with the weight w chosen on :data:`SHRINK_GRID` by leave-one-brand-out cross-validation
  (fit on the category's other brands, predict the held-out brand's weekly contrasts: the
  curves are used on a brand, so they must carry across brands). At a few thousand users
  the own rates of TI->P carry badly (search ads' delivery follows the searches the other
  channels cause, and campaigns overlap): on the 6,000-user validation worlds w for TI->P
  came out 0, 0, 0.75 and 0.5, and trusting the own rates fully (w = 1, the first version)
  put whole channels at 0 and lost 5-25 % of the optimum.

The effects are scaled per brand and transition by its own ratio of observed to fitted
advances, shrunk to 1 with weight ``campaigns / (campaigns + prior_campaigns)``.
Uncertainty: refits on bootstrap resamples of the (brand, week) rows and of the delivery
residuals (the campaigns' spend levels kept, so a channel with three campaigns keeps a
curve), with the fit's pooling weights; ``draws_`` holds them, and
:meth:`ResponseCurves.expected_advances` averages over them: the planner maximises the mean
outcome over the refits, not the point estimate's. Creator tiers are the channels
``kol_note`` and ``koc_note``.

>>> import numpy as np, pandas as pd
>>> days = pd.date_range("2024-01-01", periods=84).date
>>> level = np.repeat([200.0, 0.0, 50.0, 0.0, 200.0, 0.0], 14)     # daily spend: 3 flights
>>> x = level
>>> m = 30 * (1 - np.exp(-x / 100))                               # what it delivers
>>> spend = pd.DataFrame({"brand": "b", "channel": "feed_ad", "date": days, "spend": x})
>>> imp = pd.DataFrame({"brand": "b", "channel": "feed_ad", "date": days, "impressions": m})
>>> camps = pd.DataFrame({"campaign_id": ["c1", "c2", "c3"], "brand": "b", "channel": "feed_ad",
...     "start_date": [days[0], days[28], days[56]], "end_date": [days[13], days[41], days[69]],
...     "spend": [2800.0, 700.0, 2800.0]})
>>> points = pd.DataFrame({"campaign_id": ["c1", "c2", "c3"], "impressions": [m[i:i + 14].sum() for i in (0, 28, 56)]})
>>> rows = [{"brand": "b", "date": d, "holdout": False, "stage": "I",
...          "users": 3 + 0.2 * pd.Series(m).iloc[max(0, i - 27): i + 1].mean()}
...         for i, d in enumerate(days)]
>>> fit = ResponseCurves(bootstrap=5).fit(pd.DataFrame(rows), spend, (1000, 0), "b", camps, imp, points)
>>> [round(float(v), 1) for v in (*fit.delivery_[0], *fit.delivery_[1])]  # C = 30, s = 100 recovered
[30.0, 100.0]
>>> round(fit.curve("feed_ad", "A->I", 200.0), 1)                  # 0.2 * 30 * (1 - e^-2)
5.2
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, lsq_linear

from aips.exceptions import AipsError
from aips.planner.history import ADVANCES, TRANSITIONS

WINDOW_DAYS = 28
"""Days of delivery that act on a day's advances."""


SHRINK_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Weights of a channel's own effect estimate (against the pooled one) tried by cross-validation."""


def _price(delivery) -> np.ndarray:
    """CNY per impression at the first yuan (s / C) per channel; 0 for a channel that delivered nothing."""
    cap, scale = delivery
    return np.where(cap > 0, scale / np.maximum(cap, 1e-12), 0.0)


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

    def fit(self, advances: pd.DataFrame, spend: pd.DataFrame, groups: tuple[int, int], brand: str,
            campaigns: pd.DataFrame, impressions: pd.DataFrame, delivered: pd.DataFrame) -> ResponseCurves:
        """Fit on the category's brands: :func:`~aips.planner.history.daily_advances` rows,
        :func:`~aips.planner.history.daily_spend` rows, ``groups`` (non-holdout users,
        holdout users), the ``campaigns`` table, daily paid ``impressions`` (``brand,
        channel, date, impressions``) and each campaign's ``delivered`` impressions
        (``campaign_id, impressions``)."""
        channels = sorted(spend.loc[spend.spend > 0, "channel"].unique())
        if not channels:
            raise AipsError("no campaign with spend to learn response curves from")
        self.channels_ = channels
        self._points = self._campaign_points(campaigns, delivered, channels)
        y, m, keys = self._weeks(advances, impressions, groups, channels)
        if len(y) < len(channels) + 2:
            raise AipsError(f"only {len(y)} weeks of data: too few to fit {len(channels)} channels' curves")
        self.weeks_ = len(y)
        self.delivery_ = self._delivery(self._points)
        rng = np.random.default_rng(self.seed)
        boots = []
        for _ in range(self.bootstrap):
            rows = rng.integers(0, len(y), len(y))
            boots.append((rows, self._delivery(self._resample_points(rng))))
        brands = np.asarray([b for b, _ in keys])
        if len(set(brands)) < 2:  # one brand: hold out quarters of its weeks instead
            brands = np.arange(len(y)) * 4 // len(y)
        self.rate_, self.carry_ = self._rates(y, m, self.delivery_, groups=brands)
        self.effect_ = self.rate_ * _price(self.delivery_)[None, :]
        self.amplitude_ = self.rate_ * self.delivery_[1][None, :]
        self.scale_ = self.delivery_[1]
        self.brand_factor_ = self._brand_factor(y, m, keys, brand, campaigns)
        draws = []
        for rows, (cap, scale) in boots:
            rate, _ = self._rates(y[rows], m[rows], (cap, scale), self.shrink_)
            draws.append((rate * scale[None, :], scale))
        self.draws_ = draws
        self.last_spend_ = self._last_spend(spend, brand)
        self.brand_ = brand
        return self

    @staticmethod
    def _campaign_points(campaigns, delivered, channels) -> pd.DataFrame:
        """Per campaign: daily spend and daily delivered impressions over its flight."""
        c = campaigns[campaigns.channel.isin(channels)].copy()
        days = (pd.to_datetime(c.end_date) - pd.to_datetime(c.start_date)).dt.days + 1
        got = delivered.set_index("campaign_id").impressions if len(delivered) else pd.Series(dtype=float)
        c["x"] = c.spend.astype(float) / days
        c["m"] = c.campaign_id.map(got).fillna(0.0).astype(float) / days
        c["days"] = days
        return c[(days > 0) & (c.x > 0)][["channel", "x", "m", "days"]].reset_index(drop=True)

    def _resample_points(self, rng: np.random.Generator) -> pd.DataFrame:
        """The campaigns' points with residuals (square-root scale) resampled within each
        channel: the spend levels stay, so a channel with a few campaigns keeps a curve."""
        pts = self._points.copy()
        for j, c in enumerate(self.channels_):
            at = np.flatnonzero(pts.channel.to_numpy() == c)
            if not len(at):
                continue
            cap, scale = self.delivery_[0][j], self.delivery_[1][j]
            fit = np.sqrt(cap * -np.expm1(-pts.x.to_numpy()[at] / scale))
            res = np.sqrt(pts.m.to_numpy()[at]) - fit
            pts.loc[pts.index[at], "m"] = np.maximum(fit + rng.choice(res, len(at)), 0.0) ** 2
        return pts

    def _delivery(self, points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(C, s) per channel: ``m = C (1 - exp(-x / s))`` on the campaigns' points, fitted on
        the square-root scale of each flight's count (where Poisson noise has sd 1/2) with a
        Cauchy loss from several starts; a channel with one spend level gets a flat price."""
        cap, scale = [], []
        for c in self.channels_:
            pts = points[points.channel == c]
            x, m, n = pts.x.to_numpy(), pts.m.to_numpy(), pts.days.to_numpy(float)
            if len(x) == 0 or m.sum() <= 0:
                cap.append(0.0)
                scale.append(1.0)
                continue
            slope = m.sum() / x.sum()
            hi_s = 100.0 * x.max()
            if len(np.unique(np.round(x, 6))) < 2:
                cap.append(slope * hi_s)
                scale.append(hi_s)
                continue

            def resid(theta, x=x, m=m, n=n):
                c_, s_ = np.exp(theta)
                return np.sqrt(n) * (np.sqrt(np.maximum(c_ * -np.expm1(-x / s_), 0.0)) - np.sqrt(m))

            # C is not bounded below by the largest point: a campaign delivered past the price
            # curve's ceiling (a make-good, a capped price) is an outlier the Cauchy loss
            # discounts, and must not turn a saturating channel linear
            top = max(m.max(), 1e-9)
            lo = [np.log(max(np.median(m), 1e-9)), np.log(0.05 * x.min())]
            up = [np.log(top * 1e4), np.log(hi_s)]
            best = None
            for s0 in np.quantile(x, [0.25, 0.5, 0.75, 1.0]) * 2:
                c0 = np.median(m / -np.expm1(-x / s0))
                start = np.clip(np.log([c0, s0]), np.add(lo, 1e-6), np.subtract(up, 1e-6))
                res = least_squares(resid, start, bounds=(lo, up), loss="arctan", f_scale=1.0)
                if best is None or res.cost < best.cost:
                    best = res
            cap.append(float(np.exp(best.x[0])))
            scale.append(float(np.exp(best.x[1])))
        return np.asarray(cap), np.asarray(scale)

    def _rates(self, y: np.ndarray, m: np.ndarray, delivery, shrink: np.ndarray | None = None,
               groups: np.ndarray | None = None):
        """Advances per CNY at the first yuan (transitions x channels, >= 0): each channel's
        own estimate shrunk towards the pooled one by ``shrink`` (per transition, 0: pooled,
        1: the channel's own), and the carried effect per transition. Without ``shrink`` it
        is chosen on the grid :data:`SHRINK_GRID` per transition by cross-validation over
        ``groups`` (the rows' brands: fit on the other brands, predict the held-out one's
        weekly contrasts; with one brand, quarters of its weeks) and kept in ``shrink_``."""
        if shrink is None:
            grid = np.asarray(SHRINK_GRID)
            err = np.zeros((len(grid), y.shape[1]))
            folds = np.unique(groups) if groups is not None else []
            for g in folds if len(folds) > 1 else []:
                out = groups == g
                for i, w in enumerate(grid):
                    rate, carry = self._rates(y[~out], m[~out], delivery, np.full(y.shape[1], w))
                    pred = 7.0 * m[out] * _price(delivery)[None, :] @ rate.T + 7.0 * carry[None, :]
                    err[i] += np.sum((y[out] - pred) ** 2, axis=0)
            shrink = grid[np.argmin(err, axis=0)] if len(folds) > 1 else np.zeros(y.shape[1])
            self.shrink_ = shrink
        u = 7.0 * m * _price(delivery)[None, :]  # spend-equivalents of the weeks' delivery
        ones = np.full(len(u), 7.0)
        design = np.c_[u, ones]
        nc = u.shape[1]
        # the carried effect is paid advances from earlier weeks: never negative
        free = (np.r_[np.full(nc, -np.inf), 0.0], np.full(nc + 1, np.inf))
        raw = np.asarray([lsq_linear(design, y[:, k], bounds=free).x[:nc] for k in range(y.shape[1])])
        pooled = np.asarray([lsq_linear(np.c_[u.sum(1), ones], y[:, k], bounds=([0.0, 0.0], [np.inf, np.inf])).x[0]
                             for k in range(y.shape[1])])
        w = np.asarray(shrink, float)[:, None]
        rate = np.maximum(pooled[:, None] + w * (raw - pooled[:, None]), 0.0)
        carry = np.maximum(np.mean(y - u @ rate.T, axis=0) / 7.0, 0.0)
        return rate, carry

    def _weeks(self, advances, impressions, groups, channels):
        """Weekly incremental advances (rows: brand x week, cols: transitions) and the mean
        daily impressions per channel over the WINDOW_DAYS ending each day of the week."""
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
        imp = impressions.copy()
        imp["date"] = pd.to_datetime(imp["date"])
        grid = pd.date_range(first - pd.Timedelta(days=WINDOW_DAYS), last)
        m = np.zeros((len(idx), len(channels)))
        for bi, b in enumerate(brands):
            daily = imp[imp.brand == b].pivot_table(index="date", columns="channel", values="impressions",
                                                    aggfunc="sum")
            daily = daily.reindex(index=grid, columns=channels, fill_value=0.0).fillna(0.0)
            acting = daily.rolling(WINDOW_DAYS, min_periods=1).mean()  # delivery acting on each day
            acting = acting[acting.index >= start].iloc[: 7 * n_weeks]
            m[bi * n_weeks: (bi + 1) * n_weeks] = acting.to_numpy().reshape(n_weeks, 7, len(channels)).mean(1)
        return table.to_numpy(float), m, list(idx)

    def _brand_factor(self, y, m, keys, brand, campaigns) -> np.ndarray:
        rows = [i for i, (b, _) in enumerate(keys) if b == brand]
        if not rows:
            return np.ones(3)
        fitted = (7.0 * (m[rows] @ self.effect_.T + self.carry_[None, :])).sum(0)
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

    def expected_advances(self, daily: dict[str, float] | np.ndarray) -> np.ndarray:
        """:meth:`advances` averaged over the fit and its bootstrap refits: the mean outcome
        under the curves' uncertainty, which a split is chosen to maximise (a split tuned to
        the point estimate alone bets on its noise)."""
        runs = [self.advances(daily)] + [self.advances(daily, draw=i) for i in range(len(self.draws_))]
        return np.mean(runs, axis=0)

    def curve(self, channel: str, transition: str, daily_spend: float) -> float:
        """One channel's incremental advances a day of one transition at ``daily_spend``."""
        j, k = self.channels_.index(channel), TRANSITIONS.index(transition)
        return float(self.amplitude_[k, j] * self.brand_factor_[k] * -np.expm1(-daily_spend / self.scale_[j]))

    def grid(self, points: int = 41, alpha: float = 0.1) -> list[dict]:
        """Each channel's curve of each transition on a grid of daily spend, from 0 to three
        times its spend scale (or its last 30 days' daily spend, if more), with the refits'
        ``1 - alpha`` band: rows ``channel, transition, daily_spend, advances_per_day, low,
        high`` (what ``aips curves --plot`` draws)."""
        rows = []
        for j, c in enumerate(self.channels_):
            xs = np.linspace(0.0, max(3.0 * self.scale_[j], self.last_spend_.get(c, 0.0)), points)
            for k, tr in enumerate(TRANSITIONS):
                f = self.brand_factor_[k]
                y = self.amplitude_[k, j] * f * -np.expm1(-xs / self.scale_[j])
                draws = np.asarray([a[k, j] * f * -np.expm1(-xs / sc[j]) for a, sc in self.draws_])
                lo, hi = (np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0) if len(draws) else (y, y))
                rows += [{"channel": c, "transition": tr, "daily_spend": float(x), "advances_per_day": float(v),
                          "low": float(a), "high": float(b)} for x, v, a, b in zip(xs, y, lo, hi, strict=True)]
        return rows

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

