"""Ingest at scale (issue 13, item 4): NaN is missing, a directory is one load with one
summary, Parquet files load straight from the backend with the same results as the
row-by-row path, and a wrongly mapped file stops early.

The direct Parquet path (:mod:`aips.ingest.direct`) is checked against the row-by-row path
as an oracle: the same files are loaded both ways (the second with the direct path turned
off) and the stores must hold the same rows, loads and quarantine rows.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import aips
from aips.exceptions import IngestError
from aips.ingest import direct, load

UTC = dt.UTC


def _events(n: int, start: int = 0, **over) -> pd.DataFrame:
    i = np.arange(start, start + n)
    df = pd.DataFrame({
        "event_id": [f"e{k:06d}" for k in i],
        "ts": pd.to_datetime("2024-03-01", utc=True) + pd.to_timedelta(i * 37, unit="s"),
        "user_id": [f"u{k % 7}" for k in i],
        "brand": np.where(i % 2 == 0, "Auralis", "Lumiere"),
        "event_type": np.array(["read", "impression", "purchase", "collect"])[i % 4],
        "dwell_s": np.where(i % 4 == 0, 6.5, np.nan),
        "completion": np.where(i % 4 == 0, 0.5, np.nan),
        "amount": np.where(i % 4 == 2, 99.0, np.nan),
    })  # fmt: skip
    for key, value in over.items():
        df[key] = value
    return df


def _write(df: pd.DataFrame, path: Path) -> Path:
    """As numpy holds them: a missing float is NaN in the file (``pandas.to_parquet`` would
    turn NaN into null; ``pa.array(numpy_array)`` keeps it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False)
    for name in df.columns:
        if df[name].dtype.kind == "f":
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pa.array(df[name].to_numpy(), from_pandas=False))
    pq.write_table(table, path)
    return path


def _load(paths, tmp_path: Path, *, fast: bool, monkeypatch, name: str, **options):
    """Load ``paths`` into a new store; return the store's rows and the report."""
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(direct.DirectLoad, "offer", lambda *a, **k: False)
        ws = aips.open(tmp_path / f"{name}.duckdb")
        report = ws.ingest(*paths, quarantine_dir=tmp_path / f"q_{name}", **options)
    ev = ws.store.table("events")
    rows = ev.drop("load_id").order_by("event_id").to_pyarrow()
    loads = (ws.store.table("loads")
             .select("source_file", "rows_read", "loaded", "duplicates", "ignored", "quarantined",
                     "min_date", "max_date").order_by("source_file").to_pyarrow())
    q = ws.store.table("quarantine") if ws.store.has("quarantine") else None
    quarantine = (q.select("source_file", "source_line", "column_name", "reason", "raw")
                  .order_by(["source_file", "source_line"]).to_pyarrow() if q is not None else None)
    return ws, report, rows, loads, quarantine


def _same_both_ways(paths, tmp_path, monkeypatch, **options):
    fast = _load(paths, tmp_path, fast=True, monkeypatch=monkeypatch, name="fast", **options)
    slow = _load(paths, tmp_path, fast=False, monkeypatch=monkeypatch, name="slow", **options)
    assert fast[2].equals(slow[2]), "events differ between the direct and the row-by-row path"
    assert fast[3].equals(slow[3]), "loads differ"
    if fast[4] is not None or slow[4] is not None:
        assert fast[4].equals(slow[4]), "quarantine differs"
    for name in ("rows_read", "loaded", "duplicates", "ignored", "quarantined", "reasons"):
        assert getattr(fast[1], name) == getattr(slow[1], name), name
    assert fast[1].balanced
    return fast


# --- NaN is a missing value ----------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["direct", "row-by-row"])
def test_nan_in_float_columns_is_null_not_quarantined(tmp_path, monkeypatch, fast):
    """pandas writes missing floats as NaN: 8 rows, 6 with NaN amount, all load; NaN in a
    float column mapped to a text column (campaign_id) is null too, not the text 'nan'."""
    df = _events(8)
    df["campaign_id"] = np.where(np.arange(8) < 4, 7.0, np.nan)  # a float id column
    path = _write(df, tmp_path / "nan.parquet")
    assert pq.read_table(path).column("amount").null_count == 0  # NaN, not null, in the file
    ws, report, rows, _, _ = _load([path], tmp_path, fast=fast, monkeypatch=monkeypatch, name="n",
                                   preset="canonical")
    assert (report.rows_read, report.loaded, report.quarantined) == (8, 8, 0)
    got = rows.to_pydict()
    assert got["amount"] == [None, None, 99.0, None, None, None, 99.0, None]
    assert got["dwell_s"][:2] == [6.5, None] and got["completion"][:2] == [0.5, None]
    assert got["campaign_id"] == ["7"] * 4 + [None] * 4
    assert not any(isinstance(v, float) and math.isnan(v) for v in got["amount"])


def test_infinite_amount_is_still_quarantined(tmp_path, monkeypatch):
    df = _events(4)
    df.loc[2, "amount"] = np.inf
    path = _write(df, tmp_path / "inf.parquet")
    _, report, _, _, q = _same_both_ways([path], tmp_path, monkeypatch, preset="canonical")
    assert report.reasons == {"non-numeric amount": 1}
    assert q.column("source_line").to_pylist() == [3]


# --- one load, one summary ---------------------------------------------------------------------


def test_a_directory_is_one_load_with_one_summary(tmp_path, monkeypatch):
    folder = tmp_path / "events"
    for day in range(5):
        _write(_events(40, start=day * 40), folder / f"date=2024-03-0{day + 1}" / "part-0.parquet")
    ws, report, rows, loads, _ = _load([folder], tmp_path, fast=True, monkeypatch=monkeypatch, name="d",
                                       preset="canonical")
    text = str(report)
    assert text.splitlines()[0] == "events: 200 rows read = 200 loaded + 0 duplicates + 0 ignored + 0 quarantined"
    assert "part-0.parquet" not in text  # no line per file ...
    verbose = report.render(verbose=True)
    assert verbose.count("part-0.parquet: 40 read, 40 loaded") == 5  # ... unless asked
    assert loads.num_rows == 5 and set(loads.column("rows_read").to_pylist()) == {40}  # per-file bookkeeping
    assert "date" not in rows.column_names  # the hive folder adds no column
    again = ws.ingest(folder, preset="canonical", quarantine_dir=tmp_path / "q")
    assert (again.loaded, again.duplicates) == (0, 200)
    assert ws.store.table("loads").count().to_pyarrow().as_py() == 5  # nothing added
    assert "5 of the 5 files were already loaded" in str(again)


def test_cli_verbose_quiet_and_one_summary(tmp_path):
    from aips.cli.app import app

    folder = tmp_path / "events"
    for day in range(3):
        _write(_events(10, start=day * 10), folder / f"d{day}.parquet")
    store = str(tmp_path / "cli.duckdb")
    out = CliRunner().invoke(app, ["ingest", str(folder), "--preset", "canonical", "--store", store, "--quiet"])
    assert out.exit_code == 0, out.output
    assert out.output.strip().splitlines() == [
        "events: 30 rows read = 30 loaded + 0 duplicates + 0 ignored + 0 quarantined"]
    out = CliRunner().invoke(app, ["ingest", str(folder), "--preset", "canonical", "--store", store, "--verbose"])
    assert out.exit_code == 0, out.output
    assert sum("d1.parquet: 10 read, 0 loaded, 10 duplicates" in line for line in out.output.splitlines()) == 1


# --- the direct path gives the row-by-row path's results ------------------------------------


def test_direct_matches_row_by_row_on_messy_files(tmp_path, monkeypatch):
    """Whitespace, upper-case and mapped event types, a type on the ignore list, duplicate ids
    within a file and across files (the earlier file wins), naive timestamps in the model's
    zone, a file without event ids (hashed, row by row) and a file with a bad row (row by
    row, quarantined), all in one load."""
    a = _events(50)
    a.loc[3, "brand"] = "  Auralis "
    a.loc[4, "event_type"] = " READ"
    a.loc[5, "event_type"] = "fav"  # the taxonomy maps it to collect
    a.loc[6, "event_type"] = "remove_from_cart"  # ignored by the mapping below
    a.loc[7, "event_id"] = a.loc[8, "event_id"]  # a duplicate id within the file
    a.loc[9, "user_id"] = ""  # missing user_id: this file goes row by row
    b = _events(30, start=40)  # ids e000040.. repeat the end of a: a wins
    b.loc[1, "dwell_s"] = 3.0
    c = _events(20, start=500).assign(ts=lambda d: d.ts.dt.tz_localize(None))  # naive: Shanghai wall time
    d = _events(10, start=700).drop(columns="event_id")  # ids derived from the rows
    e = _events(25, start=900)  # clean
    e.loc[0, "keyword"] = "serum "
    paths = [_write(x, tmp_path / "in" / f"{k}.parquet") for k, x in zip("abcde", (a, b, c, d, e), strict=True)]
    mapping = {"table": "events", "ignore": ["remove_from_cart"]}
    fast = _same_both_ways(paths, tmp_path, monkeypatch, mapping=mapping)
    report = fast[1]
    assert report.ignored == 1 and report.reasons == {"missing user_id": 1}
    assert report.duplicates == 1 + 10  # within a, and b's first ten rows
    by_file = {Path(f.source_file).stem: f for f in report.files}
    assert by_file["c"].min_date == dt.date(2024, 3, 1)  # wall times in Asia/Shanghai


def test_direct_path_is_taken_for_clean_files_only(tmp_path, monkeypatch):
    good = _write(_events(20), tmp_path / "good.parquet")
    bad = _events(20, start=100)
    bad.loc[0, "completion"] = 1.5
    bad = _write(bad, tmp_path / "bad.parquet")
    staged = []
    real = direct.DirectLoad.staged
    monkeypatch.setattr(direct.DirectLoad, "staged", lambda self: staged.append(
        sorted(i for g in self.groups.values() for i in g.clean)) or real(self))
    ws = aips.open(tmp_path / "s.duckdb")
    report = ws.ingest(good, bad, preset="canonical", quarantine_dir=tmp_path / "q")
    # first both files are inserted as if clean; the check of the inserted rows finds the
    # bad row and undoes it; then good.parquet goes straight, bad.parquet row by row
    assert staged == [[0, 1], [0]]
    assert (report.loaded, report.reasons) == (39, {"completion out of range": 1})
    stored = ws.store.table("events")
    assert stored.count().execute() == 39 and ws.store.table("loads").count().execute() == 2


def test_clean_files_load_in_one_pass(tmp_path, monkeypatch):
    """Clean files are inserted on the assumption that they are clean, proved on the
    inserted rows (no checking pass over the files first); the result is the row-by-row
    path's."""
    paths = [_write(_events(20, start=k * 100), tmp_path / f"{k}.parquet") for k in range(3)]
    checked = []
    monkeypatch.setattr(direct.DirectLoad, "check", lambda self: checked.append(1) or (_ for _ in ()).throw(
        AssertionError("the files were checked before the insert")))
    ws = aips.open(tmp_path / "s.duckdb")
    report = ws.ingest(*paths, preset="canonical")
    assert not checked and (report.rows_read, report.loaded, report.duplicates) == (60, 60, 0)
    monkeypatch.undo()
    (tmp_path / "again").mkdir()
    _same_both_ways(paths, tmp_path / "again", monkeypatch, preset="canonical")


def test_a_repeated_id_across_clean_files_undoes_the_one_pass_load(tmp_path, monkeypatch):
    """Two clean files sharing an event id: the one-pass insert finds the id twice among
    the inserted rows, undoes itself, and the checked path keeps the earlier file's row."""
    a = _events(10)
    b = _events(10, start=9)  # e000009 is in both
    paths = [_write(a, tmp_path / "a.parquet"), _write(b, tmp_path / "b.parquet")]
    fast = _same_both_ways(paths, tmp_path, monkeypatch, preset="canonical")
    assert (fast[1].loaded, fast[1].duplicates) == (19, 1)


@pytest.mark.parametrize("statistics", [True, False], ids=["with-statistics", "without"])
def test_clean_files_proven_before_the_insert(tmp_path, monkeypatch, statistics):
    """Clean, distinct source ids are proven on the files before the insert; with the
    files' Parquet statistics (null counts, min and max: NaN left out) no inserted row is
    read to prove them clean; without statistics the inserted rows are checked, but their
    ids are not counted again. Either way the rows are the row-by-row path's."""
    paths = []
    for k in range(2):
        df = _events(20, start=k * 100)
        df.loc[3, "amount"] = np.nan
        path = _write(df, tmp_path / "in" / f"{k}.parquet")
        if not statistics:
            pq.write_table(pq.read_table(path), path, write_statistics=["ts"])
        paths.append(path)
    calls = []
    real = direct.DirectLoad.inserted_problems
    monkeypatch.setattr(direct.DirectLoad, "inserted_problems",
                        lambda self, *a: calls.append(self.ids_unique) or real(self, *a))
    report = aips.open(tmp_path / "s.duckdb").ingest(*paths, preset="canonical")
    assert calls == ([] if statistics else [True]) and (report.loaded, report.duplicates) == (40, 0)
    monkeypatch.undo()
    (tmp_path / "again").mkdir()
    _same_both_ways(paths, tmp_path / "again", monkeypatch, preset="canonical")


@pytest.mark.parametrize("column, value, reason", [
    ("amount", -1.0, "negative amount"), ("completion", 1.5, "completion out of range"),
    ("dwell_s", math.inf, "non-numeric dwell_s"), ("user_id", None, "missing user_id")])
def test_statistics_that_show_a_bad_row_prove_nothing(tmp_path, monkeypatch, column, value, reason):
    """A bad value shows in the files' statistics (min, max, null count): the one-pass load
    checks the inserted rows, finds it and the row is quarantined as row by row."""
    df = _events(20)
    df.loc[5, column] = value
    paths = [_write(df, tmp_path / "in" / "a.parquet"), _write(_events(10, start=100), tmp_path / "in" / "b.parquet")]
    fast = _same_both_ways(paths, tmp_path, monkeypatch, preset="canonical")
    assert (fast[1].loaded, fast[1].quarantined, fast[1].reasons) == (29, 1, {reason: 1})


def test_a_missing_event_id_is_found_although_the_statistics_prove_the_rest(tmp_path, monkeypatch):
    """A row without an event id (the ids present clean and distinct, every other column
    proven by the statistics) is not a bad row: its file takes the row-by-row path, whose id
    is derived from the row, as when the direct path is off."""
    df = _events(20)
    df.loc[4, "event_id"] = None
    paths = [_write(df, tmp_path / "in" / "a.parquet"), _write(_events(10, start=100), tmp_path / "in" / "b.parquet")]
    fast = _same_both_ways(paths, tmp_path, monkeypatch, preset="canonical")
    assert (fast[1].loaded, fast[1].quarantined) == (30, 0)


def test_wall_clock_statistics_do_not_hide_a_future_timestamp(tmp_path, monkeypatch):
    """Wall-clock ``ts`` five hours behind UTC (``Etc/GMT+5``, no daylight saving): the
    files' statistics are wall-clock times, so a row two hours ago by the wall clock is
    three hours in the future in UTC: quarantined with ``max_future="0d"``, as row by row."""
    now = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    df = _events(10)
    df["ts"] = pd.to_datetime([now - dt.timedelta(days=2)] * 9 + [now - dt.timedelta(hours=2)])
    paths = [_write(df, tmp_path / "in" / "a.parquet")]
    fast = _same_both_ways(paths, tmp_path, monkeypatch, preset="canonical", tz="Etc/GMT+5", max_future="0d")
    assert (fast[1].loaded, fast[1].reasons) == (9, {"future timestamp": 1})


def test_a_padded_id_equal_to_another_once_trimmed_is_a_duplicate(tmp_path, monkeypatch):
    """Raw ids ``e000009`` and ``" e000009"`` are distinct in the files but the same id once
    trimmed: not proven unique on the files, the count over the inserted rows finds the
    repeat, and the checked path keeps the earlier file's row (as row by row)."""
    a = _events(10)
    b = _events(10, start=9)
    b.loc[0, "event_id"] = " e000009"
    paths = [_write(a, tmp_path / "a.parquet"), _write(b, tmp_path / "b.parquet")]
    fast = _same_both_ways(paths, tmp_path, monkeypatch, preset="canonical")
    assert (fast[1].loaded, fast[1].duplicates) == (19, 1)


def test_direct_falls_back_where_daylight_saving_matters(tmp_path, monkeypatch):
    """Naive timestamps in a zone with a DST change in the files' dates: row by row (folds
    and gaps are quarantined there), with the same result either way."""
    df = _events(6).assign(ts=pd.to_datetime(["2024-03-31 01:30", "2024-03-31 02:30", "2024-03-31 03:30",
                                              "2024-10-27 02:30", "2024-10-27 03:30", "2024-06-01 12:00"]))
    path = _write(df, tmp_path / "dst.parquet")
    fast = _same_both_ways([path], tmp_path, monkeypatch, preset="canonical", tz="Europe/Paris")
    assert fast[1].reasons == {"ambiguous timestamp": 1, "nonexistent local time": 1}


def test_local_date_follows_the_model_zone_across_dst(tmp_path, monkeypatch):
    """UTC instants around a DST change of a model zone with one: the direct path's piecewise
    offsets give the row-by-row path's local dates."""
    from aips.config.model import default_model

    model = default_model().with_overrides(timezone="America/New_York")
    ts = pd.to_datetime(["2024-03-10 04:59", "2024-03-10 05:00", "2024-03-10 06:59", "2024-03-10 07:00",
                         "2024-11-03 03:59", "2024-11-03 04:00", "2024-11-03 04:59", "2024-11-03 05:00"], utc=True)
    path = _write(_events(8).assign(ts=ts), tmp_path / "ny.parquet")
    got = {}
    for fast in (True, False):
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(direct.DirectLoad, "offer", lambda *a, **k: False)
            ws = aips.Workspace(aips.store.connect(":memory:"), model)
            ws.ingest(path, preset="canonical", quarantine_dir=tmp_path / "q")
        got[fast] = ws.store.table("events").order_by("event_id").local_date.to_pyarrow().to_pylist()
    assert got[True] == got[False]
    assert got[True][:4] == [dt.date(2024, 3, 9), dt.date(2024, 3, 10), dt.date(2024, 3, 10), dt.date(2024, 3, 10)]
    assert got[True][4:] == [dt.date(2024, 11, 2), dt.date(2024, 11, 3), dt.date(2024, 11, 3), dt.date(2024, 11, 3)]


def test_direct_reload_into_a_store_with_other_rows(tmp_path, monkeypatch):
    """Dedupe against the store: rows already stored (from a CSV) are duplicates."""
    ws = aips.open(tmp_path / "r.duckdb")
    df = _events(30)
    csv = tmp_path / "first.csv"
    df.iloc[:10].assign(ts=df.ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(csv, index=False)
    ws.ingest(csv, preset="canonical", quarantine_dir=tmp_path / "q")
    report = ws.ingest(_write(df, tmp_path / "all.parquet"), preset="canonical", quarantine_dir=tmp_path / "q")
    assert (report.rows_read, report.loaded, report.duplicates) == (30, 20, 10)
    assert ws.store.table("events").event_id.nunique().to_pyarrow().as_py() == 30


# --- early stop ----------------------------------------------------------------------------------


def _csv(path: Path, n: int, amount: str) -> Path:
    duckdb.sql(f"""copy (select 'e' || i as event_id, timestamp '2024-01-01' + to_seconds(i) as ts,
                                'u' || (i % 97) as user_id, 'b' as brand, 'read' as event_type,
                                {amount} as amount
                         from range({n}) t(i)) to '{path}' (header)""")
    return path


def test_a_file_whose_first_rows_are_all_bad_stops_early(tmp_path):
    """150,000 rows whose amount column holds text (mapped wrong): the load stops after the
    first 100,000, names the file, reason and column, and loads nothing, not even the good
    file given before it."""
    good = _csv(tmp_path / "good.csv", 10, "1.5")
    wrong = _csv(tmp_path / "wrong.csv", 150_000, "'CNY ' || i")
    ws = aips.open(tmp_path / "e.duckdb")
    with pytest.raises(IngestError) as err:
        ws.ingest(good, wrong, preset="canonical", quarantine_dir=tmp_path / "q")
    message = str(err.value)
    assert message.startswith(f"{wrong}: stopped early: all of its first 100,000 rows are quarantined as "
                              "'non-numeric amount' (column 'amount')")
    assert "--max-bad-fraction" in message
    assert not ws.store.has("events") or ws.store.table("events").count().to_pyarrow().as_py() == 0
    assert not list((tmp_path / "q").glob("*.csv"))  # no 150,000-row quarantine file either


def test_early_stop_needs_the_first_rows_all_bad_for_one_reason(tmp_path):
    """Every 1,000th row good: the file loads (99.9 % quarantined is the user's data, not a
    mapping mistake by default); with --max-bad-fraction 0.5 it stops; with 1 it never does."""
    path = _csv(tmp_path / "mostly.csv", 100_000, "case when i % 1000 = 0 then '2' else 'x' end")
    ws = aips.open(tmp_path / "m.duckdb")
    report = ws.ingest(path, preset="canonical", quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.quarantined) == (100, 99_900)
    with pytest.raises(IngestError, match=r"99.9% of its first 100,000 rows are quarantined, more than "
                                          r"--max-bad-fraction 0.5; most as 'non-numeric amount'"):
        aips.open(tmp_path / "m2.duckdb").ingest(path, preset="canonical", quarantine_dir=tmp_path / "q",
                                                 max_bad_fraction=0.5)
    wrong = _csv(tmp_path / "wrong.csv", 100_000, "'x'")
    report = aips.open(tmp_path / "m3.duckdb").ingest(wrong, preset="canonical", quarantine_dir=tmp_path / "q",
                                                      max_bad_fraction=1)
    assert report.quarantined == 100_000


def test_early_stop_counts_only_the_first_rows(tmp_path, monkeypatch):
    """Bad rows after the first EARLY_ROWS do not count; a smaller threshold for speed."""
    monkeypatch.setattr(load, "EARLY_ROWS", 1_000)
    path = _csv(tmp_path / "late.csv", 3_000, "case when i < 1000 then '1' else 'x' end")
    report = aips.open(tmp_path / "l.duckdb").ingest(path, preset="canonical", quarantine_dir=tmp_path / "q",
                                                     max_bad_fraction=0)
    assert (report.loaded, report.quarantined) == (1_000, 2_000)
    path = _csv(tmp_path / "early.csv", 3_000, "case when i < 1000 then 'x' else '1' end")
    with pytest.raises(IngestError, match="all of its first 1,000 rows"):
        aips.open(tmp_path / "l2.duckdb").ingest(path, preset="canonical", quarantine_dir=tmp_path / "q")


def test_cli_max_bad_fraction(tmp_path):
    from aips.cli.app import app

    path = _csv(tmp_path / "mostly.csv", 1_000, "case when i % 2 = 0 then '2' else 'x' end")
    store = str(tmp_path / "c.duckdb")
    out = CliRunner().invoke(app, ["ingest", str(path), "--preset", "canonical", "--store", store,
                                   "--max-bad-fraction", "2"])
    assert out.exit_code != 0  # outside 0..1


def test_parquet_with_nan_written_by_numpy_arrays(tmp_path, monkeypatch):
    """The same through pyarrow from numpy arrays (from_pandas=False keeps NaN as NaN)."""
    table = pa.table({"event_id": ["a", "b"], "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC)] * 2),
                      "user_id": ["u", "v"], "brand": ["b", "b"], "event_type": ["purchase", "read"],
                      "amount": pa.array(np.array([np.nan, 10.0]), from_pandas=False)})
    pq.write_table(table, tmp_path / "np.parquet")
    fast = _same_both_ways([tmp_path / "np.parquet"], tmp_path, monkeypatch, preset="canonical")
    assert fast[2].column("amount").to_pylist() == [None, 10.0]


def test_a_relative_path_loads_like_an_absolute_one(tmp_path, monkeypatch):
    """The direct path joins DuckDB's file names with the files given: a relative folder
    (``aips ingest world/events``) once loaded nothing and called every row a duplicate."""
    for day in range(2):
        _write(_events(40, start=day * 40), tmp_path / "events" / f"date=2024-03-0{day + 1}" / "part-0.parquet")
    monkeypatch.chdir(tmp_path)
    ws = aips.open(tmp_path / "rel.duckdb")
    report = ws.ingest(Path("events"), preset="canonical", quarantine_dir=tmp_path / "q")
    assert (report.rows_read, report.loaded, report.duplicates) == (80, 80, 0)
    again = ws.ingest((tmp_path / "events").resolve(), preset="canonical", quarantine_dir=tmp_path / "q")
    assert (again.loaded, again.duplicates) == (0, 80)
