"""Benchmark of the stage engine (issue 4) against a hand-written DuckDB query and pandas.

Reproduce (20M events; about 15 minutes on 2 cores, ~8 GB of disk in the work dir):

    .venv/bin/python bench/engine.py                       # 20M events, Spark on 2M
    .venv/bin/python bench/engine.py --events 100000000    # by hand: 100M
    .venv/bin/python bench/engine.py --events 2000000 --spark-events 500000   # quick

Synthetic log (numpy, seeded): N events, N/10 users, 50 brands (10 SPUs each, 10% of events
without SPU) in 5 categories (facial_serum 29 d, infant_food 70 d, others 30 d), 180 days,
each user with 3 favourite brands, so almost every (user, brand, day) has one event (the
worst case for a rollup). Each step runs in its own subprocess (3 repetitions, median;
peak RSS of the process and its children, sampled every 20 ms). Steps:

* ``sql``: a hand-written DuckDB query of the default rules, events -> snapshot (Arrow).
* ``snapshot``: ``aips.engine.snapshot`` on ``events`` (Ibis -> DuckDB -> Arrow).
* ``snapshot_rollup``: the same from the stored ``counters_daily`` rollup.
* ``pandas``: a pandas reference of the same rules (the Parquet read is not timed).
* ``rollup``: building ``counters_daily`` from ``events``.
* ``backfill``: the 180-day daily series stored in ``asset_history`` (one sweep of the rollup).
* ``append``: ``update_history`` after a one-day load: refresh that day's counters, one
  snapshot of the rollup, store the day.
* ``spark_snapshot`` / ``spark_backfill``: PySpark local[2] on a smaller log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2024, 1, 1)
DAYS = 180
AT = START + dt.timedelta(days=DAYS - 1)  # the last day
NEW_DAY = START + dt.timedelta(days=DAYS)
BRANDS = 50
CATEGORIES = ["facial_serum", "infant_food", "makeup", "snacks", "apparel"]
TYPES = ["impression", "read", "search", "like", "follow", "collect", "comment", "share",
         "screenshot", "cart", "store_visit", "purchase", "post"]
PROBS = [0.50, 0.25, 0.05, 0.05, 0.01, 0.03, 0.01, 0.01, 0.005, 0.01, 0.01, 0.01, 0.025]


# --- data ------------------------------------------------------------------------------------


def generate(path: Path, n: int, seed: int = 7, day: int | None = None, chunk: int = 2_000_000) -> None:
    """Write ``n`` synthetic canonical events to Parquet (``day``: all on that day offset)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from aips.store.tables import arrow_schema

    schema = arrow_schema("events")
    rng = np.random.default_rng(seed)
    users = max(n // 10, 1)
    probs = np.array(PROBS) / sum(PROBS)
    writer = pq.ParquetWriter(path, schema)
    done = 0
    while done < n:
        m = min(chunk, n - done)
        user = rng.integers(0, users, m)
        brand = (user * 7 + rng.integers(0, 3, m) * 13) % BRANDS
        etype = rng.choice(len(TYPES), m, p=probs)
        days = rng.integers(0, DAYS, m) if day is None else np.full(m, day)
        secs = rng.integers(0, 86400, m)
        local = (np.datetime64(START.isoformat()) + days.astype("timedelta64[D]")).astype("datetime64[s]")
        local = local + secs.astype("timedelta64[s]")
        is_read = etype == TYPES.index("read")
        dwell = np.where(is_read, rng.exponential(6.0, m).round(1), np.nan)
        completion = np.where(is_read & (rng.random(m) < 0.3), rng.random(m).round(2), np.nan)
        is_buy = etype == TYPES.index("purchase")
        amount = np.where(is_buy, rng.lognormal(4.5, 0.6, m).round(2), np.nan)
        spu_n = rng.integers(0, 10, m)
        has_spu = rng.random(m) >= 0.1

        def strs(prefix, ints, width):
            return pc.binary_join_element_wise(
                prefix, pc.utf8_lpad(pa.array(ints).cast(pa.string()), width, "0"), "")

        brand_s = strs("b", brand, 2)
        spu = pc.if_else(pa.array(has_spu), pc.binary_join_element_wise(brand_s, strs("s", spu_n, 1), "-"), None)
        cols = {
            "event_id": strs("e", np.arange(done, done + m) + (0 if day is None else 10**12), 12),
            "ts": pa.array(local - np.timedelta64(8, "h")).cast(pa.timestamp("us")),
            "local_date": pa.array(local.astype("datetime64[D]")).cast(pa.date32()),
            "user_id": strs("u", user, 8),
            "brand": brand_s,
            "spu": spu,
            "category": pa.array(np.array(CATEGORIES)[brand // 10]),
            "event_type": pa.array(np.array(TYPES)[etype]),
            "dwell_s": pa.array(dwell, from_pandas=True),
            "completion": pa.array(completion, from_pandas=True),
            "amount": pa.array(amount, from_pandas=True),
            "load_id": pa.array(["base" if day is None else f"day{day}"] * m),
        }
        table = pa.table({f.name: cols.get(f.name, pa.nulls(m, f.type)).cast(f.type) for f in schema},
                         schema=schema)
        writer.write_table(table)
        done += m
    writer.close()


def build_base(work: Path, n: int) -> None:
    """Parquet -> DuckDB ``events`` (in date order, as daily loads leave it), plus a copy with
    the rollup and 180 days of history (the state before a daily update)."""
    import duckdb

    parquet, newday = work / "events.parquet", work / "newday.parquet"
    if not parquet.exists():
        t = time.time()
        generate(parquet, n)
        generate(newday, max(n // DAYS, 1), seed=11, day=DAYS)
        print(f"generated {n:,} events in {time.time() - t:.0f} s", flush=True)
    raw = work / "events.duckdb"
    if not raw.exists():
        con = duckdb.connect(str(raw))
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{parquet}') ORDER BY local_date")
        con.close()
    full = work / "history.duckdb"
    if not full.exists():
        import aips

        shutil.copy(raw, work / "tmp.duckdb")
        ws = aips.open(str(work / "tmp.duckdb"))
        t = time.time()
        print(ws.update_series(), f"({time.time() - t:.0f} s)", flush=True)
        ws.close()
        os.replace(work / "tmp.duckdb", full)


# --- the hand-written references -----------------------------------------------------------

HAND_SQL = """
WITH ev AS (
  SELECT user_id, brand, event_type, dwell_s, completion, local_date,
         CASE category WHEN 'facial_serum' THEN 29 WHEN 'infant_food' THEN 70 ELSE 30 END AS cyc
  FROM events
  WHERE local_date <= DATE '{at}' AND local_date > DATE '{at}' - 365
), agg AS (
  SELECT user_id, brand,
    count(*) FILTER (WHERE event_type = 'post') AS post,
    count(*) FILTER (WHERE event_type = 'purchase' AND local_date > DATE '{at}' - cyc) AS purchase,
    count(*) FILTER (WHERE event_type = 'read' AND (coalesce(dwell_s, 0) >= 5 OR coalesce(completion, 0) >= 0.5)
                     AND local_date > DATE '{at}' - 30) AS deep_read,
    count(*) FILTER (WHERE event_type IN ('collect', 'comment', 'share', 'screenshot', 'cart', 'store_visit')
                     AND local_date > DATE '{at}' - 30) AS ti_any,
    count(*) FILTER (WHERE event_type = 'search' AND local_date > DATE '{at}' - 30) AS search,
    count(*) FILTER (WHERE event_type = 'read' AND local_date > DATE '{at}' - 30) AS read,
    count(*) FILTER (WHERE event_type IN ('read', 'like', 'follow', 'search')
                     AND local_date > DATE '{at}' - 30) AS i_any,
    count(*) FILTER (WHERE event_type = 'impression' AND local_date > DATE '{at}' - 30) AS impression
  FROM ev GROUP BY user_id, brand
)
SELECT user_id, brand, stage FROM (
  SELECT user_id, brand, CASE
    WHEN post >= 1 THEN 'S'
    WHEN purchase >= 1 THEN 'P'
    WHEN deep_read >= 2 OR ti_any >= 1 OR (search >= 1 AND read >= 1) THEN 'TI'
    WHEN i_any >= 1 THEN 'I'
    WHEN impression >= 1 THEN 'A' END AS stage
  FROM agg) WHERE stage IS NOT NULL
"""


def pandas_snapshot(df, at: dt.date):
    """The default rules in pandas (vectorised; a reference, not the product)."""
    import numpy as np
    import pandas as pd

    at64 = np.datetime64(at.isoformat())
    age = (at64 - df["local_date"].to_numpy().astype("datetime64[D]")).astype(int)
    cyc = np.where(df["category"].to_numpy() == "facial_serum", 29,
                   np.where(df["category"].to_numpy() == "infant_food", 70, 30))
    t = df["event_type"].to_numpy()
    in30 = (age >= 0) & (age < 30)
    read = t == "read"
    deep = read & ((df["dwell_s"].fillna(0).to_numpy() >= 5) | (df["completion"].fillna(0).to_numpy() >= 0.5))
    flags = pd.DataFrame({
        "user_id": df["user_id"], "brand": df["brand"],
        "post": (t == "post") & (age >= 0) & (age < 365),
        "purchase": (t == "purchase") & (age >= 0) & (age < cyc),
        "deep_read": deep & in30,
        "ti_any": np.isin(t, ["collect", "comment", "share", "screenshot", "cart", "store_visit"]) & in30,
        "search": (t == "search") & in30,
        "read": read & in30,
        "i_any": np.isin(t, ["read", "like", "follow", "search"]) & in30,
        "impression": (t == "impression") & in30,
    })
    flags = flags[(age >= 0) & (age < 365)]
    agg = flags.groupby(["user_id", "brand"], sort=False).sum()
    stage = np.select(
        [agg["post"] >= 1, agg["purchase"] >= 1,
         (agg["deep_read"] >= 2) | (agg["ti_any"] >= 1) | ((agg["search"] >= 1) & (agg["read"] >= 1)),
         agg["i_any"] >= 1, agg["impression"] >= 1],
        ["S", "P", "TI", "I", "A"], default="")
    out = agg.reset_index()[["user_id", "brand"]].assign(stage=stage)
    return out[out["stage"] != ""]


# --- one step (runs in a subprocess) ---------------------------------------------------------


class PeakRSS:
    """Peak resident memory of this process and its children, sampled in a thread."""

    def __init__(self, every: float = 0.02):
        import psutil

        self.proc, self.every, self.peak, self._stop = psutil.Process(), every, 0, False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001 - a child may exit between listing and reading
                pass
        return total

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self._sample())
            time.sleep(self.every)

    def stop(self) -> int:
        self._stop = True
        self._thread.join()
        return max(self.peak, self._sample())


def run_step(step: str, work: Path, reps: int) -> dict:
    rss = PeakRSS()
    times, rows = [], None
    if step == "sql":
        import duckdb

        con = duckdb.connect(str(work / "events.duckdb"), read_only=True)
        for _ in range(reps):
            t = time.perf_counter()
            rows = con.execute(HAND_SQL.format(at=AT.isoformat())).fetch_arrow_table().num_rows
            times.append(time.perf_counter() - t)
    elif step in ("snapshot", "snapshot_rollup"):
        import aips
        from aips.engine import snapshot

        ws = aips.open(str(work / "history.duckdb"))
        src = ws.events if step == "snapshot" else ws.store.table("counters_daily")
        for _ in range(reps):
            t = time.perf_counter()
            rows = snapshot(src, ws.model, AT).to_pyarrow().num_rows
            times.append(time.perf_counter() - t)
    elif step == "pandas":
        import pyarrow.parquet as pq

        cols = ["user_id", "brand", "category", "event_type", "local_date", "dwell_s", "completion"]
        df = pq.read_table(work / "events.parquet", columns=cols).to_pandas()
        for _ in range(reps):
            t = time.perf_counter()
            rows = len(pandas_snapshot(df, AT))
            times.append(time.perf_counter() - t)
    elif step in ("rollup", "backfill", "append"):
        import aips
        from aips.maintain.history import backfill_history

        for _ in range(reps):
            db = work / "scratch.duckdb"
            shutil.copy(work / ("events.duckdb" if step == "rollup" else "history.duckdb"), db)
            ws = aips.open(str(db))
            if step == "append":  # what the ingest layer leaves: the day's events and its load row
                _append_load(ws, work / "newday.parquet")
            t = time.perf_counter()
            if step == "rollup":
                ws.refresh_counters()
            elif step == "backfill":
                backfill_history(ws.store, ws.model, START, AT, refresh=False)
            else:
                result = ws.update_series()
                assert result.appended == [NEW_DAY], result
            times.append(time.perf_counter() - t)
            ws.close()
            db.unlink()
    elif step in ("spark_snapshot", "spark_backfill"):
        from aips._compat.spark import get_or_create_session
        from aips.config.model import default_model
        from aips.engine import asset_series, snapshot
        from aips.store import connect

        session = get_or_create_session("local[2]", **{
            "spark.sql.warehouse.dir": str(work / "spark-warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={work}"})
        store = connect(session)
        events = store.backend.read_parquet(str(work / "spark.parquet")).cache()
        events.count().execute()  # materialise the cache before timing
        model = default_model()
        for _ in range(reps):
            t = time.perf_counter()
            if step == "spark_snapshot":
                rows = snapshot(events, model, AT).to_pyarrow().num_rows
            else:
                rows = asset_series(events, model, START, AT).to_pyarrow().num_rows
            times.append(time.perf_counter() - t)
        session.stop()
    else:
        raise SystemExit(f"unknown step {step}")
    return {"step": step, "times": times, "rows": rows, "peak_rss": rss.stop()}


def _append_load(ws, parquet: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from aips.store.tables import arrow_schema

    day = pq.read_table(parquet)
    ws.store.write("events", day)
    row = {f.name: [None] for f in arrow_schema("loads")}
    row.update(load_id=[day["load_id"][0].as_py()], table_name=["events"],
               min_date=[NEW_DAY], max_date=[NEW_DAY])
    base = dict(row, load_id=["base"], min_date=[START], max_date=[AT])
    loads = pa.concat_tables([pa.table(base, schema=arrow_schema("loads")),
                              pa.table(row, schema=arrow_schema("loads"))])
    ws.store.write("loads", loads, overwrite=True)
    # the base load was already rolled up when the history copy was made
    from aips.maintain.state import read_state, write_state

    state = read_state(ws.store)
    state["load"] = ["base"]
    write_state(ws.store, state)


# --- driver ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--spark-events", type=int, default=2_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None, help="scratch dir (default /tmp/aips-bench-N)")
    ap.add_argument("--steps", default="sql,snapshot,snapshot_rollup,pandas,rollup,backfill,append,spark_snapshot,spark_backfill")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.work or Path(f"/tmp/aips-bench-{args.events}")
    if args.step:
        print(json.dumps(run_step(args.step, work, args.reps)))
        return

    import psutil

    work.mkdir(parents=True, exist_ok=True)
    build_base(work, args.events)
    steps = args.steps.split(",")
    if any(s.startswith("spark") for s in steps) and not (work / "spark.parquet").exists():
        generate(work / "spark.parquet", args.spark_events)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB RAM, python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for step in steps:
        out = subprocess.run([sys.executable, __file__, "--step", step, "--work", str(work),
                              "--reps", str(args.reps)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"step {step} failed")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        res["median"] = statistics.median(res["times"])
        results[step] = res
        print(f"{step:16s} median {res['median']:7.2f} s  runs {[round(x, 2) for x in res['times']]}  "
              f"rows {res['rows']}  peak RSS {res['peak_rss'] / 2**30:.2f} GB", flush=True)
    _report(results, args)


def _report(r: dict, args) -> None:
    def ratio(a, b):
        return r[a]["median"] / r[b]["median"] if a in r and b in r else float("nan")

    print()
    print(f"events: {args.events:,} (DuckDB steps); Spark steps on {args.spark_events:,}; "
          f"load average after: {os.getloadavg()[0]:.1f}")
    print("| step | median (s) | peak RSS (GB) | ratio | goal |")
    print("|---|---|---|---|---|")
    goals = {
        "sql": ("", ""),
        "snapshot": (f"{ratio('snapshot', 'sql'):.2f}x hand SQL", "<= 1.15x"),
        "snapshot_rollup": (f"{ratio('snapshot_rollup', 'sql'):.2f}x hand SQL", ""),
        "pandas": (f"{ratio('pandas', 'snapshot'):.1f}x slower than snapshot", ">= 6x"),
        "rollup": (f"{ratio('rollup', 'snapshot'):.2f}x snapshot", ""),
        "backfill": (f"{ratio('backfill', 'snapshot'):.2f}x snapshot", "<= 3x"),
        "append": (f"{ratio('append', 'snapshot'):.2f}x snapshot", "<= 1.2x"),
        "spark_snapshot": ("", ""),
        "spark_backfill": (f"{ratio('spark_backfill', 'spark_snapshot'):.2f}x Spark snapshot", ""),
    }
    for step, res in r.items():
        g = goals.get(step, ("", ""))
        print(f"| {step} | {res['median']:.2f} | {res['peak_rss'] / 2**30:.2f} | {g[0]} | {g[1]} |")


if __name__ == "__main__":
    main()
