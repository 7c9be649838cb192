"""``aips source events`` on DuckDB and on Spark local[2]: seconds per step, then a query.

Writes the Taobao head (4,321 rows, one Parquet file) and the REES46 head (17,434 rows, two
Parquet files, 2,477 without a brand, 5 duplicates) from ``../shared/data``, registers each
as a fresh store's events and prints, per backend and sample: the whole ``source`` call,
its scratch-table write (the one query that checks every row), the events count and
``assets`` on the view, in wall seconds and CPU seconds of the whole process tree (the JVM
included: psutil). Each Spark sample gets its own session (a cold JVM: its first query
pays the JIT; a long-lived server pays it once).

    .venv/bin/python bench/source.py                  # both samples, both backends
    .venv/bin/python bench/source.py --backends duckdb
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

DATA = Path(os.environ.get("AIPS_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
SAMPLES = {"taobao": "2017-12-01", "rees46": "2019-10-01"}


def tree_cpu() -> float:
    """CPU seconds (user + system) of this process and its children (the Spark JVM)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def write_samples(folder: Path) -> dict[str, Path]:
    """The two samples as Parquet datasets (text columns; REES46's price a float)."""
    names = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
    taobao = pcsv.read_csv(DATA / "taobao-userbehavior" / "UserBehavior_userhead_43users.csv.gz",
                           read_options=pcsv.ReadOptions(column_names=names),
                           convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    (folder / "taobao").mkdir()
    pq.write_table(taobao, folder / "taobao" / "t.parquet")
    rees = pcsv.read_csv(DATA / "rees46-multicategory" / "2019-Oct_head_17434.csv.gz")
    rees = rees.cast(pa.schema([pa.field(n, pa.float64() if n == "price" else pa.string()) for n in rees.column_names]))
    (folder / "rees46").mkdir()
    pq.write_table(rees.slice(0, 9000), folder / "rees46" / "a.parquet")
    pq.write_table(rees.slice(9000), folder / "rees46" / "b.parquet")
    return {name: folder / name for name in SAMPLES}


def timed(label: str, fn):
    wall, cpu = time.perf_counter(), tree_cpu()
    out = fn()
    print(f"  {label:<22} {time.perf_counter() - wall:7.1f} s wall {tree_cpu() - cpu:7.1f} s CPU", flush=True)
    return out


def run(backend: str, sample: str, location: Path, work: Path) -> None:
    from aips.config.model import default_model
    from aips.ingest import source
    from aips.store.connect import connect
    from aips.workspace import Workspace

    if backend == "duckdb":
        store = connect(str(work / f"{sample}.duckdb"))
    else:
        from aips._compat.spark import get_or_create_session

        warehouse = tempfile.mkdtemp(prefix="aips-bench-wh-")
        conf = {"spark.sql.warehouse.dir": warehouse, "spark.sql.shuffle.partitions": "2",
                "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse}"}
        store = timed("session", lambda: connect(get_or_create_session("local[2]", **conf)))
    print(f"{backend} {sample}:", flush=True)
    write = source._stage

    def staged(*args, **kwargs):
        return timed("  checked rows (write)", lambda: write(*args, **kwargs))

    source._stage = staged
    ws = Workspace(store, default_model())
    try:
        r = timed("source", lambda: ws.source(str(location), preset=sample))
    finally:
        source._stage = write
    print(f"  balance: {r.rows_read:,} read = {r.loaded:,} + {r.duplicates:,} + {r.ignored:,} + {r.quarantined:,}")
    timed("events count", lambda: ws.events.count().to_pyarrow())
    timed("assets", lambda: ws.assets(SAMPLES[sample]).to_pyarrow())
    if backend != "duckdb":
        store.backend._session.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="duckdb,pyspark")
    parser.add_argument("--samples", default=",".join(SAMPLES))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aips-bench-source-"))
    locations = write_samples(work)
    for backend in args.backends.split(","):
        for sample in args.samples.split(","):
            run(backend, sample, locations[sample], work)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
