"""Publishing a derived table: readers see the old version or the new one, never a half.

Two ways to change a stored derived table, both through :class:`~aips.store.Store`
methods so that no backend-specific SQL lives here:

* :func:`publish` replaces the whole table: the new version is built under a staging name
  (``name + STAGING_SUFFIX``), then :meth:`Store.swap` puts it in place. On DuckDB the swap
  is one transaction; on Spark it is two catalog renames with the old table kept aside
  until the new one is in place (see :meth:`Store.swap` for what is and is not atomic).
  A failure while building or swapping leaves the old table intact and the staging
  table dropped.
* :func:`replace_rows` replaces some rows (the days a load touched): where the backend can
  delete rows (``capabilities.delete_rows``) the delete and the insert are one
  transaction (:func:`replace_many`: several tables in one transaction); elsewhere the
  table is rebuilt and published as above.
"""

from __future__ import annotations

from typing import Any

import ibis

STAGING_SUFFIX = "__aips_staging"


def publish(store, name: str, data: Any = None, *, schema: ibis.Schema | None = None) -> ibis.Table:
    """Replace table ``name`` by ``data`` (an Ibis expression or Arrow table) atomically.

    ``data`` may read from ``name`` itself: the staging copy is complete before the swap.
    With ``schema`` and no ``data`` an empty table is published.

    >>> from aips.store import connect
    >>> store = connect(":memory:")
    >>> _ = publish(store, "t", ibis.memtable({"x": [1, 2]}))
    >>> publish(store, "t", store.table("t").filter(ibis._.x > 1)).count().execute()
    1
    """
    staging = name + STAGING_SUFFIX
    store.drop(staging)  # a leftover of an earlier crash
    try:
        store.backend.create_table(staging, data, schema=schema)
        store.swap(staging, name)
    finally:
        store.drop(staging)
    return store.table(name)


def replace_rows(store, name: str, where: dict, new_rows: ibis.Table | None) -> None:
    """Replace the rows of table ``name`` matching ``where`` by ``new_rows`` (an expression).

    ``where`` maps a column to a list of values or to an inclusive ``(lo, hi)`` range (a
    tuple). No rows pass through Python. A missing table is created from ``new_rows``.

    >>> from aips.store import connect
    >>> store = connect(":memory:")
    >>> _ = publish(store, "t", ibis.memtable({"d": [1, 2, 3]}))
    >>> replace_rows(store, "t", {"d": (2, 3)}, ibis.memtable({"d": [5]}))
    >>> sorted(store.table("t").d.to_pyarrow().to_pylist())
    [1, 5]
    """
    replace_many(store, [(name, where, new_rows)])


def replace_many(store, changes: list[tuple[str, dict, ibis.Table | None]]) -> None:
    """Several :func:`replace_rows` ``(name, where, new_rows)`` that belong together.

    Where the backend deletes rows in place, all of them are one transaction; elsewhere each
    table is rebuilt and published in turn (each atomically, in the order given).
    """
    pending = []
    for name, where, new_rows in changes:
        if not store.has(name):
            if new_rows is not None:
                publish(store, name, new_rows)
        else:
            pending.append((name, where, new_rows))
    if not pending:
        return
    if store.capabilities.delete_rows:
        with store.transaction():
            for name, where, new_rows in pending:
                store.delete_where(name, where)
                if new_rows is not None:
                    store.backend.insert(name, new_rows)
        return
    for name, where, new_rows in pending:
        publish(store, name, _rebuilt(store.table(name), where, new_rows))


def _rebuilt(table: ibis.Table, where: dict, new_rows: ibis.Table | None) -> ibis.Table:
    """``table`` without the rows matching ``where``, plus ``new_rows``."""
    drop = ibis.literal(True)
    for col, spec in where.items():
        drop = drop & (table[col].between(*spec) if isinstance(spec, tuple) else table[col].isin(list(spec)))
    kept = table.filter(~drop)
    if new_rows is not None:
        kept = kept.union(new_rows.select(*table.columns).cast(table.schema()))
    return kept
