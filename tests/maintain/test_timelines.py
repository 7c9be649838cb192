"""The stored stage timelines: equal to a fresh build after every load, pairs refreshed alone,
stale tables never read."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from maintain_helpers import DAY1, LATE, LATER, D, load, rows

from aips.config.model import default_model
from aips.engine import timelines
from aips.maintain import update_history
from aips.maintain.state import read_state
from aips.maintain.timelines import PENDING, TIMELINES_TABLE, stored_timelines
from aips.store import connect
from aips.view import View

MODEL = default_model()
KEYS = ["user_id", "brand", "start_date", "end_date", "stage"]


def built(store) -> list[tuple]:
    """Timelines built from the events, as the engine does without a store."""
    cats = store.table("categories") if store.has("categories") else None
    return rows(timelines(store.table("events"), MODEL, level="brand", categories=cats), KEYS)


def test_stored_timelines_follow_every_load(store):
    load(store, "L1", DAY1)
    assert stored_timelines(store, MODEL) is None  # nothing stored yet
    first = update_history(store, MODEL)
    assert first.timelines == "full"
    tl = stored_timelines(store, MODEL)
    assert tl is not None and rows(tl, KEYS) == built(store)
    # hand check: u2 collected at 23:30 local on Jan 1 -> TI for the 30-day window
    assert ("u2", "B", D("2024-01-01"), D("2024-01-30"), "TI") in rows(tl, KEYS)

    load(store, "L2", LATER + LATE)  # a new day and a late event on Jan 2
    assert stored_timelines(store, MODEL) is None  # stale: readers build instead
    assert View(store, MODEL).stored_timelines() is None
    second = update_history(store, MODEL)
    assert second.timelines == "pairs"
    # touched: pairs with a rollup row on or after Jan 2 (u1-B, u5-B, u3-C, u4-C); u2-B stays
    assert second.timeline_pairs == 4
    assert rows(stored_timelines(store, MODEL), KEYS) == built(store)
    assert PENDING not in read_state(store)
    assert update_history(store, MODEL).timelines == "none"  # nothing new: nothing rebuilt


def test_a_changed_cycle_table_makes_them_stale(tmp_path):
    store = connect(tmp_path / "s.duckdb")
    load(store, "L1", [*DAY1, ("u9", "D", "2024-01-05 10:00", "purchase", {"category": "pets"})])
    update_history(store, MODEL)
    assert ("u9", "D", D("2024-01-05"), D("2024-02-03"), "P") in rows(stored_timelines(store, MODEL), KEYS)
    # a 10-day cycle for pets (not in the model, which would win): u9's P lasts 10 days, not 30
    store.write("categories", pa.table({"category": ["pets"], "decision_cycle_days": [10]}))
    assert stored_timelines(store, MODEL) is None
    assert update_history(store, MODEL).timelines == "full"
    tl = rows(stored_timelines(store, MODEL), KEYS)
    assert tl == built(store)
    assert ("u9", "D", D("2024-01-05"), D("2024-01-14"), "P") in tl


def test_readers_use_the_stored_table_when_current(tmp_path):
    store = connect(tmp_path / "s.duckdb")
    load(store, "L1", DAY1)
    update_history(store, MODEL)
    view = View(store, MODEL)
    # the stored table is what the view returns (an unbound read of it, not a sweep)
    sql = str(ibis.to_sql(view.timelines(level="brand")))
    assert TIMELINES_TABLE in sql and "counters_daily" not in sql
    assert rows(view.timelines_of(brand="B"), KEYS) == [r for r in built(store) if r[1] == "B"]


def snapshot_rows(table: ibis.Table) -> list[tuple]:
    return rows(table, ["user_id", "brand", "stage"])


def test_the_snapshot_is_read_off_the_stored_timelines_when_current(store):
    load(store, "L1", DAY1 + LATER)
    update_history(store, MODEL)
    view = View(store, MODEL)
    sql = str(ibis.to_sql(view.snapshot("2024-01-10")))
    assert TIMELINES_TABLE in sql and "counters_daily" not in sql  # a filter, not an aggregate
    computed = str(ibis.to_sql(view.snapshot("2024-01-10", stored=False)))
    assert TIMELINES_TABLE not in computed
    # every third day on DuckDB; on Spark (a few jobs per snapshot) the days around the changes
    days = range(0, 80, 3) if store.kind == "duckdb" else (0, 2, 5, 29, 30, 35, 74, 79)
    for day in (D("2024-01-01") + dt.timedelta(days=n) for n in days):
        assert snapshot_rows(view.snapshot(day)) == snapshot_rows(view.snapshot(day, stored=False)), day
    # by hand: u2's one collect (late on Jan 1) holds TI for 30 days (Jan 1 .. Jan 30), then no level
    assert ("u2", "B", "TI") in snapshot_rows(view.snapshot("2024-01-30"))
    assert [r for r in snapshot_rows(view.snapshot("2024-01-31")) if r[0] == "u2"] == []
    # Jan 6: u1 searched (TI), u2 collected (TI), u3 bought (P), u4 posted (S)
    assert {(r["brand"], r["stage"]): r["users"] for r in view.assets("2024-01-06").to_pyarrow().to_pylist()} \
        == {("B", "TI"): 2, ("C", "P"): 1, ("C", "S"): 1}
    # the SPU level is never read off the brand-level table
    assert TIMELINES_TABLE not in str(ibis.to_sql(view.snapshot("2024-01-10", level="spu")))
    load(store, "L2", LATE)  # stale until the next update: computed again, with the late event
    stale = View(store, MODEL)
    assert TIMELINES_TABLE not in str(ibis.to_sql(stale.snapshot("2024-01-10")))
    assert ("u5", "B", "I") in snapshot_rows(stale.snapshot("2024-01-02"))  # a like: I


EVENT_TYPES = ["impression", "read", "collect", "purchase", "post", "like"]
event = st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["B", "C"]),
                  st.integers(0, 80), st.sampled_from(EVENT_TYPES))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=4),
       days=st.lists(st.integers(0, 110), min_size=1, max_size=2, unique=True))
def test_property_stored_equals_built_after_any_loads(tmp_path_factory, batches, days):
    store = connect(tmp_path_factory.mktemp("tl") / "s.duckdb")
    for i, batch in enumerate(batches):
        load(store, f"L{i}", [(u, b, (dt.datetime(2024, 1, 1, 12) + dt.timedelta(days=d)).isoformat(" ")[:16],
                               e, {"category": "infant_food"} if b == "C" else {}) for u, b, d, e in batch])
        update_history(store, MODEL)
        assert rows(stored_timelines(store, MODEL), KEYS) == built(store)
    view = View(store, MODEL)
    for n in days:  # the snapshot read off them on any day (each example draws its days)
        day = dt.date(2024, 1, 1) + dt.timedelta(days=n)
        assert snapshot_rows(view.snapshot(day)) == snapshot_rows(view.snapshot(day, stored=False))


def test_a_full_sweep_in_buckets_of_users_equals_one_sweep(tmp_path, monkeypatch):
    """A store whose memory limit is too small for one sweep (issue 13: a billion events)
    builds the timelines a bucket of users at a time, each staged to its own file: the same
    intervals as one sweep over every pair. The rollup (here not built in day parts, so not
    filed by bucket) is staged filed by bucket first, in parts of consecutive days, and each
    bucket's sweep reads only its own files (the 1B store's 20 buckets each read all 928M rows
    twice, ~3 minutes a bucket)."""
    from maintain_helpers import parquet_rows_read

    import aips.maintain.timelines as T

    path = tmp_path / "s.duckdb"
    store = connect(path)
    load(store, "L1", [*DAY1, *LATER, *LATE])
    store.close()
    calls, staged, reads = [], [], []
    monkeypatch.setattr(T, "sweep_buckets", lambda rows, limit: calls.append((rows, limit)) or 3)
    real_stage, real_sweep = T.stage, T.timelines

    def spy_stage(rows, folder, name, parts=None, **kw):
        staged.append((name, len(parts or []), kw.get("partition_by")))
        return real_stage(rows, folder, name, parts, **kw)

    def spy_sweep(rows, *a, **kw):
        if "_bucket" in rows.columns:
            reads.append(parquet_rows_read(ro, rows))
        return real_sweep(rows, *a, **kw)

    monkeypatch.setattr(T, "stage", spy_stage)
    monkeypatch.setattr(T, "timelines", spy_sweep)
    ro = connect(path, read_only=True)  # as `aips series --update` opens it: staged, then written
    try:
        assert update_history(ro, MODEL).timelines == "full"
        assert calls and calls[0][0] > 0
        assert [s[0] for s in staged] == ["counters_by_bucket", "stage_timelines"]
        assert staged[0][1] >= 2 and staged[0][2] == "_bucket" and staged[1][1] == 3
        total = ro.table("counters_daily").count().execute()
        assert len(reads) == 3 and sum(reads) == total and max(reads) < total
        assert rows(stored_timelines(ro, MODEL), KEYS) == built(ro)
    finally:
        ro.close()


def test_a_rollup_staged_in_day_parts_is_filed_by_sweep_bucket(tmp_path, monkeypatch):
    """Issue 13 (the 1B-event run): a full rollup too big for one aggregate is staged in day
    parts, each filed in ``_bucket=K`` folders by the sweep bucket of its users, and the
    sweep of bucket K reads only those files (before, each of 28 buckets read and hashed
    all 928M staged rows). The stored rollup (without the bucket column) and timelines
    equal a build from the events."""
    from maintain_helpers import parquet_rows_read

    import aips.maintain.rollup as R
    import aips.maintain.timelines as T
    from aips.engine import daily_counters

    path = tmp_path / "s.duckdb"
    store = connect(path)
    load(store, "L1", [*DAY1, *LATER, *LATE])
    store.close()
    monkeypatch.setattr(R, "day_parts", lambda store, events, limit=None: [
        (D("2024-01-01"), D("2024-01-02")), (D("2024-01-03"), D("2024-01-06"))])
    monkeypatch.setattr(R, "sweep_buckets", lambda rows, limit: 3)
    monkeypatch.setattr(T, "sweep_buckets", lambda rows, limit: 2)  # fewer than filed: each reads its own
    seen = {}
    real_plan = T.plan_timelines

    def spy(store, model, rollup, state, **kw):
        staged = sorted(p.name for p in next(kw["folder"].glob("counters_daily")).glob("part-*/_bucket=*"))
        seen["folders"] = staged
        seen["rows"] = parquet_rows_read(store, rollup)
        seen["one"] = [parquet_rows_read(store, rollup.filter(rollup._bucket == b)) for b in range(3)]
        seen["buckets"] = kw["buckets"]
        return real_plan(store, model, rollup, state, **kw)

    monkeypatch.setattr("aips.maintain.history.plan_timelines", spy)
    monkeypatch.setattr(T, "user_bucket", lambda *a: pytest.fail("a sweep bucket hashed the users"))
    ro = connect(path, read_only=True)
    try:
        assert update_history(ro, MODEL).timelines == "full"
        assert seen["buckets"] == 3 and set(seen["folders"]) <= {"_bucket=0", "_bucket=1", "_bucket=2"}
        assert len(seen["folders"]) >= 4  # two day parts, users of several buckets in each
        assert seen["rows"] == sum(seen["one"]) and max(seen["one"]) < seen["rows"]
        assert "_bucket" not in ro.table("counters_daily").columns
        cols = list(ro.table("counters_daily").columns)
        assert rows(ro.table("counters_daily"), cols) == rows(daily_counters(ro.table("events"), MODEL), cols)
        assert rows(stored_timelines(ro, MODEL), KEYS) == built(ro)
    finally:
        ro.close()
