"""Decision cycles: Kaplan-Meier on aggregated (duration, purchases, censored) counts.

The input is the small table of :func:`aips.engine.durations.km_table`: for each distinct
duration t in days, how many (user, brand) pairs bought after t days (``purchases``) and
how many were still waiting when the data ended (``censored``).

**Kaplan-Meier.** With n(t) pairs at risk at t (duration >= t) and d(t) purchases at t,

.. math:: S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right)

computed exactly as ``lifelines.KaplanMeierFitter`` does (a sum of logs), with its pointwise
exponential-Greenwood ("log-log") confidence band. S(t) is the share of pairs that have not
bought by t days.

**The decision cycle.** Many touched pairs never buy, so the plain KM median (the t where
S(t) <= 0.5, lifelines' ``median_survival_time_``) is often undefined; it is reported as
``km_median_days`` (None when S never reaches 0.5). The decision cycle describes the
*converters*: with t_max the longest observed duration and F(t) = 1 - S(t),

.. math:: \\text{cycle}_q = \\min \\{ t : F(t) \\ge q \\, F(t_{max}) \\}

``median_days`` is q = 0.5, ``p80_days`` q = 0.8, and ``converted_share`` = F(t_max).
Their confidence intervals come from a seeded bootstrap on the aggregated table: pairs
are independent and each is fully described by its (duration, bought) cell, so drawing n
pairs with replacement is a multinomial draw over the cells; each draw is refitted and the
(alpha/2, 1 - alpha/2) percentiles of the replicated cycles are the interval.

**Follow-up.** When the data end before the converters' curve has flattened, F(t_max)
understates the eventual conversion and the cycle is too short. ``flattened_`` is False
when F gained more than ``flat_tol`` (5 %) of F(t_max) over the last 20 % of the
follow-up (at least 7 days); the fitter then says so in ``note_``, and the
:class:`CureCycleFitter` (a parametric mixture-cure model) is the alternative.

>>> import pandas as pd
>>> km = pd.DataFrame({"duration": [0, 2, 3, 5], "purchases": [1, 2, 1, 0], "censored": [0, 1, 0, 3]})
>>> f = DecisionCycleFitter(n_bootstrap=0).fit(km)
>>> f.median_days_, f.p80_days_, round(f.converted_share_, 4), f.km_median_days_
(2, 3, 0.5312, 3)
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from aips.analytics.base import Fitter
from aips.config.labels import Note
from aips.config.model import NO_CATEGORY
from aips.exceptions import AipsError, ConfigError
from aips.view import View

_TOL = 1e-12
"""Tolerance of the ``F(t) >= q F(t_max)`` comparison (floating noise only)."""


class CycleNote(Note):
    """A note on a decision-cycle fit (:class:`aips.config.labels.Note` whose key is looked up
    under ``labels.yaml``'s ``cycle.note.<key>``)."""


def _check_table(km: pd.DataFrame) -> pd.DataFrame:
    if hasattr(km, "to_pandas"):
        km = km.to_pandas()
    missing = {"duration", "purchases", "censored"} - set(km.columns)
    if missing:
        raise AipsError(f"a KM table needs columns duration, purchases, censored (missing {sorted(missing)})")
    km = km[["duration", "purchases", "censored"]].copy()
    km = km.groupby("duration", as_index=False).sum().sort_values("duration")
    if (km.duration < 0).any() or (km[["purchases", "censored"]] < 0).to_numpy().any():
        raise AipsError("durations and counts in a KM table must be >= 0")
    return km.reset_index(drop=True)


def km_curve(km: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The KM curve of an aggregated table: one row per time (0 and every duration).

    Columns ``t``, ``at_risk``, ``purchases``, ``censored``, ``survival``, ``lower``,
    ``upper`` (lifelines' exponential Greenwood band), ``converted`` (1 - survival).
    """
    km = _check_table(km)
    if 0 not in set(km.duration):
        km = pd.concat([pd.DataFrame({"duration": [0], "purchases": [0], "censored": [0]}), km])
    km = km.sort_values("duration").reset_index(drop=True)
    d = km.purchases.to_numpy(dtype=float)
    removed = (km.purchases + km.censored).to_numpy(dtype=float)
    n = removed[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.cumsum(np.where(n > 0, np.log(n - d) - np.log(n), 0.0))
        s = np.exp(log_s)
        var = np.where((n > 0) & (n > d), d / (n * (n - d)), 0.0)
        cum_sq = np.cumsum(var)
        z = stats.norm.ppf(1 - alpha / 2)
        v = np.log(s)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(cum_sq) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(cum_sq) / v))
    lower = np.where(np.isnan(lower), 1.0, lower)
    upper = np.where(np.isnan(upper), 1.0, upper)
    return pd.DataFrame(
        {
            "t": km.duration.to_numpy(dtype=np.int64),
            "at_risk": n.astype(np.int64),
            "purchases": km.purchases.to_numpy(dtype=np.int64),
            "censored": km.censored.to_numpy(dtype=np.int64),
            "survival": s,
            "lower": lower,
            "upper": upper,
            "converted": 1.0 - s,
        }
    )


def cycle_quantile(t: np.ndarray, survival: np.ndarray, q: float) -> float | None:
    """Smallest t with 1 - S(t) >= q (1 - S(t_max)); None when nobody bought."""
    f = 1.0 - np.asarray(survival, dtype=float)
    total = f[-1]
    if not total > 0:
        return None
    idx = int(np.argmax(f >= q * total - _TOL))
    return t[idx].item() if hasattr(t[idx], "item") else t[idx]


def _quantiles(fitter) -> dict[str, Any]:
    """The cycle's quantiles and converted share, with intervals (both fitters' summaries)."""
    return {
        "median_days": fitter.median_days_,
        "median_days_ci": list(fitter.median_days_ci_),
        "p80_days": fitter.p80_days_,
        "p80_days_ci": list(fitter.p80_days_ci_),
        "converted_share": fitter.converted_share_,
        "converted_share_ci": list(fitter.converted_share_ci_),
    }


def _counts(fitter) -> dict[str, Any]:
    """The sample behind a fitted cycle (both fitters' summaries)."""
    return {"n": fitter.n_, "purchases": fitter.purchases_, "censored": fitter.censored_,
            "t_max": fitter.t_max_}


class DecisionCycleFitter(Fitter):
    """Kaplan-Meier decision cycle on an aggregated KM table.

    Parameters:
        q: quantiles of the converters' time to purchase to report (0.5 and 0.8).
        alpha: 1 - confidence level of the intervals.
        n_bootstrap: bootstrap draws for the cycle's intervals (0: none).
        random_state: seed of the bootstrap.
        flat_tol: share of F(t_max) gained over the tail above which the curve has not
            flattened.

    Attributes (after :meth:`fit`):
        curve_: the KM curve (:func:`km_curve`).
        median_days_, p80_days_: the decision cycle at q = 0.5 and 0.8 (days, or None).
        median_days_ci_, p80_days_ci_: their bootstrap intervals ``(lo, hi)``.
        quantiles_: ``{q: days}`` for every q asked.
        converted_share_: F(t_max), with ``converted_share_ci_`` from the Greenwood band.
        km_median_days_: the plain KM median (None when S never reaches 0.5).
        n_, purchases_, censored_, t_max_: sizes and the longest duration.
        flattened_, tail_gain_, note_: the follow-up check.
        context_: the ``context`` given to :meth:`fit` (what was fitted), or None.
    """

    _fitted_attributes = (
        "curve_", "median_days_", "p80_days_", "median_days_ci_", "p80_days_ci_", "quantiles_",
        "quantile_cis_", "converted_share_", "converted_share_ci_", "km_median_days_", "n_",
        "purchases_", "censored_", "t_max_", "flattened_", "tail_gain_", "note_", "context_",
    )

    def __init__(
        self,
        q: tuple[float, ...] = (0.5, 0.8),
        alpha: float = 0.05,
        n_bootstrap: int = 1000,
        random_state: int = 0,
        flat_tol: float = 0.05,
    ):
        self.q = q
        self.alpha = alpha
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.flat_tol = flat_tol

    def fit(self, km_table: Any, *, context: dict[str, Any] | None = None) -> DecisionCycleFitter:
        """Fit on a table with ``duration``, ``purchases``, ``censored``; returns self.

        ``context`` (category, start, brand...) says what was fitted; kept as ``context_``.
        """
        qs = tuple(float(x) for x in self.q)
        if not all(0 < x <= 1 for x in qs):
            raise AipsError(f"quantiles q must be in (0, 1], got {self.q}")
        if not 0 < self.alpha < 1:
            raise AipsError(f"alpha must be in (0, 1), got {self.alpha}")
        km = _check_table(km_table)
        self.n_ = int(km.purchases.sum() + km.censored.sum())
        self.purchases_ = int(km.purchases.sum())
        self.censored_ = int(km.censored.sum())
        if self.n_ == 0:
            raise AipsError("no (user, brand) pairs to fit: the category has no events in this scope")
        curve = km_curve(km, self.alpha)
        self.curve_ = curve
        self.t_max_ = int(curve.t.iloc[-1])
        t, s = curve.t.to_numpy(), curve.survival.to_numpy()
        self.quantiles_ = {x: cycle_quantile(t, s, x) for x in qs}
        self.converted_share_ = float(1.0 - s[-1])
        self.converted_share_ci_ = (float(1.0 - curve.upper.iloc[-1]), float(1.0 - curve.lower.iloc[-1]))
        below = np.nonzero(s <= 0.5)[0]
        self.km_median_days_ = int(t[below[0]]) if len(below) else None
        cis = self._bootstrap(km, qs)
        self.quantile_cis_ = cis
        self.median_days_ = self.quantiles_.get(0.5)
        self.p80_days_ = self.quantiles_.get(0.8)
        self.median_days_ci_ = cis.get(0.5, (None, None))
        self.p80_days_ci_ = cis.get(0.8, (None, None))
        self._follow_up(t, s)
        self.context_ = dict(context) if context is not None else None
        return self

    def _bootstrap(self, km: pd.DataFrame, qs: tuple[float, ...]) -> dict[float, tuple]:
        if self.n_bootstrap <= 0 or self.purchases_ == 0:
            return {x: (None, None) for x in qs}
        rng = np.random.default_rng(self.random_state)
        cells = np.concatenate([km.purchases.to_numpy(), km.censored.to_numpy()]).astype(float)
        draws = rng.multinomial(self.n_, cells / cells.sum(), size=self.n_bootstrap)
        m = len(km)
        d, c = draws[:, :m].astype(float), draws[:, m:].astype(float)
        n = (d + c)[:, ::-1].cumsum(axis=1)[:, ::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(n > 0, 1.0 - d / n, 1.0)
        f = 1.0 - np.cumprod(factor, axis=1)
        total = f[:, -1:]
        t = km.duration.to_numpy()
        out = {}
        for x in qs:
            hit = f >= x * total - _TOL
            idx = hit.argmax(axis=1)
            vals = t[idx][total[:, 0] > 0].astype(float)
            if len(vals) == 0:
                out[x] = (None, None)
                continue
            lo, hi = np.quantile(vals, [self.alpha / 2, 1 - self.alpha / 2], method="inverted_cdf")
            out[x] = (int(lo), int(hi))
        return out

    def _follow_up(self, t: np.ndarray, s: np.ndarray) -> None:
        f = 1.0 - s
        total = f[-1]
        w = max(7, math.ceil(0.2 * self.t_max_))
        cut = self.t_max_ - w
        if total <= 0 or cut < 0:
            self.tail_gain_ = None
            self.flattened_ = total <= 0
        else:
            before = f[t <= cut][-1] if (t <= cut).any() else 0.0
            self.tail_gain_ = float((total - before) / total)
            self.flattened_ = bool(self.tail_gain_ <= self.flat_tol)
        if total <= 0:
            self.note_ = CycleNote("nobody bought in this scope: no decision cycle", "no_buyers")
        elif not self.flattened_:
            share = "" if self.tail_gain_ is None else f" ({self.tail_gain_:.0%} of it in the last {w} days)"
            self.note_ = CycleNote(
                f"follow-up is short against the cycle: the share that bought was still rising "
                f"when the data end at {self.t_max_} days{share}, so the cycle is understated; "
                "try --method cure (a mixture-cure model that extrapolates)",
                "short_follow_up", days=self.t_max_, tail=self.tail_gain_, window=w,
            )
        else:
            self.note_ = None

    # --- output ------------------------------------------------------------------------------

    @property
    def summary_(self) -> dict[str, Any]:
        """The headline numbers as a dict (no curve)."""
        return {
            "method": "km",
            **_quantiles(self),
            "km_median_days": self.km_median_days_,
            **_counts(self),
            "flattened": self.flattened_,
            "note": self.note_,
        }

    def asdict(self) -> dict[str, Any]:
        """:attr:`summary_` plus the curve as a list of records."""
        return {**self.summary_, "curve": self.curve_.to_dict(orient="records")}

    def __str__(self) -> str:
        if not self.is_fitted():
            return repr(self)
        s = self.summary_
        lines = [
            f"decision cycle (converters' time to purchase): median {s['median_days']} days "
            f"{s['median_days_ci']}, p80 {s['p80_days']} days {s['p80_days_ci']}",
            f"converted share {s['converted_share']:.1%} of {s['n']} pairs; plain KM median: "
            f"{s['km_median_days']}",
        ]
        if s["note"]:
            lines.append(s["note"])
        return "\n".join(lines)


_BASES = ("weibull", "lognormal")


def _cure_quantile(base: str, params: dict[str, float], q: float) -> float:
    """Time by which a share q of the susceptible pairs has bought (continuous days)."""
    if base == "weibull":
        return params["lambda_"] * (-math.log(1 - q)) ** (1 / params["rho_"])
    return math.exp(params["mu_"] + params["sigma_"] * stats.norm.ppf(q))


class CureCycleFitter(Fitter):
    """Parametric mixture-cure decision cycle (``--method cure``).

    S(t) = c + (1 - c) S_b(t): a share c of the pairs never buys ("cured"), the others buy
    after a time with survival S_b (Weibull or log-normal). Fitted with
    ``lifelines.MixtureCureFitter`` on the aggregated table, each distinct (duration,
    bought) cell weighted by its count. Days are whole local days, so a duration d is taken
    as d + 0.5 (mid-day; day 0 is 0.5) and 0.5 is taken off the fitted quantiles.

    Unlike KM, the fit extrapolates past the end of the data, so it can give a cycle when
    follow-up is short, at the price of a shape assumption. ``median_days_`` / ``p80_days_``
    are quantiles of S_b (the converters' time to purchase, fractional days),
    ``converted_share_`` is 1 - c (the eventual share that buys); intervals use the delta
    method on the log of the quantile. ``km_`` is the KM fit of the same table and
    ``curve_`` its curve with the fitted ``cure_survival`` beside it.

    Parameters:
        base: ``weibull``, ``lognormal`` or ``auto`` (the lower AIC of the two).
        q, alpha: as in :class:`DecisionCycleFitter`.

    Attributes (after :meth:`fit`): ``base_``, ``fitter_`` (the lifelines fit), ``aic_``,
    ``median_days_``, ``p80_days_`` and their ``*_ci_``, ``quantiles_``, ``quantile_cis_``,
    ``converted_share_`` (and ``_ci_``), ``km_``, ``curve_``, ``n_``, ``purchases_``,
    ``censored_``, ``t_max_``, ``context_`` (as in :class:`DecisionCycleFitter`).
    """

    _fitted_attributes = (
        "base_", "fitter_", "aic_", "median_days_", "p80_days_", "median_days_ci_",
        "p80_days_ci_", "quantiles_", "quantile_cis_", "converted_share_", "converted_share_ci_",
        "km_", "curve_", "n_", "purchases_", "censored_", "t_max_", "context_",
    )

    def __init__(self, base: str = "auto", q: tuple[float, ...] = (0.5, 0.8), alpha: float = 0.05):
        self.base = base
        self.q = q
        self.alpha = alpha

    def _fit_one(self, base: str, km: pd.DataFrame):
        import warnings

        from lifelines import LogNormalFitter, MixtureCureFitter, WeibullFitter

        fitter = MixtureCureFitter(WeibullFitter() if base == "weibull" else LogNormalFitter(), alpha=self.alpha)
        dur = np.concatenate([km.duration, km.duration]).astype(float) + 0.5
        event = np.concatenate([np.ones(len(km)), np.zeros(len(km))])
        weights = np.concatenate([km.purchases, km.censored]).astype(float)
        keep = weights > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter.fit(dur[keep], event[keep], weights=weights[keep])
        return fitter

    def fit(self, km_table: Any, *, context: dict[str, Any] | None = None) -> CureCycleFitter:
        """Fit on a table with ``duration``, ``purchases``, ``censored``; returns self.

        ``context`` (category, start, brand...) says what was fitted; kept as ``context_``.
        """
        if self.base not in (*_BASES, "auto"):
            raise AipsError(f"unknown cure base {self.base!r} (weibull, lognormal or auto)")
        km = _check_table(km_table)
        self.n_ = int(km.purchases.sum() + km.censored.sum())
        self.purchases_ = int(km.purchases.sum())
        self.censored_ = int(km.censored.sum())
        self.t_max_ = int(km.duration.max()) if len(km) else 0
        if self.purchases_ < 3:
            raise AipsError("too few purchases for a mixture-cure fit (need at least 3); use --method km")
        candidates = _BASES if self.base == "auto" else (self.base,)
        fits = {}
        for b in candidates:
            try:
                fits[b] = self._fit_one(b, km)
            except Exception as err:  # lifelines raises ConvergenceError and friends
                fits[b] = err
        ok = {b: f for b, f in fits.items() if not isinstance(f, Exception)}
        if not ok:
            raise AipsError(f"the mixture-cure fit did not converge: {next(iter(fits.values()))}")
        self.base_ = min(ok, key=lambda b: ok[b].AIC_)
        fitter = ok[self.base_]
        self.fitter_ = fitter
        self.aic_ = {b: float(f.AIC_) for b, f in ok.items()}
        names = list(fitter.params_.index)
        params = {k: float(v) for k, v in fitter.params_.items()}
        cov = fitter.variance_matrix_.loc[names, names].to_numpy()
        z = stats.norm.ppf(1 - self.alpha / 2)
        self.quantiles_, self.quantile_cis_ = {}, {}
        for x in self.q:
            value = _cure_quantile(self.base_, params, x)
            grad = np.zeros(len(names))
            for i, name in enumerate(names):  # d log(quantile) / d param, numerically
                h = 1e-6 * max(1.0, abs(params[name]))
                up = dict(params, **{name: params[name] + h})
                dn = dict(params, **{name: params[name] - h})
                grad[i] = (math.log(_cure_quantile(self.base_, up, x)) - math.log(_cure_quantile(self.base_, dn, x))) / (2 * h)
            se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
            self.quantiles_[x] = value - 0.5
            self.quantile_cis_[x] = (value * math.exp(-z * se) - 0.5, value * math.exp(z * se) - 0.5)
        c = params["cured_fraction_"]
        c_se = float(np.sqrt(max(cov[names.index("cured_fraction_"), names.index("cured_fraction_")], 0.0)))
        self.converted_share_ = 1.0 - c
        self.converted_share_ci_ = (max(0.0, 1.0 - c - z * c_se), min(1.0, 1.0 - c + z * c_se))
        self.median_days_ = self.quantiles_.get(0.5)
        self.p80_days_ = self.quantiles_.get(0.8)
        self.median_days_ci_ = self.quantile_cis_.get(0.5, (None, None))
        self.p80_days_ci_ = self.quantile_cis_.get(0.8, (None, None))
        # the KM view beside it: its curve (with the fitted cure curve), plain median, flag
        self.km_ = DecisionCycleFitter(n_bootstrap=0, alpha=self.alpha).fit(km)
        curve = self.km_.curve_.copy()
        curve["cure_survival"] = fitter.survival_function_at_times(curve.t.to_numpy() + 0.5).to_numpy()
        self.curve_ = curve
        self.context_ = dict(context) if context is not None else None
        return self

    @property
    def summary_(self) -> dict[str, Any]:
        return {
            "method": f"cure ({self.base_})",
            "km_median_days": self.km_.km_median_days_,
            "km_cycle_median_days": self.km_.median_days_,
            **_quantiles(self),
            **_counts(self),
            "flattened": self.km_.flattened_,
            "aic": self.aic_,
        }

    def asdict(self) -> dict[str, Any]:
        """:attr:`summary_` plus the KM curve with the fitted ``cure_survival``."""
        return {**self.summary_, "curve": self.curve_.to_dict(orient="records")}

    def __str__(self) -> str:
        if not self.is_fitted():
            return repr(self)
        s = self.summary_
        return (
            f"decision cycle, mixture-cure {s['method']}: median {s['median_days']:.1f} days, "
            f"p80 {s['p80_days']:.1f} days; eventual converted share {s['converted_share']:.1%}"
        )


# --- from a view: the KM table of a category and its fitted cycle -------------------------------

KM_STARTS = ("first_touch", "ti")
"""When a pair's clock starts: its first event of the brand, or its first day at TI or above."""


def km_table(view: View, category: str, start: str = "first_touch", brand: str | None = None) -> ibis.Table:
    """The aggregated KM table of a category (unexecuted): ``duration, purchases, censored``."""
    from aips.engine import durations as du

    if start not in KM_STARTS:
        raise ConfigError(f"unknown start {start!r} (first_touch or ti)")
    starts = None
    if start == "ti":
        from aips.engine.timelines import first_reached

        first = first_reached(view.timelines_of(category=category), "TI")
        starts = first.select("user_id", "brand", start_date=first.first_date)
    # the censoring day given, not a max over every event inside the query (a Parquet
    # source's is read from its loads: at 1B events a scan of every file saved)
    return du.km_table(du.cycle_durations(view.events, category, starts=starts, brand=brand,
                                           last_day=view.last_day(),
                                           purchase_event=view.model.purchase_event))


def km_tables(view: View, categories: list[str]) -> dict[str, pd.DataFrame]:
    """The KM tables (``first_touch``, every brand) of several categories from one pass over
    the events: ``{category: frame of duration, purchases, censored}`` (a category without
    pairs is absent). Each equals :func:`km_table` of its category; the report passes them
    to :func:`decision_cycle` (``km=``): at 1B events each category's own table was a scan
    of every event."""
    from aips.engine import durations as du

    names = [c for c in categories if c and c != NO_CATEGORY]
    if not names:
        return {}
    table = du.km_table_by_category(du.cycle_durations_by_category(
        view.events, names, last_day=view.last_day(), purchase_event=view.model.purchase_event))
    frame = table.to_pandas()
    return {c: part.drop(columns="category").reset_index(drop=True) for c, part in frame.groupby("category")}


def decision_cycle(
    view: View,
    category: str | None,
    start: str = "first_touch",
    method: str = "km",
    brand: str | None = None,
    km: pd.DataFrame | None = None,
    **options: Any,
):
    """The decision cycle of a category from Kaplan-Meier (or a mixture-cure model).

    Args:
        view: the store as the model reads it.
        category: the category (None or ``NO_CATEGORY``: the events without a category).
        start: ``first_touch`` (first event of the brand) or ``ti`` (first day at TI or
            above, from the stage timelines).
        method: ``km`` (:class:`DecisionCycleFitter`) or ``cure`` (:class:`CureCycleFitter`).
        brand: only this brand's pairs.
        km: the category's KM table when already computed (:func:`km_tables`), for the
            same ``start`` and ``brand``; else it is computed here.
        options: passed to the fitter (``q``, ``alpha``, ``n_bootstrap``, ``base``...).

    Returns:
        The fitted fitter (``median_days_``, ``p80_days_``, ``asdict()``...).
    """
    if method not in ("km", "cure"):
        raise ConfigError(f"unknown method {method!r} (km or cure)")
    if start not in KM_STARTS:
        raise ConfigError(f"unknown start {start!r} (first_touch or ti)")
    view.require_category(NO_CATEGORY if category is None else category)
    if brand is not None:
        view.require_brands([brand])
    if km is None:
        km = km_table(view, category, start, brand).to_pandas()
    if km.empty:
        raise AipsError(f"no (user, brand) pairs in category {category or NO_CATEGORY!r}"
                        + (f" of brand {brand!r}" if brand else ""))
    context = {"category": category or NO_CATEGORY, "start": start, "brand": brand}
    if method == "km":
        return DecisionCycleFitter(**options).fit(km, context=context)
    if method == "cure":
        return CureCycleFitter(**options).fit(km, context=context)
    raise ConfigError(f"unknown method {method!r} (km or cure)")
