"""The stored rollup: a full build, then incremental refreshes equal to a rebuild."""

from __future__ import annotations

import datetime as dt

from maintain_helpers import DAY1, LATE, LATER, D, load, log, rows

from aips.config.model import default_model
from aips.engine import daily_counters
from aips.maintain import COUNTERS_TABLE, refresh_counters, rollup_is_current

MODEL = default_model()


def test_refresh_counters_incremental_equals_rebuild(store):
    """DuckDB deletes and inserts in one transaction; Spark rebuilds and swaps."""
    load(store, "L1", DAY1)
    assert not rollup_is_current(store, MODEL)
    assert refresh_counters(store, MODEL).mode == "full"
    assert rollup_is_current(store, MODEL)
    assert refresh_counters(store, MODEL).mode == "none"  # idempotent
    load(store, "L2", LATER + LATE)
    assert not rollup_is_current(store, MODEL)
    result = refresh_counters(store, MODEL)
    assert result.mode == "incremental" and result.min_date == D("2024-01-02")
    cols = list(store.table(COUNTERS_TABLE).columns)
    expected = rows(daily_counters(store.table("events"), MODEL), cols)
    assert rows(store.table(COUNTERS_TABLE), cols) == expected
    assert refresh_counters(store, MODEL, dates=[D("2024-01-06")]).dates == [D("2024-01-06")]
    assert rows(store.table(COUNTERS_TABLE), cols) == expected
    assert not [t for t in store.backend.list_tables() if t.startswith(COUNTERS_TABLE + "__")]


def test_without_a_loads_table_a_changed_row_count_rebuilds(duckdb_store):
    store = duckdb_store
    store.write("events", log("a", DAY1))
    assert refresh_counters(store, MODEL).mode == "full"
    assert refresh_counters(store, MODEL).mode == "none"
    store.write("events", log("b", LATER))
    assert refresh_counters(store, MODEL).mode == "full"
    assert rollup_is_current(store, MODEL)



def test_a_full_build_staged_in_day_parts_equals_one_query(tmp_path, monkeypatch):
    """Issue 13: on a read-only store a full build larger than the memory limit allows is
    staged a range of days at a time (the 100M-event store ran out of memory in one
    aggregate); the rollup written is the one query's, row for row."""
    import aips
    from aips.maintain import rollup
    from aips.store.connect import connect

    path = str(tmp_path / "aips.duckdb")
    s = connect(path)
    load(s, "L1", DAY1 + LATE + LATER)
    s.close()
    seen = []

    def small_parts(store, events, limit=None):  # two events a part
        seen.append(rollup.day_parts.__wrapped__(store, events, limit=2 * rollup.EVENT_BYTES))
        return seen[-1]

    small_parts.__wrapped__ = rollup.day_parts
    monkeypatch.setattr(rollup, "day_parts", small_parts)
    with aips.open(path, read_only=True) as ws:
        assert refresh_counters(ws.store, MODEL).mode == "full"
        got = ws.store.table(COUNTERS_TABLE)
        cols = list(got.columns)
        assert rows(got, cols) == rows(daily_counters(ws.store.table("events"), MODEL), cols)
    # events a day: 2, 1, 1, 0, 1, 2 (01-01 .. 01-06): at most two a part
    # (the ends are open: a catalog table's view may show rows of other days later)
    assert seen == [[(dt.date.min, D("2024-01-01")), (D("2024-01-02"), D("2024-01-03")),
                     (D("2024-01-05"), D("2024-01-05")), (D("2024-01-06"), dt.date.max)]]


def test_staged_in_one_day_part_or_none_filed_by_bucket(tmp_path, monkeypatch):
    """The edge cases of a rollup filed by sweep bucket: one day part (one day alone is
    over the limit), and parts without a counted event (no partition is written: the
    staged rollup is empty, not unreadable)."""
    import aips
    from aips.maintain import rollup

    path = str(tmp_path / "aips.duckdb")
    from aips.store.connect import connect

    s = connect(path)
    load(s, "L1", DAY1 + LATE + LATER)
    s.close()
    monkeypatch.setattr(rollup, "sweep_buckets", lambda rows, limit: 3)
    for ranges, n in (([(dt.date.min, dt.date.max)], None), ([(D("2030-01-01"), D("2030-01-02"))] * 2, 0)):
        monkeypatch.setattr(rollup, "day_parts", lambda store, events, limit=None, r=ranges: r)
        with aips.open(path, read_only=True) as ws, rollup.scratch(ws.store) as folder:
            plan = rollup.plan_counters(ws.store, MODEL, folder=folder)
            got = plan.rollup(ws.store)
            want = daily_counters(ws.store.table("events"), MODEL).count().to_pyarrow().as_py() if n is None else n
            assert plan.buckets == 3 and got.count().to_pyarrow().as_py() == want
