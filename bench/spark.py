"""DuckDB against Spark local[2] (through Spark Connect) on the same log, in one run (issue 14).

Reproduce (20M events: the issue's size; ~2 GB of disk in the work dir):

    .venv/bin/python bench/spark.py                        # 20M events
    .venv/bin/python bench/spark.py --events 1000000       # quick

The log is ``bench/engine.py``'s synthetic one (N events, N/10 users, 50 brands, 180 days,
one Parquet file). Two steps on each engine, each the median of ``--reps`` runs after one
warm-up:

* ``snapshot``: ``aips.engine.snapshot`` on the last day (Ibis -> engine -> Arrow);
* ``series``: ``aips.engine.asset_series`` over the 180 days (the sweep; Arrow).

DuckDB reads the Parquet file through Ibis in this process; Spark runs in a Spark Connect
server started here from the ``pyspark`` package (``local[2]``, ``--driver-memory``), which
reads the same file with its own reader and caches it before timing. The baseline
(DuckDB) runs in the same invocation and the Spark/DuckDB ratio is printed per step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import AT, START, generate  # noqa: E402 - bench/engine.py's log and dates


def _median(fn, reps: int) -> tuple[float, int]:
    fn()  # warm-up (Spark's first query of a kind is about 2x slower)
    times, rows = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), rows


def steps(events, model) -> dict:
    from aips.engine import asset_series, snapshot

    return {
        "snapshot": lambda: snapshot(events, model, AT).to_pyarrow().num_rows,
        "series": lambda: asset_series(events, model, START, AT).to_pyarrow().num_rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None, help="work dir (default: a temp dir)")
    ap.add_argument("--driver-memory", default="4g", help="the Spark Connect server's heap")
    args = ap.parse_args()

    import ibis

    from aips.config.model import default_model
    from aips.store import connect
    from aips.store.spark import ConnectServer

    work = args.work or Path(tempfile.mkdtemp(prefix="aips-bench-spark-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"events-{args.events}.parquet"
    if not data.exists():
        t = time.perf_counter()
        generate(data, args.events)
        print(f"generated {args.events:,} events in {time.perf_counter() - t:.0f} s: {data}", file=sys.stderr)
    model = default_model()
    results: dict[tuple[str, str], tuple[float, int]] = {}

    duck = ibis.duckdb.connect()
    events = duck.read_parquet(str(data))
    for name, fn in steps(events, model).items():
        results["duckdb", name] = _median(fn, args.reps)
        print(f"duckdb {name}: {results['duckdb', name][0]:.2f} s", file=sys.stderr)

    with ConnectServer(work / "spark-connect", driver_memory=args.driver_memory) as server:
        store = connect(server.url)
        events = store.backend.read_parquet(str(data)).cache()
        events.count().execute()  # materialise the cache before timing
        for name, fn in steps(events, model).items():
            results["spark", name] = _median(fn, args.reps)
            print(f"spark {name}: {results['spark', name][0]:.2f} s", file=sys.stderr)
        store.backend.disconnect()  # the client's session, before its server goes away

    print(f"events: {args.events:,}; median of {args.reps} after a warm-up; Spark: local[2] through "
          f"Spark Connect (driver {args.driver_memory})")
    print(f"{'step':<10}{'rows':>12}{'DuckDB s':>11}{'Spark s':>10}{'Spark/DuckDB':>14}")
    for name in ("snapshot", "series"):
        (d, rows), (s, srows) = results["duckdb", name], results["spark", name]
        assert rows == srows, f"{name}: DuckDB gave {rows} rows, Spark {srows}"
        print(f"{name:<10}{rows:>12,}{d:>11.2f}{s:>10.2f}{s / d:>13.1f}x")


if __name__ == "__main__":
    main()
