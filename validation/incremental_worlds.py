"""Incremental attribution on every family of worlds with known truth.

Worlds (``validation/_worlds.py``): additive, logistic (multiplicative), stage-skipping
(exposure then purchase, a hazard response), confounded targeting (search ads shown
mostly to people already interested) and a channel that really lowers conversion; each
with and without a 20 % holdout and with and without untouched units. The model is the
one ``aips attribute --model incremental`` runs (:class:`~aips.analytics.attribution.
Incremental`, default settings: response chosen by the data, paid channels calibrated to
the holdout when there is one), fitted on the cells the engine's ``chain_cells`` returns.

Per world the table shows: the error (half the summed absolute difference between the
model's channel shares and the true ones, in points; the truth is each converter's true
lift over no exposure split by exact Shapley values over the true response, in
expectation), the response each step used, the channels with negative credit, the
baseline's share of conversions (true and estimated), and for reference the error of the
same model fitted on the journey as one step (no stage chain), which confounded
targeting fools.

Goals, each row (the exit status is 1 when one is missed): error <= 5 points; a channel's
credit is negative only when the data says it lowers conversion: exactly the channels
whose true credit is negative, each named in the output's note; the baseline between 0
and the conversions; credits summing to the conversions.

Run by hand (about a minute; prints the table, exits 0 when every goal is met)::

    .venv/bin/python validation/incremental_worlds.py --size 1000000

``--size`` is the number of (user, brand) units per world (the ``small`` simulator world
has about 1M). tests/test_validation_scripts.py runs it with ``--size 400000``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _worlds import CHANNELS, FAMILIES, simulate_cells, true_credits  # noqa: E402

MAX_ERROR = 5.0
"""Goal: channel shares within this many points (half-L1) of the truth."""


def _shares(credits: pd.Series) -> pd.Series:
    c = credits.reindex(list(CHANNELS)).fillna(0.0)
    return c / c.sum()


def evaluate(family: str, holdout: bool, untouched: bool, size: int, seed: int) -> dict:
    """One world: the model's errors and the checks of the goals."""
    from aips.analytics.attribution import Incremental
    from aips.analytics.attribution.api import _note
    from aips.analytics.attribution.incremental import ChainData

    truth = true_credits(family, holdout, untouched)
    true_share = _shares(truth)
    steps, profiles, journeys = simulate_cells(family, size, seed, holdout, untouched)
    m = Incremental(bootstrap=0).fit(ChainData(steps, profiles))
    cr = m.credits_.set_index("channel")["conversions"]
    total = float(profiles["conversions"].sum())
    err = 100 * 0.5 * float(np.abs(_shares(cr) - true_share).sum())
    one = Incremental(bootstrap=0).fit(journeys).credits_.set_index("channel")["conversions"]
    err_one = 100 * 0.5 * float(np.abs(_shares(one) - true_share).sum())
    note = _note("incremental", m)
    neg = sorted(c for c in CHANNELS if cr.get(c, 0.0) < -1e-9)
    harmful = sorted(c for c in CHANNELS if truth[c] < 0)
    base = float(cr["baseline"])
    checks = {
        "error": err <= MAX_ERROR,
        "negatives": neg == harmful and all(f"{c} (" in note for c in neg),
        "baseline": -1e-9 <= base <= total + 1e-9,
        "sum": abs(float(cr.sum()) - total) <= 1e-6 * max(total, 1.0),
    }
    return {
        "family": family, "holdout": holdout, "untouched": untouched,
        "conversions": total, "error": err, "responses": "/".join(m.responses_),
        "negative": ", ".join(neg) or "-", "baseline": base / total,
        "true_baseline": float(truth["baseline"] / truth.sum()), "one_step_error": err_one,
        "calibration": m.calibration_, "checks": checks, "met": all(checks.values()),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 when every world meets every goal, else 1."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="(user, brand) units per world")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated families")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for family in args.families.split(","):
        for holdout in (False, True):
            for untouched in (True, False):
                rows.append(evaluate(family, holdout, untouched, args.size, args.seed))

    print(f"Incremental attribution on worlds with known truth: {args.size:,} units per world, "
          f"seed {args.seed}; error = half-L1 distance of channel shares from the truth, in points.\n")
    head = ["family", "holdout", "untouched", "conversions", "response (per step)", "error (pts)",
            "one-step error", "negative credit", "baseline (true)", "goal"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        missed = [k for k, ok in r["checks"].items() if not ok]
        print("| " + " | ".join([
            r["family"], "yes" if r["holdout"] else "no", "yes" if r["untouched"] else "no",
            f"{r['conversions']:,.0f}", r["responses"], f"{r['error']:.1f}", f"{r['one_step_error']:.1f}",
            r["negative"], f"{100 * r['baseline']:.1f} % ({100 * r['true_baseline']:.1f} %)",
            "met" if r["met"] else "MISSED: " + ", ".join(missed)]) + " |")
    errors = [r["error"] for r in rows]
    met = sum(r["met"] for r in rows)
    print(f"\nworst error {max(errors):.1f} points, median {np.median(errors):.1f}; "
          f"one-step model (no stage chain) worst {max(r['one_step_error'] for r in rows):.1f}. "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"goal: every world within {MAX_ERROR:.0f} points, negative credit only where the truth "
          f"is negative (and explained), baseline in [0, total], credits summing to conversions: "
          f"{'met' if met == len(rows) else 'MISSED'} ({met} of {len(rows)} worlds)")
    return 0 if met == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
