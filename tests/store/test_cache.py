"""``aips.store.cache.cached``: a table computed once, read as often as a query needs it.

On Spark a ``DataFrame.cache()`` is found again by matching plans, and a query that reads the
cached table inside a CTE Spark does not inline (ibis writes ``WITH`` for an aggregate read
twice) missed it when the cached plan had such a CTE too: every such query computed the whole
cached plan again, from the tables it reads. So here the cached table must keep the rows it
had when it was computed, whatever later happens to its source: a plan that runs again reads
the source's new rows.
"""

from __future__ import annotations

import ibis
import pyarrow as pa

from aips.store.cache import cached


def per_user_with_total(t: ibis.Table) -> ibis.Table:
    """Each user's last day beside the number of users: an aggregate read twice (a CTE)."""
    per = t.group_by("user_id").aggregate(last=t.day.max())
    return per.cross_join(per.aggregate(users=per.count()))


def rows(t: ibis.Table) -> list[dict]:
    return sorted(t.to_pyarrow().to_pylist(), key=lambda r: r["user_id"])


def kept_blocks(store) -> int:
    """RDDs a local Spark session keeps (a checkpoint's blocks among them); 0 elsewhere."""
    session = getattr(store.backend, "_session", None)
    return session.sparkContext._jsc.getPersistentRDDs().size() if session is not None else 0


def test_a_cached_table_is_not_computed_again_from_its_source(store):
    kept = kept_blocks(store)
    store.write("source", pa.table({"user_id": ["a", "a", "b"], "day": [1, 5, 2]}), overwrite=True)
    with cached(per_user_with_total(store.backend.table("source"))) as once:
        # read the way the analytics read a cached table: inside a CTE read twice
        before = rows(per_user_with_total(once.select("user_id", day=once.last)))
        store.write("source", pa.table({"user_id": ["c"], "day": [9]}), overwrite=True)
        after = rows(per_user_with_total(once.select("user_id", day=once.last)))
        assert rows(once) == [{"user_id": "a", "last": 5, "users": 2}, {"user_id": "b", "last": 2, "users": 2}]
    assert before == after == [{"user_id": "a", "last": 5, "users": 2}, {"user_id": "b", "last": 2, "users": 2}]
    # released on exit: the backend no longer knows the cached table's name, nor keeps its rows
    assert once.op().name not in store.backend.list_tables()
    assert kept_blocks(store) == kept
