"""Issue 17's goal: the planner's split reaches >= 90 % of the true optimum and beats the
last period's split, on two simulated worlds with saturating delivery not used for fitting
any of the planner's settings.

Each world (one category, three brands, wide campaign intensities, saturating delivery per
channel, users joining over 240 days) is simulated, loaded through the normal ingest path, and the planner splits a budget
for Lumiere over the next 30 days to maximise purchases. The simulator's own counterfactual
(:class:`aips.simulate.plan_truth.PlanTruth`: the simulator's journeys run on each plan from
the world's own state on the last day) values the planner's split, the last period's split at
the same total, the even split (a reference) and the true optimum (a grid search of the
counterfactual).

The forecast's backtest (issue 17, item 2) runs on the same worlds: from a past day (day 75
of 120 by default) with the spend that really ran, the curves learning only from the days
before it, the TI crowd on the 30th day after it and the first purchases over those 30 days
are compared with what the world then did: inside the forecast's 90 % interval, and the
error.

Run by hand (bigger worlds): ``python validation/planner_truth.py --users 40000``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import glob
import sys
import tempfile
import time
from pathlib import Path

import aips
from aips.planner.plan import forecast, plan
from aips.simulate import SimulationParams, simulate
from aips.simulate.plan_truth import PAID, PlanTruth
from aips.simulate.presets import default_categories, default_channels

SATURATION = {"feed_ad": 15.0, "search_ad": 8.0, "kol_note": 15.0, "koc_note": 20.0, "topic_challenge": 40.0}
"""Daily spend scale per 1,000 users (about the default campaigns' daily spend)."""
ARRIVAL_DAYS = 240.0
"""Users join over 240 days, so new journeys keep starting after the data ends (each pair has
one journey: with everyone there from day 0, by day 120 nearly every journey has decided and
no plan changes the next 30 days' purchases by much)."""


def world(users: int, seed: int) -> SimulationParams:
    channels = {c: dataclasses.replace(ch, saturation=SATURATION[c], intensity_sigma=0.8,
                                       flights_per_90_days=ch.flights_per_90_days * 2)
                if c in SATURATION else ch for c, ch in default_channels().items()}
    return SimulationParams(users=users, days=120, seed=seed, categories=default_categories()[:1], channels=channels,
                            arrival_days=ARRIVAL_DAYS)


def run(params: SimulationParams, work: Path, brand: str, budget_days: int = 30, backtest_day: int = 75) -> dict:
    t = time.time()
    simulate(work / "world", params, overwrite=True)
    (work / "store.duckdb").unlink(missing_ok=True)  # a store left by an earlier run holds another world
    ws = aips.open(str(work / "store.duckdb"))
    ws.ingest(*sorted(glob.glob(f"{work}/world/events/*/*.parquet")))
    for name in ("campaigns", "categories", "users"):
        ws.ingest(f"{work}/world/{name}.csv", table=name)
    budget = 2.0 * SATURATION["feed_ad"] * params.users / 1000 * budget_days * len(PAID)
    truth = PlanTruth(params, brand, start=params.days, horizon=budget_days, budget=budget)
    result = plan(ws.view, brand, budget, budget_days, "purchases", bootstrap=10)
    first, _ = ws.view.date_range()
    back = forecast(ws.view, brand, first + dt.timedelta(days=backtest_day), budget_days, backtest=True, bootstrap=10)
    ws.close()

    def value(split: dict) -> float:
        return truth.outcome({c: v / budget_days for c, v in split.items()})["purchases"]

    best_split, best = truth.optimum(budget, "purchases", channels=[c for c in PAID if c in result["split"]])
    even = {c: budget / len(result["split"]) for c in result["split"]}
    return {"seed": params.seed, "budget": budget, "planner": value(result["split"]),
            "last": value(result["last_split"]), "even": value(even), "optimum": best, "split": result["split"],
            "best_split": best_split, "backtest": back, "expected": result["expected"], "seconds": time.time() - t}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=6000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[301, 302])
    ap.add_argument("--brand", default="Lumiere")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--backtest-day", type=int, default=75, help="day (from the world's first) the backtest starts")
    args = ap.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="planner_truth_"))
    rows = [run(world(args.users, s), base / f"w{s}", args.brand, backtest_day=args.backtest_day) for s in args.seeds]
    print(f"planner vs the simulator's counterfactual ({args.users} users, brand {args.brand}, goal purchases, 30 days)")
    print("| seed | budget | planner | last split | even split | optimum | planner / optimum | beats last "
          "| planner's own forecast (90 % interval) |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for r in rows:
        share = r["planner"] / r["optimum"]
        beats = r["planner"] > r["last"]
        ok &= share >= 0.9 and beats
        e = r["expected"]
        print(f"| {r['seed']} | {r['budget']:.0f} | {r['planner']:.2f} | {r['last']:.2f} | {r['even']:.2f} | {r['optimum']:.2f} "
              f"| {share:.1%} | {'yes' if beats else 'no'} "
              f"| {e['purchases']:.1f} ({e['purchases_low']:.1f}-{e['purchases_high']:.1f}) |")
    for r in rows:
        print(f"  seed {r['seed']}: planner {({k: round(v) for k, v in r['split'].items()})}; "
              f"optimum {({k: round(v) for k, v in r['best_split'].items()})}; {r['seconds']:.0f} s")
    print()
    print(f"forecast backtest: from day {args.backtest_day} with the spend that ran, 30 days (90 % intervals)")
    print("| seed | from | TI forecast | TI interval | TI actual | inside | error | purchases forecast "
          "| purchases interval | purchases actual | inside | error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = r["backtest"]
        cells = []
        for key in ("TI", "purchases"):
            got, want = b[key], b["actual"][key]
            err = f"{(got - want) / want:+.0%}" if want else "n/a"
            ok &= b["inside"][key]
            cells.append(f"{got:.1f} | {b[key + '_low']:.1f}-{b[key + '_high']:.1f} | {want} | "
                         f"{'yes' if b['inside'][key] else 'no'} | {err}")
        print(f"| {r['seed']} | {b['from']} | {' | '.join(cells)} |")
    print("goal: planner >= 90 % of the optimum and better than the last split, and the backtest's actual TI "
          f"and purchases inside the forecast's intervals: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
