r"""Incremental (data-driven) attribution: what each channel *caused*, plus a baseline.

Path models credit reach: a channel on many converting paths gets credit whether or not it
changed anything. This model estimates cause, along the AIPS stage chain.

**Data** (aggregated in the backend by :func:`aips.engine.chains.chain_cells`). A target is
a chain of K stage advances: reaching I, then TI, then P (the purchase); the target ``I``
is one step, ``TI`` two. For step k the units at risk are the user-brand pairs that
reached the previous stage (step 1: every pair, including, with a ``users`` table, those
nothing ever touched); a unit's *exposure* is the set of channels that touched it during
the step (see ``chain_cells`` for the windows), and the step's cells count ``units`` and
``advances`` per (exposure, holdout). The pairs that completed the chain are aggregated by
their exposure in every step (``profiles``), with their conversions and value.

**Model.** Each step's advance probability is a function of the exposure,
``f_k(S) = P(advance k | exposed to S)``, fitted on the weighted cells. Three parametric
responses: ``logistic`` (log-odds additive in the channels: effects multiply the odds),
``additive`` (probability additive) and ``hazard`` (``-log(1 - p)`` additive: each
exposure adds hazard, ``p = 1 - exp(-H)``). No one of them is right on every kind of
journey (validation/incremental_worlds.py: a logistic fit of a hazard world misses the
shares by 3-5 points, an additive fit of a logistic world with a harmful channel by 40),
so the default, ``auto``, **chooses per step by the data**: the response with the best
binomial log-likelihood on the step's cells (all three have one parameter per channel),
and like ``saturated`` lets a cell with ``min_units`` units keep its own rate. The choice
is in ``responses_`` (and ``response_loglik_``) and the output's note. ``saturated`` is
the cell rates over a logistic fit; ``logistic``, ``additive`` and ``hazard`` force one.
When step 1 has no unexposed units (no ``users`` table and no untouched pair: e.g. a log
of impressions then purchases), the rate of no exposure is not in the data, only an
extrapolation: step 1's channel effects are then held >= 0 (active-set fit, no saturated
cells), so the baseline stays between 0 and the total and no credit turns negative; the
output's note says so (``held_steps_``). With unexposed units the data may say a channel
lowers conversion: its negative credit is shown and the note explains it.
A converter with step exposures :math:`S_1..S_K` converts with probability
:math:`v(S_1..S_K) = \prod_k f_k(S_k)`.

**Credit.** The players are the channels the converter was exposed to; the worth of a
subset R is :math:`\prod_k f_k(S_k \cap R) - \prod_k f_k(\emptyset)`; channels get their
exact Shapley values, and :math:`\prod_k f_k(\emptyset)` is the **baseline** (what would
have converted with no exposure at all). Each converter's conversions and value are
shared in proportion, so credits sum to all conversions exactly.

**Holdout.** Units of holdout users (never shown paid channels) are in the cells, so the
fits see what organic exposure alone does for comparable users. With ``calibrate=True``
(off by default) the paid channels' credits are also scaled by the holdout's own
estimate of what paid media caused (converters per unit, non-holdout minus holdout) over
the model's estimate of the same quantity (each converter's ``1 - v(S without paid) /
v(S)``), and each converter's unpaid part (organic channels and baseline) takes up the
difference in proportion, so no credit turns negative. ``holdout_lift_``, ``paid_converters_`` and ``calibration_`` report
both estimates and the factor.

**Why a chain.** One response over the whole journey mistakes consequences for causes: a
search ad is only shown to people who search, and searching is what Interest looks like,
so "saw a search ad" mostly means "was already interested". Splitting the journey at the
stages and watching each unit for the same time whether it advanced or not removes most
of that. On worlds with known truth (``validation/incremental_worlds.py``: additive,
logistic, stage-skipping, confounded and harmful-channel worlds, each with and without a
holdout and untouched units) the channel shares land within 5 points of the truth (most
within 2), where a one-step model misses confounded worlds by 30-40 points. On the
simulator (``validation/attribution_truth.py``) search ads remain over-credited (within-
stage confounding: who searches more also buys more), the largest error left.

**Intervals.** ``bootstrap`` resamples (default 100) redraw every step's units and the
converters multinomially from the cells (resampling units with replacement, step by
step) and refit; ``conversions_low/high`` and ``share_low/high`` are percentile intervals.

**Degraded inputs.** A single table of cells (``exposure, holdout, units, converters``)
is a one-step chain; an aggregated *path* table is turned into one (each path's channel
set is a cell of its journeys), with no holdout and no untouched units, so its baseline
is only the logistic extrapolation to no exposure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from aips.analytics.attribution.base import AttributionModel, check_channel_names, credits_frame
from aips.analytics.attribution.shapley import _shapley_rows
from aips.analytics.base import Fitter
from aips.config.model import ORGANIC_CHANNELS
from aips.exceptions import ConfigError

BASELINE = "baseline"
RESPONSES = ("auto", "saturated", "logistic", "additive", "hazard")
MAX_LABELS = 62


@dataclass(frozen=True)
class ChainData:
    """What :func:`aips.engine.chains.chain_cells` returns, as pandas frames."""

    steps: pd.DataFrame
    """``step, exposure, holdout, units, advances``."""
    profiles: pd.DataFrame
    """``e1 .. eK, holdout, converters, conversions, value``."""


@dataclass(frozen=True)
class Chain:
    """Parsed chain: exposures as bitmasks over ``channels``."""

    channels: list[str]
    steps: list[dict[str, np.ndarray]]
    """Per step: ``mask``, ``holdout``, ``units``, ``advances``."""
    masks: np.ndarray
    """(profiles x K) exposure masks of the converters."""
    holdout: np.ndarray
    converters: np.ndarray
    conversions: np.ndarray
    value: np.ndarray


def _labels(text: str) -> list[str]:
    out = []
    for term in str(text or "").split("+"):
        term = term.strip()
        if "*" in term:
            term, _, count = term.rpartition("*")
            if count.strip() in ("0", ""):
                continue
            term = term.strip()
        if term:
            out.append(term)
    return out


def _frame(data: Any) -> pd.DataFrame:
    if hasattr(data, "to_pyarrow") and not isinstance(data, pd.DataFrame):
        data = data.to_pyarrow()
    if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
        data = data.to_pandas()
    return pd.DataFrame(data).copy()


def as_chain(data: Any) -> Chain:
    """Parse chain data, a single table of cells, or an aggregated path table."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        data = ChainData(_frame(data[0]), _frame(data[1]))
    elif isinstance(data, dict) and {"steps", "profiles"} <= set(data):
        data = ChainData(_frame(data["steps"]), _frame(data["profiles"]))
    if not isinstance(data, ChainData):
        df = _frame(data)
        if "exposure" not in df.columns and "path" in df.columns:
            from aips.analytics.attribution.base import as_paths

            p = as_paths(df)
            df = pd.DataFrame({
                "exposure": [" + ".join(sorted(set(_labels(s.replace(">", "+"))))) for s in p["path"]],
                "holdout": False, "units": p["conversions"] + p["nulls"],
                "converters": p["conversions"], "conversions": p["conversions"], "value": p["value"],
            }).groupby(["exposure", "holdout"], as_index=False).sum()
        missing = [c for c in ("exposure", "units", "converters") if c not in df.columns]
        if missing:
            raise ConfigError(f"incremental: the cells have no {', '.join(missing)} column "
                              "(expected exposure, holdout, units, converters[, conversions, value])")
        df["holdout"] = df["holdout"] if "holdout" in df else False
        steps = df.assign(step=1, advances=df["converters"])
        prof = df[df["converters"] > 0].rename(columns={"exposure": "e1"})
        data = ChainData(steps, prof)
    st = data.steps.copy()
    pr = data.profiles.copy()
    ecols = sorted((c for c in pr.columns if c.startswith("e") and c[1:].isdigit()),
                   key=lambda c: int(c[1:]))
    K = int(st["step"].max()) if len(st) else len(ecols)
    if len(ecols) != K:
        raise ConfigError(f"incremental: {K} steps but profiles have {len(ecols)} exposure columns")
    texts = pd.concat([st["exposure"], *[pr[c] for c in ecols]]).fillna("").astype(str)
    channels = sorted({x for t in texts.unique() for x in _labels(t)})
    if len(channels) > MAX_LABELS:
        raise ConfigError(f"incremental: {len(channels)} labels; at most {MAX_LABELS} are "
                          "supported (use --by channel)")
    bit = {c: np.int64(1) << np.int64(i) for i, c in enumerate(channels)}
    cache: dict[str, np.int64] = {}

    def mask(text: Any) -> np.int64:
        key = str(text if isinstance(text, str) else "")
        if key not in cache:
            cache[key] = np.int64(sum(int(bit[x]) for x in set(_labels(key))))
        return cache[key]

    for col in ("units", "advances"):
        st[col] = pd.to_numeric(st[col]).fillna(0).astype(float)
    if (st["advances"] > st["units"]).any():
        raise ConfigError("incremental: a cell has more advances than units")
    hold = st["holdout"].fillna(False).astype(bool) if "holdout" in st else pd.Series(False, index=st.index)
    steps = []
    for k in range(1, K + 1):
        sel = st["step"] == k
        steps.append({
            "mask": np.array([mask(x) for x in st.loc[sel, "exposure"]], dtype=np.int64),
            "holdout": hold[sel].to_numpy(bool),
            "units": st.loc[sel, "units"].to_numpy(float),
            "advances": st.loc[sel, "advances"].to_numpy(float),
        })
    for col in ("converters", "conversions", "value"):
        if col not in pr:
            pr[col] = pr["converters"] if col == "conversions" else 0.0
        pr[col] = pd.to_numeric(pr[col]).fillna(0).astype(float)
    masks = np.array([[mask(x) for x in pr[c]] for c in ecols], dtype=np.int64).T.reshape(len(pr), K)
    ph = pr["holdout"].fillna(False).astype(bool).to_numpy() if "holdout" in pr else np.zeros(len(pr), bool)
    return Chain(channels, steps, masks, ph, pr["converters"].to_numpy(float),
                 pr["conversions"].to_numpy(float), pr["value"].to_numpy(float))


# --- response models ------------------------------------------------------------------------


def _bits(masks: np.ndarray, n: int) -> np.ndarray:
    return ((masks[..., None] >> np.arange(n, dtype=np.int64)) & 1).astype(float)


PARAMETRIC = ("logistic", "additive", "hazard")
"""Parametric responses: log-odds, probability, or hazard (``-log(1 - p)``) additive in
the channels; ``auto`` keeps the one with the best binomial log-likelihood per step."""


def _link(kind: str, eta: np.ndarray) -> np.ndarray:
    if kind == "additive":
        return np.clip(eta, 0.0, 1.0)
    if kind == "hazard":
        return 1.0 - np.exp(-np.clip(eta, 0.0, 700.0))
    return 1 / (1 + np.exp(-np.clip(eta, -35, 35)))


def _loglik(p: np.ndarray, u: np.ndarray, a: np.ndarray) -> float:
    """Binomial log-likelihood of rates ``p`` for cells of ``u`` units and ``a`` advances."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float((a * np.log(p) + (u - a) * np.log1p(-p)).sum())


def _solve_or_least_squares(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``solve(A, b)``; the least-squares (minimum-norm) solution when ``A`` is singular: a
    fit without units (a bootstrap draw or group with none) has an unidentified intercept.

    >>> _solve_or_least_squares(np.zeros((1, 1)), np.zeros(1))
    array([0.])
    """
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(A, b, rcond=None)[0]


class _Response(Fitter):
    """``f(S)`` for one step, fitted on weighted cells (units, advances) by exposure mask.

    Results: ``link_`` (the parametric response used: the ``kind``'s, or for ``auto`` the
    one of :data:`PARAMETRIC` with the best log-likelihood on the cells), ``loglik_`` (per
    response tried), ``beta_`` (intercept, then one coefficient per channel), ``known_``
    and ``rate_`` (the masks with ``min_units`` units and their own rates, for
    ``saturated`` and ``auto``), ``unexposed_`` (whether the step had unexposed units;
    without them effects are held >= 0 and only the fit is used).
    """

    _fitted_attributes = ("beta_", "known_", "rate_", "unexposed_", "link_", "loglik_")

    def __init__(self, kind: str, n: int, ridge: float, min_units: float,
                 monotone_if_blind: bool = True, link: str | None = None):
        self.kind = kind
        self.n = n
        self.ridge = ridge
        self.min_units = min_units
        self.monotone_if_blind = monotone_if_blind
        self.link = link

    def fit(self, mask: np.ndarray, units: np.ndarray, adv: np.ndarray) -> _Response:
        uniq, inv = np.unique(mask, return_inverse=True)
        inv = inv.ravel()
        u = np.bincount(inv, weights=units, minlength=len(uniq))
        a = np.bincount(inv, weights=adv, minlength=len(uniq))
        X = np.column_stack([np.ones(len(uniq)), _bits(uniq, self.n)])
        # Without unexposed units the rate of "no exposure" is not in the data, only an
        # extrapolation: then channel effects are held >= 0 (a monotone response), so the
        # baseline cannot exceed the total nor a channel's credit turn negative (issue 15).
        self.unexposed_ = bool(u[uniq == 0].sum() > 0)
        hold = self.monotone_if_blind and not self.unexposed_
        kinds = ((self.link,) if self.link else PARAMETRIC if self.kind == "auto"
                 else ("logistic",) if self.kind == "saturated" else (self.kind,))
        fits = {k: self._fit(k, X, u, a, hold) for k in kinds}
        self.loglik_ = {k: _loglik(_link(k, X @ b), u, a) for k, b in fits.items()}
        self.link_ = max(self.loglik_, key=self.loglik_.get)
        self.beta_ = fits[self.link_]
        big = u >= self.min_units
        if hold or self.kind not in ("saturated", "auto"):  # cell rates could break monotonicity
            big[:] = False
        self.known_ = uniq[big]
        self.rate_ = np.divide(a[big], u[big])
        return self

    def _fit(self, kind: str, X: np.ndarray, u: np.ndarray, a: np.ndarray, hold: bool) -> np.ndarray:
        free = np.ones(X.shape[1], dtype=bool)
        while True:
            beta = self._solve(kind, X[:, free], u, a)
            full = np.zeros(X.shape[1])
            full[free] = beta
            neg = np.flatnonzero(free[1:] & (full[1:] < -1e-12)) + 1
            if not hold or not len(neg):
                return full
            free[neg[np.argmin(full[neg])]] = False  # active set: pin the most negative at 0

    def _solve(self, kind: str, X: np.ndarray, u: np.ndarray, a: np.ndarray) -> np.ndarray:
        pen = self.ridge * np.eye(X.shape[1])
        pen[0, 0] = 0.0
        if kind == "additive":
            return _solve_or_least_squares(X.T @ (X * u[:, None]) + pen, X.T @ a)
        p0 = np.clip(a.sum() / max(u.sum(), 1.0), 1e-9, 1 - 1e-9)
        beta = np.zeros(X.shape[1])
        if kind == "hazard":
            return self._solve_hazard(X, u, a, pen, -np.log1p(-p0))
        beta[0] = np.log(p0 / (1 - p0))
        for _ in range(100):
            p = 1 / (1 + np.exp(-np.clip(X @ beta, -35, 35)))
            w = u * p * (1 - p) + 1e-12
            step = _solve_or_least_squares(X.T @ (X * w[:, None]) + pen, X.T @ (a - u * p) - pen @ beta)
            beta += step
            if np.abs(step).max() < 1e-10:
                break
        return beta

    @staticmethod
    def _solve_hazard(X, u, a, pen, h0) -> np.ndarray:
        """Maximum likelihood of ``p = 1 - exp(-X beta)`` (hazards kept > 0), by L-BFGS-B."""
        from scipy.optimize import minimize

        def nll(beta):
            eta = np.maximum(X @ beta, 1e-10)
            e = np.exp(-eta)
            p = np.maximum(1 - e, 1e-300)
            val = -(a * np.log(p) - (u - a) * eta).sum() + 0.5 * beta @ pen @ beta
            d = np.where(X @ beta > 1e-10, a * e / p - (u - a), 0.0)
            return val, -(X.T @ d) + pen @ beta

        beta = np.zeros(X.shape[1])
        beta[0] = h0
        return minimize(nll, beta, jac=True, method="L-BFGS-B",
                        options={"maxiter": 500, "gtol": 1e-9}).x

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        p = _link(self.link_, self.beta_[0] + _bits(masks, self.n) @ self.beta_[1:])
        if len(self.known_):
            pos = np.clip(np.searchsorted(self.known_, masks), 0, len(self.known_) - 1)
            hit = self.known_[pos] == masks
            p = np.where(hit, self.rate_[pos], p)
        return p


# --- the model ----------------------------------------------------------------------------


class Incremental(AttributionModel):
    """Incremental conversions per channel (Shapley over a fitted stage chain) + baseline.

    Args:
        response: ``auto`` (default: per step, the best-fitting of the parametric responses,
            with well-filled cells at their own rates), ``saturated``, ``logistic``,
            ``additive`` or ``hazard``.
        calibrate: scale paid channels to the holdout's raw estimate when there is a
            holdout (default False: the holdout's units are in the fits either way; its raw
            lift is noisy where the holdout is small, and on the demo world scaling to it
            moved the shares 7 points away from the truth and out of their intervals).
        organic: channels not delivered as paid media (never calibrated).
        bootstrap: resamples for the intervals (0: none). level: their coverage.
        ridge: L2 penalty of the fits. min_units: of a saturated cell. seed: bootstrap.

    Attributes (after ``fit``): ``credits_`` (``incremental`` True on channel rows, False
    on ``baseline``; with a bootstrap ``conversions_low``/``_high``, ``share_low``/``_high``),
    ``holdout_lift_`` (paid converters caused, per the holdout; None without one),
    ``held_steps_`` (steps whose channel effects were held >= 0: step 1 when it had no
    unexposed units, i.e. no untouched users in the data),
    ``paid_converters_`` (the model's), ``calibration_`` (factor applied, 1 if none),
    ``responses_`` (the parametric response of each step) and ``response_loglik_`` (per
    step, the log-likelihood of each response tried).
    """

    name = "incremental"
    incremental = True

    def __init__(self, response: str = "auto", calibrate: bool = False,
                 organic: tuple[str, ...] = ORGANIC_CHANNELS, bootstrap: int = 100,
                 level: float = 0.9, ridge: float = 1e-4, min_units: float = 30.0, seed: int = 0):
        self.response = response
        self.calibrate = calibrate
        self.organic = organic
        self.bootstrap = bootstrap
        self.level = level
        self.ridge = ridge
        self.min_units = min_units
        self.seed = seed

    _fitted_attributes = ("holdout_lift_", "paid_converters_", "calibration_", "held_steps_",
                           "responses_", "response_loglik_")

    def _prepare(self, data: Any) -> Chain:
        if self.response not in RESPONSES:
            raise ConfigError(f"unknown response model {self.response!r} (expected "
                              f"{', '.join(RESPONSES)})")
        check_channel_names("organic", self.organic)
        return as_chain(data)

    def _totals(self, chain: Chain) -> tuple[float, float]:
        return float(chain.conversions.sum()), float(chain.value.sum())

    def _extra_rows(self, chain: Chain) -> pd.DataFrame:
        return credits_frame([], [], [])

    def _credit(self, chain: Chain) -> pd.DataFrame:
        # BLAS on one thread: the fits' matrices are tiny, and scipy >= 1.15's L-BFGS-B (the
        # hazard fit) calls OpenBLAS's LAPACK, whose idle threads then spin on the other
        # cores: 7.5 CPU s instead of 1.4 for the 12M store's fit and bootstrap, same numbers
        with threadpool_limits(limits=1, user_api="blas"):
            return self._credit_one_thread(chain)

    def _credit_one_thread(self, chain: Chain) -> pd.DataFrame:
        first = chain.steps[0] if chain.steps else None
        blind = first is not None and not first["units"][first["mask"] == 0].sum() > 0
        self.held_steps_ = [1] if blind else []
        frac, base = self._fractions(chain, chain.steps)
        self.holdout_lift_, self.paid_converters_ = self._lift(chain, chain.steps, frac)
        frac, base, self.calibration_ = self._calibrated(chain, frac, base, self.holdout_lift_,
                                                         self.paid_converters_)
        out = credits_frame(chain.channels + [BASELINE],
                            np.append(frac.T @ chain.conversions, base @ chain.conversions),
                            np.append(frac.T @ chain.value, base @ chain.value))
        out["incremental"] = [True] * len(chain.channels) + [False]
        if self.bootstrap:
            lo, hi, slo, shi = self._intervals(chain)
            out["conversions_low"], out["conversions_high"] = lo, hi
            out["share_low"], out["share_high"] = slo, shi
        return out

    # --- one fit ---------------------------------------------------------------------------

    def _fractions(self, chain: Chain, steps, links=None) -> tuple[np.ndarray, np.ndarray]:
        """Per converter profile: each channel's share of its conversions, and the baseline's.

        ``links``: the parametric response of each step (None: chosen as ``response`` says,
        recorded in ``responses_`` and ``response_loglik_``; the bootstrap keeps them)."""
        n, K = len(chain.channels), len(steps)
        # only step 1 is held monotone when blind: in later steps every unit carries the
        # touch that moved it into the step (windows include both ends), so none is ever
        # unexposed there by construction, and the fit's extrapolation is the design
        fs = [_Response(self.response, n, self.ridge, self.min_units, monotone_if_blind=k == 0,
                        link=links[k] if links else None).fit(s["mask"], s["units"], s["advances"])
              for k, s in enumerate(steps)]
        if links is None:
            self.responses_ = [f.link_ for f in fs]
            self.response_loglik_ = [f.loglik_ for f in fs]
        union = np.bitwise_or.reduce(chain.masks, axis=1) if K else np.zeros(0, np.int64)
        size = _bits(union, n).sum(axis=1).astype(int) if n else np.zeros(len(union), int)
        frac = np.zeros((len(union), n))
        base = np.ones(len(union))
        paid = np.array([c not in self.organic for c in chain.channels], dtype=bool)
        paid_off = np.zeros(len(union))
        for m in np.unique(size):
            m = int(m)
            rows = np.flatnonzero(size == m)
            if m == 0:
                continue
            # each row has exactly m bits set: row-major nonzero gives them sorted per row
            members = np.nonzero(_bits(union[rows], n))[1].reshape(len(rows), m)
            subs = np.arange(1 << m, dtype=np.int64)
            R = np.zeros((len(rows), len(subs)), dtype=np.int64)
            for j in range(m):
                R |= ((subs[None, :] >> j) & 1) << members[:, j:j + 1].astype(np.int64)
            v = np.ones_like(R, dtype=float)
            for k in range(K):
                v *= fs[k](R & chain.masks[rows, k][:, None])
            phi = _shapley_rows(v - v[:, :1], m)
            full = v[:, -1:]
            ok = full[:, 0] > 0
            share = np.divide(phi, full, out=np.zeros_like(phi), where=full > 0)
            frac[rows[:, None], members] = np.where(ok[:, None], share, 1.0 / m)
            base[rows] = np.where(ok, v[:, 0] / np.where(ok, full[:, 0], 1.0), 0.0)
            # the subset without the paid members: what the converter had with paid media off
            keep = (~paid[members]).astype(np.int64) << np.arange(m, dtype=np.int64)
            v_off = v[np.arange(len(rows)), keep.sum(axis=1)]
            paid_off[rows] = np.where(ok, 1.0 - v_off / np.where(ok, full[:, 0], 1.0), 0.0)
        self._paid_off = paid_off
        return frac, base

    def _lift(self, chain: Chain, steps, frac: np.ndarray, converters: np.ndarray | None = None):
        """(holdout estimate, model estimate) of the non-holdout converters that paid media
        caused, both as "all paid media off" (``converters``: the profiles' converters,
        default the chain's). The model's is each converter's ``1 - v(S without paid) /
        v(S)`` from the last :meth:`_fractions`: the same quantity the holdout measures, so
        the factor is 1 in expectation when the model is right (comparing the holdout with
        the paid channels' Shapley credits instead pushed the paid shares up wherever
        channels interact: validation/interval_coverage.py)."""
        first = steps[0]
        h = first["holdout"]
        if not (h.any() and (~h).any()):
            return None, None
        cv = chain.converters if converters is None else converters
        conv_h = cv[chain.holdout].sum()
        conv_t = cv[~chain.holdout].sum()
        rate_h = conv_h / max(first["units"][h].sum(), 1.0)
        lift = float(conv_t - rate_h * first["units"][~h].sum())
        model = float((self._paid_off[~chain.holdout] * cv[~chain.holdout]).sum())
        return lift, model

    def _calibrated(self, chain, frac, base, lift, model):
        if not self.calibrate or lift is None or not model:
            return frac, base, 1.0
        paid = np.array([c not in self.organic for c in chain.channels], dtype=bool)
        k = max(lift, 0.0) / model
        p = frac[:, paid].sum(axis=1)
        unpaid = 1 - p
        has = unpaid > 1e-12  # rows whose unpaid part can give or take
        k_row = np.where(has, np.minimum(k, np.divide(1.0, p, out=np.full_like(p, np.inf),
                                                       where=p > 0)), 1.0)
        rest = np.divide(1 - k_row * p, unpaid, out=np.ones_like(p), where=has)
        frac = frac.copy()
        frac[:, paid] *= k_row[:, None]
        frac[:, ~paid] *= rest[:, None]
        return frac, base * rest, k

    def _intervals(self, chain: Chain):
        """Bootstrap over units (Poisson weights), with each step's advances tied to the
        converters: a converter is an advance of every step, so a resample redraws the
        converter profiles and, per step cell, the units that stopped in the step and those
        that advanced but did not convert; the step's advances are the latter plus the
        redrawn converters with that exposure. (Drawing the steps and the converters
        independently gave intervals about 25 % too narrow: validation/interval_coverage.py.)"""
        rng = np.random.default_rng(self.seed)
        # per step: which cell each converter profile sits in (exposure, holdout)
        where = []
        for k, s in enumerate(chain.steps):
            key = {(int(m), bool(h)): i for i, (m, h) in enumerate(zip(s["mask"], s["holdout"], strict=True))}
            where.append(np.array([key.get((int(m), bool(h)), -1)
                                   for m, h in zip(chain.masks[:, k], chain.holdout, strict=True)], dtype=np.int64))
        conv_cells = [np.bincount(w[w >= 0], weights=chain.converters[w >= 0], minlength=len(s["units"]))
                      for w, s in zip(where, chain.steps, strict=True)]
        reps = []
        for _ in range(int(self.bootstrap)):
            w = rng.poisson(chain.converters).astype(float)
            ratio = np.divide(w, chain.converters, out=np.zeros_like(w), where=chain.converters > 0)
            steps = []
            for k, s in enumerate(chain.steps):
                conv = np.bincount(where[k][where[k] >= 0], weights=w[where[k] >= 0],
                                   minlength=len(s["units"]))
                mid = np.maximum(s["advances"] - conv_cells[k], 0.0)  # 0 in the last step
                stop = rng.poisson(np.maximum(s["units"] - s["advances"], 0.0))
                adv = rng.poisson(mid) + conv
                steps.append({**s, "advances": adv, "units": adv + stop})
            frac, base = self._fractions(chain, steps, self.responses_)
            lift, model = self._lift(chain, steps, frac, chain.converters * ratio)
            frac, base, _ = self._calibrated(chain, frac, base, lift, model)
            conv = chain.conversions * ratio
            reps.append(np.append(frac.T @ conv, base @ conv))
        reps = np.array(reps)
        a = (1 - self.level) / 2
        shares = reps / np.maximum(reps.sum(axis=1, keepdims=True), 1e-300)
        return (np.quantile(reps, a, axis=0), np.quantile(reps, 1 - a, axis=0),
                np.quantile(shares, a, axis=0), np.quantile(shares, 1 - a, axis=0))
