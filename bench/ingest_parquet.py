"""Benchmark: `aips ingest` of Parquet vs `CREATE TABLE AS SELECT * FROM read_parquet(...)`, same run.

    .venv/bin/python bench/ingest_parquet.py                      # 20M-row file + the small world's events/
    .venv/bin/python bench/ingest_parquet.py --rows 2M --reps 3   # quick
    .venv/bin/python bench/ingest_parquet.py --only world --world /work/scale/small/world/events

Two inputs:

* **file**: one generated canonical Parquet file (``--rows``, default 20M; 2M users, 50 brands,
  180 days; ``ts`` a UTC timestamp; ``amount`` NaN where there is none, as numpy writes it),
  cached in ``--dir``;
* **world**: a simulated world's ``events/`` directory (``--world``; the ``small`` preset is
  360 files, 11.95M rows).

Two paths per input, each in its own process (peak RSS is the path's own), alternating:

* **ctas**: ``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` in a fresh DuckDB file
  (DuckDB's defaults; no mapping, no validation, no dedupe): the floor;
* **aips**: ``aips.open(store).ingest(path, preset="canonical")`` with the default store
  settings: checked on the backend, deduplicated, inserted in one transaction with one
  ``loads`` row per file (:mod:`aips.ingest.direct`).

Prints a Markdown table with the median seconds, the ratio aips / ctas (goal <= 1.3) and
peak RSS, plus rows, sizes and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(os.environ.get("AIPS_BENCH_DIR", Path(tempfile.gettempdir()) / "aips-bench"))
DEFAULT_WORLD = Path("/work/scale/small/world/events")


def parse_count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KMB")) * scale)


def make_parquet(path: Path, rows: int, seed: int = 0) -> None:
    """A canonical events Parquet file in row groups of 1M rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    types = np.array(["impression", "read", "search", "like", "collect", "cart", "purchase", "share"])
    brands = np.array([f"brand_{i:02d}" for i in range(50)])
    channels = np.array(["feed_ad", "search_ad", "kol_note", "koc_note", "organic"])
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, 1_000_000):
        m = min(1_000_000, rows - start)
        seconds = rng.integers(0, 180 * 86400, m)
        ts = (np.datetime64("2024-01-01T00:00:00", "us") + seconds.astype("timedelta64[s]"))
        kind = types[rng.integers(0, len(types), m)]
        table = pa.table({
            "event_id": pa.array(np.char.add("e", np.char.zfill(np.arange(start, start + m).astype(str), 10))),
            "ts": pa.array(ts, pa.timestamp("us", "UTC")),
            "user_id": np.char.add("u", rng.integers(0, 2_000_000, m).astype(str)),
            "brand": brands[rng.integers(0, 50, m)],
            "spu": np.char.add("s", rng.integers(0, 10_000, m).astype(str)),
            "category": np.array(["facial_serum", "infant_food", "toys"])[rng.integers(0, 3, m)],
            "event_type": kind,
            "channel": channels[rng.integers(0, len(channels), m)],
            "campaign_id": np.char.add("c", rng.integers(0, 100, m).astype(str)),
            "creator_id": np.char.add("k", rng.integers(0, 1000, m).astype(str)),
            "note_id": np.char.add("n", rng.integers(0, 100_000, m).astype(str)),
            "content_format": np.array(["image", "video", "live"])[rng.integers(0, 3, m)],
            "keyword": pa.array(np.where(kind == "search", "serum", None)),
            "dwell_s": np.round(rng.exponential(8, m), 1),
            "completion": np.round(rng.uniform(0, 1, m), 2),
            "amount": np.where(kind == "purchase", np.round(rng.uniform(1, 500, m), 2), np.nan),
        })  # fmt: skip
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()
    tmp.replace(path)


def run_one(source: str, which: str, store: str) -> dict:
    """One load in this process: time, rows and peak RSS as a JSON line."""
    for suffix in ("", ".wal"):
        Path(store + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    if which == "ctas":
        import duckdb

        glob = f"{source}/**/*.parquet" if Path(source).is_dir() else source
        con = duckdb.connect(store)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{glob}', hive_partitioning = false)")
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
        con.close()
    else:
        sys.path.insert(0, str(ROOT / "src"))
        import aips

        with aips.open(store) as ws:
            report = ws.ingest(source, preset="canonical", quarantine_dir=Path(store).parent / "quarantine")
        rows = report.loaded
        assert report.rows_read == rows, report
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"path": which, "rows": rows, "seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_gib": usage.ru_maxrss * 1024 / 2**30}


def bench(label: str, source: Path, reps: int, work: Path) -> dict:
    results: dict[str, list[dict]] = {"ctas": [], "aips": []}
    for rep in range(reps):
        for which in ("ctas", "aips"):
            store = str(work / f"{label}_{which}.duckdb")
            out = subprocess.run([sys.executable, __file__, "--child", str(source), which, store],
                                 check=True, capture_output=True, text=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[which].append(result)
            print(f"{label} rep {rep + 1} {which}: {result['seconds']:.1f} s, CPU {result['cpu_s']:.1f} s, "
                  f"peak RSS {result['peak_rss_gib']:.2f} GiB", file=sys.stderr, flush=True)
            for suffix in ("", ".wal"):
                Path(store + suffix).unlink(missing_ok=True)
    rows = {r["rows"] for runs in results.values() for r in runs}
    assert len(rows) == 1, f"the paths loaded different row counts: {rows}"
    out = {"rows": rows.pop()}
    for which, runs in results.items():
        out[which] = {"seconds": statistics.median(r["seconds"] for r in runs),
                      "all": [round(r["seconds"], 1) for r in runs],
                      "cpu_s": statistics.median(r["cpu_s"] for r in runs),
                      "peak_rss_gib": max(r["peak_rss_gib"] for r in runs)}
    return out


def _size(path: Path) -> float:
    files = list(path.rglob("*.parquet")) if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="20M", help="rows of the generated file (e.g. 2M, 20M)")
    parser.add_argument("--reps", type=int, default=1, help="runs of each path (median reported)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the file and stores go")
    parser.add_argument("--world", type=Path, default=DEFAULT_WORLD, help="a world's events/ directory")
    parser.add_argument("--only", choices=("file", "world"), help="run one input only")
    parser.add_argument("--child", nargs=3, metavar=("SOURCE", "PATH", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    inputs = []
    if args.only in (None, "file"):
        rows = parse_count(args.rows)
        path = args.dir / f"canonical_{rows}.parquet"
        if not path.exists():
            print(f"generating {path} ({rows:,} rows) ...", file=sys.stderr, flush=True)
            make_parquet(path, rows)
        inputs.append(("file", path))
    if args.only in (None, "world"):
        if args.world.is_dir():
            inputs.append(("world", args.world))
        else:
            print(f"no world at {args.world}: skipped (simulate one with aips simulate --preset small)", file=sys.stderr)
    summary = {label: bench(label, src, args.reps, args.dir) for label, src in inputs}
    load = os.getloadavg()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"\n{os.cpu_count()} cores, {mem:.0f} GiB RAM, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; "
          f"median of {args.reps}\n")
    print("| input | rows | Parquet MiB | CTAS s | aips s | aips / CTAS | CTAS CPU s | aips CPU s | CTAS RSS | aips RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, src in inputs:
        s = summary[label]
        c, a = s["ctas"], s["aips"]
        print(f"| {label} | {s['rows']:,} | {_size(src):,.0f} | {c['seconds']:.1f} {c['all']} | "
              f"{a['seconds']:.1f} {a['all']} | **{a['seconds'] / c['seconds']:.2f}x** | {c['cpu_s']:.1f} | "
              f"{a['cpu_s']:.1f} | {c['peak_rss_gib']:.2f} GiB | {a['peak_rss_gib']:.2f} GiB |")


if __name__ == "__main__":
    main()
