"""Attribution models against the simulator's truth: who is closest to the true incremental shares?

The simulator (:mod:`aips.simulate`) records, per channel, the purchases that would not have
happened with that channel switched off (``truth.json``: ``channels.<c>.incremental``, the
factual world minus the counterfactual, same random numbers). The **true share** of a
channel is its incremental purchases over the sum across channels. Each model's share of a
channel is its credited conversions over the sum across channels (rows ``(none)`` and
``baseline`` left out). The error is half the summed absolute difference of the shares
(0: identical split, 1: disjoint), in percentage points.

Only ``incremental`` estimates caused purchases; the path models credit reach, so their
"shares" answer a different question: this script measures how far that answer is from
the causal one.

Goal (the exit status is 1 when it is missed): ``incremental`` is the model closest to the
true shares.

Run by hand (prints the table, exits 0 when the goal is met)::

    .venv/bin/python validation/attribution_truth.py --seed 0                  # small world (~15M events)
    .venv/bin/python validation/attribution_truth.py --preset demo --seed 0    # a minute, noisy
    .venv/bin/python validation/attribution_truth.py --world DIR --store FILE   # reuse them

tests/test_validation_scripts.py runs it on a small world (``--preset demo --users N``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = ["first", "last", "last_non_organic", "linear", "position", "time_decay", "markov",
          "shapley", "incremental"]
SIDE_TABLES = ("campaigns", "categories", "creators", "users")


def ensure_world(preset: str, seed: int, world: Path | None, users: int | None = None) -> Path:
    """The simulated world (``preset``, with ``users`` users when given), simulated unless there."""
    if world is not None and (world / "truth.json").exists():
        return world
    from aips.simulate import SimulationParams, simulate

    params = SimulationParams.preset(preset, seed=seed, **({"users": users} if users else {}))
    out = world or Path(f"out/validation/world-{preset}-{params.users}-{seed}")
    print(f"simulating the {preset} world ({params.users} users, seed {seed}) into {out} ...", file=sys.stderr)
    print(simulate(out, params, overwrite=True), file=sys.stderr)
    return out


def ensure_store(world: Path, store: Path):
    """A workspace on ``store`` holding the world (ingested unless already there)."""
    from aips.workspace import open_workspace

    ws = open_workspace(str(store))
    if not ws.store.has("events") or ws.events.count().execute() == 0:
        files = sorted((world / "events").rglob("*.parquet"))
        print(f"ingesting {len(files)} event files into {store} ...", file=sys.stderr)
        ws.ingest(*files, table="events", preset="canonical", quarantine_dir=store.parent / "quarantine")
        for name in SIDE_TABLES:
            path = world / f"{name}.csv"
            if path.exists():
                ws.ingest(path, table=name, quarantine_dir=store.parent / "quarantine")
    return ws


def shares(credits: pd.Series) -> pd.Series:
    s = credits.drop([c for c in ("(none)", "baseline") if c in credits.index])
    return s / s.sum()


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 when incremental is the closest model, else 1."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", help="simulator preset (demo, small)")
    ap.add_argument("--users", type=int, help="users of the world (default: the preset's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=100, help="bootstrap refits of the incremental model")
    ap.add_argument("--world", type=Path, help="an existing simulated world (its directory)")
    ap.add_argument("--store", type=Path, help="DuckDB store to use (ingested if empty)")
    ap.add_argument("--metric", default="orders", help="truth metric: orders or first_purchases")
    ap.add_argument("--out", type=Path, help="also write the table (markdown) here")
    args = ap.parse_args(argv)

    world = ensure_world(args.preset, args.seed, args.world, args.users)
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    store = args.store or world.parent / f"{world.name}.duckdb"
    ws = ensure_store(world, store)
    true = pd.Series({c: v["incremental"][args.metric] for c, v in truth["channels"].items()})
    true_share = true / true.sum()

    from aips.analytics.attribution import PATH_MODELS, Incremental, compare_models

    t = time.perf_counter()
    paths = ws.attribution_paths(half_life=7.0).to_pyarrow().to_pandas()  # once, in the backend
    wide = compare_models(paths, PATH_MODELS).set_index("channel")
    t_paths = time.perf_counter() - t
    t = time.perf_counter()
    model = Incremental(bootstrap=args.bootstrap).fit(ws.attribution_chain())
    t_inc = time.perf_counter() - t
    inc = model.credits_.set_index("channel")
    wide["incremental"] = inc["conversions"]

    rows = []
    for m in MODELS:
        if m not in wide.columns:
            continue
        s = shares(wide[m]).reindex(true_share.index).fillna(0.0)
        rows.append({"model": m, "incremental": m == "incremental",
                     **{c: s[c] for c in true_share.index},
                     "error_pts": 100 * 0.5 * float(np.abs(s - true_share).sum())})
    rows.append({"model": "TRUTH (simulator)", "incremental": True,
                 **{c: true_share[c] for c in true_share.index}, "error_pts": 0.0})
    table = pd.DataFrame(rows)
    models = table[table["model"] != "TRUTH (simulator)"].sort_values("error_pts")
    best = models.iloc[0]
    path_best = models[~models["incremental"]].iloc[0]
    paid_true = truth["paid"]["incremental"][args.metric]
    paid_est = inc.drop([c for c in ("baseline", "organic") if c in inc.index])["conversions"].sum()

    lines = [f"World: preset {args.preset}, seed {args.seed} ({world}); truth metric: incremental "
             f"{args.metric} per channel (channel switched off, same random numbers). Paths built "
             f"and the 8 path models fitted in {t_paths:.0f} s; the incremental chain (stage "
             f"timelines, cells, fit and {args.bootstrap} bootstrap refits) in {t_inc:.0f} s.", ""]
    cols = ["model", "incremental", *true_share.index, "error_pts"]
    lines.append("| " + " | ".join(c if c != "error_pts" else "error (pts)" for c in cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for _, r in table.iterrows():
        cells = [r["model"], "yes" if r["incremental"] else "no (reach)"]
        cells += [f"{100 * r[c]:.1f} %" for c in true_share.index]
        cells.append(f"{r['error_pts']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Closest: **{best['model']}**, {best['error_pts']:.1f} points from the true incremental "
        f"shares; the best path model ({path_best['model']}) is {path_best['error_pts']:.1f} points "
        f"away ({path_best['error_pts'] - best['error_pts']:.1f} points worse).",
        f"Only `incremental` estimates caused purchases: paid channels caused {paid_est:,.0f} "
        f"{args.metric} by its estimate, {paid_true:,.0f} in truth; the holdout alone says "
        f"{truth['paid']['holdout']['estimated_incremental_first_purchases']:,.0f} first purchases "
        f"(truth {truth['paid']['incremental']['first_purchases']:,.0f}).",
        "",
        "Incremental intervals (90 %, bootstrap over units, share of channel credit):",
    ]
    ch = inc.drop([c for c in ("baseline",) if c in inc.index])
    tot = ch["conversions"].sum()
    for c, r in ch.iterrows():
        lines.append(f"- {c}: {100 * r['conversions'] / tot:.1f} % "
                     f"[{100 * r['conversions_low'] / tot:.1f}, {100 * r['conversions_high'] / tot:.1f}]"
                     f" vs true {100 * true_share.get(c, 0):.1f} %")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    ws.close()
    met = bool(best["incremental"])
    print(f"\ngoal: incremental is the closest model: {'met' if met else 'MISSED'} (closest: {best['model']})")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
