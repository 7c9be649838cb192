"""Feasibility of partial pooling (empirical Bayes) for per-campaign incremental ROI.

Not in the suite, no goal: a study kept so the finding can be reproduced. Per paid campaign
of a cached ``campaign_roi_truth.py`` world it takes the unpooled ``campaign_holdout``
estimate roi_i and its se_i (from :func:`aips.analytics.roi.incremental_roi`), then shrinks
them with random-effects models fitted on the estimates alone (never on the truth) and
prints, per model, the median |relative error| against the simulator's truth (campaigns
with a non-zero truth) and the coverage of the 95 % interval, as ``campaign_roi_truth.py``
scores them. Models:

- ``normal``: roi_i ~ N(theta_i, se_i^2), theta_i ~ N(mu_g, tau_g^2) per group g (all,
  channel, channel x category, brand, channel x brand; a group of < 3 campaigns keeps the
  raw estimate); tau^2 by DerSimonian-Laird or REML; posterior mean mu + (1 - B)(roi - mu),
  B = se^2 / (se^2 + tau^2), variance (1 - B) se^2 + B^2 var(mu) (mu's uncertainty added).
- ``normal+spend``: the same with mu = a_channel + b log(spend) (a meta-regression, REML).
- ``lognormal``: theta_i > 0 with log theta_i ~ N(m_g, s_g^2) (the truth is skewed: the mean
  of a channel is 2-3x its median), m_g and s_g by marginal likelihood on a grid, the
  posterior median and 2.5/97.5 % quantiles by numerical integration over theta.
- ``ratio``: pool the relative lift (exposed / holdout revenue per user - 1) instead of the
  ROI, then scale back by the campaign's own holdout revenue per user x exposed users / spend.

Also printed: what the best pooling could do if the group's prior were known exactly
(``oracle``: the prior's mean and variance taken from the truth itself, per channel), and
how much the truth varies within a channel (sd / mean, and the median |relative error| of
predicting each campaign by the true mean of its group: the floor of pure pooling).

The worlds and stores are those ``campaign_roi_truth.py --preset small --share 0.5`` caches
in its work directory (run it first for each seed); the per-campaign rows are cached in
``--cache`` (~30 s per seed the first time, then ~10 s in all)::

    .venv/bin/python validation/campaign_roi_truth.py --preset small --seed 1 --workdir /tmp/aips-validation
    .venv/bin/python validation/_roi_pooling.py --workdir /tmp/aips-validation --seeds 0 1

Measured (small preset, 80,000 users, share 0.5; seed 0 / seed 1; median |relative error|,
coverage of the 95 % interval; the goal is <= 25 % and >= 90 %):

- unpooled (the product's estimate): 61.7 % / 66.6 %, coverage 93.3 % / 97.8 %.
- the best: the relative lift pooled by channel (normal, REML): 39.1 % / 35.8 %, coverage
  93.3 % / 90.0 %. With a log-normal prior 35.8 % / 32.3 % but coverage 82 % / 81 %. ROI
  itself pooled by channel (REML) 46.8 % / 45.6 %, coverage 83 % / 86 %; by channel x
  category, channel x brand, brand, channel + log spend, channel + brand: 39-75 %, coverage
  56-94 %, none better on both seeds. (Picking the best of these by the truth is itself a
  tuning on the truth: read 36-39 % as optimistic.)
- even an oracle prior (the channel's true mean and variance, or true log-normal) gives
  45-49 % (normal) and 39-43 % (log-normal): pooling is bounded by how much the truth varies
  within a group, and it varies a lot: within a channel the true ROI(T+x) has sd about equal
  to its mean (search_ad 2.12 +- 2.12, feed_ad 0.39 +- 0.66, seed 0), the mean 2-3x the
  median; predicting each campaign by its channel's true median is off by 68 % (median), by
  its channel x category's by 48 %, by its channel x brand's (3 campaigns each, in sample)
  by 28 % / 33 %. The relative lift is more alike (floor 50 % / 42 % by channel) but its log
  still has sd 0.9 within a channel and 0.8 after brand, even regressed on the truth itself.
  Part of that is the truth's own chance: a median campaign causes 9-12 orders in T..T+x.
- a less noisy baseline does not help: the ratio model with the exposed users' true
  counterfactual revenue per user instead of the holdout's gives 39.3 % / 39.4 %.
- audience (semi-synthetic: each estimate's error and se over sqrt(k)): unpooled reaches
  25 % at about 6-8x the audience (measured on a real 480,000-user world: 31.2 %, so the
  semi-synthetic is optimistic), the ratio pooling at about 4-5x (24.6 % / 26.0 % at 4x,
  21.4 % / 23.0 % at 6x) with coverage 91-94 %: pooling roughly halves the audience needed
  but does not reach the goal on the small preset, so the product keeps the unpooled estimate.
- on the demo world (4,000 users, seed 0; ``--preset demo --users 4000 --seeds 0``) the same
  ratio pooling gives 67.8 % but coverage 73.3 % (unpooled 103.9 %, 95.7 %): with campaigns
  this noisy tau is poorly estimated and the plug-in intervals under-cover.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

Z = float(stats.norm.ppf(0.975))


def campaign_rows(world: Path, store: Path) -> list[dict]:
    """Per paid campaign: the unpooled estimate, its se, the truth and the grouping keys."""
    import aips
    from aips.analytics.roi import incremental_roi

    truth = json.loads((world / "truth.json").read_text())
    ws = aips.open(str(store))
    rows = []
    for cid, t in sorted(truth["campaigns"].items()):
        if not t["spend"]:
            continue
        inc = incremental_roi(ws.view, cid, contrast="campaign_holdout")
        r = {"campaign": cid, "brand": t["brand"], "category": t["category"], "channel": t["channel"],
             "spend": t["spend"], "truth": t["incremental_roi_T_x"]}
        if inc is not None:
            r.update({k: inc[k] for k in ("exposed_users", "holdout_users", "exposed_revenue_per_user",
                                          "holdout_revenue_per_user", "lift_per_user", "lift_per_user_se",
                                          "roi", "roi_ci")})
        rows.append(r)
    return rows


# --- random-effects fits (estimates and their se only) -------------------------------------------


def tau2_dl(y: np.ndarray, s: np.ndarray) -> float:
    """DerSimonian-Laird moment estimate of the between-campaign variance."""
    w = 1 / s**2
    mu = (w * y).sum() / w.sum()
    q = (w * (y - mu) ** 2).sum()
    c = w.sum() - (w**2).sum() / w.sum()
    return max(0.0, (q - (len(y) - 1)) / c)


def tau2_reml(y: np.ndarray, s: np.ndarray, X: np.ndarray | None = None) -> float:
    """REML estimate of tau^2 (optionally with a design matrix X for the mean)."""
    X = np.ones((len(y), 1)) if X is None else X

    def nll(log_t2):
        v = s**2 + math.exp(log_t2)
        W = X.T / v
        A = W @ X
        beta = np.linalg.solve(A, W @ y)
        r = y - X @ beta
        return 0.5 * (np.log(v).sum() + np.linalg.slogdet(A)[1] + (r**2 / v).sum())

    scale = max(float(np.var(y)), 1e-12)
    res = optimize.minimize_scalar(nll, bounds=(math.log(scale) - 25, math.log(scale) + 5), method="bounded")
    t2 = math.exp(res.x)
    return 0.0 if t2 < scale * 1e-8 else t2


def shrink(y, s, tau2, X=None):
    """Posterior mean and sd of theta_i given tau^2; mu (or X beta) by GLS, its variance added."""
    X = np.ones((len(y), 1)) if X is None else X
    v = s**2 + tau2
    W = X.T / v
    cov = np.linalg.inv(W @ X)
    beta = cov @ (W @ y)
    mu = X @ beta
    var_mu = np.einsum("ij,jk,ik->i", X, cov, X)
    B = s**2 / v
    post = mu + (1 - B) * (y - mu)
    var = (1 - B) * s**2 + B**2 * var_mu
    return post, np.sqrt(var)


def normal_pool(df: pd.DataFrame, keys: list[str], method: str) -> pd.DataFrame:
    out = df.copy()
    out["est"], out["sd"] = df.roi, df.se
    if not keys:
        groups = [(None, df.index)]
    else:
        groups = list(df.groupby(keys).groups.items())
    for _, idx in groups:
        g = df.loc[idx]
        if len(g) < 3:
            continue
        y, s = g.roi.to_numpy(), g.se.to_numpy()
        t2 = tau2_dl(y, s) if method == "DL" else tau2_reml(y, s)
        post, sd = shrink(y, s, t2)
        out.loc[idx, "est"], out.loc[idx, "sd"] = post, sd
    out["lo"], out["hi"] = out.est - Z * out.sd, out.est + Z * out.sd
    return out


def normal_spend(df: pd.DataFrame) -> pd.DataFrame:
    X = pd.get_dummies(df.channel).astype(float)
    X["log_spend"] = np.log(df.spend) - np.log(df.spend).mean()
    X = X.to_numpy()
    y, s = df.roi.to_numpy(), df.se.to_numpy()
    t2 = tau2_reml(y, s, X)
    post, sd = shrink(y, s, t2, X)
    out = df.copy()
    out["est"], out["sd"] = post, sd
    out["lo"], out["hi"] = post - Z * sd, post + Z * sd
    return out


def _lognormal_grid(y, s, m, sig, grid):
    """Per campaign: prior density x likelihood over a theta grid (rows: campaigns)."""
    with np.errstate(all="ignore"):  # a far-off start of the optimiser underflows; scored as 0
        prior = np.nan_to_num(stats.lognorm.pdf(grid[None, :], sig, scale=math.exp(m)))
    like = stats.norm.pdf(y[:, None], grid[None, :], s[:, None])
    return prior * like


def _lognormal_fit(y, s, grid, dx) -> tuple[float, float]:
    """(m, sig) maximising the marginal likelihood of the estimates under the log-normal prior."""

    def nll(p):
        dens = _lognormal_grid(y, s, p[0], math.exp(p[1]), grid) @ dx
        return -np.log(np.maximum(dens, 1e-300)).sum()

    pos = y[y > 0]
    start = [math.log(np.median(pos)) if len(pos) else -2.0, 0.0]
    res = optimize.minimize(nll, start, method="Nelder-Mead")
    return float(res.x[0]), math.exp(res.x[1])


def _quantiles(grid, cdf, p):
    return grid[np.argmax(cdf >= p, axis=1)]


def lognormal_pool(df: pd.DataFrame, keys: list[str], fixed: dict | None = None) -> pd.DataFrame:
    """log theta ~ N(m_g, sig_g^2): hyperparameters by marginal likelihood (or ``fixed``)."""
    out = df.copy()
    out["est"], out["lo"], out["hi"] = df.roi, df.roi - Z * df.se, df.roi + Z * df.se
    groups = [(None, df.index)] if not keys else list(df.groupby(keys).groups.items())
    for name, idx in groups:
        g = df.loc[idx]
        if len(g) < 3:
            continue
        y, s = g.roi.to_numpy(), g.se.to_numpy()
        grid = np.geomspace(1e-5, max(float((y + 6 * s).max()), 1e-3), 1500)
        dx = np.gradient(grid)
        m, sig = fixed[name] if fixed is not None else _lognormal_fit(y, s, grid, dx)
        cdf = np.cumsum(_lognormal_grid(y, s, m, sig, grid) * dx, axis=1)
        cdf /= cdf[:, -1:]
        out.loc[idx, "est"], out.loc[idx, "lo"], out.loc[idx, "hi"] = (
            _quantiles(grid, cdf, p) for p in (0.5, 0.025, 0.975))
    return out


def additive_pool(df: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """Meta-regression: mu = sum of main effects of ``terms`` (e.g. channel + brand), REML."""
    X = pd.concat([pd.get_dummies(df[t], drop_first=i > 0).astype(float) for i, t in enumerate(terms)], axis=1)
    X = X.to_numpy()
    y, s = df.roi.to_numpy(), df.se.to_numpy()
    post, sd = shrink(y, s, tau2_reml(y, s, X), X)
    out = df.copy()
    out["est"], out["sd"] = post, sd
    out["lo"], out["hi"] = post - Z * sd, post + Z * sd
    return out


def ratio_pool(df: pd.DataFrame, keys: list[str], how: str = "normal") -> pd.DataFrame:
    """Pool the relative lift r = lift / holdout revenue per user; ROI = r x base x n_E / spend.

    ``how``: ``normal`` (REML within groups ``keys``), ``lognormal`` (within groups ``keys``)
    or ``additive`` (a meta-regression on the main effects of ``keys``)."""
    d = df[df.holdout_revenue_per_user > 0].copy()
    scale = d.holdout_revenue_per_user * d.exposed_users / d.spend
    d["roi"], d["se"] = d.roi / scale, d.se / scale  # now the relative lift and its (approx.) se
    pooled = {"normal": lambda: normal_pool(d, keys, "REML"), "lognormal": lambda: lognormal_pool(d, keys),
              "additive": lambda: additive_pool(d, keys)}[how]()
    out = df.copy()
    out["est"], out["lo"], out["hi"] = df.roi, df.roi - Z * df.se, df.roi + Z * df.se
    out.loc[d.index, "est"] = pooled.est * scale
    out.loc[d.index, "lo"] = pooled.lo * scale
    out.loc[d.index, "hi"] = pooled.hi * scale
    return out


def score(out: pd.DataFrame) -> tuple[float, float]:
    """(median |relative error| over non-zero truths, coverage of the interval)."""
    nz = out[out.truth != 0]
    err = float(np.median(np.abs(nz.est - nz.truth) / nz.truth.abs()))
    cov = float(((out.lo <= out.truth) & (out.truth <= out.hi)).mean())
    return err, cov


def heterogeneity(df: pd.DataFrame) -> None:
    print("  truth within a channel: mean, sd, median (a pooled prior is only as good as this)")
    for ch, g in df.groupby("channel"):
        print(f"    {ch:16s} n={len(g):3d} mean {g.truth.mean():6.3f} sd {g.truth.std():6.3f} "
              f"median {g.truth.median():6.3f}")
    nz = df[df.truth != 0]
    for keys in (["channel"], ["channel", "category"], ["channel", "brand"]):
        m = df.groupby(keys).truth.transform("median")[nz.index]
        print(f"  floor: each campaign predicted by its {' x '.join(keys)} true median: median |rel. error| "
              f"{np.median(np.abs(m - nz.truth) / nz.truth):.1%}")
    # the same for the relative lift (truth / (holdout revenue per user x exposed users / spend))
    d = nz[nz.holdout_revenue_per_user > 0]
    r = d.truth / (d.holdout_revenue_per_user * d.exposed_users / d.spend)
    for keys in (["channel"], ["channel", "category"]):
        m = r.groupby([d[k] for k in keys]).transform("median")
        print(f"  floor of the relative lift by its {' x '.join(keys)} true median: "
              f"{np.median(np.abs(m - r) / r):.1%}")
    for terms in (["channel"], ["channel", "brand"]):  # least squares of log r on the truth itself
        X = pd.concat([pd.get_dummies(d[t], drop_first=i > 0).astype(float) for i, t in enumerate(terms)], axis=1)
        beta = np.linalg.lstsq(X.to_numpy(), np.log(r.to_numpy()), rcond=None)[0]
        print(f"  sd of log relative lift around {' + '.join(terms)} (fitted on the truth): "
              f"{np.std(np.log(r.to_numpy()) - X.to_numpy() @ beta):.2f}")


def evaluate(df: pd.DataFrame) -> list[tuple[str, float, float]]:
    base = df.assign(est=df.roi, lo=df.roi - Z * df.se, hi=df.roi + Z * df.se)
    results = [("unpooled", *score(base))]
    for keys in ([], ["channel"], ["channel", "category"], ["brand"], ["channel", "brand"]):
        name = " x ".join(keys) or "all"
        for method in ("DL", "REML"):
            results.append((f"normal {method} by {name}", *score(normal_pool(df, keys, method))))
    results.append(("normal REML channel + log spend", *score(normal_spend(df))))
    for keys in ([], ["channel"], ["channel", "category"]):
        name = " x ".join(keys) or "all"
        results.append((f"lognormal by {name}", *score(lognormal_pool(df, keys))))
        results.append((f"ratio (relative lift) by {name}", *score(ratio_pool(df, keys))))
        if keys:
            results.append((f"ratio lognormal by {name}", *score(ratio_pool(df, keys, "lognormal"))))
    results.append(("normal REML channel + brand (additive)", *score(additive_pool(df, ["channel", "brand"]))))
    results.append(("ratio REML channel + brand (additive)", *score(ratio_pool(df, ["channel", "brand"], "additive"))))
    results.append(("ratio REML channel + category (additive)",
                    *score(ratio_pool(df, ["channel", "category"], "additive"))))
    # the best a channel prior could do: its hyperparameters from the truth itself (not a method)
    fixed = {}
    for ch, g in df.groupby("channel"):
        lt = np.log(g.truth[g.truth > 0])
        fixed[ch] = (float(lt.mean()), float(lt.std()))
    results.append(("ORACLE lognormal prior from truth, by channel", *score(lognormal_pool(df, ["channel"], fixed))))
    oracle = df.copy()
    for _, g in df.groupby("channel"):
        B = g.se**2 / (g.se**2 + g.truth.var())
        post = g.truth.mean() + (1 - B) * (g.roi - g.truth.mean())
        sd = np.sqrt((1 - B) * g.se**2)
        oracle.loc[g.index, "est"], oracle.loc[g.index, "lo"], oracle.loc[g.index, "hi"] = (
            post, post - Z * sd, post + Z * sd)
    results.append(("ORACLE normal prior from truth, by channel", *score(oracle)))
    # the ratio model with a noiseless baseline: the exposed users' true counterfactual revenue
    base = df.exposed_revenue_per_user - df.truth * df.spend / df.exposed_users
    results.append(("ORACLE ratio by channel, true counterfactual base",
                    *score(ratio_pool(df.assign(holdout_revenue_per_user=base), ["channel"]))))
    return results


def audience_scaling(frames: dict[int, pd.DataFrame], factors=(1, 2, 4, 6, 8, 12)) -> None:
    """Semi-synthetic: an audience k times as large shrinks each estimate's error from the
    truth and its se by sqrt(k) (the truth kept); the median error and coverage per model."""
    models = {"unpooled": lambda d: d.assign(est=d.roi, lo=d.roi - Z * d.se, hi=d.roi + Z * d.se),
              "normal REML by channel": lambda d: normal_pool(d, ["channel"], "REML"),
              "ratio (relative lift) by channel": lambda d: ratio_pool(d, ["channel"])}
    print("\naudience k x as large (semi-synthetic: estimate - truth and se over sqrt(k)):")
    print(f"{'model':36s} {'k':>3s} " + " ".join(f"{'err s' + str(s):>8s} {'cov s' + str(s):>8s}" for s in frames))
    for name, fn in models.items():
        for k in factors:
            cells = []
            for df in frames.values():
                d = df.assign(roi=df.truth + (df.roi - df.truth) / math.sqrt(k), se=df.se / math.sqrt(k))
                cells.append(score(fn(d)))
            print(f"{name:36s} {k:3d} " + " ".join(f"{e:8.1%} {c:8.1%}" for e, c in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="/tmp/aips-validation")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--users", type=int, default=80000)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--cache", default="/tmp/roi-pool")
    args = ap.parse_args(argv)
    table, frames = {}, {}
    for seed in args.seeds:
        key = f"campaign-holdout-{args.preset}-u{args.users}-h{args.share}-s{seed}"
        cache = Path(args.cache) / f"{key}.rows.json"
        if not cache.exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            work = Path(args.workdir)
            cache.write_text(json.dumps(campaign_rows(work / key, work / f"{key}.duckdb")))
        df = pd.DataFrame(json.loads(cache.read_text()))
        df = df[df.roi.notna()].reset_index(drop=True)
        df["se"] = (df.roi_ci.str[1] - df.roi_ci.str[0]) / (2 * Z)
        print(f"seed {seed}: {len(df)} campaigns ({key})")
        heterogeneity(df)
        frames[seed] = df
        for name, err, cov in evaluate(df):
            table.setdefault(name, []).append((err, cov))
    print(f"\n{'model':50s} " + " ".join(f"{'err s' + str(s):>8s} {'cov s' + str(s):>8s}" for s in args.seeds))
    for name, vals in table.items():
        print(f"{name:50s} " + " ".join(f"{e:8.1%} {c:8.1%}" for e, c in vals))
    audience_scaling(frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
