"""Benchmark: aips attribution vs the ``channelattribution`` package, in the same run.

Datasets (aggregated paths, the input both take):

* ``example``: ChannelAttribution's own example (``Data.csv.gz``: 10,000 paths, 88,387
  journeys, 12 channels);
* ``sim10M``: 10 million journeys drawn from a random 12-channel Markov chain (seeded),
  aggregated to distinct paths.

For each dataset and method the work runs in a fresh subprocess (so peak RSS is the
method's own process); time is the median of ``--repeat`` runs after loading the paths.
``diff`` is the summed absolute difference of the credited conversions from the reference
column, over the total conversions: the package for heuristics and Markov; an independent
brute-force Shapley (the textbook subset formula per coalition, pure Python) for ours.

    .venv/bin/python bench/attribution.py                 # both datasets
    .venv/bin/python bench/attribution.py --journeys 1M   # a smaller simulation
    .venv/bin/python bench/attribution.py --only example

``--store PATH`` instead times the attribution and ROI **commands** on a store (the issue 13
check): ``aips assets`` (one snapshot, the baseline), ``aips attribute --compare``,
``aips attribute --model incremental`` and ``aips roi --campaign C`` (``--campaign``, default
the first campaign), each in a fresh process (median wall of ``--repeat`` runs, peak RSS
from ``wait4``), printed as ratios to ``assets`` measured in the same run:

    .venv/bin/python bench/attribution.py --store /tmp/attr.duckdb --repeat 3

Measured on the ``small`` world (11.95M events, 888k user-brand pairs), one run each, on a
machine shared by several jobs (load average 17 on 2 cores: ratios, not seconds, compare):

=================================== ======= ======== ======== =========================
command                             before  after    RSS      where the time went before
=================================== ======= ======== ======== =========================
``attribute --compare`` (x assets)  19.6x   4.62x    1.51 GiB the chain's timelines, re-
                                    (idle)                    computed per reference
``attribute --model incremental``   --      2.95x    1.26 GiB
``roi --campaign lumiere-feed-ad-1``1.8x    0.76x    0.43 GiB timelines of touched users
=================================== ======= ======== ======== =========================

(before: issue 13's idle figures, 60.8 s and 4.4 GB against 3.1 s for ``assets``.)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "shared" / "data" / "channelattribution-paths" / "Data.csv.gz"
CHANNELS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
            "kappa", "lambda", "mu"]

METHODS = {
    # name: (runner, reference)
    "ours:first/last/linear": ("ours_heuristics", "pkg:heuristics"),
    "pkg:heuristics": ("pkg_heuristics", None),
    "ours:markov k=1": ("ours_markov1", "pkg:markov k=1"),
    "pkg:markov k=1": ("pkg_markov1", None),
    "ours:markov k=3": ("ours_markov3", "pkg:markov k=3"),
    "pkg:markov k=3": ("pkg_markov3", None),
    "ours:shapley": ("ours_shapley", "brute:shapley"),
    "ours:shapley ordered": ("ours_shapley_ordered", None),
    "brute:shapley": ("brute_shapley", None),
}


# --- data ----------------------------------------------------------------------------------


def simulate_journeys(n: int, seed: int = 0, max_len: int = 12) -> pd.DataFrame:
    """Aggregated paths of ``n`` journeys from a random absorbing chain over 12 channels."""
    rng = np.random.default_rng(seed)
    k = len(CHANNELS)
    start = rng.dirichlet(np.full(k, 0.6))
    trans = rng.dirichlet(np.full(k, 0.4), size=k)
    stop = rng.uniform(0.25, 0.45, k)  # per-step end of journey
    conv_p = rng.uniform(0.05, 0.35, k)  # conversion when it ends at this channel
    base = k + 1
    key = np.zeros(n, dtype=np.int64)
    cur = np.searchsorted(np.cumsum(start), rng.random(n) * start.sum())
    cur = np.minimum(cur, k - 1)
    alive = np.ones(n, dtype=bool)
    last = cur.copy()
    for step in range(max_len):
        idx = np.flatnonzero(alive)
        key[idx] = key[idx] * base + cur[idx] + 1
        last[idx] = cur[idx]
        ends = rng.random(len(idx)) < stop[cur[idx]]
        if step == max_len - 1:
            ends[:] = True
        alive[idx[ends]] = False
        go = idx[~ends]
        if not len(go):
            break
        cum = np.cumsum(trans[cur[go]], axis=1)
        nxt = (cum < rng.random(len(go))[:, None]).sum(axis=1)
        cur[go] = np.minimum(nxt, k - 1)
    conv = rng.random(n) < conv_p[last]
    value = np.where(conv, rng.lognormal(3.0, 0.6, n), 0.0)
    uniq, inv = np.unique(key, return_inverse=True)
    conversions = np.bincount(inv, weights=conv, minlength=len(uniq))
    nulls = np.bincount(inv, weights=~conv, minlength=len(uniq))
    val = np.bincount(inv, weights=value, minlength=len(uniq))
    paths = []
    for u in uniq:
        digits = []
        while u:
            u, d = divmod(int(u), base)
            digits.append(CHANNELS[d - 1])
        paths.append(" > ".join(reversed(digits)))
    return pd.DataFrame({"path": paths, "total_conversions": conversions,
                         "total_conversion_value": val, "total_null": nulls})


# --- methods (run in a child process) ---------------------------------------------------------


def _pkg():
    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution as ca
    return ca


def _quiet(fn, *a, **k):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*a, **k)


def ours_heuristics(D):
    from aips.analytics.attribution import FirstTouch, LastTouch, Linear, as_paths, parse_paths

    parsed = parse_paths(as_paths(D))  # one parse for the three models
    out = {}
    for name, cls in (("first", FirstTouch), ("last", LastTouch), ("linear", Linear)):
        c = cls().fit(parsed).credits_
        out.update({f"{name}:{ch}": v for ch, v in zip(c["channel"], c["conversions"], strict=True)})
    return out


def pkg_heuristics(D):
    ca = _pkg()
    h = _quiet(ca.heuristic_models, D, "path", "total_conversions",
               var_value="total_conversion_value", flg_pro=False)
    out = {}
    for name in ("first", "last", "linear"):
        out.update({f"{name}:{ch}": v for ch, v in zip(h["channel_name"], h[f"{name}_touch_conversions"], strict=True)})
    return out


def _ours_markov(D, order):
    from aips.analytics.attribution import Markov

    c = Markov(order=order).fit(D).credits_
    return dict(zip(c["channel"], c["conversions"], strict=True))


def _pkg_markov(D, order):
    ca = _pkg()
    r = _quiet(ca.markov_model, D, "path", "total_conversions", var_value="total_conversion_value",
               var_null="total_null", order=order, flg_pro=False, verbose=False)
    return dict(zip(r["channel_name"], r["total_conversions"], strict=True))


def ours_markov1(D):
    return _ours_markov(D, 1)


def ours_markov3(D):
    return _ours_markov(D, 3)


def pkg_markov1(D):
    return _pkg_markov(D, 1)


def pkg_markov3(D):
    return _pkg_markov(D, 3)


def ours_shapley(D):
    from aips.analytics.attribution import Shapley

    c = Shapley().fit(D).credits_
    return dict(zip(c["channel"], c["conversions"], strict=True))


def ours_shapley_ordered(D):
    from aips.analytics.attribution import Shapley

    c = Shapley(ordered=True).fit(D).credits_
    return dict(zip(c["channel"], c["conversions"], strict=True))


def brute_shapley(D):
    """The textbook formula, coalition by coalition, in plain Python (the oracle)."""
    rate: dict[frozenset, list[float]] = {}
    for path, c, n in zip(D["path"], D["total_conversions"], D["total_null"], strict=True):
        key = frozenset(t.strip() for t in path.split(">") if t.strip())
        acc = rate.setdefault(key, [0.0, 0.0])
        acc[0] += c
        acc[1] += n
    v = {k: (a / (a + b) if a + b else 0.0) for k, (a, b) in rate.items()}
    out: dict[str, float] = {}
    for T, (conv, _) in rate.items():
        if conv == 0:
            continue
        players = sorted(T)
        m = len(players)
        phi = dict.fromkeys(players, 0.0)
        for i, p in enumerate(players):
            others = players[:i] + players[i + 1:]
            for r in range(m):
                w = math.factorial(r) * math.factorial(m - r - 1) / math.factorial(m)
                for S in _combinations(others, r):
                    s = frozenset(S)
                    phi[p] += w * (v.get(s | {p}, 0.0) - v.get(s, 0.0))
        for p in players:
            out[p] = out.get(p, 0.0) + conv * phi[p] / v[T]
    return out


def _combinations(items, r):
    from itertools import combinations

    return combinations(items, r)


def _hwm_mb() -> float:
    """Peak resident set of this process (VmHWM; unlike ru_maxrss it is reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, data: str, repeat: int) -> None:
    """Load the paths, run one method ``repeat`` times; print JSON (time, peak RSS, credits)."""
    D = pd.read_parquet(data)
    fn = globals()[METHODS[method][0]]
    rss0 = _hwm_mb()
    times, credits = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        credits = fn(D)
        times.append(time.perf_counter() - t)
    rss = _hwm_mb()
    print(json.dumps({"seconds": float(np.median(times)), "rss_mb": rss, "rss_loaded_mb": rss0,
                      "credits": {k: float(v) for k, v in credits.items()}}))


# --- driver ----------------------------------------------------------------------------------


def run(method: str, data: Path, repeat: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", method, str(data), str(repeat)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{method} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def diff(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    groups = {k.split(":")[0] for k in keys if ":" in k} or {""}
    total = sum(abs(v) for k, v in b.items()) / max(len(groups), 1)
    return sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys) / total if total else 0.0


def parse_count(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * mult)


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS GiB) of a command run in a fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss / 2**20


def store_bench(store: Path, campaign: str | None, repeat: int) -> None:
    """Time the attribution and ROI commands against ``aips assets`` on one store."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    day = con.sql("select max(local_date) from events").fetchone()[0].isoformat()
    if campaign is None:
        campaign = con.sql("select min(campaign_id) from campaigns").fetchone()[0]
    con.close()
    aips = [str(Path(sys.executable).parent / "aips")]
    cmds = {
        "assets": ["assets", "--at", day],
        "attribute --compare": ["attribute", "--compare"],
        "attribute --model incremental": ["attribute", "--model", "incremental"],
        f"roi --campaign {campaign}": ["roi", "--campaign", campaign],
    }
    res = {}
    for name, args in cmds.items():
        runs = [_timed([*aips, *args, "--store", str(store)]) for _ in range(repeat)]
        res[name] = (float(np.median([r[0] for r in runs])), max(r[1] for r in runs))
        print(f"{name}: {res[name][0]:.1f} s", file=sys.stderr)
    base = res["assets"][0]
    print(f"store {store}; load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| command | wall (s, median) | x assets | peak RSS (GiB) |")
    print("|---|---:|---:|---:|")
    for name, (wall, rss) in res.items():
        print(f"| aips {name} | {wall:.1f} | {wall / base:.2f} | {rss:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, help="time the commands on this store instead")
    ap.add_argument("--campaign", help="campaign for roi (with --store)")
    ap.add_argument("--journeys", default="10M", help="simulated journeys (default 10M)")
    ap.add_argument("--only", choices=["example", "sim"], help="one dataset only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    if args.store:
        store_bench(args.store, args.campaign, args.repeat)
        return
    tmp = Path(tempfile.mkdtemp(prefix="aips-bench-attr-"))
    datasets = []
    if args.only in (None, "example"):
        if EXAMPLE.is_file():
            f = tmp / "example.parquet"
            pd.read_csv(EXAMPLE, sep=";").to_parquet(f)
            datasets.append(("example", f, list(METHODS)))
        else:
            print(f"skipping the example: {EXAMPLE} not found", file=sys.stderr)
    if args.only in (None, "sim"):
        n = parse_count(args.journeys)
        t = time.perf_counter()
        D = simulate_journeys(n)
        f = tmp / "sim.parquet"
        D.to_parquet(f)
        n_paths = len(D)
        del D  # the children measure their own memory; keep the parent small
        print(f"simulated {n:,} journeys -> {n_paths:,} distinct paths in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
        datasets.append((f"sim{args.journeys}", f, list(METHODS)))
    rows = []
    for name, f, methods in datasets:
        D = pd.read_parquet(f)
        info = f"{len(D):,} paths, {int(D.total_conversions.sum() + D.total_null.sum()):,} journeys"
        results = {}
        for m in methods:
            print(f"{name}: {m} ...", file=sys.stderr)
            results[m] = run(m, f, 1 if m.startswith("brute") else args.repeat)
        for m in methods:
            ref = METHODS[m][1]
            r = results[m]
            d = diff(r["credits"], results[ref]["credits"]) if ref in results else None
            rows.append({"dataset": name, "size": info, "method": m, "seconds": r["seconds"],
                         "peak_rss_mb": r["rss_mb"], "rss_after_load_mb": r["rss_loaded_mb"],
                         "reference": ref if d is not None else "", "diff": d})
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| dataset | method | time (s) | peak RSS (MB) | RSS after load (MB) | vs | credit diff |")
    print("|---|---|---:|---:|---:|---|---:|")
    for r in rows:
        d = "" if r["diff"] is None else f"{100 * r['diff']:.3f} %"
        print(f"| {r['dataset']} ({r['size']}) | {r['method']} | {r['seconds']:.3f} | "
              f"{r['peak_rss_mb']:.0f} | {r['rss_after_load_mb']:.0f} | {r['reference']} | {d} |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
