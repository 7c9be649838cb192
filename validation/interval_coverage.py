"""Do the incremental model's 90 % intervals contain the truth 90 % of the time?

One world of ``validation/_worlds.py`` (default: the confounded family, with a holdout and
untouched units) is drawn again with each of ``--seeds`` seeds; on each draw the model
(:class:`~aips.analytics.attribution.Incremental`, default settings, ``--bootstrap``
resamples) gives each channel's share of conversions with its 90 % interval
(``share_low``, ``share_high``). The truth is the channel's expected credit over the
expected conversions, exactly from the world's probabilities. The table gives, per
channel, how often the interval contained the truth, the mean estimate and interval
width, and the bias.

Goal (the exit status is 1 when it is missed): over all (seed, channel) intervals, the
coverage is within 85-95 % (``--band``); with few seeds the band is widened to the 95 %
binomial range of a 90 % coverage (``--binomial``), so a small run asserts something
that can fail without failing by chance.

Run by hand (a few minutes; prints the table)::

    .venv/bin/python validation/interval_coverage.py --seeds 50 --size 100000

tests/test_validation_scripts.py runs ``--seeds 20 --size 30000 --bootstrap 60 --binomial``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _worlds import CHANNELS, simulate_cells, true_credits  # noqa: E402


def one_seed(family: str, holdout: bool, untouched: bool, size: int, seed: int,
             bootstrap: int, response: str = "auto") -> pd.DataFrame:
    """Per channel: estimate, interval and truth on one draw of the world."""
    from aips.analytics.attribution import Incremental
    from aips.analytics.attribution.incremental import ChainData

    truth = true_credits(family, holdout, untouched)
    share = truth / truth.sum()
    steps, profiles, _ = simulate_cells(family, size, seed, holdout, untouched)
    cr = Incremental(response=response, bootstrap=bootstrap, seed=seed).fit(ChainData(steps, profiles)).credits_
    cr = cr.set_index("channel").reindex(list(CHANNELS))
    return pd.DataFrame({"seed": seed, "channel": list(CHANNELS), "truth": share[list(CHANNELS)].to_numpy(),
                         "share": cr["share"].to_numpy(), "low": cr["share_low"].to_numpy(),
                         "high": cr["share_high"].to_numpy()})


def main(argv: list[str] | None = None) -> int:
    """Print the coverage table; 0 when the coverage is in the band, else 1."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", default="confounded")
    ap.add_argument("--no-holdout", action="store_true", help="the world without a holdout")
    ap.add_argument("--no-untouched", action="store_true", help="the world without untouched units")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--size", type=int, default=100_000, help="(user, brand) units per world")
    ap.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples per fit")
    ap.add_argument("--response", default="auto", help="response model of the fits (default auto)")
    ap.add_argument("--band", default="0.85,0.95", help="goal: coverage within these bounds")
    ap.add_argument("--binomial", action="store_true",
                    help="widen the band to the 95 %% binomial range of a 90 %% coverage")
    args = ap.parse_args(argv)
    holdout, untouched = not args.no_holdout, not args.no_untouched
    t0 = time.perf_counter()
    runs = pd.concat([one_seed(args.family, holdout, untouched, args.size, s, args.bootstrap, args.response)
                      for s in range(args.seeds)], ignore_index=True)
    runs["covered"] = (runs["low"] <= runs["truth"]) & (runs["truth"] <= runs["high"])
    per = runs.groupby("channel", sort=False).agg(
        truth=("truth", "first"), mean_estimate=("share", "mean"), sd_estimate=("share", "std"),
        mean_width=("high", "mean"), covered=("covered", "mean"))
    per["mean_width"] -= runs.groupby("channel", sort=False)["low"].mean()
    per["bias"] = per["mean_estimate"] - per["truth"]
    n = len(runs)
    cov = float(runs["covered"].mean())
    lo, hi = (float(x) for x in args.band.split(","))
    if args.binomial:  # a 90 % coverage seen through n intervals
        lo = min(lo, stats.binom.ppf(0.025, n, 0.9) / n)
        hi = max(hi, stats.binom.ppf(0.975, n, 0.9) / n)

    print(f"90 % intervals of the incremental model over {args.seeds} seeds of the {args.family} world "
          f"(holdout: {'yes' if holdout else 'no'}, untouched units: {'yes' if untouched else 'no'}, "
          f"{args.size:,} units, {args.bootstrap} bootstrap resamples per fit); shares of conversions.\n")
    print("| channel | true share | mean estimate | sd of estimates | bias (pts) | mean interval width | covered |")
    print("|---|---|---|---|---|---|---|")
    for c, r in per.iterrows():
        print(f"| {c} | {100 * r['truth']:.2f} % | {100 * r['mean_estimate']:.2f} % | "
              f"{100 * r['sd_estimate']:.2f} | {100 * r['bias']:+.2f} | {100 * r['mean_width']:.2f} | "
              f"{100 * r['covered']:.0f} % |")
    print(f"\ncoverage: {100 * cov:.1f} % of {n} intervals ({time.perf_counter() - t0:.0f} s)")
    met = lo <= cov <= hi
    print(f"goal: coverage within {100 * lo:.1f}-{100 * hi:.1f} %: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
