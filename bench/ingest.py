"""Benchmark: `aips ingest` vs DuckDB `read_csv` + INSERT written by hand, same run, same file.

    .venv/bin/python bench/ingest.py                 # 20M rows (generated once, ~2.2 GB, cached)
    .venv/bin/python bench/ingest.py --rows 2M --reps 3

Both paths load the same canonical CSV (DESIGN.md section 4 columns, with event ids) into a
fresh DuckDB file with the canonical ``events`` schema:

* **hand**: one ``INSERT INTO events SELECT ... FROM read_csv(...)`` with casts and
  ``local_date`` computed in Asia/Shanghai (no validation, no dedupe, no bookkeeping);
* **aips**: ``aips.ingest.ingest_files`` with the canonical preset: streamed, validated,
  quarantine-checked, staged, deduplicated against the store and inserted in one
  transaction, with the ``loads`` row and the file's SHA-256.

Each run is its own process (so peak RSS is that path's own); paths alternate, and the
median of ``--reps`` runs is reported. Goal (issue 2): aips >= 0.7x the hand path's rows/s,
peak RSS < 2 GiB.
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

HAND_SQL = """
SET TimeZone = 'UTC';
CREATE TABLE events (
  event_id VARCHAR, ts TIMESTAMP, local_date DATE, user_id VARCHAR, brand VARCHAR, spu VARCHAR,
  category VARCHAR, event_type VARCHAR, channel VARCHAR, campaign_id VARCHAR, creator_id VARCHAR,
  note_id VARCHAR, content_format VARCHAR, keyword VARCHAR, dwell_s DOUBLE, completion DOUBLE,
  amount DOUBLE, load_id VARCHAR);
INSERT INTO events
SELECT event_id, timezone('UTC', timezone('Asia/Shanghai', ts::TIMESTAMP)), ts::TIMESTAMP::DATE,
       user_id, brand, spu, category, event_type, channel, campaign_id, creator_id, note_id,
       content_format, keyword, dwell_s, completion, amount, 'hand'
FROM read_csv('{path}', header = true);
"""
"""The hand-written path: the file's naive timestamps are Shanghai wall times, as for aips."""


def parse_count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KMB")) * scale)


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A canonical events CSV: 2M users, 50 brands, 180 days, ~110 bytes a row."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    types = np.array(
        ["impression", "read", "search", "like", "collect", "cart", "purchase", "share"]
    )
    brands = np.array([f"brand_{i:02d}" for i in range(50)])
    channels = np.array(["feed_ad", "search_ad", "kol_note", "koc_note", "organic", ""])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as sink:
        writer = None
        for start in range(0, rows, 1_000_000):
            m = min(1_000_000, rows - start)
            ts = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 180 * 86400, m).astype(
                "timedelta64[s]"
            )
            kind = types[rng.integers(0, len(types), m)]
            table = pa.table(
                {
                    "event_id": np.char.add("e", np.arange(start, start + m).astype(str)),
                    "ts": np.datetime_as_string(ts),
                    "user_id": np.char.add("u", rng.integers(0, 2_000_000, m).astype(str)),
                    "brand": brands[rng.integers(0, 50, m)],
                    "spu": np.char.add("s", rng.integers(0, 10_000, m).astype(str)),
                    "category": np.array(["facial_serum", "infant_food", "toys"])[
                        rng.integers(0, 3, m)
                    ],
                    "event_type": kind,
                    "channel": channels[rng.integers(0, len(channels), m)],
                    "campaign_id": np.char.add("c", rng.integers(0, 100, m).astype(str)),
                    "creator_id": np.char.add("k", rng.integers(0, 1000, m).astype(str)),
                    "note_id": np.char.add("n", rng.integers(0, 100_000, m).astype(str)),
                    "content_format": np.array(["image", "video", "live"])[rng.integers(0, 3, m)],
                    "keyword": np.where(kind == "search", "serum", ""),
                    "dwell_s": np.round(rng.exponential(8, m), 1),
                    "completion": np.round(rng.uniform(0, 1, m), 2),
                    "amount": pa.array(
                        np.where(kind == "purchase", np.round(rng.uniform(1, 500, m), 2), np.nan),
                        from_pandas=True,
                    ),
                }
            )
            if writer is None:
                writer = pcsv.CSVWriter(
                    sink, table.schema, write_options=pcsv.WriteOptions(quoting_style="none")
                )
            writer.write_table(table)
        writer.close()
    tmp.replace(path)


def run_one(path: str, which: str, store: str) -> dict:
    """One load in this process; prints a JSON line with time, rows and peak RSS."""
    for suffix in ("", ".wal"):
        Path(store + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    if which == "hand":
        import duckdb

        con = duckdb.connect(store)
        con.execute(HAND_SQL.format(path=path))
        rows = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
    else:
        sys.path.insert(0, str(ROOT / "src"))
        import aips

        ws = aips.open(store)
        report = ws.ingest(
            path, preset="canonical", quarantine_dir=Path(store).parent / "quarantine"
        )
        rows = report.loaded
        assert report.rows_read == rows, report
        ws.close()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "path": which,
        "rows": rows,
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gib": usage.ru_maxrss * 1024 / 2**30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="20M", help="rows of the generated CSV (e.g. 2M, 20M)")
    parser.add_argument("--reps", type=int, default=1, help="runs of each path (median reported)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the CSV and stores go")
    parser.add_argument(
        "--child", nargs=3, metavar=("CSV", "PATH", "STORE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(*args.child)))
        return
    rows = parse_count(args.rows)
    args.dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.dir / f"canonical_{rows}.csv"
    if not csv_path.exists():
        print(f"generating {csv_path} ({rows:,} rows) ...", file=sys.stderr)
        make_csv(csv_path, rows)
    results: dict[str, list[dict]] = {"hand": [], "aips": []}
    for rep in range(args.reps):
        for which in ("hand", "aips"):
            store = str(args.dir / f"{which}.duckdb")
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(csv_path), which, store],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            assert result["rows"] == rows, result
            results[which].append(result)
            print(
                f"rep {rep + 1} {which}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_gib']:.2f} GiB",
                file=sys.stderr,
            )
    summary = {}
    for which, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        summary[which] = {
            "rows_per_s": rows / seconds,
            "seconds": seconds,
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_rss_gib": max(r["peak_rss_gib"] for r in runs),
        }
    ratio = summary["aips"]["rows_per_s"] / summary["hand"]["rows_per_s"]
    cpu_ratio = summary["hand"]["cpu_s"] / summary["aips"]["cpu_s"]
    print(
        f"\n{rows:,} rows, {csv_path.stat().st_size / 2**30:.2f} GiB CSV, median of {args.reps}, {os.cpu_count()} cores\n"
    )
    print("| path | seconds | rows/s | CPU s | peak RSS |")
    print("|---|---|---|---|---|")
    for which, label in (
        ("hand", "DuckDB read_csv + INSERT (by hand)"),
        ("aips", "aips ingest (canonical preset)"),
    ):
        s = summary[which]
        print(
            f"| {label} | {s['seconds']:.1f} | {s['rows_per_s']:,.0f} | {s['cpu_s']:.1f} | {s['peak_rss_gib']:.2f} GiB |"
        )
    print(f"\naips / hand throughput: {ratio:.2f}x (goal >= 0.7x); by CPU time: {cpu_ratio:.2f}x")
    print(f"peak RSS of aips: {summary['aips']['peak_rss_gib']:.2f} GiB (goal < 2 GiB)")


if __name__ == "__main__":
    main()
