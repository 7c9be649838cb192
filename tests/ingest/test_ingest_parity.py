"""The same load on DuckDB and on Spark gives identical tables (dedupe, event-id hashing
and the insert run on the backend through Ibis; DuckDB ``sha256`` and Spark ``sha2`` agree)."""

from __future__ import annotations

import datetime as dt

import pytest
from ingest_helpers import BACKENDS, BAD

from aips.config.model import default_model
from aips.ingest import ingest_files
from aips.ingest.stage import TableScratch
from aips.store.connect import connect

FILES = [BAD / "duplicate_rows_no_ids.csv", BAD / "duplicate_ids.csv", BAD / "quoted_newline.csv"]
"""Derived ids (dupes written four ways), source ids with in-file duplicates, quarantine."""


def _rows(store, table, drop=("load_id",)):
    rows = store.table(table).to_pyarrow().to_pylist()
    out = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in drop}
        for k, v in row.items():
            if isinstance(v, dt.datetime) and v.tzinfo is not None:
                row[k] = v.astimezone(dt.UTC).replace(tzinfo=None)
        out.append(row)
    return sorted(out, key=lambda r: tuple(str(v) for v in r.values()))


def test_duckdb_and_spark_agree(request, tmp_path, monkeypatch):
    if "pyspark" not in BACKENDS:
        pytest.skip("Spark is not among AIPS_TEST_BACKENDS")
    # Spark stages in scratch tables from 5 rows on (the 6-row file creates the table, the
    # next appends, the quarantine rows stay in memory): both staging paths run.
    monkeypatch.setattr(TableScratch, "FLUSH_ROWS", 5)
    spark = connect(request.getfixturevalue("spark_session"))
    for name in spark.backend.list_tables():
        spark.backend.drop_table(name, force=True)
    duck = connect(":memory:")
    model = default_model()
    reports = {}
    for name, store in (("duckdb", duck), ("pyspark", spark)):
        reports[name] = ingest_files(store, model, FILES, quarantine_dir=tmp_path / name).asdict()
    # a quoted newline: Spark's readers would read it otherwise, so this process reads the
    # files (tests/ingest/test_ingest_backend_read.py: the files Spark reads itself)
    assert reports["pyspark"].pop("reader_note")["why"] == "quotes"
    for report in reports.values():
        for key in ("quarantine_file", "seconds"):
            report.pop(key)
        for f in report["files"]:
            f.pop("load_id")
    assert reports["duckdb"] == reports["pyspark"]
    assert (reports["duckdb"]["loaded"], reports["duckdb"]["duplicates"]) == (7, 6)
    assert _rows(duck, "events") == _rows(spark, "events")
    assert _rows(duck, "quarantine") == _rows(spark, "quarantine")
    assert _rows(duck, "loads", ("load_id", "loaded_at")) == _rows(
        spark, "loads", ("load_id", "loaded_at")
    )
    assert not [t for t in spark.backend.list_tables() if t.startswith("_aips_scratch")]
    duck.close()
    for name in ("events", "quarantine", "loads"):
        spark.backend.drop_table(name, force=True)
