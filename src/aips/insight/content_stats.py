"""The statistics of the content tables: rates with Wilson intervals, lifts, incremental effects.

Computed in Python on the small per-value counts of :func:`aips.insight.content.advance_counts`
(their size does not grow with events or users); the semantics are in :mod:`aips.insight.content`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aips.config.model import STAGE_RANK, STAGES

COLUMNS = (
    "brand", "advance", "from_stage", "to_stage", "dimension", "value", "touched", "advanced",
    "rate", "rate_low", "rate_high", "brand_touched", "brand_advanced", "brand_rate",
    "lift", "lift_low", "lift_high", "supported", "significant", "rank", "cohort",
    "cohort_advanced", "typical_days",
)
"""The columns of :func:`insight_frame`, in order."""


def wilson(k: np.ndarray, n: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (NaN where n = 0).

    >>> lo, hi = wilson(np.array([5]), np.array([20]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.1119, 0.4687)
    """
    from scipy.stats import norm

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def insight_frame(
    counts: pd.DataFrame,
    brand: str,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rates, Wilson intervals and lifts from an executed :func:`advance_counts` table
    (with the :func:`incremental_effects` columns when it has co-touch rows).

    Rows are ranked within each (advance, dimension): supported first, then by lift.
    """
    keys = ["from_stage", "to_stage", "dimension"]
    counts_all = counts
    counts = counts[counts["value2"].isna()] if "value2" in counts else counts.copy()
    counts = counts.copy()
    for col in ("cohort", "cohort_advanced", "typical_days"):
        counts[col] = counts.groupby(keys)[col].transform("max")
    total = counts[counts["value"].isna()][[*keys, "touched", "advanced"]].rename(
        columns={"touched": "brand_touched", "advanced": "brand_advanced"})
    df = counts[counts["value"].notna()].merge(total, on=keys, how="left")
    for col in ("touched", "advanced", "brand_touched", "brand_advanced", "cohort", "cohort_advanced"):
        df[col] = df[col].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        df["rate"] = np.where(df["touched"] > 0, df["advanced"] / df["touched"], np.nan)
        df["brand_rate"] = np.where(df["brand_touched"] > 0, df["brand_advanced"] / df["brand_touched"], np.nan)
        df["rate_low"], df["rate_high"] = wilson(df["advanced"].to_numpy(), df["touched"].to_numpy(), alpha)
        br = df["brand_rate"].where(df["brand_rate"] > 0)
        df["lift"] = df["rate"] / br
        df["lift_low"] = df["rate_low"] / br
        df["lift_high"] = df["rate_high"] / br
    df["brand"] = brand
    df["advance"] = df["from_stage"] + "->" + df["to_stage"]
    extra = []
    if "value2" in counts_all and counts_all["value2"].notna().any():
        inc = incremental_effects(counts_all, alpha)
        df = df.merge(inc, on=[*keys, "value"], how="left")
        extra = ["incremental", "incremental_low", "incremental_high"]
    df["supported"] = df["touched"] >= min_support
    outside = (df["rate_low"] > df["brand_rate"]) | (df["rate_high"] < df["brand_rate"])
    df["significant"] = df["supported"] & outside.fillna(False)
    stage_order = {s: -STAGE_RANK[s] for s in STAGES}
    dims = list(order or []) + sorted(set(df["dimension"]) - set(order or []))
    df = df.assign(_s=df["from_stage"].map(stage_order), _d=df["dimension"].map({d: i for i, d in enumerate(dims)}),
                   _l=df["lift"].fillna(-1.0))
    df = df.sort_values(["_s", "_d", "supported", "_l", "touched", "value"],
                        ascending=[False, True, False, False, False, True])
    df["rank"] = df.groupby(["from_stage", "dimension"]).cumcount() + 1
    return df[[*COLUMNS, *extra]].reset_index(drop=True).replace({np.nan: None})


def incremental_effects(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Each value's incremental advance probability, holding the other values' touches fixed.

    A linear probability model over the cohort of each (advance, dimension): ``advanced ~
    b0 + sum_v b_v [touched by v]``, fitted from the aggregates of :func:`advance_counts` with
    ``cotouch=True`` (cohort size and advancers, touched and advancing members per value, and
    members touched by both of two values: exactly X'X and X'y). ``b_v`` (``incremental``)
    is how much being touched by v adds to the chance of advancing when what else the user
    saw is the same: content seen together with strong content no longer shares its credit.
    ``incremental_low`` / ``incremental_high``: b_v -/+ z x its OLS standard error (the linear
    model's errors are not normal, so read it as a guide). Values below the support of the
    co-touch counts are left out of the model (their members count in the intercept).

    Returns ``from_stage``, ``to_stage``, ``dimension``, ``value``, ``incremental``,
    ``incremental_low``, ``incremental_high``.
    """
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    keys = ["from_stage", "to_stage", "dimension"]
    out = []
    if "value2" not in counts:
        return pd.DataFrame(columns=[*keys, "value", "incremental", "incremental_low", "incremental_high"])
    co = counts[counts["value2"].notna()]
    base = counts[counts["value2"].isna()]
    sizes = base.groupby(keys)[["cohort", "cohort_advanced"]].max()
    for key, pairs in co.groupby(keys):
        if key not in sizes.index:
            continue
        n, ny = (float(x) for x in sizes.loc[key])
        values = sorted(set(pairs["value"]))
        idx = {v: i + 1 for i, v in enumerate(values)}
        p = len(values) + 1
        xtx = np.zeros((p, p))
        xty = np.zeros(p)
        xtx[0, 0], xty[0] = n, ny
        for row in pairs.itertuples(index=False):
            i, j = idx[row.value], idx[row.value2]
            xtx[i, j] = row.touched
            if i == j:
                xtx[0, i] = xtx[i, 0] = row.touched
                xty[i] = row.advanced
        if n <= p:
            continue
        beta, *_ = np.linalg.lstsq(xtx, xty, rcond=None)
        rss = max(ny - beta @ xty, 0.0)
        sigma2 = rss / (n - p)
        cov = sigma2 * np.linalg.pinv(xtx)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        for v, i in idx.items():
            out.append((*key, v, beta[i], beta[i] - z * se[i], beta[i] + z * se[i]))
    return pd.DataFrame(out, columns=[*keys, "value", "incremental", "incremental_low", "incremental_high"])


def strategy_frame(insight: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The content-strategy table: per stage and dimension, the ``top`` values that work best.

    Keeps supported rows with lift > 1, best lift first (:func:`insight_frame` ranking),
    labelled by the stage they move users out of (``stage``: A, I, TI, P).
    """
    good = insight[insight["supported"] & (insight["lift"].astype(float) > 1)]
    good = good.groupby(["from_stage", "dimension"], sort=False).head(top)
    cols = ["brand", "from_stage", "advance", "dimension", "value", "touched", "advanced", "rate",
            "brand_rate", "lift", "lift_low", "lift_high", "significant", "rank"]
    return good[cols].rename(columns={"from_stage": "stage"}).reset_index(drop=True)
