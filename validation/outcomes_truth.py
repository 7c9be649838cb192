"""Outcomes against the simulator's truth: decision cycles and incremental ROI.

Prints three tables:

A. Decision cycles of the demo world (``aips.datasets.load_demo``): the KM decision cycle
   (median and P80, converters' time from first touch to purchase, with bootstrap
   intervals) and the mixture-cure fit against the true cycle of each category
   (``truth.json`` categories.*.true_cycle). Target: medians within 10 % of the truth.
B. Incremental ROI(T+x) per campaign against the true incremental ROI
   (campaigns.*.incremental_roi_T_x: factual minus campaign-off revenue on T..T+x, over
   spend) in a world where each brand runs exactly one paid campaign (one feed-ad flight,
   no other paid channel), so that the holdout contrast measures that campaign alone; with
   more users and a 50 % holdout so the intervals are informative. Target: the truth
   inside the estimate's 95 % interval (about 95 % of campaigns).
C. The same holdout contrast in the demo world, per brand over the whole window, against
   the true incremental revenue of all its paid campaigns (paid.by_brand.*.revenue):
   where campaigns overlap the contrast measures them jointly, which is what this checks.

Goals (the exit status is 1 when one is missed): in A, medians within 10 % of the truth
for at least ``--min-share`` of the categories (default 0.75); in B and C, the truth inside
the 95 % interval for at least ``--min-share`` of the campaigns and of the brands.

Run by hand (minutes; prints the three tables, exits 0 when every goal is met)::

    .venv/bin/python validation/outcomes_truth.py --users 30000 --seed 11 --workdir /tmp/aips-validation

tests/test_validation_scripts.py runs it on a small world (``--users 3000``). Worlds and
stores are cached in the work directory (keyed by the parameters); the demo world of A and
C is the cached one of :func:`aips.datasets.load_demo`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import glob
import json
import math
import sys
import time
from pathlib import Path

import aips
from aips.engine import durations as du
from aips.simulate import SimulationParams, simulate


def _store(world: Path, store_path: Path) -> aips.Workspace:
    """A workspace on a DuckDB store loaded from a simulated world through the normal ingest path."""
    fresh = not store_path.exists()
    ws = aips.open(str(store_path))
    if fresh:
        t = time.time()
        files = sorted(glob.glob(f"{world}/events/*/*.parquet"))
        ws.ingest(*files)
        for name in ("campaigns", "categories", "creators", "users"):
            ws.ingest(f"{world}/{name}.csv", table=name)
        print(f"  loaded {world.name} into {store_path.name} in {time.time() - t:.0f} s", file=sys.stderr)
    return ws


def _table(headers: list[str], rows: list[list]) -> str:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def cycles(ws: aips.Workspace, truth: dict) -> tuple[int, int]:
    """Table A: (categories whose KM median is within 10 % of the truth, categories)."""
    rows, ok = [], 0
    for cat, t in truth["categories"].items():
        true_med, true_p80 = t["true_cycle"]["median_days"], t["true_cycle"]["p80_days"]
        km = ws.decision_cycle(cat)
        try:
            cure = ws.decision_cycle(cat, method="cure")
            cure_med = cure.median_days_
        except aips.AipsError:
            cure_med = None
        err = (km.median_days_ - true_med) / true_med
        ok += abs(err) <= 0.10
        rows.append([
            cat, true_med, km.median_days_, f"[{km.median_days_ci_[0]}, {km.median_days_ci_[1]}]",
            f"{err:+.1%}", true_p80, km.p80_days_, f"[{km.p80_days_ci_[0]}, {km.p80_days_ci_[1]}]",
            cure_med, km.converted_share_, "yes" if km.flattened_ else "NO", km.n_,
        ])
    print(_table(
        ["category", "true med", "KM med", "95% CI", "error", "true p80", "KM p80", "95% CI",
         "cure med", "converted", "flat", "pairs"], rows))
    print(f"medians within 10 % of the truth: {ok} of {len(rows)}")
    return ok, len(rows)


def roi(ws: aips.Workspace, truth: dict) -> tuple[int, int]:
    """Table B: (campaigns whose true incremental ROI is inside the 95 % interval, campaigns)."""
    rows, covered, n, zs = [], 0, 0, []
    for cid, t in sorted(truth["campaigns"].items()):
        if not t["spend"]:
            continue
        r = ws.roi(cid)
        inc = r.incremental_
        true = t["incremental_roi_T_x"]
        lo, hi = inc["roi_ci"]
        inside = lo <= true <= hi
        covered += inside
        n += 1
        z = (inc["roi"] - true) / ((hi - lo) / (2 * 1.959964)) if hi > lo else math.nan
        zs.append(z)
        rows.append([cid, r.x, t["spend"], r.roi_, true, inc["roi"], f"[{lo:.2f}, {hi:.2f}]",
                     "yes" if inside else "NO", f"{z:+.2f}", len(inc["overlapping_campaigns"])])
    print(_table(["campaign", "x", "spend", "attributed", "true iROI", "est. iROI", "95% CI", "covered",
                  "z", "overlap"], rows))
    print(f"true incremental ROI inside the 95 % interval: {covered} of {n} campaigns")
    if len(zs) > 1:
        mean = sum(zs) / len(zs)
        sd = math.sqrt(sum((z - mean) ** 2 for z in zs) / (len(zs) - 1))
        print(f"z = (estimate - truth) / se: mean {mean:+.2f}, sd {sd:.2f} (unbiased, calibrated: 0 and 1)")
    return covered, n


def brands_all_paid(ws: aips.Workspace, truth: dict) -> tuple[int, int]:
    """Table C: (brands whose true paid incremental revenue is inside the 95 % interval, brands)."""
    start = dt.date.fromisoformat(truth["window"]["start_date"])
    end = dt.date.fromisoformat(truth["window"]["end_date"])
    users = ws.store.table("users")
    pop = du.holdout_population(ws.events, users, None, start, None)
    rows, covered = [], 0
    from aips.analytics.roi import incremental_from_groups

    for brand, t in truth["brands"].items():
        groups = du.holdout_groups(ws.events, pop, brand, start, end).to_pandas()
        inc = incremental_from_groups(groups, 1.0)
        true = truth["paid"]["by_brand"][brand]["revenue"]
        if inc is None:  # fewer than two users in a group: no contrast, counted as missed
            rows.append([brand, t["category"], true, None, "-", "NO"])
            continue
        lo, hi = inc["incremental_revenue_ci"]
        covered += lo <= true <= hi
        rows.append([brand, t["category"], true, inc["incremental_revenue"], f"[{lo:,.0f}, {hi:,.0f}]",
                     "yes" if lo <= true <= hi else "NO"])
    print(_table(["brand", "category", "true paid incr. revenue", "estimate", "95% CI", "covered"], rows))
    print(f"inside the 95 % interval: {covered} of {len(rows)} brands")
    return covered, len(rows)


def single_flight_params(users: int, seed: int) -> SimulationParams:
    """One feed-ad flight per brand, no other paid channel, a 50 % holdout."""
    base = SimulationParams.preset("demo", seed=seed)
    days = base.days
    ch = dict(base.channels)
    ch["feed_ad"] = dataclasses.replace(ch["feed_ad"], flights_per_90_days=90 / days, intensity=0.15)
    ch["search_ad"] = dataclasses.replace(ch["search_ad"], intensity=0.0)
    for name in ("kol_note", "koc_note", "topic_challenge"):
        ch[name] = dataclasses.replace(ch[name], flights_per_90_days=0.0)
    return base.replace(users=users, holdout_share=0.5, channels=ch)


def main(argv: list[str] | None = None) -> int:
    """Print the tables; 0 when every goal is met, else 1."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=30000, help="users of the single-flight world (B)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", default="/tmp/aips-validation")
    ap.add_argument("--min-share", type=float, default=0.75,
                    help="share of categories / campaigns / brands that must meet the target")
    args = ap.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    from aips.datasets import load_demo

    demo = load_demo()
    demo_ws = _store(demo, work / f"{demo.name}.duckdb")
    demo_truth = json.loads((demo / "truth.json").read_text())
    print(f"A. decision cycles, demo world ({demo_truth['counts']['users']} users, "
          f"{demo_truth['window']['days']} days, {demo_truth['counts']['events']:,} events)\n")
    goals = {"A. demo medians within 10 %": cycles(demo_ws, demo_truth)}

    params = single_flight_params(args.users, args.seed)
    key = f"single-flight-u{args.users}-s{args.seed}"
    world = work / key
    if not (world / "truth.json").exists():
        t = time.time()
        simulate(world, params, overwrite=True)
        print(f"  simulated {key} in {time.time() - t:.0f} s", file=sys.stderr)
    truth = json.loads((world / "truth.json").read_text())
    ws = _store(world, work / f"{key}.duckdb")
    print(f"\nB. incremental ROI(T+x), one feed-ad flight per brand ({truth['counts']['users']} users, "
          f"{truth['counts']['holdout_users']} in the holdout, {truth['counts']['events']:,} events)\n")
    goals["B. campaigns' true iROI inside the 95 % interval"] = roi(ws, truth)
    print("\n   decision cycles in the same world (informative, no goal: one campaign per brand):\n")
    cycles(ws, truth)

    print("\nC. demo world: holdout contrast per brand over the whole window vs all its paid campaigns\n")
    goals["C. brands' true paid revenue inside the 95 % interval"] = brands_all_paid(demo_ws, demo_truth)
    print(f"\n({time.time() - t0:.0f} s)")
    return _verdict(goals, args.min_share)


def _verdict(goals: dict[str, tuple[int, int]], min_share: float) -> int:
    """Print each goal as met or MISSED; 1 when one is missed."""
    print(f"\ngoals (at least {min_share:.0%} each):")
    missed = 0
    for name, (ok, n) in goals.items():
        met = n > 0 and ok >= min_share * n
        missed += not met
        print(f"  {'met   ' if met else 'MISSED'}  {name}: {ok} of {n}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
