"""``aips source events``: a Parquet dataset or a table registered as the events view.

Oracles: the samples' hand values (REES46's head: 17,434 rows, 2,477 without a brand, 5
repeating an earlier row; Taobao's head: 4,321 clean rows), pyarrow counts of the files
written here, and ``aips ingest`` of the same data (an independent implementation: the
Python reader and validator) for the balance and the downstream ``assets``.
"""

from __future__ import annotations

import datetime as dt
import json

import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from ingest_helpers import run_cli

from aips.config.model import default_model
from aips.exceptions import IngestError, StoreError
from aips.store.connect import connect
from aips.workspace import Workspace

REES46 = "rees46-multicategory/2019-Oct_head_17434.csv.gz"
TAOBAO = "taobao-userbehavior/UserBehavior_userhead_43users.csv.gz"


def _rees46_parquet(shared_data, folder):
    """The REES46 head as two Parquet files (9,000 + 8,434 rows), text columns and a float price."""
    t = pcsv.read_csv(shared_data / REES46)
    t = t.cast(pa.schema([pa.field(n, pa.float64() if n == "price" else pa.string()) for n in t.column_names]))
    folder.mkdir()
    pq.write_table(t.slice(0, 9000), folder / "a.parquet")
    pq.write_table(t.slice(9000), folder / "b.parquet")
    return t


def _taobao_hive(shared_data, folder):
    """The Taobao head as a hive-partitioned dataset (``day=YYYY-MM-DD`` folders, UTC days)."""
    names = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
    t = pcsv.read_csv(shared_data / TAOBAO, read_options=pcsv.ReadOptions(column_names=names),
                      convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    days = pc.strftime(pc.cast(pc.multiply(pc.cast(t["timestamp"], pa.int64()), 1_000_000).cast(pa.timestamp("us")),
                               pa.timestamp("us")), "%Y-%m-%d")
    pq.write_to_dataset(t.append_column("day", days), folder, partition_cols=["day"])  # day=... folders
    return t


def test_parquet_folder_balance_and_quarantine(store, shared_data, tmp_path):
    """Hand values on both backends; the quarantine table holds every brandless row with its
    file and 1-based row (checked against pyarrow on the files)."""
    table = _rees46_parquet(shared_data, tmp_path / "ds")
    ws = Workspace(store, default_model())
    r = ws.source(str(tmp_path / "ds"), preset="rees46")
    assert (r.rows_read, r.loaded, r.duplicates, r.ignored, r.quarantined) == (17_434, 14_952, 5, 0, 2_477)
    assert r.reasons == {"missing brand": 2_477} and r.quarantine_file is None
    assert ws.events.count().to_pyarrow().as_py() == 14_952
    q = store.table("quarantine_events").to_pyarrow()
    assert q.num_rows == 2_477 and set(q["reason"].to_pylist()) == {"missing brand"}
    assert set(q["column_name"].to_pylist()) == {"brand"}
    got = sorted((f.rsplit("/", 1)[-1], line) for f, line in zip(q["source_file"].to_pylist(),
                                                                 q["source_line"].to_pylist(), strict=True))
    brandless = [i for i, b in enumerate(table["brand"].to_pylist()) if b is None or not b.strip()]
    want = sorted(("a.parquet", i + 1) if i < 9000 else ("b.parquet", i - 9000 + 1) for i in brandless)
    assert got == want
    assert all(line.count(",") >= 8 for line in q["raw"].to_pylist()[:10])  # the row's text


def test_parquet_source_equals_ingest_downstream(shared_data, tmp_path):
    """The sourced store answers ``assets``, ``funnel`` and ``series`` exactly as an ingest of
    the same CSV (DuckDB; the Spark spine is in tests/store/test_spark_cli.py)."""
    _rees46_parquet(shared_data, tmp_path / "ds")
    model = default_model()
    sourced = Workspace(connect(str(tmp_path / "s.duckdb")), model)
    ingested = Workspace(connect(str(tmp_path / "i.duckdb")), model)
    a = sourced.source(str(tmp_path / "ds"), preset="rees46")
    b = ingested.ingest(shared_data / REES46, preset="rees46", quarantine_dir=tmp_path / "q")
    assert [a.rows_read, a.loaded, a.duplicates, a.ignored, a.quarantined, a.reasons] == \
        [b.rows_read, b.loaded, b.duplicates, b.ignored, b.quarantined, b.reasons]
    cols = ["event_id", "ts", "local_date", "user_id", "brand", "spu", "category", "event_type", "amount"]
    for ws in (sourced, ingested):
        ws.rows = ws.events.select(*cols).order_by("event_id").to_pyarrow()
    assert sourced.rows.equals(ingested.rows)  # the same events, ids included
    order = ["brand", "stage"]
    got = sourced.assets("2019-10-01").order_by(order).to_pyarrow()
    assert got.num_rows > 100 and got.equals(ingested.assets("2019-10-01").order_by(order).to_pyarrow())
    for ws in (sourced, ingested):
        ws.update_series()
    s1 = sourced.asset_series("2019-10-01", "2019-10-01").order_by(["brand", "stage"]).to_pyarrow()
    s2 = ingested.asset_series("2019-10-01", "2019-10-01").order_by(["brand", "stage"]).to_pyarrow()
    assert s1.num_rows and s1.equals(s2)


def test_hive_partitioned_folder_and_rerun(shared_data, tmp_path):
    """A ``day=`` partitioned dataset: every row loads (the hand value); running again changes
    nothing (same load ids, the stored rollup stays current); a new partition is one new load."""
    _taobao_hive(shared_data, tmp_path / "hive")
    ws = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    r = ws.source(str(tmp_path / "hive"), preset="taobao")
    assert (r.rows_read, r.loaded, r.duplicates, r.ignored, r.quarantined) == (4_321, 4_321, 0, 0, 0)
    assert len(r.files) == len(list((tmp_path / "hive").glob("day=*")))
    ws.update_series()
    loads = sorted(ws.store.table("loads").load_id.to_pyarrow().to_pylist())
    again = ws.source(str(tmp_path / "hive"), preset="taobao")
    assert again.asdict() | {"seconds": 0} == r.asdict() | {"seconds": 0}
    assert sorted(ws.store.table("loads").load_id.to_pyarrow().to_pylist()) == loads
    assert ws.update_series().counters == "counters_daily: up to date"
    new = tmp_path / "hive" / "day=2017-12-04"
    new.mkdir()
    pq.write_table(pa.table({k: [v] for k, v in zip(["user_id", "item_id", "category_id", "behavior_type",
                                                      "timestamp"], ["1", "2", "4756105", "buy", "1512345600"],
                                                     strict=True)}), new / "x.parquet")
    third = ws.source(str(tmp_path / "hive"), preset="taobao")
    assert third.loaded == 4_322 and third.rows_read == 4_322
    assert ws.update_series().rollup.mode == "incremental"


def test_table_source(store):
    """A table of the store's catalog as the source; re-registering replaces the view."""
    ts = [dt.datetime(2024, 1, 2, 10), dt.datetime(2024, 1, 2, 11), None, dt.datetime(2024, 1, 3)]
    store.write("raw_log", pa.table({"ts": ts, "uid": ["u1", "u1", "u2", "u3"], "brand": ["b"] * 4,
                                     "event_type": ["READ", "impression", "read", "remove"]}))
    ws = Workspace(store, default_model())
    mapping = {"columns": {"user_id": "uid"}, "ignore": ["remove"]}
    r = ws.source("raw_log", mapping=mapping)
    assert (r.rows_read, r.loaded, r.duplicates, r.ignored, r.quarantined) == (4, 2, 0, 1, 1)
    assert r.reasons == {"missing ts": 1}
    assert sorted(ws.events.event_type.to_pyarrow().to_pylist()) == ["impression", "read"]
    again = ws.source("raw_log", mapping=mapping)
    assert again.loaded == 2 and ws.events.count().to_pyarrow().as_py() == 2


def test_refusals(tmp_path, shared_data):
    ws = Workspace(connect(str(tmp_path / "i.duckdb")), default_model())
    ws.ingest(shared_data / TAOBAO, preset="taobao", quarantine_dir=tmp_path / "q")
    with pytest.raises(IngestError, match="4,321 events loaded by aips ingest"):
        ws.source(str(tmp_path), preset="taobao")
    with pytest.raises(IngestError, match="no such table or Parquet dataset"):
        Workspace(connect(":memory:"), default_model()).source(str(tmp_path / "nothing"))
    _taobao_hive(shared_data, tmp_path / "hive")
    sourced = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    sourced.source(str(tmp_path / "hive"), preset="taobao")
    with pytest.raises(StoreError, match="a view over"):
        sourced.ingest(shared_data / TAOBAO, preset="taobao", quarantine_dir=tmp_path / "q")


def test_cli_json_and_zh(tmp_path, shared_data, monkeypatch, capsys):
    _rees46_parquet(shared_data, tmp_path / "ds")
    store = ["--store", str(tmp_path / "s.duckdb")]
    code, out, err = run_cli(["source", "events", str(tmp_path / "ds"), "--preset", "rees46", *store,
                              "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    got = json.loads(out)
    code, out, _ = run_cli(["ingest", str(shared_data / REES46), "--preset", "rees46", "--store",
                            str(tmp_path / "i.duckdb"), "--quarantine-dir", str(tmp_path / "q"),
                            "--format", "json"], monkeypatch, capsys)
    want = json.loads(out)
    assert list(got) == list(want)  # ingest's keys
    assert {k: got[k] for k in ("rows_read", "loaded", "duplicates", "ignored", "quarantined", "reasons")} == \
        {k: want[k] for k in ("rows_read", "loaded", "duplicates", "ignored", "quarantined", "reasons")}
    code, out, _ = run_cli(["source", "events", str(tmp_path / "ds"), "--preset", "rees46", *store,
                            "--lang", "zh"], monkeypatch, capsys)
    assert code == 0
    assert out.splitlines()[0] == "events：读取 17,434 行 = 载入 14,952 + 重复 5 + 忽略 0 + 隔离 2,477"
    assert "隔离的行：表 quarantine_events" in out and "去重" in out


_value = st.one_of(st.none(), st.sampled_from(["", " ", "x"]))
_row = st.fixed_dictionaries({
    "event_id": st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3"])),
    "ts": st.one_of(st.none(), st.sampled_from(["2024-01-02 10:00", "2024-13-01 10:00", "2024-01-02T01:00Z",
                                                "01/02/2024 10:00", "9999-01-01", "1999-12-31", "x"])),
    "user_id": st.one_of(_value, st.sampled_from(["u1", "u2"])),
    "brand": st.one_of(_value, st.just("b")),
    "event_type": st.one_of(st.none(), st.sampled_from(["read", " Read ", "buy", "nope", "skip"])),
    "amount": st.one_of(st.none(), st.sampled_from([1.5, -1.0, float("nan"), float("inf"), 0.0])),
})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, min_size=1, max_size=12))
def test_every_row_is_accounted_for(rows, tmp_path_factory):
    """Every row read is loaded, a duplicate, ignored or quarantined; the view and the
    quarantine table hold exactly the loaded and quarantined rows; and the counts equal an
    ingest of the same file (the Python reader: an independent implementation)."""
    folder = tmp_path_factory.mktemp("prop")
    schema = pa.schema([(k, pa.float64() if k == "amount" else pa.string()) for k in rows[0]])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "e.parquet")
    mapping = {"event_types": {"buy": "purchase"}, "ignore": ["skip"]}
    ws = Workspace(connect(":memory:"), default_model())
    r = ws.source(str(folder), mapping=mapping)
    assert r.rows_read == len(rows) == r.loaded + r.duplicates + r.ignored + r.quarantined
    assert ws.events.count().to_pyarrow().as_py() == r.loaded
    assert ws.store.table("quarantine_events").count().to_pyarrow().as_py() == r.quarantined
    oracle = Workspace(connect(":memory:"), default_model()).ingest(
        folder / "e.parquet", mapping=mapping, quarantine_dir=folder / "q")
    assert (r.loaded, r.duplicates, r.ignored, r.quarantined, r.reasons) == \
        (oracle.loaded, oracle.duplicates, oracle.ignored, oracle.quarantined, oracle.reasons)
