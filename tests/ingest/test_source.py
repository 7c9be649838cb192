"""``aips source events``: a Parquet dataset or a table registered as the events view.

Oracles: the samples' hand values (REES46's head: 17,434 rows, 2,477 without a brand, 5
repeating an earlier row; Taobao's head: 4,321 clean rows), pyarrow counts of the files
written here, ``aips ingest`` of the same data (an independent implementation: the Python
reader and validator) for the balance, the events and the downstream ``assets``, and the
DuckDB store for the Spark one (the same files sourced on both: balance, reasons,
quarantine, events, assets and funnel equal).

The REES46 dataset is written and sourced into DuckDB once per module (``rees46``): the
tests that read it share it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from ingest_helpers import run_cli
from maintain_helpers import parquet_rows_read

from aips.config.model import default_model
from aips.exceptions import ConfigError, IngestError, StoreError
from aips.store.connect import connect
from aips.workspace import Workspace

BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]

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


@pytest.fixture(scope="module")
def rees46(shared_data, tmp_path_factory):
    """The REES46 head as two Parquet files, sourced into a DuckDB store once for the module:
    ``(folder, pyarrow table, workspace, report)``."""
    folder = tmp_path_factory.mktemp("rees46") / "ds"
    table = _rees46_parquet(shared_data, folder)
    ws = Workspace(connect(str(folder.parent / "s.duckdb")), default_model())
    return folder, table, ws, ws.source(str(folder), preset="rees46")


def _balance(r):
    return (r.rows_read, r.loaded, r.duplicates, r.ignored, r.quarantined, r.reasons)


REES46_BALANCE = (17_434, 14_952, 5, 0, 2_477, {"missing brand": 2_477})
"""Hand values of the REES46 head (see the module docstring)."""


def _quarantine(store) -> list[tuple]:
    """(file name, line, column, reason, text) of every quarantined row, sorted."""
    q = store.table("quarantine_events").to_pyarrow().to_pylist()
    return sorted((Path(r["source_file"]).name, r["source_line"], r["column_name"], r["reason"], r["raw"]) for r in q)


EVENT_COLUMNS = ["event_id", "ts", "local_date", "user_id", "brand", "spu", "category", "event_type", "amount"]


def _events(ws) -> list[tuple]:
    """The events' rows, sorted (timestamps naive: Spark's come back zoned UTC)."""
    rows = ws.events.select(*EVENT_COLUMNS).to_pyarrow().to_pylist()
    for r in rows:
        if r["ts"] is not None and r["ts"].tzinfo is not None:
            r["ts"] = r["ts"].astimezone(dt.UTC).replace(tzinfo=None)
    return sorted(tuple(r.values()) for r in rows)


def test_parquet_folder_balance_and_quarantine(rees46):
    """Hand values; the quarantine table holds every brandless row with its file and
    1-based row (checked against pyarrow on the files)."""
    _, table, ws, r = rees46
    assert _balance(r) == REES46_BALANCE and r.quarantine_file is None
    assert ws.events.count().to_pyarrow().as_py() == 14_952
    q = _quarantine(ws.store)
    assert {(column, reason) for _, _, column, reason, _ in q} == {("brand", "missing brand")}
    brandless = [i for i, b in enumerate(table["brand"].to_pylist()) if b is None or not b.strip()]
    want = sorted(("a.parquet", i + 1) if i < 9000 else ("b.parquet", i - 9000 + 1) for i in brandless)
    assert [(name, line) for name, line, *_ in q] == want
    assert all(text.count(",") >= 8 for *_, text in q[:10])  # the row's text


def test_duplicates_counted_a_bucket_of_ids_at_a_time(rees46, tmp_path, monkeypatch):
    """Under a memory limit too small for every id at once (issue 13: a billion ids), the
    ids are counted a bucket at a time: the same balance, its 5 duplicates included."""
    from aips.ingest import dedupe

    calls = []
    real = dedupe.key_counts
    monkeypatch.setattr(dedupe, "KEY_BYTES", 1_000_000)  # 17k ids "need" 17 GB: many buckets
    monkeypatch.setattr("aips.ingest.source.key_counts",
                        lambda *a, **k: calls.append(k.get("memory_limit")) or real(*a, **k))
    folder = rees46[0]
    ws = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    assert _balance(ws.source(str(folder), preset="rees46")) == REES46_BALANCE
    assert calls and calls[0]  # the store's memory limit was passed on
    assert -(-17_434 * dedupe.KEY_BYTES // int(calls[0] * dedupe.KEY_MEMORY_SHARE)) > 1


@pytest.mark.spark
@pytest.mark.skipif("pyspark" not in BACKENDS, reason="Spark is not among AIPS_TEST_BACKENDS")
def test_spark_source_equals_duckdb(rees46, spark_session):
    """The same Parquet files sourced on Spark (local[2]) and on DuckDB: the same balance
    (the hand values), quarantine rows, events (ids included), assets and funnel."""
    folder, _, duck, want = rees46
    store = connect(spark_session)
    for name in store.backend.list_tables():
        store.backend.drop_table(name, force=True)
    ws = Workspace(store, default_model())
    got = ws.source(str(folder), preset="rees46")
    assert _balance(got) == _balance(want) == REES46_BALANCE
    assert [(Path(f.source_file).name, f.rows_read, f.loaded, f.duplicates, f.quarantined) for f in got.files] == \
        [(Path(f.source_file).name, f.rows_read, f.loaded, f.duplicates, f.quarantined) for f in want.files]
    assert not store.has("aips_source_checked")  # the scratch table is dropped
    assert _quarantine(store) == _quarantine(duck.store)
    assert _events(ws) == _events(duck)
    order = ["brand", "stage"]
    assets = duck.assets("2019-10-01").order_by(order).to_pyarrow().to_pylist()
    assert len(assets) > 100 and ws.assets("2019-10-01").order_by(order).to_pyarrow().to_pylist() == assets
    steps = duck.funnel(["read", "cart", "purchase"], window="7d").steps
    assert steps[0]["count"] > 1000 and ws.funnel(["read", "cart", "purchase"], window="7d").steps == steps


def test_parquet_source_equals_ingest_downstream(rees46, shared_data, tmp_path):
    """The sourced store answers ``assets`` and ``series`` exactly as an ingest of the same
    CSV, with the same events (ids included)."""
    _, _, sourced, a = rees46
    ingested = Workspace(connect(str(tmp_path / "i.duckdb")), sourced.model)
    b = ingested.ingest(shared_data / REES46, preset="rees46", quarantine_dir=tmp_path / "q")
    assert _balance(a) == _balance(b)
    assert _events(sourced) == _events(ingested)  # the same events, ids included
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
    from aips.maintain.state import sourced_date_range

    assert sourced_date_range(store) is None  # a catalog table can change: its dates are scanned
    assert ws.view.date_range() == (dt.date(2024, 1, 2), dt.date(2024, 1, 2))  # the read rows


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


def test_cli_json_and_zh(rees46, tmp_path, shared_data, monkeypatch, capsys):
    folder = rees46[0]
    store = ["--store", str(tmp_path / "s.duckdb")]
    code, out, err = run_cli(["source", "events", str(folder), "--preset", "rees46", *store,
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
    code, out, _ = run_cli(["source", "events", str(folder), "--preset", "rees46", *store,
                            "--lang", "zh"], monkeypatch, capsys)
    assert code == 0
    assert out.splitlines()[0] == "events：读取 17,434 行 = 载入 14,952 + 重复 5 + 忽略 0 + 隔离 2,477"
    assert "隔离的行：表 quarantine_events" in out and "去重" in out


_value = st.one_of(st.none(), st.sampled_from(["", " ", "x"]))
_row = st.fixed_dictionaries({
    "event_id": st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3"])),
    "ts": st.one_of(st.none(), st.sampled_from([
        "2024-01-02 10:00", "2024-13-01 10:00", "2024-01-02T01:00Z", "01/02/2024 10:00", "9999-01-01",
        "1999-12-31", "x", "2024-07-01 10:00:00", "2024-07-01T10:00:00Z", "2024-07-01 10:00:00 UTC", "20240702",
        "2024-03-31 02:30:00", "2024-10-27 02:30:00", "2024-02-30 10:00:00", "2024-07-01"])),
    "user_id": st.one_of(_value, st.sampled_from(["u1", "u2"])),
    "brand": st.one_of(_value, st.just("b")),
    "event_type": st.one_of(st.none(), st.sampled_from(["read", " Read ", "buy", "nope", "skip"])),
    "amount": st.one_of(st.none(), st.sampled_from([1.5, -1.0, float("nan"), float("inf"), 0.0])),
})


def _iso(ts: str, user: str = "u1") -> dict:
    return {"event_id": None, "ts": ts, "user_id": user, "brand": "b", "event_type": "read", "amount": None}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, min_size=1, max_size=12), tz=st.sampled_from(["Asia/Shanghai", "Europe/Paris"]))
@example(rows=[_iso("2024-03-31 01:59:59"), _iso("2024-03-31 02:30:00"), _iso("2024-03-31 03:00:00"),
               _iso("2024-10-27 02:30:00"), _iso("2024-10-27 03:00:00"), _iso("2024-07-01"),
               _iso("2024-07-01T10:00:00Z", "u2")], tz="Europe/Paris")  # ISO only, around both changes
@example(rows=[dict.fromkeys(_iso(""))] * 2 + [{**dict.fromkeys(_iso("")), "ts": "2024-02-30 10:00:00"}],
         tz="Asia/Shanghai")  # no such day: quarantined, and the view must not convert it (reading it failed)
def test_every_row_is_accounted_for(rows, tz, tmp_path_factory):
    """Every row read is loaded, a duplicate, ignored or quarantined; the view and the
    quarantine table hold exactly the loaded and quarantined rows; and the counts, reasons
    and loaded events equal an ingest of the same file (the Python reader: an independent
    implementation), with the timestamp forms mixed or alone (the view maps only the forms
    the data uses) and in a zone with daylight saving (Paris: 2024-03-31 02:30 does not
    exist, 2024-10-27 02:30 happens twice)."""
    folder = tmp_path_factory.mktemp("prop")
    schema = pa.schema([(k, pa.float64() if k == "amount" else pa.string()) for k in rows[0]])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "e.parquet")
    mapping = {"event_types": {"buy": "purchase"}, "ignore": ["skip"]}
    ws = Workspace(connect(":memory:"), default_model())
    r = ws.source(str(folder), mapping=mapping, tz=tz)
    assert r.rows_read == len(rows) == r.loaded + r.duplicates + r.ignored + r.quarantined
    assert ws.events.count().to_pyarrow().as_py() == r.loaded
    assert ws.store.table("quarantine_events").count().to_pyarrow().as_py() == r.quarantined
    oracle = Workspace(connect(":memory:"), default_model())
    o = oracle.ingest(folder / "e.parquet", mapping=mapping, tz=tz, quarantine_dir=folder / "q")
    assert _balance(r) == _balance(o)
    assert _events(ws) == _events(oracle)


def test_a_date_range_of_the_view_reads_only_the_files_that_hold_it(shared_data, tmp_path, monkeypatch):
    """Issue 13 (the 1B-event run): a filter on the view's ``local_date`` alone reads every
    file (the date is computed from each row's time), so the rollup's day parts each read
    all 12 GB. :func:`~aips.maintain.state.events_between` adds the load ids of the files
    that hold the range: the same rows, and a damaged file outside the range is not opened
    (the whole view fails on it). The full rollup built a few days at a time from the view
    equals the one query's, and the day counts that size the parts come from ``loads``."""
    import aips
    from aips.engine import daily_counters
    from aips.maintain import COUNTERS_TABLE, refresh_counters, rollup
    from aips.maintain.state import day_counts, events_between

    hive = tmp_path / "hive"
    _taobao_hive(shared_data, hive)
    path = str(tmp_path / "s.duckdb")
    ws = Workspace(connect(path), default_model())
    ws.source(str(hive), preset="taobao")
    events = ws.store.table("events")
    every = events.group_by("local_date").aggregate(n=events.count()).order_by("local_date").to_pyarrow().to_pylist()
    days = [r["local_date"] for r in every]
    assert len(days) >= 6
    estimated = day_counts(ws.store, events)
    assert abs(sum(n for _, n in estimated) - 4_321) <= len(days) and [d for d, _ in estimated] == days  # rounded
    first, last = days[1], days[3]
    want = sorted(events.filter(events.local_date.between(first, last)).event_id.to_pyarrow().to_pylist())
    assert 0 < len(want) < 4_321
    model = ws.model
    cols = list(daily_counters(events, model).columns)
    whole = sorted(tuple(r.values()) for r in daily_counters(events, model).select(*cols).to_pyarrow().to_pylist())
    ws.store.close()

    seen = []

    def small_parts(store, ev, limit=None):  # about a day a part
        seen.append(rollup.day_parts.__wrapped__(store, ev, limit=800 * rollup.EVENT_BYTES))
        return seen[-1]

    small_parts.__wrapped__ = rollup.day_parts
    monkeypatch.setattr(rollup, "day_parts", small_parts)
    with aips.open(path, read_only=True) as ro:
        assert refresh_counters(ro.store, model).mode == "full"
        got = ro.store.table(COUNTERS_TABLE).select(*cols).to_pyarrow().to_pylist()
    assert len(seen[0]) >= 4 and sorted(tuple(r.values()) for r in got) == whole

    again = Workspace(connect(path), default_model())
    events = again.store.table("events")
    narrowed = events_between(again.store, events, first, last)
    assert sorted(narrowed.event_id.to_pyarrow().to_pylist()) == want
    plain = events.filter(events.local_date.between(first, last))
    assert parquet_rows_read(again.store, plain) == 4_321
    assert parquet_rows_read(again.store, narrowed) < 4_321 / 2



def test_the_date_range_of_a_parquet_source_comes_from_its_loads(shared_data, tmp_path):
    """Issue 13 (the 1B-event run): ``aips assets`` spent minutes checking ``--at`` against
    the data's dates, a min/max that read every file of the view. A Parquet source's dates
    come from ``loads`` (each file's, recorded when it was checked): the same range, and no
    file is opened (they are all damaged below). A catalog table's view is scanned: its rows
    can change after registration (``test_table_source``)."""
    from aips.maintain.state import sourced_date_range
    from aips.view import View

    hive = tmp_path / "hive"
    _taobao_hive(shared_data, hive)
    ws = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    ws.source(str(hive), preset="taobao")
    events = ws.store.table("events")
    row = events.aggregate(lo=events.local_date.min(), hi=events.local_date.max()).to_pyarrow().to_pylist()[0]
    assert sourced_date_range(ws.store) == (row["lo"], row["hi"]) and row["lo"] < row["hi"]
    for f in hive.rglob("*.parquet"):
        f.write_bytes(b"not parquet")
    view = View(ws.store, ws.model)
    assert view.date_range() == (row["lo"], row["hi"]) and view.last_day() == row["hi"]
    view.require_dates(row["hi"])
    with pytest.raises(ConfigError, match=f"the data runs from {row['lo']} to {row['hi']}"):
        view.require_dates(row["hi"] + dt.timedelta(days=1))


def test_windowed_reads_of_a_parquet_source_take_only_their_days_files(tmp_path):
    """Issue 13 (the 1B-event report): penetration and the competitors read the 30-day
    audience window, ROI its campaign windows, ... ; on the view each read every file. They
    now take the files of their days (``View.events_between``, ``View.audience_events``): the
    same tables as from every file, and the files before the window are not read."""
    import ibis
    from maintain_helpers import log

    from aips.analytics import flows
    from aips.engine import penetration as pen

    folder = tmp_path / "ds"
    folder.mkdir()
    start = dt.date(2024, 1, 1)
    for n in range(60):  # a file a day: two users and brands, one category
        day = (start + dt.timedelta(days=n)).isoformat()
        rows = [(f"u{n % 7}", "B", f"{day} 10:00", "read", {"category": "skin", "dwell_s": 20.0}),
                (f"v{n % 5}", "C", f"{day} 11:00", "collect" if n % 3 else "purchase", {"category": "skin"})]
        pq.write_table(log(f"d{n}", rows).drop_columns(["load_id", "local_date"]), folder / f"{day}.parquet")
    ws = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    ws.source(str(folder))
    at = start + dt.timedelta(days=59)
    view = ws.view
    got = flows.penetration(view, at)
    every = pen.penetration(view.events, view.snapshot(at), view.model, at)
    assert got.to_pyarrow().to_pylist() == every.to_pyarrow().to_pylist()
    assert [r["category_audience"] for r in got.to_pyarrow().to_pylist()] == [12, 12]  # 7 u's + 5 v's
    assert flows.competitors(view, at).to_pyarrow().to_pylist() == \
        pen.competitors(view.events, view.snapshot(at), view.model, at).to_pyarrow().to_pylist()
    window = view.audience_events(at)
    assert parquet_rows_read(ws.store, window) <= 2 * 32  # the window's 30 files (+ a day each side)
    assert parquet_rows_read(ws.store, view.events.filter(view.events.local_date >= at - dt.timedelta(days=29))) == 120
    narrowing = '"load_id" IN ('  # the files' load ids
    for expr in (got, flows.competitors(view, at)):
        assert narrowing in ibis.to_sql(expr) and narrowing not in ibis.to_sql(every)


def _mapped_columns(ws) -> set[str]:
    """The source columns the ``events`` view trims (a regular expression each)."""
    import re

    sql = ws.store.backend.con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'events'").fetchone()[0]
    return set(re.findall(r"regexp_replace\(\w+\.(\w+),", sql)) | ({"<derived ids>"} if "sha256" in sql else set())


@pytest.mark.parametrize("case", ["clean", "dirty", "no ids"])
def test_the_view_maps_only_the_columns_some_row_needs_mapped(tmp_path, case):
    """Issue 13 (1B events): the view of a Parquet source trimmed every value of every text
    column on every read, and a derived id needs every column, so a read of five columns
    mapped all of them (at 12M events 7x the CPU of the raw files). The check that
    registers the files records which columns some row needs mapped (surrounding blanks,
    empty, an upper-case event type, a missing id); the view maps only those. Each case's
    rows equal an ingest of the same file (the Python reader: an independent mapping)."""
    utc = [dt.datetime(2024, 1, 2, h, tzinfo=dt.UTC) for h in (8, 9, 10)]
    table = {"event_id": ["e1", "e2", "e3"], "ts": utc, "user_id": ["u1", "u2", "u3"], "brand": ["b", "b", "c"],
             "event_type": ["read", "read", "purchase"], "channel": ["feed_ad", None, "kol_note"]}
    if case == "dirty":
        table.update(brand=["b", " b ", "c"], event_type=["read", "READ", "purchase"], channel=["feed_ad", "", "kol_note"])
    if case == "no ids":
        table.update(event_id=["e1", None, "e3"])
    folder = tmp_path / "files"
    folder.mkdir()
    pq.write_table(pa.table(table), folder / "e.parquet")
    ws = Workspace(connect(str(tmp_path / "s.duckdb")), default_model())
    r = ws.source(str(folder))
    assert r.loaded == 3
    assert _mapped_columns(ws) == {"clean": set(), "dirty": {"brand", "event_type", "channel"},
                                   "no ids": {"<derived ids>"}}[case]
    oracle = Workspace(connect(":memory:"), default_model())
    oracle.ingest(folder / "e.parquet", quarantine_dir=tmp_path / "q")
    assert _events(ws) == _events(oracle)
    got = {r["event_id"]: (r["brand"], r["event_type"], r["channel"]) for r in ws.events.to_pyarrow().to_pylist()}
    assert got["e1"] == ("b", "read", "feed_ad") and got["e3"] == ("c", "purchase", "kol_note")
    if case != "no ids":
        assert got["e2"] == ("b", "read", None)


def _unified_by_name(ws) -> bool:
    """Whether the raw view of the sourced files reads them with ``union_by_name``."""
    sql = ws.store.backend.con.execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = '_aips_source_raw'").fetchone()[0]
    flag = sql.lower().split("union_by_name", 1)[1][:30]
    assert ("'t'" in flag or "true" in flag) != ("'f'" in flag or "false" in flag), sql
    return "'t'" in flag or "true" in flag


def test_files_with_the_same_columns_are_not_unified_by_name(tmp_path):
    """Issue 13 (1B events): ``union_by_name`` made DuckDB read the footers of all 7,920
    files each time a query bound the view, and hold them (~1 GiB per reference, outside its
    memory limit). Files with the same columns (here in another order) are read without it;
    files whose columns differ keep it, so a column the first file lacks is not lost (the
    rows equal an ingest of the same files: the Python reader)."""
    utc = [dt.datetime(2024, 1, 2, h, tzinfo=dt.UTC) for h in (8, 9)]
    a = {"event_id": ["e1", "e2"], "ts": utc, "user_id": ["u1", "u2"], "brand": ["b", "b"],
         "event_type": ["read", "purchase"]}
    b = {"brand": ["c"], "user_id": ["u3"], "ts": utc[:1], "event_type": ["read"], "event_id": ["e3"],
         "channel": ["kol_note"]}
    for case, with_channel in (("same", True), ("differ", False)):
        folder = tmp_path / case / "files"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({**a, **({"channel": ["feed_ad", None]} if with_channel else {})}),
                       folder / "a.parquet")  # first: the columns DuckDB takes without unifying
        pq.write_table(pa.table(b), folder / "b.parquet")
        ws = Workspace(connect(str(tmp_path / case / "s.duckdb")), default_model())
        assert ws.source(str(folder)).loaded == 3
        assert _unified_by_name(ws) is not with_channel, case
        oracle = Workspace(connect(":memory:"), default_model())
        for f in ("a", "b"):
            oracle.ingest(folder / f"{f}.parquet", quarantine_dir=tmp_path / case / "q")
        assert _events(ws) == _events(oracle), case
        got = {r["event_id"]: r["channel"] for r in ws.events.to_pyarrow().to_pylist()}
        assert got == {"e1": "feed_ad" if with_channel else None, "e2": None, "e3": "kol_note"}, case
