"""``aips ingest`` into a Spark store reads the files with Spark's readers
(:mod:`aips.ingest.backend_read`), and loads what the DuckDB store's ingest (the Python
readers and validator: an independent implementation) loads.

Oracles: the samples' hand values (the Taobao head has 4,321 clean rows; the REES46 head
17,434 rows of which 2,477 have no brand and 5 repeat an earlier row) and the DuckDB
ingest of the same file (events with ids, quarantine rows with line and text).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from aips.config.model import default_model
from aips.store.connect import connect
from aips.workspace import Workspace

BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]
pytestmark = [pytest.mark.spark,
              pytest.mark.skipif("pyspark" not in BACKENDS, reason="Spark is not among AIPS_TEST_BACKENDS")]

SAMPLES = {
    "taobao": ("taobao-userbehavior/UserBehavior_userhead_43users.csv.gz", (4_321, 4_321, 0, 0, 0)),
    "rees46": ("rees46-multicategory/2019-Oct_head_17434.csv.gz", (17_434, 14_952, 5, 0, 2_477)),
}


@pytest.fixture
def spark_store(spark_session):
    store = connect(spark_session)
    for name in store.backend.list_tables():
        store.backend.drop_table(name, force=True)
    return store


def _balance(r):
    return (r.rows_read, r.loaded, r.duplicates, r.ignored, r.quarantined)


def _events(ws) -> list[tuple]:
    cols = ["event_id", "ts", "local_date", "user_id", "brand", "spu", "category", "event_type", "amount"]
    rows = ws.events.select(*cols).to_pyarrow().to_pylist()
    for r in rows:
        if r["ts"] is not None and r["ts"].tzinfo is not None:
            r["ts"] = r["ts"].astimezone(dt.UTC).replace(tzinfo=None)
    return sorted(tuple(r.values()) for r in rows)


def _quarantine(store) -> list[tuple]:
    q = store.table("quarantine").to_pyarrow().to_pylist() if store.has("quarantine") else []
    return sorted((r["source_line"], r["column_name"], r["reason"], r["raw"]) for r in q)


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_spark_readers_load_what_duckdb_loads(sample, spark_store, shared_data, tmp_path):
    path, balance = SAMPLES[sample]
    ws = Workspace(spark_store, default_model())
    got = ws.ingest(shared_data / path, preset=sample, quarantine_dir=tmp_path / "q")
    duck = Workspace(connect(":memory:"), default_model())
    want = duck.ingest(shared_data / path, preset=sample, quarantine_dir=tmp_path / "q2")
    assert got.reader == "backend" and got.reader_note is None and want.reader is None
    assert _balance(got) == _balance(want) == balance and got.reasons == want.reasons
    a, b = got.asdict(), want.asdict()
    for report in (a, b):
        for key in ("quarantine_file", "seconds", "reader"):
            report.pop(key, None)
        for f in report["files"]:
            f.pop("load_id")
    assert a == b  # per file too: counts, reasons, dates, hash, format
    assert _events(ws) == _events(duck)
    assert _quarantine(spark_store) == _quarantine(duck.store)
    assert len(_quarantine(spark_store)) == balance[4]
    assert not spark_store.has("aips_ingest_checked")
    again = ws.ingest(shared_data / path, preset=sample, quarantine_dir=tmp_path / "q")
    assert again.loaded == 0 and again.files[0].already_loaded_by == got.files[0].load_id
    assert ws.events.count().to_pyarrow().as_py() == balance[1]


def test_quoted_csv_is_read_here_and_says_so(spark_store, tmp_path):
    """A quoted field (and a stray quote): Spark's CSV reader would read them otherwise, so
    the Python reader reads the file, the report says why (en and zh), and the results are
    DuckDB's."""
    f = tmp_path / "e.csv"
    f.write_text('ts,user_id,brand,event_type\n2024-01-02 10:00:00,u1,"b,c",read\n'
                 '2024-01-02 11:00:00,u2,b,read\n2024-01-02 12:00:00,u3,b"x,read\n', encoding="utf-8")
    ws = Workspace(spark_store, default_model())
    got = ws.ingest(f, quarantine_dir=tmp_path / "q")
    duck = Workspace(connect(":memory:"), default_model())
    want = duck.ingest(f, quarantine_dir=tmp_path / "q2")
    assert got.reader is None and got.reader_note.key == "quotes"
    assert "not by Spark's readers" in got.render() and "引号" in got.render(lang="zh")
    assert _balance(got) == _balance(want) and got.loaded >= 2
    assert _events(ws) == _events(duck)


def test_zoned_and_wall_clock_parquet_timestamps(spark_store, tmp_path):
    """A zoned Parquet timestamp is an instant, a naive one a wall-clock time in the source
    zone (Asia/Shanghai: 8 h ahead of UTC), when Spark reads the file (ingest and source)
    as when DuckDB does: Spark's TIMESTAMP and TIMESTAMP_NTZ are one type to Ibis."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    when = [dt.datetime(2024, 1, 2, 10), dt.datetime(2024, 1, 2, 20)]
    for name, typ in (("zoned", pa.timestamp("us", tz="UTC")), ("wall", pa.timestamp("us"))):
        (tmp_path / name).mkdir()
        pq.write_table(pa.table({"ts": pa.array(when, typ), "user_id": ["u1", "u2"], "brand": ["b", "b"],
                                 "event_type": ["read", "read"]}), tmp_path / name / "e.parquet")
    for name, first_utc in (("zoned", dt.datetime(2024, 1, 2, 10)), ("wall", dt.datetime(2024, 1, 2, 2))):
        ws = Workspace(spark_store, default_model())
        duck = Workspace(connect(":memory:"), default_model())
        got = ws.ingest(tmp_path / name / "e.parquet", quarantine_dir=tmp_path / "q")
        duck.ingest(tmp_path / name / "e.parquet", quarantine_dir=tmp_path / "q2")
        assert got.reader == "backend" and got.loaded == 2
        assert _events(ws) == _events(duck) and min(r[1] for r in _events(ws)) == first_utc
        sourced = Workspace(connect(str(tmp_path / f"{name}.duckdb")), default_model())
        sourced.source(str(tmp_path / name))
        for table in spark_store.backend.list_tables():
            spark_store.backend.drop_table(table, force=True)
        ws.source(str(tmp_path / name))
        assert _events(ws) == _events(sourced) == _events(duck)
        for table in spark_store.backend.list_tables():
            spark_store.backend.drop_table(table, force=True)
