"""Every rebuild is published atomically: a failure before the swap leaves the old table."""

from __future__ import annotations

import ibis
import pytest
from maintain_helpers import DAY1, LATE, LATER, load, rows

from aips.config.model import default_model
from aips.maintain import COUNTERS_TABLE, publish, refresh_counters, replace_rows, update_history
from aips.maintain.history import HISTORY_DAYS_TABLE, HISTORY_TABLE
from aips.store.connect import BACKUP_SUFFIX, Store

MODEL = default_model()


class Crash(Exception):
    """The simulated failure between building the new table and publishing it."""


def _crash(*args, **kwargs):
    raise Crash


def _leftovers(store) -> list[str]:
    return [t for t in store.backend.list_tables() if "__aips_" in t]


def test_publish_replaces_and_a_failed_swap_keeps_the_old_table(store, monkeypatch):
    publish(store, "t", ibis.memtable({"x": [1, 2, 3]}))
    publish(store, "t", store.table("t").filter(ibis._.x >= 2))  # reads the table it replaces
    assert rows(store.table("t"), ["x"]) == [(2,), (3,)]
    monkeypatch.setattr(Store, "swap", _crash)
    with pytest.raises(Crash):
        publish(store, "t", ibis.memtable({"x": [9]}))
    assert rows(store.table("t"), ["x"]) == [(2,), (3,)]
    assert _leftovers(store) == []


def test_failed_full_rebuild_of_the_rollup_keeps_the_old_rollup(store, monkeypatch):
    load(store, "L1", DAY1)
    refresh_counters(store, MODEL)
    cols = list(store.table(COUNTERS_TABLE).columns)
    before = rows(store.table(COUNTERS_TABLE), cols)
    load(store, "L2", LATER)
    changed = MODEL.model_copy(update={"counters": {k: v for k, v in MODEL.counters.items() if k != "like"}})
    monkeypatch.setattr(Store, "swap", _crash)
    with pytest.raises(Crash):
        refresh_counters(store, changed)  # a changed model: a full rebuild
    assert rows(store.table(COUNTERS_TABLE), cols) == before
    assert _leftovers(store) == []
    monkeypatch.undo()
    assert refresh_counters(store, MODEL).mode == "incremental"  # the state still says L1 only


def test_failed_incremental_replace_rolls_back(duckdb_store, monkeypatch):
    """DuckDB: the delete and the insert are one transaction."""
    store = duckdb_store
    publish(store, "t", ibis.memtable({"d": [1, 2, 3], "v": ["a", "b", "c"]}))
    monkeypatch.setattr(store.backend, "insert", _crash)
    with pytest.raises(Crash):
        replace_rows(store, "t", {"d": [2, 3]}, ibis.memtable({"d": [2], "v": ["B"]}))
    assert rows(store.table("t"), ["d", "v"]) == [(1, "a"), (2, "b"), (3, "c")]
    monkeypatch.undo()
    replace_rows(store, "t", {"d": (2, 3)}, ibis.memtable({"d": [2], "v": ["B"]}))
    assert rows(store.table("t"), ["d", "v"]) == [(1, "a"), (2, "B")]


def test_swap_without_transactions_restores_the_old_table(store, monkeypatch):
    """The rename path (Spark's; forced here on every backend): a failed second rename puts
    the old table back, and a crash between the renames is repaired by the next swap."""
    monkeypatch.setattr(store, "capabilities", store.capabilities.__class__(
        **{**store.capabilities.__dict__, "transactional_ddl": False}))
    publish(store, "t", ibis.memtable({"x": [1]}))
    store.backend.create_table("t__new", ibis.memtable({"x": [2]}))
    real_rename = Store.rename

    def rename_once(self, old, new):  # the first rename works, the second fails
        if old == "t__new":
            raise Crash
        real_rename(self, old, new)

    monkeypatch.setattr(Store, "rename", rename_once)
    with pytest.raises(Crash):
        store.swap("t__new", "t")
    assert rows(store.table("t"), ["x"]) == [(1,)]
    monkeypatch.setattr(Store, "rename", real_rename)
    store.rename("t", "t" + BACKUP_SUFFIX)  # as if the process died between the renames
    assert not store.has("t")
    store.swap("t__new", "t")
    assert rows(store.table("t"), ["x"]) == [(2,)]
    assert _leftovers(store) == []


def test_failed_history_write_changes_neither_rows_nor_covered_days(duckdb_store, monkeypatch):
    """DuckDB: ``asset_history`` and ``asset_history_days`` change in one transaction."""
    store = duckdb_store
    load(store, "L1", DAY1)
    update_history(store, MODEL)
    tables = {t: list(store.table(t).columns) for t in (HISTORY_TABLE, HISTORY_DAYS_TABLE)}
    before = {t: rows(store.table(t), cols) for t, cols in tables.items()}
    load(store, "L2", LATER + LATE)
    real_insert = store.backend.insert

    def insert(name, obj, **kwargs):  # the covered days fail after the rows went in
        if name == HISTORY_DAYS_TABLE:
            raise Crash
        return real_insert(name, obj, **kwargs)

    monkeypatch.setattr(store.backend, "insert", insert)
    with pytest.raises(Crash):
        update_history(store, MODEL)
    assert {t: rows(store.table(t), cols) for t, cols in tables.items()} == before
