"""Tables computed once in the backend: ``cached(expr)``, a working ``expr.cache()`` on every store.

Ibis 12's PySpark backend caches an expression without first registering the in-memory
tables (``ibis.memtable``) it uses: on a session that has not run a query over them yet,
Spark answers ``TABLE_OR_VIEW_NOT_FOUND``, callers that treat caching as optional fall
back to recomputing, and PySpark logs the error on stderr. :func:`cached` registers them
first where the backend needs it (:attr:`Capabilities.cache_registers_memtables`).

On Spark a cached table is a local checkpoint of its rows, because Spark's own cache is
missed by some queries that read it (:attr:`Capabilities.cache_by_checkpoint` says which and
what a checkpoint costs): the report's content section on the REES46 sample took 31 s on
``local[2]`` with it, 3.8 s with checkpoints.

>>> import ibis
>>> t = ibis.duckdb.connect().create_table("t", {"a": [1, 2]})
>>> cached(t.filter(t.a > 1).join(ibis.memtable({"a": [2]}), "a")).count().execute()
1
"""

from __future__ import annotations

import ibis

from aips.store.capabilities import CAPABILITIES


def cached(expr: ibis.Table) -> ibis.Table:
    """``expr.cache()``: ``expr`` computed once in the backend (a temporary table, released
    when the returned table is released or garbage-collected), with the in-memory tables it
    uses registered first on backends whose cache skips that step."""
    backend = ibis.get_backend(expr)
    caps = CAPABILITIES.get(getattr(backend, "name", ""))
    if caps is not None and not caps.cache_registers_memtables and _has_memtables(expr):
        expr.limit(0).to_pyarrow()  # registers them; LIMIT 0 computes nothing
    if caps is not None and caps.cache_by_checkpoint:
        _cache_by_checkpoint(backend)
    return expr.cache()


def _cache_by_checkpoint(backend) -> None:
    """Make ``backend``'s cached tables local checkpoints (once per backend; ibis's cache
    bookkeeping, release on exit or garbage collection, stays as it is)."""
    if getattr(backend, "_aips_checkpoints", None) is not None:
        return
    from aips._compat.spark import release_checkpoint

    checkpoints: dict = {}

    def create(name: str, expr: ibis.Table) -> ibis.Table:
        df = backend._session.sql(backend.compile(expr)).localCheckpoint(eager=True)
        df.createTempView(name)
        checkpoints[name] = df
        return backend.table(name)

    def drop(name: str) -> None:
        backend._session.catalog.dropTempView(name)
        release_checkpoint(checkpoints.pop(name))

    backend._create_cached_table, backend._drop_cached_table = create, drop
    backend._aips_checkpoints = checkpoints


def materialised(table: ibis.Table) -> ibis.Table:
    """:func:`cached` when the backend can cache, else ``table`` as it is (slower: each
    use computes it again). For a small result read several times, each a scan of events.

    >>> import ibis
    >>> materialised(ibis.memtable({"a": [1]})).to_pyarrow().num_rows
    1
    """
    try:
        return cached(table)
    except Exception:  # noqa: BLE001 - a backend without caching still works, slower
        return table


def _has_memtables(expr: ibis.Table) -> bool:
    import ibis.expr.operations as ops

    return bool(expr.op().find(ops.InMemoryTable))
