r"""Ways to cut the variance of per-campaign incremental ROI, measured against the truth.

The per-campaign contrast (:func:`aips.engine.durations.campaign_holdout_groups`: the
campaign's targeted users shown its ads vs held out, y = revenue from the brand on
``max(T, first exposure) .. T+x``) is unbiased and calibrated but noisy (issue 15). This
module measures, on the same world and the same truth, estimators that use only data a
brand has before each user's first (would-be) exposure:

- ``window T..T+x``: y over the whole ROI window (what the contrast used before the
  first-exposure cut), to show what the cut gave;
- regression adjustment (CUPED, pooled within-group slopes, several covariates at once):
  the user's revenue from the brand before their first exposure, their stage on the day
  before it (one-hot, from the stage timelines of the configured rules) and the days they
  had left in the window; the interval uses each group's residual variance (inflated by
  the degrees of freedom the slopes use);
- post-stratification by that stage (difference in means per stage, weighted by the
  stage's exposed users; stages with fewer than 2 users in a group pooled).

Per-user rows never leave the backend: one Ibis query returns, per (campaign, group,
stage), the user count and the sums of y, y², the covariates and their cross products
(:func:`campaign_cells`, a few rows per campaign); every estimator above is exact from
those sums (:func:`moments`, :func:`adjusted`, :func:`poststratified`).

>>> import pandas as pd
>>> cells = pd.DataFrame({"holdout": [False, False, True, True], "stage": ["A", "TI"] * 2,
...     "n": [3, 2, 2, 2], "sy": [0.0, 18.0, 0.0, 4.0], "syy": [0.0, 162.0, 0.0, 10.0]})
>>> round(poststratified(cells)[0], 3)  # (3 x (0 - 0) + 2 x (9 - 2)) / 5 exposed
2.8
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd

from aips.analytics.roi import configured_cycle, incremental_from_groups

STAGES = ("none", "A", "I", "TI", "P", "S")
"""Stage on the day before the first (would-be) exposure; ``none``: no level that day."""
CONTINUOUS = ("r", "d")
"""Continuous covariates: prior brand revenue (``r``), days left in the window (``d``)."""
SUMS = ("sy", "syy", "syT", "syTT", "sr", "srr", "sry", "sd", "sdd", "sdy", "srd")
"""Per-cell sums (``yT``: y over T..T+x)."""


def campaign_windows(view, campaigns: list[str]) -> ibis.Table:
    """``campaign_id, brand, T, win_end`` of paid campaigns (x: the configured cycle)."""
    camps = view.table("campaigns")
    rows = camps.filter(camps.campaign_id.isin(campaigns)).to_pyarrow().to_pylist()
    out = []
    for c in rows:
        x = configured_cycle(view, c["category"])
        out.append({"campaign_id": c["campaign_id"], "brand": c["brand"], "T": c["start_date"],
                    "win_end": c["start_date"] + pd.Timedelta(days=x).to_pytimedelta()})
    return ibis.memtable(pd.DataFrame(out))


def campaign_cells(view, windows: ibis.Table) -> ibis.Table:
    """Per (campaign_id, holdout, stage): ``n`` and :data:`SUMS` over the campaign's
    targeted users first targeted by T+x (the population of the per-campaign contrast)."""
    h = view.table("campaign_holdouts")
    w = windows
    pop = h.join(w, h.campaign_id == w.campaign_id)
    pop = pop.filter(pop.holdout.notnull() & (pop.first_date.isnull() | (pop.first_date <= pop.win_end)))
    pop = pop.select("campaign_id", "user_id", "brand", "T", "win_end",
                     holdout=pop.holdout.cast("boolean"),
                     since=ibis.greatest(pop.first_date.fill_null(pop["T"]), pop["T"]))
    ev = view.events
    buys = ev.filter(ev.event_type == view.model.purchase_event).select(
        _u=ev.user_id, _b=ev.brand, _d=ev.local_date, _a=ev.amount.fill_null(0.0).cast("float64"))
    j = pop.left_join(buys, [pop.user_id == buys._u, pop.brand == buys._b])
    zero = ibis.literal(0.0)
    per = j.group_by(["campaign_id", "user_id", "brand", "holdout", "T", "win_end", "since"]).aggregate(
        y=j._a.sum(where=j._d.between(j.since, j.win_end)).fill_null(zero),
        yT=j._a.sum(where=j._d.between(j["T"], j.win_end)).fill_null(zero),
        r=j._a.sum(where=j._d < j.since).fill_null(zero),
    )
    tl = view.timelines(level="brand")
    tl = tl.select(_u=tl.user_id, _b=tl.brand, _s=tl.start_date, _e=tl.end_date, _stage=tl.stage)
    before = per.since - ibis.interval(days=1)
    k = per.left_join(tl, [per.user_id == tl._u, per.brand == tl._b, tl._s <= before, tl._e >= before])
    u = k.select("campaign_id", "holdout", "y", "yT", "r", stage=k._stage.fill_null("none"),
                 d=(k.win_end.delta(k.since, unit="day") + 1).cast("float64"))
    return u.group_by(["campaign_id", "holdout", "stage"]).aggregate(
        n=u.count().cast("int64"), sy=u.y.sum(), syy=(u.y * u.y).sum(), syT=u.yT.sum(),
        syTT=(u.yT * u.yT).sum(), sr=u.r.sum(), srr=(u.r * u.r).sum(), sry=(u.r * u.y).sum(),
        sd=u.d.sum(), sdd=(u.d * u.d).sum(), sdy=(u.d * u.y).sum(), srd=(u.r * u.d).sum(),
    )


def moments(cells: pd.DataFrame, stages: list[str]) -> np.ndarray:
    """The matrix of sums of z z' over one group's users, z = (1, one dummy per stage of
    ``stages``, r, d, y), from its per-stage rows (exact: dummies are 0/1 and exclusive).

    >>> c = pd.DataFrame({"stage": ["A", "TI"], "n": [2, 1], "sy": [1.0, 4.0], "syy": [1.0, 16.0],
    ...     "sr": [0.0, 2.0], "srr": [0.0, 4.0], "sry": [0.0, 8.0], "sd": [3.0, 1.0],
    ...     "sdd": [5.0, 1.0], "sdy": [2.0, 4.0], "srd": [0.0, 2.0]})
    >>> moments(c, ["A", "TI"])[[0, 1, 2, 5], -1].tolist()  # sum y, sum y|A, sum y|TI, sum y^2
    [5.0, 1.0, 4.0, 17.0]
    """
    k = len(stages)
    m = np.zeros((k + 4, k + 4))
    cont = {"r": ("sr", {"r": "srr", "d": "srd", "y": "sry"}), "d": ("sd", {"r": "srd", "d": "sdd", "y": "sdy"}),
            "y": ("sy", {"r": "sry", "d": "sdy", "y": "syy"})}
    pos = {"r": k + 1, "d": k + 2, "y": k + 3}
    for _, row in cells.iterrows():
        i = 1 + stages.index(row["stage"])
        m[0, 0] += row["n"]
        m[i, i] += row["n"]
        m[0, i] += row["n"]
        for a, (s1, s2) in cont.items():
            m[0, pos[a]] += row[s1]
            m[i, pos[a]] += row[s1]
            for b, s in s2.items():
                if pos[b] >= pos[a]:
                    m[pos[a], pos[b]] += row[s]
    return np.triu(m) + np.triu(m, 1).T


def adjusted(cells: pd.DataFrame, use_stage: bool, cont: tuple[str, ...], min_df: int = 10):
    """Pooled-slope regression adjustment from per-(group, stage) sums: ``(lift per user,
    se, k)``; the plain difference when the slopes would leave fewer than ``min_df``
    degrees of freedom. ``cont`` picks from :data:`CONTINUOUS`."""
    stages = sorted(set(cells.stage))
    k = len(stages)
    cols = ([1 + i for i in range(k)] if use_stage else []) + [k + 1 + CONTINUOUS.index(c) for c in cont]
    g = {}
    for held in (False, True):
        m = moments(cells[cells.holdout == held], stages)
        n = m[0, 0]
        if n < 2:
            return None
        mean = m[0, 1:] / n
        c = m[1:, 1:] - n * np.outer(mean, mean)
        g[held] = (n, mean, c)
    yi = k + 2  # y's index in the centred matrix (without the leading 1)
    xi = [i - 1 for i in cols]
    sxx = g[False][2][np.ix_(xi, xi)] + g[True][2][np.ix_(xi, xi)]
    sxy = g[False][2][xi, yi] + g[True][2][xi, yi]
    rank = int(np.linalg.matrix_rank(sxx)) if xi else 0
    n1, n0 = g[False][0], g[True][0]
    if n1 + n0 - 2 - rank < min_df:
        xi, rank = [], 0
    theta = np.linalg.pinv(sxx) @ sxy if xi else np.zeros(0)
    lift = g[False][1][yi] - g[True][1][yi] - (theta @ (g[False][1][xi] - g[True][1][xi]) if xi else 0.0)

    def resid_var(n, c):
        v = c[yi, yi] - (2 * theta @ c[xi, yi] - theta @ c[np.ix_(xi, xi)] @ theta if xi else 0.0)
        return max(v, 0.0) / (n - 1)

    var = resid_var(n1, g[False][2]) / n1 + resid_var(n0, g[True][2]) / n0
    var *= (n1 + n0 - 2) / (n1 + n0 - 2 - rank)
    return float(lift), math.sqrt(var), rank


def poststratified(cells: pd.DataFrame):
    """Per-stage difference in means weighted by exposed users: ``(lift per exposed user,
    se)``; stages with fewer than 2 users in a group are pooled into one stratum."""
    if set(cells.holdout.astype(bool)) != {False, True}:
        return None
    by = cells.pivot_table(index="stage", columns="holdout", values=["n", "sy", "syy"], aggfunc="sum",
                           fill_value=0)
    small = (by[("n", False)] < 2) | (by[("n", True)] < 2)
    cells_ = by[~small].copy()
    if small.any():  # pooled; still too small: into the largest stratum
        pool = by[small].sum()
        if (pool[("n", False)] < 2 or pool[("n", True)] < 2) and len(cells_):
            big = cells_[("n", False)].idxmax()
            cells_.loc[big] = cells_.loc[big] + pool
        else:
            cells_.loc["pooled"] = pool
    n1_all = by[("n", False)].sum()
    total = var = 0.0
    for _, s in cells_.iterrows():
        n1, n0 = s[("n", False)], s[("n", True)]
        if n1 == 0:
            continue
        if n1 < 2 or n0 < 2:
            return None
        m1, m0 = s[("sy", False)] / n1, s[("sy", True)] / n0
        v1 = (s[("syy", False)] - n1 * m1 * m1) / (n1 - 1)
        v0 = (s[("syy", True)] - n0 * m0 * m0) / (n0 - 1)
        total += n1 * (m1 - m0)
        var += n1 * n1 * (max(v1, 0) / n1 + max(v0, 0) / n0)
    return float(total / n1_all), float(math.sqrt(var) / n1_all)


def _plain(cells: pd.DataFrame, y: str = "y", x: str | None = None):
    g = cells.groupby("holdout").sum(numeric_only=True).reset_index()
    groups = pd.DataFrame({"holdout": g.holdout, "n": g.n, "sum_y": g[f"s{y}"], "sum_y2": g[f"s{y}{y}"]})
    if x is not None:
        groups = groups.assign(sum_x=g[f"s{x}"], sum_x2=g[f"s{x}{x}"], sum_xy=g[f"s{x}y"])
    inc = incremental_from_groups(groups, 1.0)
    return None if inc is None else (inc["lift_per_user"], inc["lift_per_user_se"])


IDEAS = {
    "first..T+x (the default)": lambda c: _plain(c),
    "b. window T..T+x (before the cut)": lambda c: _plain(c.rename(columns={"syT": "sY", "syTT": "sYY"}), "Y"),
    "a. CUPED: prior brand revenue": lambda c: _plain(c, x="r"),
    "a. stage the day before (one-hot)": lambda c: adjusted(c, True, ()),
    "a. stage + prior revenue + days left": lambda c: adjusted(c, True, ("r", "d")),
    "c. post-stratified by stage": poststratified,
}
"""Idea -> estimator over one campaign's cells: ``(lift per exposed user, se, ...)`` or None."""


def ideas_table(view, truth: dict, z: float = 1.959964) -> list[dict]:
    """Per idea: campaigns, median |relative error|, coverage of the 95 % interval, z mean
    and sd, median se over the default's se (1: no variance cut)."""
    import statistics

    paid = {cid: t for cid, t in sorted(truth["campaigns"].items()) if t["spend"]}
    cells = campaign_cells(view, campaign_windows(view, list(paid))).to_pandas()
    by = dict(tuple(cells.groupby("campaign_id")))
    out, base = [], {}
    for name, f in IDEAS.items():
        errs, covered, zs, ratios, k = [], 0, [], [], 0
        for cid, t in paid.items():
            res = f(by[cid]) if cid in by else None
            if res is None:
                continue
            k += 1
            n1 = int(by[cid].loc[~by[cid].holdout.astype(bool), "n"].sum())
            est, se = res[0] * n1 / t["spend"], res[1] * n1 / t["spend"]
            true = t["incremental_roi_T_x"]
            base.setdefault(cid, se)
            if true:
                errs.append(abs(est - true) / abs(true))
            covered += est - z * se <= true <= est + z * se
            if se > 0:
                zs.append((est - true) / se)
            if base[cid] > 0:
                ratios.append(se / base[cid])
        out.append({"idea": name, "campaigns": k, "median_error": statistics.median(errs),
                    "coverage": covered / k, "z_mean": statistics.mean(zs), "z_sd": statistics.stdev(zs),
                    "se_ratio": statistics.median(ratios)})
    return out


def print_ideas(rows: list[dict]) -> None:
    """The ideas table (markdown)."""
    print("| idea | campaigns | median abs. relative error | 95 % coverage | z mean | z sd | se / default se |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['idea']} | {r['campaigns']} | {r['median_error']:.1%} | {r['coverage']:.1%} | "
              f"{r['z_mean']:+.2f} | {r['z_sd']:.2f} | {r['se_ratio']:.3f} |")
